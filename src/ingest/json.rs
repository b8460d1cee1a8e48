//! JSON transcripts. Three shapes are read:
//!
//! - **Podcasting 2.0** (`<podcast:transcript type="application/json">`):
//!   `{"version": "1.0.0", "segments": [{"speaker", "startTime", "endTime",
//!   "body"}]}` with numeric seconds. Word-level segments (one word each) are
//!   merged into phrases: consecutive segments of one speaker join until a
//!   sentence ends, 40 words gather, or a gap of 2 s opens.
//! - **Whisper** (`whisper --output_format json`): `{"text", "segments":
//!   [{"start", "end", "text"}]}`, seconds.
//! - **Chat array** (seen-and-unseen `transcripts_chat`): a top-level array of
//!   `{"speaker", "time": "HH:MM:SS.mmm", "message"}`. There is no end time: a
//!   message ends where the next begins.
//!
//! The document is deserialised into typed structs (never a generic `Value`
//! tree), so a file with a million segments costs memory in proportion to its
//! text, and serde_json's recursion limit turns deeply nested input into an
//! error instead of a stack overflow.

use serde::Deserialize;

use super::clean::{self, CueSink};
use super::timestamp;
use crate::error::{ParseError, ParseErrorKind};
use crate::transcript::{Cue, Parsed};

#[derive(Deserialize)]
struct ObjectDoc {
    #[serde(default)]
    segments: Option<Vec<Segment>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Segment {
    speaker: Option<String>,
    #[serde(rename = "startTime")]
    start_time: Option<Time>,
    #[serde(rename = "endTime")]
    end_time: Option<Time>,
    body: Option<String>,
    start: Option<Time>,
    end: Option<Time>,
    text: Option<String>,
    time: Option<Time>,
    message: Option<String>,
}

/// A time as seconds (number) or a timestamp string.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Time {
    Seconds(f64),
    Text(String),
}

impl Time {
    fn ms(&self) -> Option<u64> {
        match self {
            Time::Seconds(s) => timestamp::from_seconds(*s),
            Time::Text(t) => timestamp::parse(t).or_else(|| {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(timestamp::from_seconds)
            }),
        }
    }
}

/// Parse a JSON transcript in any of the accepted shapes.
pub fn parse(input: &str) -> Result<Parsed, ParseError> {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    let json_err = |e: serde_json::Error| {
        let kind = if e.is_data() {
            ParseErrorKind::UnknownJsonShape
        } else {
            ParseErrorKind::Json(e.to_string())
        };
        ParseError::new(e.line().max(1), kind)
    };
    let segments: Vec<Segment> = match input.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(input).map_err(json_err)?,
        Some(b'{') => serde_json::from_str::<ObjectDoc>(input)
            .map_err(json_err)?
            .segments
            .ok_or(ParseError::new(1, ParseErrorKind::UnknownJsonShape))?,
        _ => {
            return Err(ParseError::new(
                1,
                ParseErrorKind::Json("expected an object or an array".into()),
            ))
        }
    };
    let is_chat = segments
        .iter()
        .any(|s| s.message.is_some() && s.time.is_some());
    let is_p20 = segments.iter().any(|s| s.body.is_some());
    let is_whisper = segments
        .iter()
        .any(|s| s.text.is_some() && s.start.is_some());
    if !(is_chat || is_p20 || is_whisper) {
        return Err(ParseError::new(1, ParseErrorKind::UnknownJsonShape));
    }
    let mut sink = CueSink::new();
    if is_chat {
        let starts: Vec<Option<u64>> = segments
            .iter()
            .map(|s| s.time.as_ref().and_then(Time::ms))
            .collect();
        for (i, seg) in segments.iter().enumerate() {
            let end = starts[i + 1..].iter().flatten().next().copied();
            let start = starts[i];
            sink.push(
                0,
                Cue {
                    start_ms: start,
                    end_ms: end.filter(|e| start.is_some_and(|s| *e >= s)).or(start),
                    speaker: speaker(&seg.speaker),
                    text: clean::text(seg.message.as_deref().unwrap_or("")),
                },
            );
        }
    } else if is_p20 {
        merge_words(&segments, &mut sink);
    } else {
        for seg in &segments {
            sink.push(
                0,
                Cue {
                    start_ms: seg.start.as_ref().and_then(Time::ms),
                    end_ms: seg.end.as_ref().and_then(Time::ms),
                    speaker: speaker(&seg.speaker),
                    text: clean::text(seg.text.as_deref().unwrap_or("")),
                },
            );
        }
    }
    if sink.cues().is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::Empty));
    }
    Ok(sink.finish())
}

