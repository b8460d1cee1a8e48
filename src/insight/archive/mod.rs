//! Where the insights read passages from: the local index ([`Local`]) or a
//! PostgreSQL store ([`pg::PgArchive`]), behind one trait, so that
//! related passages and top insights rank the same way over either.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::chunk::ChunkId;
use crate::error::Result;
use crate::rank::bm25::Weights;
use crate::rank::fuse::Ranked;
use crate::rank::{Hit, SearchOptions};
use crate::store::text::StoredChunk;

mod local;
pub mod pg;

pub use local::Local;

/// What finding related passages reads: the local index ([`Local`]) or a
/// PostgreSQL store ([`pg::PgArchive`]). Each is made for one set of
/// filters ([`super::related::RelatedOptions::filters`]): a passage they refuse (a show
/// left out, non-content unless asked for) is never a candidate.
pub trait Archive {
    /// A stored passage.
    fn chunk(&self, id: ChunkId) -> Result<Option<StoredChunk>>;
    /// Stored passages by id (missing ones left out).
    fn chunks(&self, ids: &[ChunkId]) -> Result<HashMap<ChunkId, StoredChunk>>;
    /// A stored passage's vector.
    fn vector(&self, id: ChunkId) -> Result<Option<Vec<f32>>>;
    /// Passages in the archive's full-text index (for idf).
    fn num_docs(&self) -> Result<u64>;
    /// Passages with vectors in the archive.
    fn passages(&self) -> Result<u64>;
    /// For each term, the passages whose text uses it.
    fn doc_freqs(&self, terms: &[String]) -> Result<Vec<u64>>;
    /// The `k` passages nearest `vector` (by inner product) that the
    /// filters allow and `skip` does not skip, best first.
    fn nearest(&self, vector: &[f32], k: usize, skip: &Skip) -> Result<Vec<Ranked>>;
    /// The top `k` passages for `query` as keywords, fields weighted by
    /// `weights` (no filters: [`Archive::rows`] judges them).
    fn keyword(&self, query: &str, k: usize, weights: &Weights) -> Result<Vec<Ranked>>;
    /// The rows of `ids` that exist.
    fn rows(&self, ids: &[ChunkId]) -> Result<HashMap<ChunkId, Row>>;
    /// Every episode, sorted by id.
    fn episodes(&self) -> Result<Vec<Episode>>;
    /// The passages of `episodes` (ids), with their vectors (borrowed
    /// where the archive maps them, as the local index does).
    fn episode_rows(&self, episodes: &[String]) -> Result<Vec<EpisodeRow<'_>>>;
    /// Whether `speaker` hosts `show` (is named in a large share of its
    /// episodes, counted over the whole archive whatever the filters) and
    /// `episode` has a guest besides ([`crate::insight::hosts`]; each show
    /// counted once and remembered).
    fn is_host(&self, show: &str, episode: &str, speaker: Option<&str>) -> Result<bool>;
    /// A search with the query already embedded (`None`: keyword only).
    fn search(&self, vector: Option<&[f32]>, query: &str, opts: &SearchOptions)
        -> Result<Vec<Hit>>;
}

/// An episode as `top` chooses its window.
#[derive(Debug, Clone)]
pub struct Episode {
    /// Its id.
    pub id: String,
    /// Its show.
    pub show: String,
    /// When it came into the archive (RFC 3339): indexed locally, pushed
    /// to a store.
    pub added: String,
    /// Its publication date, when known.
    pub date: Option<String>,
}

/// A passage of a window episode.
#[derive(Debug, Clone)]
pub struct EpisodeRow<'a> {
    /// The passage.
    pub id: ChunkId,
    /// Its episode's key ([`crate::store::vectors::episode_key`]).
    pub episode: u64,
    /// Its vector.
    pub vector: Cow<'a, [f32]>,
    /// Flagged as not content.
    pub flagged: bool,
}

/// What related needs of a candidate before reading it.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its episode's key ([`crate::store::vectors::episode_key`]).
    pub episode: u64,
    /// Its start in ms, `u64::MAX` when untimed.
    pub start: u64,
    /// Its vector (unit length).
    pub vector: Vec<f32>,
    /// Whether the archive's filters allow it.
    pub allowed: bool,
}

/// The passages skipped for a seed: itself, the ones excluded, and its own
/// episode (or the part of it within `gap_ms` of the seed).
#[derive(Debug, Clone)]
pub struct Skip {
    /// The seed.
    pub seed: ChunkId,
    /// The seed's episode id.
    pub episode: String,
    /// The seed's episode key ([`crate::store::vectors::episode_key`]).
    pub episode_key: u64,
    /// The seed's start in ms, `u64::MAX` when untimed.
    pub start: u64,
    /// `None`: the whole episode.
    pub gap_ms: Option<u64>,
    /// Passages never to return.
    pub exclude: HashSet<ChunkId>,
}

impl Skip {
    /// Whether the passage `id` of episode key `episode` starting at
    /// `start` (`u64::MAX`: untimed) is skipped.
    pub fn skips(&self, id: ChunkId, episode: u64, start: u64) -> bool {
        if id == self.seed || self.exclude.contains(&id) {
            return true;
        }
        if episode != self.episode_key {
            return false;
        }
        match self.gap_ms {
            None => true,
            Some(gap) => {
                start == u64::MAX || self.start == u64::MAX || start.abs_diff(self.start) < gap
            }
        }
    }
}
