//! WebVTT: `WEBVTT` header, then blocks separated by blank lines. A cue block
//! is an optional identifier line, a timing line `start --> end [settings]`,
//! then payload lines. `NOTE`, `STYLE` and `REGION` blocks are skipped.
//!
//! Handles what the corpus does: a BOM, CRLF, `MM:SS.mmm` stamps that switch to
//! `HH:MM:SS.mmm` past the hour, `<v Name>` voice tags, `[Name]:` and `Name:`
//! prefixes, inline tags and entities. Timing faults are repaired by
//! [`super::clean::CueSink`].

use std::borrow::Cow;

use super::clean::{self, CueSink};
use super::{timestamp, SpeakerLabels};
use crate::error::{ParseError, ParseErrorKind};
use crate::transcript::{Cue, Parsed};

/// A cue as read, before its timings are checked: line, start, end, payload.
type RawCue<'a> = (usize, Option<u64>, Option<u64>, Cow<'a, str>);

/// Parse a WebVTT document.
///
/// Memory stays near the size of the cues it returns: the lines are walked,
/// not collected, and a payload is a slice of `input` (copied only for CRLF
/// line ends), since a 38 MB file of a million cues took 48 MB for its line
/// table and 16 MB more for payload copies, on top of the cues.
pub fn parse(input: &str) -> Result<Parsed, ParseError> {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    let mut lines = input
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .enumerate()
        .peekable();
    let blank = |l: &(usize, &str)| l.1.trim().is_empty();
    while lines.next_if(blank).is_some() {}
    let first = lines.peek().map(|&(i, _)| i);
    let has_header = lines.peek().is_some_and(|(_, l)| l.starts_with("WEBVTT"));
    let mut sink = CueSink::new();
    if !has_header {
        // A line holding "-->" is the input holding it: no line break in it.
        if !input.contains("-->") {
            return Err(ParseError::new(
                first.map_or(1, |i| i + 1),
                ParseErrorKind::MissingHeader,
            ));
        }
        sink.warn(1, "missing WEBVTT header; read the cues anyway");
    }
    let mut labels = SpeakerLabels::default();
    let mut raw: Vec<RawCue<'_>> = Vec::new();
    // Skip the header block.
    if has_header {
        while lines.next_if(|l| !blank(l)).is_some() {}
    }
    let mut block: Vec<&str> = Vec::new();
    loop {
        while lines.next_if(blank).is_some() {}
        let Some(&(start, _)) = lines.peek() else {
            break;
        };
        block.clear();
        while let Some((_, l)) = lines.next_if(|l| !blank(l)) {
            block.push(l);
        }
        let head = block[0].trim_start();
        if head.starts_with("NOTE") || head == "STYLE" || head == "REGION" {
            continue;
        }
        let Some(t) = block.iter().position(|l| l.contains("-->")) else {
            sink.warn(start + 1, "block without a timing line skipped");
            continue;
        };
        if t > 1 {
            sink.warn(
                start + 1,
                "block with extra lines before its timing line; read anyway",
            );
        }
        let timing = block[t];
        let (a, b) = timing.split_once("-->").unwrap_or((timing, ""));
        let start_ms = timestamp::parse(a);
        let end_ms = b.split_whitespace().next().and_then(timestamp::parse);
        let Some(start_ms) = start_ms else {
            return Err(ParseError::new(
                start + t + 1,
                ParseErrorKind::BadTimestamp(a.trim().chars().take(40).collect()),
            ));
        };
        raw.push((
            start + t + 1,
            Some(start_ms),
            end_ms.or(Some(start_ms)),
            payload(input, &block[t + 1..]),
        ));
    }
    for (_, _, _, text) in &raw {
        let (label, _, strong) = voice_or_prefix(text);
        labels.observe(label.as_deref(), strong);
    }
    let mut last_speaker: Option<String> = None;
    for (line, s, e, text) in raw {
        let (label, body, _) = voice_or_prefix(&text);
        let speaker = match label {
            Some(l) if labels.accepts(&l) => {
                let sp = (!clean::is_non_person(&l)).then_some(l);
                last_speaker = sp.clone();
                sp
            }
            Some(_) => {
                // Not a speaker after all: keep the label as text.
                sink.push(
                    line,
                    Cue {
                        start_ms: s,
                        end_ms: e,
                        speaker: last_speaker.clone(),
                        text: clean::text(&text.replace('\n', " ")),
                    },
                );
                continue;
            }
            None => last_speaker.clone(),
        };
        sink.push(
            line,
            Cue {
                start_ms: s,
                end_ms: e,
                speaker,
                text: clean::text(&body),
            },
        );
    }
    if sink.cues().is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::Empty));
    }
    Ok(sink.finish())
}

