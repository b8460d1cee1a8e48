//! Plain text: no times. When the file has blank-line paragraphs, each
//! paragraph is a cue; otherwise each line is (Whisper's `.txt` writes one
//! segment per line). `Name: text` prefixes become speakers when the same label
//! starts at least two cues, so `Note: ...` once in a text is not a speaker.

use super::clean::{self, CueSink};
use super::SpeakerLabels;
use crate::error::{ParseError, ParseErrorKind};
use crate::transcript::{Cue, Parsed};

/// Parse a plain-text transcript.
pub fn parse(input: &str) -> Result<Parsed, ParseError> {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    let lines: Vec<&str> = input.lines().map(|l| l.trim_end_matches('\r')).collect();
    let has_paragraphs = lines
        .windows(3)
        .any(|w| !w[0].trim().is_empty() && w[1].trim().is_empty() && !w[2].trim().is_empty())
        && lines.iter().filter(|l| l.trim().is_empty()).count() * 8 < lines.len().max(8) * 7;
    let mut units: Vec<(usize, String)> = Vec::new();
    if has_paragraphs {
        let mut cur = String::new();
        let mut start = 0;
        for (i, l) in lines.iter().enumerate() {
            if l.trim().is_empty() {
                if !cur.is_empty() {
                    units.push((start, std::mem::take(&mut cur)));
                }
            } else {
                if cur.is_empty() {
                    start = i + 1;
                } else {
                    cur.push(' ');
                }
                cur.push_str(l.trim());
            }
        }
        if !cur.is_empty() {
            units.push((start, cur));
        }
    } else {
        units = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l.trim().to_string()))
            .collect();
    }
    let mut labels = SpeakerLabels::default();
    for (_, u) in &units {
        labels.observe(clean::split_speaker(u).0, false);
    }
    let mut sink = CueSink::new();
    let mut speaker = None;
    for (line, u) in &units {
        let (label, body) = clean::split_speaker(u);
        let body = match label {
            Some(l) if labels.accepts_strictly(l) => {
                speaker = (!clean::is_non_person(l)).then(|| l.to_string());
                body
            }
            _ => u.as_str(),
        };
        sink.push(
            *line,
            Cue {
                start_ms: None,
                end_ms: None,
                speaker: speaker.clone(),
                text: clean::text(body),
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

    #[test]
    fn lines_and_paragraphs() {
        let p = parse("Hello and welcome.\nI'm your host.\n").unwrap();
        assert_eq!(p.cues.len(), 2);
        assert_eq!(p.cues[1].start_ms, None);
        let p = parse("First para\ncontinues.\r\n\r\nSecond para.\r\n").unwrap();
        assert_eq!(p.cues.len(), 2);
        assert_eq!(p.cues[0].text, "First para continues.");
    }

    #[test]
    fn speakers_need_two_turns() {
        let p = parse("Note: just once.\nAnd more.\n").unwrap();
        assert_eq!(p.cues[0].speaker, None);
        assert_eq!(p.cues[0].text, "Note: just once.");
        let p = parse("Ann: hi.\nBob: hey.\nAnn: bye.\nBob: ok.\n").unwrap();
        assert_eq!(p.cues[3].speaker.as_deref(), Some("Bob"));
        assert_eq!(p.cues[3].text, "ok.");
    }

    #[test]
    fn empty_is_error() {
        assert_eq!(parse("\n\n  \n").unwrap_err().kind, ParseErrorKind::Empty);
    }
}
