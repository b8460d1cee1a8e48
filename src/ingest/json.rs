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
//! The document is read as a stream, never into a generic `Value` tree nor
//! a list of segments: a first pass over the segments only notes which
//! shape they have, a second one turns each segment into cues as it is read.
//! So memory follows the cues kept, not the segments in the file (a 60 MB
//! array of empty `{}` segments once took 7 GB), and serde_json's recursion
//! limit turns deeply nested input into an error instead of a stack
//! overflow.

use std::fmt;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess};
use serde::de::{SeqAccess, Visitor};
use serde::Deserialize;

use super::clean::{self, CueSink};
use super::timestamp;
use crate::error::{ParseError, ParseErrorKind};
use crate::transcript::{Cue, Parsed};

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

/// Which fields a segment has, read without keeping anything (the first
/// pass).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Probe {
    body: Option<IgnoredAny>,
    start: Option<IgnoredAny>,
    text: Option<IgnoredAny>,
    time: Option<IgnoredAny>,
    message: Option<IgnoredAny>,
}

/// The shapes seen among the segments.
#[derive(Default)]
struct Shape {
    chat: bool,
    p20: bool,
    whisper: bool,
}

impl Shape {
    fn observe(&mut self, p: &Probe) {
        self.chat |= p.message.is_some() && p.time.is_some();
        self.p20 |= p.body.is_some();
        self.whisper |= p.text.is_some() && p.start.is_some();
    }
}

/// Hands each element of the segments array to a callback as it is read.
struct EachSegment<'f, T>(&'f mut dyn FnMut(T));

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for EachSegment<'_, T> {
    /// Whether there was an array (`null` is none).
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for EachSegment<'_, T> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of segments")
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while let Some(seg) = seq.next_element::<T>()? {
            (self.0)(seg);
        }
        Ok(true)
    }
}

/// `{"segments": [...], ...}`: the segments to the callback, other keys
/// skipped.
struct InObject<'f, T>(&'f mut dyn FnMut(T));

impl<'de, T: DeserializeOwned> Visitor<'de> for InObject<'_, T> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with segments")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "segments" {
                found |= map.next_value_seed(EachSegment(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Read the segments of `input` (a top-level array, or an object's
/// `segments`), one at a time, into `f`.
fn each_segment<T: DeserializeOwned>(input: &str, f: &mut dyn FnMut(T)) -> Result<(), ParseError> {
    let json_err = |e: serde_json::Error| {
        let kind = if e.is_data() {
            ParseErrorKind::UnknownJsonShape
        } else {
            ParseErrorKind::Json(e.to_string())
        };
        ParseError::new(e.line().max(1), kind)
    };
    let mut de = serde_json::Deserializer::from_str(input);
    let found = match input.trim_start().as_bytes().first() {
        Some(b'[') => EachSegment(f).deserialize(&mut de),
        Some(b'{') => de.deserialize_map(InObject(f)),
        _ => {
            return Err(ParseError::new(
                1,
                ParseErrorKind::Json("expected an object or an array".into()),
            ))
        }
    }
    .map_err(json_err)?;
    de.end().map_err(json_err)?;
    if !found {
        return Err(ParseError::new(1, ParseErrorKind::UnknownJsonShape));
    }
    Ok(())
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
    let mut shape = Shape::default();
    each_segment(input, &mut |p: Probe| shape.observe(&p))?;
    if !(shape.chat || shape.p20 || shape.whisper) {
        return Err(ParseError::new(1, ParseErrorKind::UnknownJsonShape));
    }
    let mut sink = CueSink::new();
    if shape.chat {
        let mut chat = Chat::default();
        each_segment(input, &mut |seg: Segment| chat.push(seg, &mut sink))?;
        chat.flush(None, &mut sink);
    } else if shape.p20 {
        let mut words = Phrases::default();
        each_segment(input, &mut |seg: Segment| words.push(&seg, &mut sink))?;
        words.finish(&mut sink);
    } else {
        each_segment(input, &mut |seg: Segment| {
            sink.push(
                0,
                Cue {
                    start_ms: seg.start.as_ref().and_then(Time::ms),
                    end_ms: seg.end.as_ref().and_then(Time::ms),
                    speaker: speaker(&seg.speaker),
                    text: clean::text(seg.text.as_deref().unwrap_or("")),
                },
            )
        })?;
    }
    if sink.cues().is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::Empty));
    }
    Ok(sink.finish())
}

/// Chat messages waiting for the next message's time, which is their end.
#[derive(Default)]
struct Chat {
    /// (start, speaker, text) in order.
    pending: Vec<(Option<u64>, Option<String>, String)>,
}

impl Chat {
    fn push(&mut self, seg: Segment, sink: &mut CueSink) {
        let start = seg.time.as_ref().and_then(Time::ms);
        if start.is_some() {
            self.flush(start, sink);
        }
        let text = clean::text(seg.message.as_deref().unwrap_or(""));
        if !text.is_empty() {
            self.pending.push((start, speaker(&seg.speaker), text));
        }
    }

    /// End the waiting messages at `next` (the next message's start; `None`
    /// at the end of the file) and hand them on.
    fn flush(&mut self, next: Option<u64>, sink: &mut CueSink) {
        for (start, speaker, text) in self.pending.drain(..) {
            sink.push(
                0,
                Cue {
                    start_ms: start,
                    end_ms: next.filter(|e| start.is_some_and(|s| *e >= s)).or(start),
                    speaker,
                    text,
                },
            );
        }
    }
}

fn speaker(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(clean::collapse)
        .filter(|s| !s.is_empty() && !clean::is_non_person(s))
}

/// Podcasting 2.0 segments, merged into phrases as they are read.
#[derive(Default)]
struct Phrases {
    cur: Option<Cue>,
    words: usize,
}

impl Phrases {
    fn push(&mut self, seg: &Segment, sink: &mut CueSink) {
        let text = clean::text(seg.body.as_deref().unwrap_or(""));
        if text.is_empty() {
            return;
        }
        let start = seg.start_time.as_ref().and_then(Time::ms);
        let end = seg.end_time.as_ref().and_then(Time::ms).or(start);
        let spk = speaker(&seg.speaker);
        if let Some(c) = self.cur.as_mut() {
            let gap = match (c.end_ms, start) {
                (Some(e), Some(s)) => s.saturating_sub(e) > 2_000,
                _ => false,
            };
            let ended = c.text.ends_with(['.', '?', '!']);
            if c.speaker == spk && !gap && !ended && self.words < 40 {
                c.text.push(' ');
                c.text.push_str(&text);
                c.end_ms = end.or(c.end_ms);
                self.words += text.split_whitespace().count();
                return;
            }
        }
        if let Some(c) = self.cur.take() {
            sink.push(0, c);
        }
        self.words = text.split_whitespace().count();
        self.cur = Some(Cue {
            start_ms: start,
            end_ms: end,
            speaker: spk,
            text,
        });
    }

    fn finish(&mut self, sink: &mut CueSink) {
        if let Some(c) = self.cur.take() {
            sink.push(0, c);
        }
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
