//! Ingest: from files on disk to [`Transcript`]s.
//!
//! [`Format::detect`] picks a parser from the file name and the first bytes;
//! each parser (`vtt`, `srt`, `json`, `markdown`, `text`, `html`) is a pure
//! `&str -> Result<Parsed, ParseError>` function. [`read`] does the one read of
//! the file (size-capped, binary-checked, lossily decoded with a warning for
//! invalid UTF-8) and attaches the [`Episode`]: show, id and metadata, from the
//! file itself (front matter) and from a show-level metadata file
//! ([`showmeta`]). [`walk`] finds the transcripts under the folders given to
//! `index` and folds duplicates; [`fingerprint`] signs a transcript's words
//! so that one episode in two files is found by content, not name.

pub mod beir;
pub mod clean;
pub mod fingerprint;
pub mod html;
pub mod json;
pub mod markdown;
pub mod showmeta;
pub mod srt;
pub mod text;
pub mod timestamp;
pub mod vtt;
pub mod walk;

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, ParseError, ParseErrorKind, Result};
pub use crate::transcript::Format;
use crate::transcript::{Episode, EpisodeMeta, Parsed, Transcript, Warning};

/// The largest transcript file read, in bytes (a 64 MiB transcript is about a
/// thousand hours of speech; the corpus's largest is 0.3 MB). Larger files are
/// reported and skipped so that memory stays bounded.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Parsing is ingest's part of a [`Format`]: the parsers live here, and
/// the format itself in [`crate::transcript`] (which imports nothing of
/// ingest).
impl Format {
    /// Parse `input` as this format. A [`Format::Beir`] collection holds many
    /// episodes and is read by [`beir::parse`] instead.
    pub fn parse(self, input: &str) -> Result<Parsed, ParseError> {
        match self {
            Format::Vtt => vtt::parse(input),
            Format::Srt => srt::parse(input),
            Format::Json => json::parse(input),
            Format::Markdown => markdown::parse(input),
            Format::Html => html::parse(input),
            Format::Text => text::parse(input),
            Format::Beir => Err(ParseError::new(1, ParseErrorKind::UnknownJsonShape)),
        }
    }
}

/// Which `Name:` labels in a file are speakers. Unambiguous markup (`<v>`,
/// `[Name]:`) always is; a bare `Name:` guess is accepted when the same label
/// starts at least two cues, or when it is the file's first label.
#[derive(Debug, Default)]
pub struct SpeakerLabels {
    counts: HashMap<String, usize>,
    strong: std::collections::HashSet<String>,
    first: Option<String>,
}

impl SpeakerLabels {
    /// Record one occurrence of a label (or of none).
    pub fn observe(&mut self, label: Option<&str>, strong: bool) {
        if let Some(l) = label {
            *self.counts.entry(l.to_string()).or_default() += 1;
            if strong {
                self.strong.insert(l.to_string());
            }
            if self.first.is_none() {
                self.first = Some(l.to_string());
            }
        }
    }

    /// Whether `label` counts as a speaker: markup says so, it starts two
    /// or more cues, it is the file's first label, or it is a name-like label
    /// that is not a common word (`Yes:`, `Step:`, `Note:`).
    pub fn accepts(&self, label: &str) -> bool {
        self.strong.contains(label)
            || self.counts.get(label).copied().unwrap_or(0) >= 2
            || self.first.as_deref() == Some(label)
            || !is_common_word(label)
    }

    /// Like [`accepts`](Self::accepts) but without the first-label allowance
    /// (plain text, where a first `Note:` is likelier prose than a speaker).
    pub fn accepts_strictly(&self, label: &str) -> bool {
        self.strong.contains(label) || self.counts.get(label).copied().unwrap_or(0) >= 2
    }
}

/// Capitalised words that end up before a colon in speech without being a
/// speaker's name.
fn is_common_word(label: &str) -> bool {
    const COMMON: &[&str] = &[
        "yes",
        "no",
        "so",
        "well",
        "note",
        "example",
        "question",
        "answer",
        "step",
        "okay",
        "ok",
        "right",
        "also",
        "now",
        "here",
        "there",
        "this",
        "that",
        "and",
        "but",
        "or",
        "because",
        "again",
        "remember",
        "warning",
        "update",
        "edit",
        "first",
        "second",
        "third",
        "finally",
        "basically",
        "anyway",
        "look",
        "listen",
        "like",
        "tip",
        "rule",
        "lesson",
        "quote",
        "spoiler",
        "hint",
        "problem",
        "solution",
        "result",
        "bonus",
        "ps",
        "number one",
        "number two",
        "part one",
        "part two",
        "step one",
        "step two",
        "step three",
    ];
    let l = label.trim().to_lowercase();
    COMMON.contains(&l.as_str()) || l.split_whitespace().count() > 3
}

