//! The local index as an [`Archive`]: the dense arm is the sketch scan,
//! the keyword arm tantivy's BM25, the filters the store's query.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::{Archive, Episode, EpisodeRow, Row, Skip};
use crate::chunk::ChunkId;
use crate::error::Result;
use crate::insight::hosts::{HostCache, ShowSpeakers};
use crate::rank::bm25::Weights;
use crate::rank::fuse::Ranked;
use crate::rank::{dense, Hit, SearchOptions};
use crate::store::text::StoredChunk;
use crate::store::{Filters, Store};

/// The local index under one set of filters.
pub struct Local<'a> {
    store: &'a Store,
    /// Passages flagged as not content, unless asked for.
    flagged: Option<&'a HashSet<u64>>,
    /// The passages the filters allow; `None`: all.
    allowed: Option<HashSet<u64>>,
    /// Each show's hosts, once asked about.
    hosts: HostCache,
}

impl<'a> Local<'a> {
    /// `store` under `filters` (non-content passages are left out unless
    /// `filters.include_noncontent`).
    pub fn new(store: &'a Store, filters: &Filters) -> Result<Local<'a>> {
        let flagged = if filters.include_noncontent {
            None
        } else {
            Some(store.flagged()?)
        };
        Ok(Local {
            store,
            flagged,
            allowed: allowed(store, filters)?,
            hosts: HostCache::default(),
        })
    }

    fn admits(&self, id: u64) -> bool {
        !self.flagged.is_some_and(|f| f.contains(&id))
            && self.allowed.as_ref().is_none_or(|a| a.contains(&id))
    }
}

/// The chunk ids the filters allow, or `None` for all (non-content is
/// judged on its own).
fn allowed(store: &Store, filters: &Filters) -> Result<Option<HashSet<u64>>> {
    if !filters.narrows() {
        return Ok(None);
    }
    let filters = Filters {
        include_noncontent: true,
        ..filters.clone()
    };
    match store.filter(&filters)? {
        Some(q) => Ok(Some(store.allowed(&q)?)),
        None => Ok(None),
    }
}

impl Archive for Local<'_> {
    fn chunk(&self, id: ChunkId) -> Result<Option<StoredChunk>> {
        self.store.chunk(id)
    }

    fn chunks(&self, ids: &[ChunkId]) -> Result<HashMap<ChunkId, StoredChunk>> {
        Ok(self
            .store
            .chunks(ids)?
            .into_iter()
            .map(|c| (c.chunk_id(), c))
            .collect())
    }

    fn vector(&self, id: ChunkId) -> Result<Option<Vec<f32>>> {
        Ok(self.store.vector(id).map(<[f32]>::to_vec))
    }

    fn num_docs(&self) -> Result<u64> {
        Ok(self.store.num_docs())
    }

    fn passages(&self) -> Result<u64> {
        Ok(self.store.len() as u64)
    }

    fn doc_freqs(&self, terms: &[String]) -> Result<Vec<u64>> {
        Ok(terms.iter().map(|t| self.store.doc_freq(t)).collect())
    }

    fn nearest(&self, vector: &[f32], k: usize, skip: &Skip) -> Result<Vec<Ranked>> {
        let segments = self.store.segments();
        let exclude = |s: usize, r: usize| -> bool {
            let seg = &segments[s];
            let id = seg.ids()[r];
            !self.admits(id) || skip.skips(ChunkId(id), seg.episodes()[r], seg.starts()[r])
        };
        Ok(dense::search(
            segments,
            self.store.sketch(),
            vector,
            k,
            self.allowed.as_ref(),
            &exclude,
        ))
    }

    fn keyword(&self, query: &str, k: usize, weights: &Weights) -> Result<Vec<Ranked>> {
        crate::rank::bm25::search(self.store, query, None, k, weights)
    }

    fn rows(&self, ids: &[ChunkId]) -> Result<HashMap<ChunkId, Row>> {
        let segments = self.store.segments();
        let mut out = HashMap::with_capacity(ids.len());
        for &id in ids {
            let Some((s, r)) = self.store.locate(id) else {
                continue;
            };
            let seg = &segments[s];
            // Read, not mapped: see `Segment::read_vector`.
            let mut vector = vec![0f32; self.store.manifest().model.dim];
            seg.read_vector(r, &mut vector);
            out.insert(
                id,
                Row {
                    episode: seg.episodes()[r],
                    start: seg.starts()[r],
                    vector,
                    allowed: self.admits(id.0),
                },
            );
        }
        Ok(out)
    }

    fn episodes(&self) -> Result<Vec<Episode>> {
        let mut out: Vec<Episode> = self
            .store
            .episodes()
            .map(|(id, e)| Episode {
                id: id.clone(),
                show: e.show.clone(),
                added: e.added.clone(),
                date: e.date.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn episode_rows(&self, episodes: &[String]) -> Result<Vec<EpisodeRow<'_>>> {
        let keys: HashSet<u64> = episodes
            .iter()
            .map(|e| crate::store::vectors::episode_key(e))
            .collect();
        let flagged = self.store.flagged()?;
        let mut out = Vec::new();
        for seg in self.store.segments() {
            for (r, ep) in seg.episodes().iter().enumerate() {
                if keys.contains(ep) {
                    let id = seg.ids()[r];
                    out.push(EpisodeRow {
                        id: ChunkId(id),
                        episode: *ep,
                        vector: Cow::Borrowed(seg.vector(r)),
                        flagged: flagged.contains(&id),
                    });
                }
            }
        }
        Ok(out)
    }

    fn is_host(&self, show: &str, episode: &str, speaker: Option<&str>) -> Result<bool> {
        self.hosts.is_host(show, episode, speaker, |show| {
            ShowSpeakers::of_local(self.store, show)
        })
    }

    fn search(
        &self,
        vector: Option<&[f32]>,
        query: &str,
        opts: &SearchOptions,
    ) -> Result<Vec<Hit>> {
        Ok(crate::rank::search_with_vector(self.store, vector, query, opts)?.0)
    }
}
