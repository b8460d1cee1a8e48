//! JSON Lines output: one object per line, tagged by `type`.
//!
//! - `hit` (search) and `related` (related passages) share one shape:
//!   `{"type", "rank", "id", "score", "show", "episode_id", "title", "chapter", "date",
//!   "path", "start_ms", "end_ms", "start", "speaker", "text", "url", "link",
//!   "merged", "signals": {"bm25_rank", "bm25_score", "dense_rank",
//!   "dense_score", "fused"}}`; `related` adds `of` (the seed's id) and
//!   `shared_terms`.
//! - `summary`, last: `{"type": "summary", "query", "mode", "hits",
//!   "bm25_candidates", "dense_candidates", "passages", "timings_ms":
//!   {"embed", "bm25", "dense", "fuse", "total"}}`.
//!
//! Absent values are `null`, never missing keys. These structs, with the
//! other commands' records in [`super::lines`], are the serialised result
//! types (internal types never derive `Serialize` for output), so the
//! schema changes in one place, pinned by `tests/integration/json.rs`.

use std::io::{self, Write};

use serde::Serialize;

use crate::ingest::timestamp;
use crate::rank::{Hit, Signals, Summary};

/// Which kind of hit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitKind {
    /// A search result.
    Hit,
    /// A related passage of `of`.
    Related {
        /// The seed chunk id.
        of: String,
    },
}

/// Signals as printed.
#[derive(Debug, Serialize)]
pub struct SignalsJson {
    /// 1-based keyword rank.
    pub bm25_rank: Option<usize>,
    /// BM25 score.
    pub bm25_score: Option<f32>,
    /// 1-based dense rank.
    pub dense_rank: Option<usize>,
    /// Cosine similarity.
    pub dense_score: Option<f32>,
    /// Fused score.
    pub fused: Option<f32>,
}

impl From<&Signals> for SignalsJson {
    fn from(s: &Signals) -> Self {
        SignalsJson {
            bm25_rank: s.bm25_rank,
            bm25_score: s.bm25_score,
            dense_rank: s.dense_rank,
            dense_score: s.dense_score,
            fused: s.fused,
        }
    }
}

/// A `hit` or `related` line.
#[derive(Debug, Serialize)]
pub struct HitJson<'a> {
    /// `hit` or `related`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The seed (related only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<&'a str>,
    /// 1-based rank.
    pub rank: usize,
    /// Chunk id (16 hex digits).
    pub id: String,
    /// Ranking score.
    pub score: f32,
    /// Show slug.
    pub show: &'a str,
    /// Episode id.
    pub episode_id: &'a str,
    /// Episode title.
    pub title: &'a str,
    /// Chapter title, when the episode has chapters.
    pub chapter: Option<&'a str>,
    /// Episode date.
    pub date: Option<&'a str>,
    /// Source file as given to `index`.
    pub path: &'a str,
    /// Start of the moment, ms.
    pub start_ms: Option<u64>,
    /// End of the moment, ms.
    pub end_ms: Option<u64>,
    /// Start as `HH:MM:SS`.
    pub start: Option<String>,
    /// Speaker.
    pub speaker: Option<&'a str>,
    /// Passage text.
    pub text: &'a str,
    /// Episode url.
    pub url: Option<&'a str>,
    /// Deep link `url#t=SECONDS`.
    pub link: Option<String>,
    /// Ids of passages merged into this moment.
    pub merged: Vec<String>,
    /// Key terms shared with the seed (related only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_terms: Option<&'a [String]>,
    /// Signals.
    pub signals: SignalsJson,
}

impl<'a> HitJson<'a> {
    /// The line for `hit`.
    pub fn new(kind: &'a HitKind, hit: &'a Hit) -> HitJson<'a> {
        let c = &hit.chunk;
        HitJson {
            kind: match kind {
                HitKind::Hit => "hit",
                HitKind::Related { .. } => "related",
            },
            of: match kind {
                HitKind::Related { of } => Some(of.as_str()),
                HitKind::Hit => None,
            },
            rank: hit.rank,
            id: c.chunk_id().to_string(),
            score: hit.score,
            show: &c.show,
            episode_id: &c.episode,
            title: &c.title,
            chapter: c.chapter.as_deref(),
            date: c.date.as_deref(),
            path: &c.path,
            start_ms: hit.start_ms,
            end_ms: hit.end_ms,
            start: hit.start_ms.map(timestamp::format_hms),
            speaker: c.speaker.as_deref(),
            text: &c.text,
            url: c.url.as_deref(),
            link: super::deep_link(c.url.as_deref(), hit.start_ms),
            merged: hit.merged.iter().map(|m| m.to_string()).collect(),
            shared_terms: match kind {
                HitKind::Related { .. } => Some(&hit.shared_terms),
                HitKind::Hit => None,
            },
            signals: (&hit.signals).into(),
        }
    }
}

/// Timings as printed.
#[derive(Debug, Serialize)]
pub struct TimingsJson {
    /// Query embedding.
    pub embed: f64,
    /// Keyword arm.
    pub bm25: f64,
    /// Dense arm.
    pub dense: f64,
    /// Fusion, fetch and merge.
    pub fuse: f64,
    /// All.
    pub total: f64,
}

/// The `summary` line.
#[derive(Debug, Serialize)]
pub struct SummaryJson<'a> {
    /// Always `summary`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The query.
    pub query: &'a str,
    /// The mode.
    pub mode: &'a str,
    /// Hits printed.
    pub hits: usize,
    /// Keyword candidates.
    pub bm25_candidates: usize,
    /// Dense candidates.
    pub dense_candidates: usize,
    /// Passages in the index.
    pub passages: usize,
    /// Per-stage milliseconds.
    pub timings_ms: TimingsJson,
}

impl<'a> SummaryJson<'a> {
    /// The line for `summary`.
    pub fn new(query: &'a str, s: &'a Summary) -> SummaryJson<'a> {
        let r = |v: f64| (v * 1000.0).round() / 1000.0;
        SummaryJson {
            kind: "summary",
            query,
            mode: s.mode,
            hits: s.hits,
            bm25_candidates: s.bm25_candidates,
            dense_candidates: s.dense_candidates,
            passages: s.passages,
            timings_ms: TimingsJson {
                embed: r(s.embed_ms),
                bm25: r(s.bm25_ms),
                dense: r(s.dense_ms),
                fuse: r(s.fuse_ms),
                total: r(s.total_ms),
            },
        }
    }
}

/// The JSON Lines printer.
pub struct Json<W: Write> {
    out: W,
}

impl<W: Write> Json<W> {
    /// A printer to `out`.
    pub fn new(out: W) -> Json<W> {
        Json { out }
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut W {
        &mut self.out
    }

    /// Write one value as a line.
    pub fn line<T: Serialize>(&mut self, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, v).map_err(io::Error::other)?;
        self.out.write_all(b"\n")
    }

    /// Hits then the summary.
    pub fn hits(
        &mut self,
        query: &str,
        kind: HitKind,
        hits: &[Hit],
        summary: &Summary,
    ) -> io::Result<()> {
        for h in hits {
            self.line(&HitJson::new(&kind, h))?;
        }
        self.line(&SummaryJson::new(query, summary))?;
        self.out.flush()
    }
}