/// A date in any of the forms metadata uses (`2024-12-08`, `16 Jan 2017`,
/// RFC 2822, RFC 3339) as `YYYY-MM-DD`.
pub fn normalise_date(s: &str) -> Option<String> {
    use chrono::{DateTime, NaiveDate};
    let s = s.trim();
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, "%d %b %Y").ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%d %B %Y").ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%B %d, %Y").ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%b %d, %Y").ok())
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|d| d.date_naive()))
        .or_else(|| DateTime::parse_from_rfc2822(s).ok().map(|d| d.date_naive()))
        .or_else(|| {
            s.get(..10)
                .and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
        })?;
    Some(d.format("%Y-%m-%d").to_string())
}

/// Bytes to text: UTF-8 if valid, else decoded lossily with a warning naming
/// the first bad line. NUL bytes in the first 8 KiB mean binary: an error.
pub fn decode(bytes: &[u8]) -> Result<(String, Option<Warning>), ParseError> {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err(ParseError::new(1, ParseErrorKind::Binary));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_string(), None)),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            let text = String::from_utf8_lossy(bytes).into_owned();
            let bad = text.chars().filter(|&c| c == '\u{FFFD}').count();
            let total = text.chars().count();
            if total >= 16 && bad * 4 > total {
                return Err(ParseError::new(line, ParseErrorKind::Binary));
            }
            Ok((
                text,
                Some(Warning::new(
                    line,
                    "invalid UTF-8, decoded lossily (bad bytes replaced by U+FFFD)",
                )),
            ))
        }
    }
}

/// Read and parse one transcript file. `episode` carries the identity and
/// the metadata known from outside the file; the file's own metadata (front
/// matter) wins over it where both have a field.
pub fn read(path: &Path, format: Format, mut episode: Episode) -> Result<Transcript> {
    let bytes = read_capped(path)?;
    let (text, utf8_warning) = decode(&bytes).map_err(|e| with_path(e, path))?;
    drop(bytes);
    let head_end = text.char_indices().nth(64).map_or(text.len(), |(i, _)| i);
    let format = Format::detect(path, &text[..head_end]).unwrap_or(format);
    episode.format = format;
    let parsed = format.parse(&text).map_err(|e| with_path(e, path))?;
    let mut meta: EpisodeMeta = parsed.meta;
    meta.fill_from(&episode.meta);
    episode.meta = meta;
    let mut cues = parsed.cues;
    let people: Vec<String> = episode
        .meta
        .guests
        .iter()
        .chain(&episode.meta.hosts)
        .cloned()
        .collect();
    clean::resolve_speakers(&mut cues, &people);
    let mut warnings: Vec<Warning> = utf8_warning.into_iter().collect();
    warnings.extend(parsed.warnings);
    Ok(Transcript {
        episode,
        cues,
        warnings,
    })
}

/// The file's bytes, refusing files over [`MAX_FILE_BYTES`] before reading.
pub fn read_capped(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(Error::Parse(ParseError {
            path: Some(path.to_path_buf()),
            line: 1,
            kind: ParseErrorKind::TooLarge(len, MAX_FILE_BYTES),
        }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Parse(ParseError {
            path: Some(path.to_path_buf()),
            line: 1,
            kind: ParseErrorKind::TooLarge(bytes.len() as u64, MAX_FILE_BYTES),
        }));
    }
    Ok(bytes)
}

