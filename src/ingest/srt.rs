//! SRT: blocks of an index line, a timing line `HH:MM:SS,mmm --> HH:MM:SS,mmm`
//! and one or more text lines. Numbering gaps, a missing index line and a
//! missing final newline are accepted. A cue's lines are joined with a space.
//!
//! Buzzsprout-style `Name:` labels mark only the first cue of a turn; later
//! cues inherit the speaker until the next label.

use super::clean::{self, CueSink};
use super::{timestamp, SpeakerLabels};
use crate::error::{ParseError, ParseErrorKind};
use crate::transcript::{Cue, Parsed};

/// Parse an SRT document.
pub fn parse(input: &str) -> Result<Parsed, ParseError> {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    let lines: Vec<&str> = input.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut raw: Vec<(usize, u64, u64, String)> = Vec::new();
    let mut sink = CueSink::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
        let block = &lines[start..i];
        let Some(t) = block.iter().position(|l| l.contains("-->")) else {
            if raw.is_empty() {
                return Err(ParseError::new(
                    start + 1,
                    ParseErrorKind::BadTimestamp(block[0].chars().take(40).collect()),
                ));
            }
            sink.warn(start + 1, "block without a timing line skipped");
            continue;
        };
        let (a, b) = block[t].split_once("-->").unwrap_or(("", ""));
        let (Some(s), Some(e)) = (
            timestamp::parse(a),
            b.split_whitespace().next().and_then(timestamp::parse),
        ) else {
            return Err(ParseError::new(
                start + t + 1,
                ParseErrorKind::BadTimestamp(block[t].trim().chars().take(40).collect()),
            ));
        };
        raw.push((start + t + 1, s, e, block[t + 1..].join(" ")));
    }
    let mut labels = SpeakerLabels::default();
    for (_, _, _, text) in &raw {
        let flat = clean::text(text);
        labels.observe(clean::split_speaker(&flat).0, false);
    }
    let mut speaker: Option<String> = None;
    for (line, s, e, text) in raw {
        let flat = clean::text(&text);
        let (label, body) = clean::split_speaker(&flat);
        let body = match label {
            Some(l) if labels.accepts(l) => {
                speaker = (!clean::is_non_person(l)).then(|| l.to_string());
                body
            }
            _ => flat.as_str(),
        };
        sink.push(
            line,
            Cue {
                start_ms: Some(s),
                end_ms: Some(e),
                speaker: speaker.clone(),
                text: body.to_string(),
            },
        );
    }
    if sink.cues().is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::Empty));
    }
    Ok(sink.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "1\n00:00:06,024 --> 00:00:10,044\nBekah: Hello and welcome to\nseason eight of the\n\n2\n00:00:10,044 --> 00:00:15,028\nVirtual Coffee Podcast.\n\n5\n00:00:15,028 --> 00:00:18,809\nDan: Thanks, Bekah.\n\n9\n00:00:18,809 --> 00:00:20,000\nThat's what it is: great.\n\n10\n00:00:20,000 --> 00:00:21,000\nBekah: Sure.";

    #[test]
    fn carries_speaker_forward() {
        let p = parse(SAMPLE).unwrap();
        let got: Vec<_> = p
            .cues
            .iter()
            .map(|c| (c.speaker.as_deref().unwrap_or("-"), c.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Bekah", "Hello and welcome to season eight of the"),
                ("Bekah", "Virtual Coffee Podcast."),
                ("Dan", "Thanks, Bekah."),
                ("Dan", "That's what it is: great."),
                ("Bekah", "Sure."),
            ]
        );
        assert_eq!(p.cues[0].start_ms, Some(6_024));
        assert_eq!(p.cues[4].end_ms, Some(21_000));
    }

    #[test]
    fn crlf_twin() {
        let twin = SAMPLE.replace('\n', "\r\n");
        assert_eq!(parse(&twin).unwrap().cues, parse(SAMPLE).unwrap().cues);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("hello world").is_err());
        assert!(parse("1\n00:00:01,000 --> nope\nx").is_err());
        assert_eq!(parse("").unwrap_err().kind, ParseErrorKind::Empty);
    }
}