fn speaker(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(clean::collapse)
        .filter(|s| !s.is_empty() && !clean::is_non_person(s))
}

/// Podcasting 2.0 segments, merged into phrases.
fn merge_words(segments: &[Segment], sink: &mut CueSink) {
    let mut cur: Option<Cue> = None;
    let mut words = 0;
    for seg in segments {
        let text = clean::text(seg.body.as_deref().unwrap_or(""));
        if text.is_empty() {
            continue;
        }
        let start = seg.start_time.as_ref().and_then(Time::ms);
        let end = seg.end_time.as_ref().and_then(Time::ms).or(start);
        let spk = speaker(&seg.speaker);
        if let Some(c) = cur.as_mut() {
            let gap = match (c.end_ms, start) {
                (Some(e), Some(s)) => s.saturating_sub(e) > 2_000,
                _ => false,
            };
            let ended = c.text.ends_with(['.', '?', '!']);
            if c.speaker == spk && !gap && !ended && words < 40 {
                c.text.push(' ');
                c.text.push_str(&text);
                c.end_ms = end.or(c.end_ms);
                words += text.split_whitespace().count();
                continue;
            }
        }
        if let Some(c) = cur.take() {
            sink.push(0, c);
        }
        words = text.split_whitespace().count();
        cur = Some(Cue {
            start_ms: start,
            end_ms: end,
            speaker: spk,
            text,
        });
    }
    if let Some(c) = cur {
        sink.push(0, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podcasting20_words_merge() {
        let s = r#"{"version":"1.0.0","segments":[
            {"speaker":"Darth Vader","startTime":0.5,"endTime":0.75,"body":"I"},
            {"speaker":"Darth Vader","startTime":1,"endTime":1.25,"body":"am"},
            {"speaker":"Darth Vader","startTime":1.5,"endTime":2.0,"body":"your"},
            {"speaker":"Darth Vader","startTime":2.25,"endTime":2.50,"body":"father."},
            {"speaker":"Luke","startTime":3,"endTime":3.5,"body":"Nooo"}]}"#;
        let p = parse(s).unwrap();
        assert_eq!(p.cues.len(), 2);
        assert_eq!(p.cues[0].text, "I am your father.");
        assert_eq!(
            (p.cues[0].start_ms, p.cues[0].end_ms),
            (Some(500), Some(2_500))
        );
        assert_eq!(p.cues[1].speaker.as_deref(), Some("Luke"));
    }

    #[test]
    fn whisper_shape() {
        let s = r#"{"text":"x","segments":[{"id":0,"start":0.0,"end":2.5,"text":" Hello there."},{"id":1,"start":2.5,"end":4,"text":" Bye."}],"language":"en"}"#;
        let p = parse(s).unwrap();
        assert_eq!(p.cues.len(), 2);
        assert_eq!(p.cues[0].text, "Hello there.");
        assert_eq!(p.cues[1].end_ms, Some(4_000));
    }

    #[test]
    fn chat_array() {
        let s = "[\n    {\n        \"speaker\": \"Amit Varma\",\n        \"time\": \"00:00:07.000\",\n        \"message\": \"One.\"\n    },\n    {\"speaker\": \"Guest\", \"time\": \"00:00:20.000\", \"message\": \"Two.\"}\n]";
        let p = parse(s).unwrap();
        assert_eq!(p.cues[0].end_ms, Some(20_000));
        assert_eq!(p.cues[1].end_ms, Some(20_000));
        assert_eq!(p.cues[1].speaker.as_deref(), Some("Guest"));
    }

    #[test]
    fn rejects_other_json() {
        assert_eq!(
            parse(r#"{"foo":[1,2]}"#).unwrap_err().kind,
            ParseErrorKind::UnknownJsonShape
        );
        assert_eq!(
            parse(r#"[{"a":1}]"#).unwrap_err().kind,
            ParseErrorKind::UnknownJsonShape
        );
        assert!(matches!(
            parse(r#"{"segments":[{"#).unwrap_err().kind,
            ParseErrorKind::Json(_)
        ));
        assert!(parse("nope").is_err());
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
    }
}
