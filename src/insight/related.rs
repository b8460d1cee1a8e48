//! Related passages: given a seed passage, the nearest passages by meaning
//! from other episodes, from the stored vectors alone (no model call).
//!
//! 1. Candidates: the exact dense top `candidates` for the seed's vector,
//!    skipping the seed's own episode (or, with `same_episode_gap_ms`, only
//!    its passages within that many ms of the seed), passages flagged as not
//!    content, and passages outside the filters.
//! 2. Diversity by maximal marginal relevance (Carbonell & Goldstein, 1998):
//!    repeatedly pick the candidate maximising `λ·sim(c, seed) − (1−λ)·max
//!    sim(c, picked)`, at most `per_episode` per episode, never a near copy
//!    (cosine > 0.97) of one already picked. When several candidates are
//!    within `show_margin` of the best, one from a show not yet represented
//!    (and not the seed's show) wins.
//! 3. Each result says why: its cosine to the seed and the key terms both
//!    passages use, rarest first (inverse document frequency in the index).

use std::collections::{HashMap, HashSet};

use tantivy::Term;

use super::Related;
use crate::chunk::ChunkId;
use crate::error::{Error, Result};
use crate::rank::dense;
use crate::store::text::{self, StoredChunk};
use crate::store::vectors::episode_key;
use crate::store::Store;

/// How to find related passages.
#[derive(Debug, Clone)]
pub struct RelatedOptions {
    /// Results wanted.
    pub limit: usize,
    /// At most this many per episode.
    pub per_episode: usize,
    /// Dense candidates considered before diversification.
    pub candidates: usize,
    /// MMR trade-off: 1 is pure similarity.
    pub lambda: f32,
    /// MMR scores this close count as a tie that show diversity breaks.
    pub show_margin: f32,
    /// Allow the seed's own episode beyond this distance (ms) from the seed;
    /// `None` excludes the whole episode.
    pub same_episode_gap_ms: Option<u64>,
    /// Only these shows (empty: all).
    pub shows: Vec<String>,
    /// Not these shows.
    pub not_shows: Vec<String>,
    /// Include passages flagged as not content.
    pub include_noncontent: bool,
    /// Chunk ids never to return.
    pub exclude: HashSet<u64>,
}

impl Default for RelatedOptions {
    fn default() -> Self {
        RelatedOptions {
            limit: 5,
            per_episode: 1,
            candidates: 100,
            lambda: 0.75,
            show_margin: 0.03,
            same_episode_gap_ms: None,
            shows: Vec::new(),
            not_shows: Vec::new(),
            include_noncontent: false,
            exclude: HashSet::new(),
        }
    }
}

/// Passages related to the stored passage `seed`.
pub fn related(
    store: &Store,
    seed: ChunkId,
    opts: &RelatedOptions,
) -> Result<(StoredChunk, Vec<Related>)> {
    let chunk = store
        .chunk(seed)?
        .ok_or_else(|| Error::NoSuchChunk(seed.to_string()))?;
    let vector = store
        .vector(seed)
        .ok_or_else(|| Error::NoSuchChunk(seed.to_string()))?;
    let out = related_to(store, vector, &chunk, opts)?;
    Ok((chunk, out))
}

