//! The committed state of an index beyond tantivy's documents: which source
//! files are known (for incremental updates), which episodes are indexed, and
//! which vector segments hold their vectors. One JSON file per commit
//! (`state-<generation>.json`), named by tantivy's commit payload, so that
//! documents, vectors and this table change together atomically.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ingest::fingerprint::Signature;
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
        /// How the two were found to be one episode.
        #[serde(default)]
        by: FoldReason,
    },
    /// Not a transcript (a topic index, an empty markdown file).
    Ignored,
}

/// Why a file was folded into another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldReason {
    /// The same episode id (the same name in another format). State files
    /// written before the reason was recorded read as this until the next
    /// `index` run plans again.
    #[default]
    EpisodeId,
    /// Identical normalised words ([`FileEntry::text_hash`]).
    SameWords,
    /// Similar words: estimated Jaccard of word shingles at least
    /// [`FOLD_JACCARD`](crate::ingest::fingerprint::FOLD_JACCARD)
    /// ([`FileEntry::minhash`]).
    SimilarWords,
}

impl FoldReason {
    /// Folded by what was said rather than by name.
    pub fn is_by_content(self) -> bool {
        self != FoldReason::EpisodeId
    }
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
    /// MinHash signature of the spoken words (duplicates across formats
    /// with other segmentation or small differences). `None` where it was
    /// never computed (state files from before it existed, ignored files):
    /// the next run reads such a transcript again to compute it. The stored
    /// name carries the algorithm's version; see
    /// [`fingerprint`](crate::ingest::fingerprint).
    #[serde(
        default,
        rename = "minhash_v1",
        skip_serializing_if = "Option::is_none"
    )]
    pub minhash: Option<Signature>,
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
    /// The speakers its passages name, sorted, each once (to tell a show's
    /// hosts, [`crate::insight::hosts`]); `None` in an index written before
    /// they were recorded, until the next `index` run fills them in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speakers: Option<Vec<String>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file table entry as states before the fingerprint wrote it.
    const OLD_ENTRY: &str = r#"{"path": "/p/a.vtt", "size": 10, "mtime_ns": 1,
        "hash": "h", "text_hash": "t", "episode": "show/a", "format": "vtt",
        "is_timed": true, "has_speakers": false, "cues": 3,
        "status": "folded", "into": "/p/a.json"}"#;

    #[test]
    fn old_entries_load_without_fingerprint_or_reason() {
        let e: FileEntry = serde_json::from_str(OLD_ENTRY).unwrap();
        assert_eq!(e.minhash, None);
        assert_eq!(
            e.outcome,
            Outcome::Folded {
                into: "/p/a.json".into(),
                by: FoldReason::EpisodeId
            }
        );
    }

    #[test]
    fn entries_round_trip_with_fingerprint_and_reason() {
        let mut e: FileEntry = serde_json::from_str(OLD_ENTRY).unwrap();
        e.minhash = Some(crate::ingest::fingerprint::Signature::default());
        e.outcome = Outcome::Folded {
            into: "/p/b.vtt".into(),
            by: FoldReason::SimilarWords,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""minhash_v1":"""#), "{json}");
        assert!(json.contains(r#""by":"similar_words""#), "{json}");
        assert_eq!(serde_json::from_str::<FileEntry>(&json).unwrap(), e);
        e.outcome = Outcome::Indexed;
        e.minhash = None;
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("minhash"), "{json}");
    }
}
