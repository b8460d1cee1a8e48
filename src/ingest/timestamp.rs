//! Timestamps as transcripts write them, to and from milliseconds.
//!
//! Accepted: `HH:MM:SS.mmm`, `HH:MM:SS,mmm` (SRT), `MM:SS.mmm` (WebVTT without
//! hours), `H:MM:SS`, `M:SS`, and one to three fraction digits (`.27` is 270 ms,
//! `.5` is 500 ms). The leading field of a two-field stamp is total minutes and
//! may exceed 59 (the-changelog writes `80:41`). Arithmetic is checked, so a
//! stamp near `u64::MAX` is rejected instead of wrapping or panicking.

use crate::transcript::Millis;

/// Parse a timestamp; `None` if it is not one.
///
/// ```
/// use podsift::ingest::timestamp::parse;
/// assert_eq!(parse("01:02:03.450"), Some(3_723_450));
/// assert_eq!(parse("00:00:01,5"), Some(1_500));
/// assert_eq!(parse("80:41"), Some(4_841_000));
/// assert_eq!(parse("1:2:x"), None);
/// ```
pub fn parse(s: &str) -> Option<Millis> {
    let s = s.trim();
    let (clock, frac) = match s.find(['.', ',']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let fields: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&fields.len()) {
        return None;
    }
    let mut nums = [0u64; 3];
    for (slot, field) in nums.iter_mut().zip(&fields) {
        if field.is_empty() || field.len() > 12 || !field.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = field.parse().ok()?;
    }
    let (h, m, sec) = if fields.len() == 3 {
        (nums[0], nums[1], nums[2])
    } else {
        (0, nums[0], nums[1])
    };
    if sec >= 60 || (fields.len() == 3 && m >= 60) {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 3 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let v: u64 = f.parse().ok()?;
            v * 10u64.pow(3 - f.len() as u32)
        }
        Some(_) => return None,
    };
    h.checked_mul(3_600_000)?
        .checked_add(m.checked_mul(60_000)?)?
        .checked_add(sec * 1000 + ms)
}

/// Seconds as a float (JSON transcripts) to milliseconds; `None` if negative,
/// not finite, or too large.
pub fn from_seconds(secs: f64) -> Option<Millis> {
    if !secs.is_finite() || !(0.0..=1e12).contains(&secs) {
        return None;
    }
    Some((secs * 1000.0).round() as Millis)
}

/// `HH:MM:SS`, or `MM:SS` under an hour.
///
/// ```
/// use podsift::ingest::timestamp::format;
/// assert_eq!(format(3_723_450), "01:02:03");
/// assert_eq!(format(61_000), "01:01");
/// ```
pub fn format(ms: Millis) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// `HH:MM:SS` always (JSON, deep links, `--at`).
pub fn format_hms(ms: Millis) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// `HH:MM:SS.mmm`, the full-precision form that [`parse`] reads back.
pub fn format_full(ms: Millis) -> String {
    format!("{}.{:03}", format_hms(ms), ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        assert_eq!(parse("00:00:00.000"), Some(0));
        assert_eq!(parse("59:59.040"), Some(3_599_040));
        assert_eq!(parse("01:00:04.320"), Some(3_604_320));
        assert_eq!(parse("00:09:34,720"), Some(574_720));
        assert_eq!(parse("01:02:09.27"), Some(3_729_270));
        assert_eq!(parse("12:34.5"), Some(754_500));
        assert_eq!(parse("0:05"), Some(5_000));
        assert_eq!(parse(" 00:01 "), Some(1_000));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "12",
            "a:b",
            "1:2:3:4",
            "00:61",
            "00:60:00",
            "1:00.1234",
            "1:00.",
            "-1:00",
            "99999999999999:00:00",
            "1::00",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn overflow_is_none() {
        assert_eq!(
            parse("999999999999:59:59.999"),
            Some(999_999_999_999 * 3_600_000 + 3_599_999)
        );
        assert_eq!(parse("5124095576030:00:00"), None);
        assert_eq!(from_seconds(f64::MAX), None);
        assert_eq!(from_seconds(f64::NAN), None);
        assert_eq!(from_seconds(-1.0), None);
        assert_eq!(from_seconds(2.5), Some(2_500));
    }

    proptest! {
        #[test]
        fn round_trip(ms in 0u64..1_000_000_000_000) {
            prop_assert_eq!(parse(&format_full(ms)), Some(ms));
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse(&s);
        }
    }
}
