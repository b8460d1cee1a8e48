//! The committed state of an index beyond tantivy's documents: which source
//! files are known (for incremental updates), which episodes are indexed, and
//! which vector segments hold their vectors. One JSON file per commit
//! (`state-<generation>.json`), named by tantivy's commit payload, so that
//! documents, vectors and this table change together atomically.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ingest::Format;

/// A vector segment of the committed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    /// File name inside `vectors/`.
    pub file: String,
    /// Rows.
    pub rows: u64,
    /// File size, checked on open.
    pub bytes: u64,
}

/// What happened to a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    /// Its episode is indexed from it.
    Indexed,
    /// The same episode is indexed from a richer file.
    Folded {
        /// The file the episode is indexed from.
        into: String,
    },
    /// Not a transcript (a topic index, an empty markdown file).
    Ignored,
}

/// A source file as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path as given to `index`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time (ns since the epoch).
    pub mtime_ns: i64,
    /// blake3 of the bytes.
    pub hash: String,
    /// blake3 of the normalised spoken words (duplicate detection).
    pub text_hash: String,
    /// Its episode id.
    pub episode: String,
    /// Parsed as.
    pub format: Format,
    /// Has times.
    pub is_timed: bool,
    /// Has speakers.
    pub has_speakers: bool,
    /// Number of cues (finer timing is richer).
    #[serde(default)]
    pub cues: u64,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// An indexed episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeEntry {
    /// Key of the source file in [`State::files`].
    pub file: String,
    /// Show slug.
    pub show: String,
    /// Title.
    pub title: String,
    /// Date `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Url.
    pub url: Option<String>,
    /// Passages.
    pub chunks: u64,
    /// Passages flagged as not content.
    #[serde(default)]
    pub noncontent: u64,
    /// Duration, ms (0 when untimed).
    pub duration_ms: u64,
    /// When it was first indexed (RFC 3339).
    pub added: String,
}

/// The committed state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Commit generation (0: nothing committed yet).
    pub generation: u64,
    /// Vector segments.
    pub segments: Vec<SegmentRef>,
    /// Known source files by absolute path.
    pub files: BTreeMap<String, FileEntry>,
    /// Indexed episodes by id.
    pub episodes: BTreeMap<String, EpisodeEntry>,
    /// Shows whose non-content scores still wait for the pass across their
    /// episodes (repetition: sponsor reads repeat). Set by the commit that
    /// adds or removes their episodes, cleared by the commit after that
    /// pass, so a run killed in between is finished by the next one.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub stale_shows: BTreeSet<String>,
    /// Episodes indexed in parts (a long file) whose last part is not
    /// committed yet, by id: what is committed of them stays searchable,
    /// and the next run with the same file goes on from there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partial: BTreeMap<String, Partial>,
}

/// How far an episode indexed in parts got ([`State::partial`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// Parts committed.
    pub parts: u32,
    /// The hash of the file they came from ([`FileEntry::hash`]): another
    /// version of the file starts over.
    pub hash: String,
}

impl State {
    /// Passages flagged as not content.
    pub fn flagged_noncontent(&self) -> u64 {
        self.episodes.values().map(|e| e.noncontent).sum()
    }

    /// Counts for the manifest and `stats`.
    pub fn counts(&self) -> super::manifest::Counts {
        let shows: std::collections::BTreeSet<&str> =
            self.episodes.values().map(|e| e.show.as_str()).collect();
        super::manifest::Counts {
            shows: shows.len() as u64,
            episodes: self.episodes.len() as u64,
            chunks: self.segments.iter().map(|s| s.rows).sum(),
            duration_ms: self.episodes.values().map(|e| e.duration_ms).sum(),
        }
    }
}

/// The tantivy commit payload: which state file belongs to the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Generation.
    pub generation: u64,
    /// State file name.
    pub state: String,
}
