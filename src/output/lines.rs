//! The JSON records of the commands other than search and related (whose
//! lines are in [`super::json`]): `index`'s summary, `stats`, `feed`'s
//! lines, `scan`'s per-feed report and summary, and `eval`'s metrics.
//! The commands fill them and print each as one line; the field names
//! are the schema, pinned by the integration tests.

use std::collections::BTreeMap;

use serde::Serialize;

/// `index --json`: the `summary` line of a run.
/// Each field but `type` (`"summary"`), `index` and `model` is the
/// [`Report`](crate::indexer::Report) field of the same name, or derived
/// from them (`passages_per_sec`).
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
pub struct IndexSummary<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub index: String,
    pub indexed: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub folded: usize,
    pub removed: usize,
    pub ignored: usize,
    pub chunks: usize,
    pub embed_secs: f64,
    pub total_secs: f64,
    pub passages_per_sec: f64,
    pub model: &'a str,
}

/// One show in [`StatsJson::per_show`].
#[derive(Debug, Serialize, Default)]
pub struct ShowStats {
    /// Episodes.
    pub episodes: u64,
    /// Passages.
    pub chunks: u64,
    /// Hours of speech, to a tenth.
    pub hours: f64,
    /// Its hosts, as the transcripts name them (speakers named in at
    /// least a quarter of its episodes; see `podsift::insight::hosts`).
    pub hosts: Vec<String>,
}

/// The `stats --json` object (also the `stats` tool's result).
#[derive(Debug, Serialize)]
pub struct StatsJson<'a> {
    /// `"stats"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The index folder.
    pub index: String,
    /// Shows.
    pub shows: u64,
    /// Episodes.
    pub episodes: u64,
    /// Passages.
    pub chunks: u64,
    /// Hours of speech, to a tenth.
    pub hours: f64,
    /// The model id.
    pub model: &'a str,
    /// Vector dimensions.
    pub dim: usize,
    /// The engines that embedded the index's passages.
    pub embedded_by: &'a [String],
    /// The engine that would embed here now (`PODSIFT_ENGINE` or the
    /// fastest tier of this CPU).
    pub engine: String,
    /// Source files known.
    pub files: usize,
    /// Of those, folded into another file of the same episode.
    pub folded_files: usize,
    /// Of those, folded because their episode id matched another file's.
    pub folded_by_name: usize,
    /// Of those, folded because their words were the same or nearly so.
    pub folded_by_content: usize,
    /// Generation of the last commit.
    pub generation: u64,
    /// Passages flagged as not content.
    pub noncontent: u64,
    /// What the index holds, as one hash (`podsift stats` documents it).
    pub digest: String,
    /// Bytes of the live data folder.
    pub bytes_on_disk: u64,
    /// Per show, by name.
    pub per_show: BTreeMap<&'a str, ShowStats>,
    /// `--verify`: what was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyJson>,
}

/// `--verify`: what was checked (damage is an error, not a field).
#[derive(Debug, Serialize)]
pub struct VerifyJson {
    /// Vector segments whose checksums match.
    pub vector_segments: usize,
    /// Vector segments written before checksums.
    pub without_checksum: usize,
    /// Rows in all segments.
    pub rows: u64,
    /// Full-text segments checked.
    pub text_segments: usize,
    /// Seconds the check took.
    pub secs: f64,
}

/// `feed add|remove|import|list --json`: one feed, and what was done to
/// it (absent keys are left out).
/// Fields: the feed's name and URL, the `action` done, and for `feed
/// list` when it was added and last scanned, how that went, and its
/// episodes saved and waiting.
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
pub struct FeedLine<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'a str,
    pub url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_scan: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub episodes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<usize>,
}

impl<'a> FeedLine<'a> {
    /// The line for a feed `action` was done to.
    pub fn action(name: &'a str, url: &'a str, action: &'static str) -> FeedLine<'a> {
        FeedLine {
            kind: "feed",
            name,
            url,
            action: Some(action),
            added: None,
            last_scan: None,
            last_status: None,
            episodes: None,
            waiting: None,
        }
    }
}

/// `scan --json`: what one feed's scan did.
/// Each field but `type` (`"feed"`) is the
/// [`FeedReport`](crate::feed::scan::FeedReport) field of the same name,
/// as text where that is an error, a path or a tally.
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
pub struct ScanFeedLine<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'a str,
    pub url: &'a str,
    pub status: &'static str,
    pub error: Option<String>,
    pub items: usize,
    pub new_episodes: usize,
    pub transcripts_fetched: usize,
    pub transcribed: usize,
    pub audio_s: f64,
    pub without_transcript: usize,
    pub older: usize,
    pub failures: Vec<String>,
    pub given_up: usize,
    pub warnings: Vec<String>,
    pub files: Vec<String>,
    pub requests: u64,
    pub bytes: u64,
    pub secs: f64,
}

/// `scan --json`: the `summary` line, last.
/// The totals of the feeds' [`ScanFeedLine`]s, the library folder, and
/// the index run that followed (`indexed`, `chunks`, `index_secs`).
#[allow(missing_docs)]
#[derive(Debug, Serialize)]
pub struct ScanSummary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub library: String,
    pub feeds: usize,
    pub failed_feeds: usize,
    pub new_episodes: usize,
    pub transcripts_fetched: usize,
    pub transcribed: usize,
    pub without_transcript: usize,
    pub older: usize,
    pub failures: usize,
    pub requests: u64,
    pub bytes: u64,
    pub fetch_secs: f64,
    pub indexed: usize,
    pub chunks: usize,
    pub index_secs: f64,
    pub total_secs: f64,
}

/// `eval --beir --json`: one mode's retrieval metrics.
#[derive(Debug, Serialize)]
pub struct BeirLine<'a> {
    /// The search mode.
    pub mode: &'a str,
    /// nDCG@10.
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    /// Recall@100.
    #[serde(rename = "recall@100")]
    pub recall100: f64,
    /// MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    /// Queries scored.
    pub queries: usize,
    /// Milliseconds per query.
    pub ms_per_query: f64,
}

/// `eval --json` on podcast moments: one mode's metrics.
#[derive(Debug, Serialize)]
pub struct MomentLine<'a> {
    /// `"moments"`.
    pub set: &'static str,
    /// The search mode.
    pub mode: &'a str,
    /// Share of queries with the moment first.
    #[serde(rename = "success@1")]
    pub success1: f64,
    /// Share with the moment in the first 5.
    #[serde(rename = "success@5")]
    pub success5: f64,
    /// Share with the moment in the first 10.
    #[serde(rename = "success@10")]
    pub success10: f64,
    /// MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    /// Queries scored.
    pub queries: usize,
    /// Milliseconds per query.
    pub ms_per_query: f64,
}