/// Passages related to `seed` (any stored passage) with vector `vector`.
pub fn related_to(
    store: &Store,
    vector: &[f32],
    seed: &StoredChunk,
    opts: &RelatedOptions,
) -> Result<Vec<Related>> {
    let seed_ep = episode_key(&seed.episode);
    let seed_start = seed.start_ms.unwrap_or(u64::MAX);
    let flagged = if opts.include_noncontent {
        None
    } else {
        Some(store.flagged()?)
    };
    let allowed = show_filter(store, opts)?;
    let segments = store.segments();
    let exclude = |s: usize, r: usize| -> bool {
        let seg = &segments[s];
        let id = seg.ids()[r];
        if id == seed.id || opts.exclude.contains(&id) || flagged.is_some_and(|f| f.contains(&id)) {
            return true;
        }
        if seg.episodes()[r] == seed_ep {
            match opts.same_episode_gap_ms {
                None => return true,
                Some(gap) => {
                    let st = seg.starts()[r];
                    if st == u64::MAX || seed_start == u64::MAX || st.abs_diff(seed_start) < gap {
                        return true;
                    }
                }
            }
        }
        false
    };
    let cands = dense::search(
        segments,
        store.sketch(),
        vector,
        opts.candidates.max(opts.limit),
        allowed.as_ref(),
        &exclude,
    );
    // Candidate vectors and episodes.
    // Read, not mapped: see `Segment::read_vector`.
    let info: Vec<(ChunkId, f32, Vec<f32>, u64)> = cands
        .iter()
        .filter_map(|r| {
            let (s, row) = store.locate(r.id)?;
            let mut v = vec![0f32; vector.len()];
            segments[s].read_vector(row, &mut v);
            Some((r.id, r.score, v, segments[s].episodes()[row]))
        })
        .collect();
    // Shows are needed for diversity: read the candidates' stored passages.
    let mut stored: HashMap<ChunkId, StoredChunk> = HashMap::new();
    let mut picked: Vec<usize> = Vec::new();
    let mut per_ep: HashMap<u64, usize> = HashMap::new();
    let mut shows_used: HashSet<String> = HashSet::new();
    while picked.len() < opts.limit {
        let mut scored: Vec<(usize, f32)> = Vec::new();
        for (i, (_, sim, v, ep)) in info.iter().enumerate() {
            if picked.contains(&i) || per_ep.get(ep).copied().unwrap_or(0) >= opts.per_episode {
                continue;
            }
            let redundancy = picked
                .iter()
                .map(|&p| dense::dot(v, &info[p].2))
                .fold(f32::NEG_INFINITY, f32::max);
            if redundancy > 0.97 {
                continue;
            }
            let mmr = if picked.is_empty() {
                *sim
            } else {
                opts.lambda * sim - (1.0 - opts.lambda) * redundancy
            };
            scored.push((i, mmr));
        }
        let Some(best) = scored.iter().map(|x| x.1).reduce(f32::max) else {
            break;
        };
        let mut choice: Option<(usize, f32, bool)> = None;
        for &(i, mmr) in &scored {
            if mmr < best - opts.show_margin {
                continue;
            }
            let id = info[i].0;
            if let std::collections::hash_map::Entry::Vacant(slot) = stored.entry(id) {
                if let Some(c) = store.chunk(id)? {
                    slot.insert(c);
                }
            }
            let Some(c) = stored.get(&id) else { continue };
            let fresh = c.show != seed.show && !shows_used.contains(&c.show);
            let better = match choice {
                None => true,
                Some((_, m, f)) => (fresh, mmr) > (f, m),
            };
            if better {
                choice = Some((i, mmr, fresh));
            }
        }
        let Some((i, _, _)) = choice else { break };
        picked.push(i);
        *per_ep.entry(info[i].3).or_default() += 1;
        if let Some(c) = stored.get(&info[i].0) {
            shows_used.insert(c.show.clone());
        }
    }
    let seed_terms = term_list(&seed.text);
    let searcher = store.searcher();
    let docs = searcher.num_docs().max(1) as f32;
    let idf = |t: &str| -> f32 {
        let df = searcher
            .doc_freq(&Term::from_field_text(store.fields().text, t))
            .unwrap_or(0) as f32;
        ((docs - df + 0.5) / (df + 0.5) + 1.0).ln()
    };
    let mut out = Vec::with_capacity(picked.len());
    for i in picked {
        let (id, sim, _, _) = info[i];
        let Some(chunk) = stored.remove(&id) else {
            continue;
        };
        let shared = shared_terms(&seed_terms, &chunk.text, &idf, docs);
        out.push(Related {
            chunk,
            similarity: sim,
            shared_terms: shared,
        });
    }
    Ok(out)
}

/// The chunk ids the show filters allow, or `None` for all.
fn show_filter(store: &Store, opts: &RelatedOptions) -> Result<Option<HashSet<u64>>> {
    if opts.shows.is_empty() && opts.not_shows.is_empty() {
        return Ok(None);
    }
    let filters = crate::rank::Filters {
        shows: opts.shows.clone(),
        not_shows: opts.not_shows.clone(),
        include_noncontent: true,
        ..Default::default()
    };
    match crate::rank::filter_query(store, &filters)? {
        Some(q) => Ok(Some(crate::rank::allowed_ids(store, q.as_ref())?)),
        None => Ok(None),
    }
}

/// Analysed terms of a text, in order, each once.
fn term_list(text: &str) -> Vec<String> {
    let mut a = text::analyzer();
    let mut stream = a.token_stream(text);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token().text.clone();
        if t.chars().count() > 2 && seen.insert(t.clone()) {
            out.push(t);
        }
    }
    out
}

/// Terms of `seed_terms` that `text` uses too, rarest first (at most five,
/// none in more than a tenth of the passages), as `text` spells them.
fn shared_terms(
    seed_terms: &[String],
    text: &str,
    idf: &dyn Fn(&str) -> f32,
    docs: f32,
) -> Vec<String> {
    let mut a = text::analyzer();
    let mut surface: HashMap<String, String> = HashMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut stream = a.token_stream(word);
        while stream.advance() {
            surface
                .entry(stream.token().text.clone())
                .or_insert_with(|| word.to_string());
        }
    }
    let common = (0.1 * docs + 0.5) / (0.9 * docs + 0.5);
    let floor = (1.0 / common + 1.0).ln();
    let mut shared: Vec<(f32, &String)> = seed_terms
        .iter()
        .filter(|t| surface.contains_key(*t))
        .map(|t| (idf(t), t))
        .filter(|(w, _)| *w > floor)
        .collect();
    shared.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    shared
        .into_iter()
        .take(5)
        .filter_map(|(_, t)| surface.get(t).map(|s| s.to_lowercase()))
        .collect()
}
