//! Values a user types: dates and spans (`--since 7d`, `since = "4w"` in a
//! profile, `since:` in the explorer's filter prompt) and result limits
//! (`-n`). One parser for each, shared by every command that takes one.
//!
//! Every function takes any string and returns the value or a
//! [`ValueError`] that says what was expected; none panics or overflows
//! (property-tested here, fuzzed by `fuzz/fuzz_targets/values.rs`). Date
//! arithmetic is bounded before it starts: a span is at most
//! [`MAX_SPAN_DAYS`], so `today - span` never leaves chrono's range.

use chrono::NaiveDate;

/// The most results one command prints (`-n`, `--limit`): more than anyone
/// reads, small enough that buffers sized by it stay small.
pub const MAX_LIMIT: usize = 1000;

/// The longest span `--since`/`--until` take: 100 years
/// (`36500d`, `5214w`, `1216m`, `100y`). Older than any podcast.
pub const MAX_SPAN_DAYS: i64 = 36_500;

/// What is wrong with a value, in words, ready to follow its flag's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}': {expected}")]
pub struct ValueError {
    /// The value as given (trimmed, cut to 40 characters).
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
}

impl ValueError {
    fn new(value: &str, expected: impl Into<String>) -> ValueError {
        let v = value.trim();
        let value = match v.char_indices().nth(40) {
            Some((i, _)) => format!("{}…", &v[..i]),
            None => v.to_string(),
        };
        ValueError {
            value,
            expected: expected.into(),
        }
    }
}

const DATE_OR_SPAN: &str = "expected YYYY-MM-DD or a span like 7d, 4w, 6m, 1y (at most 100y)";

/// A date (`YYYY-MM-DD`, or another form [`crate::ingest::normalise_date`]
/// reads) or a span before `today` (`N` days, weeks, months of 30 days or
/// years of 365 days: `7d`, `4w`, `6m`, `1y`), as `YYYY-MM-DD`.
///
/// ```
/// use chrono::NaiveDate;
/// let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
/// assert_eq!(podsift::value::date("7d", today).unwrap(), "2026-11-21");
/// assert_eq!(podsift::value::date("2024-01-05", today).unwrap(), "2024-01-05");
/// assert!(podsift::value::date("7é", today).is_err());
/// assert!(podsift::value::date("9223372036854775807d", today).is_err());
/// ```
pub fn date(value: &str, today: NaiveDate) -> Result<String, ValueError> {
    let v = value.trim();
    if let Some(d) = crate::ingest::normalise_date(v) {
        return Ok(d);
    }
    let bad = || ValueError::new(value, DATE_OR_SPAN);
    // The unit is the last character, whatever its width.
    let mut chars = v.chars();
    let unit = chars.next_back().ok_or_else(bad)?;
    let num = chars.as_str();
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = num.parse().map_err(|_| bad())?;
    let per = match unit {
        'd' => 1,
        'w' => 7,
        'm' => 30,
        'y' => 365,
        _ => return Err(bad()),
    };
    let days = n
        .checked_mul(per)
        .filter(|d| *d <= MAX_SPAN_DAYS)
        .ok_or_else(bad)?;
    let day = chrono::Duration::try_days(days)
        .and_then(|d| today.checked_sub_signed(d))
        .ok_or_else(bad)?;
    Ok(day.format("%Y-%m-%d").to_string())
}

/// A number of results: a whole number from 1 to [`MAX_LIMIT`].
pub fn limit(value: &str) -> Result<usize, ValueError> {
    count(value, 1, MAX_LIMIT)
}

/// A whole number from `lo` to `hi`.
pub fn count(value: &str, lo: usize, hi: usize) -> Result<usize, ValueError> {
    let bad = || ValueError::new(value, format!("expected a whole number from {lo} to {hi}"));
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    // Too many digits for usize is out of range too.
    match v.parse::<usize>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn dates_and_spans() {
        assert_eq!(date("7d", today()).unwrap(), "2026-11-21");
        assert_eq!(date(" 2w ", today()).unwrap(), "2026-11-14");
        assert_eq!(date("1y", today()).unwrap(), "2025-11-28");
        assert_eq!(date("0d", today()).unwrap(), "2026-11-28");
        assert_eq!(date("100y", today()).unwrap(), "1926-12-23");
        assert_eq!(date("16 Jan 2017", today()).unwrap(), "2017-01-16");
        for bad in [
            "",
            "d",
            "7",
            "7x",
            "7é",
            "é",
            "7dd",
            "-7d",
            "+7d",
            " 7 d",
            "101y",
            "36501d",
            "100000000d",
            "9223372036854775807d",
            "99999999999999999999999d",
            "1e3d",
            "٣d",
            "7D",
        ] {
            let e = date(bad, today()).unwrap_err();
            assert!(e.to_string().contains("YYYY-MM-DD"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn every_span_unit_and_its_limit() {
        // d = 1 day, w = 7, m = 30, y = 365, each at most 100 years.
        for (span, want) in [
            ("3d", "2026-11-25"),
            ("3w", "2026-11-07"),
            ("6m", "2026-06-01"),
            ("2y", "2024-11-28"),
            ("36500d", "1926-12-23"),
            ("5214w", "1926-12-25"),
            ("1216m", "1927-01-12"),
        ] {
            assert_eq!(date(span, today()).unwrap(), want, "{span}");
        }
        for bad in ["36501d", "5215w", "1217m", "101y", "6M", "6mo", "m"] {
            assert!(date(bad, today()).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(limit("10").unwrap(), 10);
        assert_eq!(limit(" 1000 ").unwrap(), MAX_LIMIT);
        for bad in [
            "0",
            "1001",
            "18446744073709551615",
            "99999999999999999999999",
            "-1",
            "+5",
            "1.5",
            "",
            "ten",
            "5é",
        ] {
            let e = limit(bad).unwrap_err();
            assert!(e.to_string().contains("from 1 to 1000"), "{bad:?}: {e}");
        }
        assert_eq!(count("0", 0, 10).unwrap(), 0);
    }

    #[test]
    fn errors_quote_a_short_value() {
        let long = "x".repeat(500);
        let e = limit(&long).unwrap_err();
        assert!(e.value.chars().count() <= 41, "{}", e.value);
    }

    proptest! {
        #[test]
        fn any_string_is_a_date_or_an_error(
            s in "\\PC*",
            // Mostly spans that parse, so the checks on a parsed date run
            // (any i64 alone almost never gives one).
            n in prop_oneof![1 => any::<i64>(), 3 => -10i64..40_000],
            unit in "[dwmyé ]",
        ) {
            let _ = date(&s, today());
            let spanned = format!("{n}{unit}");
            if let Ok(d) = date(&spanned, today()) {
                prop_assert!(n >= 0);
                let got = NaiveDate::parse_from_str(&d, "%Y-%m-%d").unwrap();
                prop_assert!(got <= today());
                prop_assert!((today() - got).num_days() <= MAX_SPAN_DAYS);
            }
            // Extreme days of chrono's range do not overflow either.
            let _ = date(&spanned, NaiveDate::MIN);
            let _ = date(&spanned, NaiveDate::MAX);
        }

        #[test]
        fn any_string_or_number_is_a_limit_or_an_error(s in "\\PC*", n in any::<u64>()) {
            let _ = limit(&s);
            match limit(&n.to_string()) {
                Ok(k) => prop_assert!((1..=MAX_LIMIT as u64).contains(&n) && k as u64 == n),
                Err(_) => prop_assert!(n == 0 || n > MAX_LIMIT as u64),
            }
        }
    }
}