fn with_path(mut e: ParseError, path: &Path) -> Error {
    e.path = Some(path.to_path_buf());
    Error::Parse(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_formats() {
        assert_eq!(
            Format::detect(Path::new("a.mp3.vtt"), ""),
            Some(Format::Vtt)
        );
        assert_eq!(
            Format::detect(Path::new("a.txt"), "WEBVTT\n"),
            Some(Format::Vtt)
        );
        assert_eq!(
            Format::detect(Path::new("a.txt"), "hello"),
            Some(Format::Text)
        );
        assert_eq!(
            Format::detect(Path::new("a.transcript"), "{\"segments\":[]}"),
            Some(Format::Json)
        );
        assert_eq!(Format::detect(Path::new("a.mp3"), "ID3"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(normalise_date("16 Jan 2017").as_deref(), Some("2017-01-16"));
        assert_eq!(normalise_date("2024-12-08").as_deref(), Some("2024-12-08"));
        assert_eq!(
            normalise_date("Tue, 10 Jun 2025 04:00:00 +0000").as_deref(),
            Some("2025-06-10")
        );
        assert_eq!(
            normalise_date("2025-06-10T04:00:00Z").as_deref(),
            Some("2025-06-10")
        );
        assert_eq!(normalise_date("someday"), None);
    }

    #[test]
    fn decode_lossy_and_binary() {
        let (t, w) = decode(b"ok\nbad \xE9 byte\n").unwrap();
        assert!(t.contains('\u{FFFD}'));
        assert_eq!(w.unwrap().line, 2);
        assert_eq!(
            decode(b"\x00\x01\x02").unwrap_err().kind,
            ParseErrorKind::Binary
        );
        assert_eq!(
            decode(&[0xFF; 100]).unwrap_err().kind,
            ParseErrorKind::Binary
        );
    }

    /// Every parser, on any input: a transcript or a parse error, never a
    /// panic; and a transcript holds together (each cue ends at or after
    /// its start, none is empty). The fuzz targets (fuzz/fuzz_targets) run
    /// the same check for minutes; these keep it in the normal suite.
    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of every format, so that random joins reach deep into
        /// the parsers rather than failing at the first byte.
        const PIECES: &[&str] = &[
            "WEBVTT\n\n",
            "\n",
            "\n\n",
            "\r\n",
            "1\n",
            "00:00:01.000 --> 00:00:02.000\n",
            "00:00:01,000 --> 00:00:02,000\n",
            "999999999999:59:59.999",
            "99:99.999",
            " --> ",
            "-->",
            "<v Ann>",
            "</v>",
            "<c.x>",
            "<b>",
            "NOTE ",
            "STYLE\n",
            "{",
            "}",
            "[",
            "]",
            "\"segments\":",
            "\"start\":",
            "\"end\":",
            "\"startTime\":",
            "\"body\":",
            "\"text\":",
            "\"speaker\":",
            "1e308",
            "-1",
            "NaN",
            "null",
            ",",
            ":",
            "\"x\"",
            "# Title\n",
            "---\n",
            "title: t\n",
            "date: 2024-01-01\n",
            "**Ann:** ",
            "Ann: ",
            "[00:01:02] ",
            "(00:01) ",
            "<p>",
            "</p>",
            "<br>",
            "&amp;",
            "&#x1F600;",
            "<script>",
            "words and more words. ",
            "é",
            "🎙",
            "\u{0}",
            "\u{feff}",
            "\t",
            "{\"_id\":\"d\",\"text\":\"t\"}\n",
        ];

        fn pieces() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|v| v.concat())
        }

        fn input() -> impl Strategy<Value = String> {
            prop_oneof![pieces(), "\\PC{0,200}", any::<String>()]
        }

        fn holds_together(parsed: &Parsed) -> Result<(), TestCaseError> {
            for c in &parsed.cues {
                if let (Some(s), Some(e)) = (c.start_ms, c.end_ms) {
                    prop_assert!(e >= s, "cue ends before it starts: {:?}", c);
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]
            #[test]
            fn vtt(s in input()) {
                if let Ok(p) = vtt::parse(&s) { holds_together(&p)?; }
            }
            #[test]
            fn srt(s in input()) {
                if let Ok(p) = srt::parse(&s) { holds_together(&p)?; }
            }
            #[test]
            fn json(s in input()) {
                if let Ok(p) = json::parse(&s) { holds_together(&p)?; }
            }
            #[test]
            fn markdown(s in input()) {
                if let Ok(p) = markdown::parse(&s) { holds_together(&p)?; }
            }
            #[test]
            fn html(s in input()) {
                if let Ok(p) = html::parse(&s) { holds_together(&p)?; }
            }
            #[test]
            fn text(s in input()) {
                if let Ok(p) = text::parse(&s) { holds_together(&p)?; }
            }
            #[test]
            fn beir(s in input()) {
                let _ = beir::parse(&s);
            }
            #[test]
            fn decode_and_detect(bytes in prop::collection::vec(any::<u8>(), 0..300), name in "[a-z.]{0,12}") {
                if let Ok((text, _)) = decode(&bytes) {
                    if let Some(f) = Format::detect(Path::new(&name), &text) {
                        if f != Format::Beir {
                            let _ = f.parse(&text);
                        }
                    }
                }
            }
            #[test]
            fn clean(s in input()) {
                let _ = clean::text(&s);
                let _ = clean::strip_tags(&s);
                let _ = clean::decode_entities(&s);
            }
        }
    }
}