/// Payload lines joined by `\n`: the slice of `input` they span when it
/// holds exactly that (no `\r`), else a copy.
fn payload<'a>(input: &'a str, lines: &[&'a str]) -> Cow<'a, str> {
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
        return Cow::Borrowed("");
    };
    // The lines are slices of `input`: their offsets give the span.
    let start = first.as_ptr() as usize - input.as_ptr() as usize;
    let end = last.as_ptr() as usize - input.as_ptr() as usize + last.len();
    match input.get(start..end) {
        Some(span) if !span.contains('\r') => Cow::Borrowed(span),
        _ => Cow::Owned(lines.join("\n")),
    }
}

/// The speaker of a cue payload: a `<v Name>` tag, else a `[Name]:`/`Name:`
/// prefix on its first line; the text without it; and whether the label is
/// unambiguous markup (`<v>`, `[Name]:`) rather than a `Name:` guess.
fn voice_or_prefix(payload: &str) -> (Option<String>, String, bool) {
    if let Some(rest) = payload.trim_start().strip_prefix("<v") {
        if rest.starts_with([' ', '.', '\t']) {
            if let Some(close) = rest.find('>') {
                let mut name = rest[..close].trim();
                if let Some(stripped) = name.strip_prefix('.') {
                    // <v.loud Name>: classes before the name.
                    name = stripped.split_once(' ').map_or("", |(_, n)| n.trim());
                }
                let name = clean::decode_entities(name);
                let body = rest[close + 1..].replace("</v>", " ");
                return (
                    (!name.is_empty()).then_some(name),
                    body.replace('\n', " "),
                    true,
                );
            }
        }
    }
    let flat = payload.replace('\n', " ");
    let strong = flat.trim_start().starts_with('[');
    let (label, body) = clean::split_speaker(&flat);
    (label.map(str::to_string), body.to_string(), strong)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "WEBVTT\n\nNOTE a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\n1\n00:00.000 --> 00:02.500 align:start position:10%\n<v Ada>Hello &amp; welcome\nto the show.\n\n00:02.500 --> 00:05.000\n<v Ada>Second cue.\n\n59:58.000 --> 01:00:03.500\n<v.loud Bob>Past the hour.</v>\n";

    #[test]
    fn parses_sample() {
        let p = parse(SAMPLE).unwrap();
        assert_eq!(p.cues.len(), 3);
        assert_eq!(p.cues[0].text, "Hello & welcome to the show.");
        assert_eq!(p.cues[0].speaker.as_deref(), Some("Ada"));
        assert_eq!(p.cues[0].end_ms, Some(2_500));
        assert_eq!(p.cues[2].start_ms, Some(3_598_000));
        assert_eq!(p.cues[2].end_ms, Some(3_603_500));
        assert_eq!(p.cues[2].speaker.as_deref(), Some("Bob"));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn crlf_and_bom_twin() {
        let twin = format!("\u{FEFF}{}", SAMPLE.replace('\n', "\r\n"));
        assert_eq!(parse(&twin).unwrap().cues, parse(SAMPLE).unwrap().cues);
    }

    #[test]
    fn bracket_speakers_and_faults() {
        let s = "WEBVTT\n\n00:00:00.000 --> 00:00:07.000\n[Guest 2]: Welcome.\n\n00:00:05.000 --> 00:00:04.000\n[Amit Varma]: Backwards.\n\n00:00:09.000 --> 00:00:12.000\nNo label carries the speaker.\n";
        let p = parse(s).unwrap();
        assert_eq!(p.cues[0].speaker.as_deref(), Some("Guest 2"));
        assert_eq!(p.cues[0].end_ms, Some(5_000));
        assert_eq!(p.cues[1].end_ms, Some(5_000));
        assert_eq!(p.cues[2].speaker.as_deref(), Some("Amit Varma"));
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(p.warnings[0].line, 6);
    }

    #[test]
    fn rejects_non_vtt() {
        assert_eq!(
            parse("hello\nworld").unwrap_err().kind,
            ParseErrorKind::MissingHeader
        );
        assert_eq!(
            parse("WEBVTT\n\nxx --> 00:01.000\nhi").unwrap_err().kind,
            ParseErrorKind::BadTimestamp("xx".into())
        );
        assert_eq!(parse("WEBVTT\n").unwrap_err().kind, ParseErrorKind::Empty);
    }
}
