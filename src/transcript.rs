//! The data model every parser produces: [`Cue`]s, and the [`Episode`] metadata
//! that [`crate::ingest::read`] attaches to them to make a [`Transcript`].
//!
//! Times are milliseconds from the start of the episode. A cue may be untimed
//! (plain-text transcripts) or have a start but no end (chat-style JSON); the
//! chunker copes with both. [`Format`] names the file formats (their parsers
//! are in [`crate::ingest`]). Nothing here does I/O.

use std::path::{Path, PathBuf};

/// Milliseconds from the start of an episode.
pub type Millis = u64;

/// One unit of speech: a WebVTT/SRT cue, a JSON segment, a markdown turn
/// paragraph or a line of plain text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cue {
    /// Start time, when the format has one.
    pub start_ms: Option<Millis>,
    /// End time, when the format has one.
    pub end_ms: Option<Millis>,
    /// Who speaks, when the format says so (a label carried forward counts).
    pub speaker: Option<String>,
    /// The spoken text, markup removed, whitespace collapsed.
    pub text: String,
}

impl Cue {
    /// A timed cue with no speaker.
    pub fn timed(start_ms: Millis, end_ms: Millis, text: impl Into<String>) -> Cue {
        Cue {
            start_ms: Some(start_ms),
            end_ms: Some(end_ms),
            speaker: None,
            text: text.into(),
        }
    }
}

/// What the parser of one file returns: cues plus non-fatal warnings (repaired
/// times, dropped junk), each with the 1-based line it refers to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The cues, in file order, after repair.
    pub cues: Vec<Cue>,
    /// Problems that were repaired or skipped, not fatal.
    pub warnings: Vec<Warning>,
    /// Metadata found inside the file itself (markdown front matter).
    pub meta: EpisodeMeta,
}

/// A non-fatal problem in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line in the source file (0 when not tied to a line).
    pub line: usize,
    /// What was wrong and what was done about it.
    pub message: String,
}

impl Warning {
    /// A warning at `line`.
    pub fn new(line: usize, message: impl Into<String>) -> Warning {
        Warning {
            line,
            message: message.into(),
        }
    }
}

/// Episode metadata as far as it is known; every field is optional because
/// most transcript formats carry none of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpisodeMeta {
    /// Episode title.
    pub title: Option<String>,
    /// Publication date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Where the episode can be heard or watched.
    pub url: Option<String>,
    /// Guests named by the metadata.
    pub guests: Vec<String>,
    /// Hosts named by the metadata (Podcasting 2.0 `podcast:person`).
    pub hosts: Vec<String>,
    /// Chapters (Podcasting 2.0 `podcast:chapters`), in time order.
    pub chapters: Vec<Chapter>,
}

/// A chapter of an episode: where it starts and its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    /// Start, ms.
    pub start_ms: Millis,
    /// Title.
    pub title: String,
}

/// The title of the chapter that contains `at_ms`, if any.
pub fn chapter_at(chapters: &[Chapter], at_ms: Millis) -> Option<&str> {
    let i = chapters.partition_point(|c| c.start_ms <= at_ms);
    i.checked_sub(1).map(|i| chapters[i].title.as_str())
}

impl EpisodeMeta {
    /// Fill the fields that are empty here from `other`.
    pub fn fill_from(&mut self, other: &EpisodeMeta) {
        if self.title.is_none() {
            self.title.clone_from(&other.title);
        }
        if self.date.is_none() {
            self.date.clone_from(&other.date);
        }
        if self.url.is_none() {
            self.url.clone_from(&other.url);
        }
        if self.guests.is_empty() {
            self.guests.clone_from(&other.guests);
        }
        if self.hosts.is_empty() {
            self.hosts.clone_from(&other.hosts);
        }
        if self.chapters.is_empty() {
            self.chapters.clone_from(&other.chapters);
        }
    }
}

/// The transcript formats podsift reads. A closed set: one parser each.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Podcasting 2.0 / Whisper / chat-array JSON.
    Json,
    /// WebVTT.
    Vtt,
    /// SubRip.
    Srt,
    /// Markdown with speaker turns.
    Markdown,
    /// HTML (Podcasting 2.0 `<cite>/<time>/<p>`).
    Html,
    /// Plain text, untimed.
    Text,
    /// A BEIR document collection (JSON Lines): many episodes in one file.
    Beir,
}

impl Format {
    /// The format for a file name, from its extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "vtt" | "webvtt" => Format::Vtt,
            "srt" => Format::Srt,
            "json" => Format::Json,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            "txt" | "text" => Format::Text,
            "jsonl" => Format::Beir,
            _ => return None,
        })
    }

    /// The format for a file, from its name, or from its first bytes when the
    /// name says nothing useful.
    pub fn detect(path: &Path, head: &str) -> Option<Format> {
        let by_name = Format::from_path(path);
        let h = head.trim_start_matches('\u{FEFF}').trim_start();
        match by_name {
            Some(Format::Text) | None => {
                if h.starts_with("WEBVTT") {
                    Some(Format::Vtt)
                } else if by_name.is_none() && (h.starts_with('{') || h.starts_with('[')) {
                    Some(Format::Json)
                } else {
                    by_name
                }
            }
            f => f,
        }
    }

    /// The lower-case name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Vtt => "vtt",
            Format::Srt => "srt",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Text => "text",
            Format::Beir => "beir",
        }
    }
}

/// One source transcript file and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    /// Stable key: `<show>/<path below the show without extensions>`.
    pub id: String,
    /// Show slug (the top folder below the indexed root).
    pub show: String,
    /// Title, date, url, guests.
    pub meta: EpisodeMeta,
    /// The source file as given to `index` (root joined with the relative path).
    pub path: PathBuf,
    /// The format it was parsed as.
    pub format: Format,
}

impl Episode {
    /// The title to show: the metadata title, else the id's last part.
    pub fn title(&self) -> &str {
        self.meta
            .title
            .as_deref()
            .unwrap_or_else(|| self.id.rsplit('/').next().unwrap_or(&self.id))
    }
}

/// An [`Episode`] with its cues.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The episode.
    pub episode: Episode,
    /// Its cues in time order (as the file gives them, after repair).
    pub cues: Vec<Cue>,
    /// Non-fatal problems found while reading it.
    pub warnings: Vec<Warning>,
}

impl Transcript {
    /// Whether any cue has a start time.
    pub fn is_timed(&self) -> bool {
        self.cues.iter().any(|c| c.start_ms.is_some())
    }

    /// Whether any cue names a speaker.
    pub fn has_speakers(&self) -> bool {
        self.cues.iter().any(|c| c.speaker.is_some())
    }

    /// The end of the last timed cue, as a duration estimate.
    pub fn duration_ms(&self) -> Millis {
        self.cues
            .iter()
            .filter_map(|c| c.end_ms.or(c.start_ms))
            .max()
            .unwrap_or(0)
    }
}
