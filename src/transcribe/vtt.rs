//! Cues → WebVTT, the format podsift's own reader ([`crate::ingest`])
//! takes back: a `WEBVTT` header, then per cue `HH:MM:SS.mmm -->
//! HH:MM:SS.mmm` and its text on one line. A `NOTE` block names the model.
//! See: <https://www.w3.org/TR/webvtt1/>.

use std::fmt::Write as _;

use crate::ingest::timestamp::format_full;
use crate::transcript::Cue;

/// The WebVTT text of `cues`; `note` goes in a `NOTE` block after the header.
///
/// ```
/// use podsift::transcript::Cue;
/// let v = podsift::transcribe::vtt::render(&[Cue::timed(1_500, 4_000, "Hello there.")], "");
/// assert_eq!(v, "WEBVTT\n\n00:00:01.500 --> 00:00:04.000\nHello there.\n\n");
/// ```
pub fn render(cues: &[Cue], note: &str) -> String {
    let mut s = String::from("WEBVTT\n\n");
    let note = note.replace("-->", "->");
    let note = note.split_whitespace().collect::<Vec<_>>().join(" ");
    if !note.is_empty() {
        let _ = write!(s, "NOTE {note}\n\n");
    }
    for c in cues {
        let start = c.start_ms.unwrap_or(0);
        let end = c.end_ms.unwrap_or(start).max(start);
        // A cue's text may not hold a blank line or "-->".
        let text = c.text.replace("-->", "->");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "{} --> {}\n{text}\n\n",
            format_full(start),
            format_full(end)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_vtt_reader() {
        let cues = vec![
            Cue::timed(0, 2_000, "One --> two"),
            Cue::timed(3_600_000, 3_601_250, "An hour\n\nin."),
        ];
        let text = render(&cues, "podsift whisper-tiny.en");
        let back = crate::ingest::vtt::parse(&text).unwrap().cues;
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].start_ms, Some(3_600_000));
        assert_eq!(back[1].end_ms, Some(3_601_250));
        assert_eq!(back[1].text, "An hour in.");
        assert_eq!(back[0].text, "One -> two");
    }
}
