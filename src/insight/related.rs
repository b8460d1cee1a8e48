//! Related passages: given a seed passage, passages of other episodes on
//! the same idea, from the index alone (no model call).
//!
//! 1. Candidates by meaning: the dense top `candidates` for the seed's
//!    vector; and by name: each of the seed's three heaviest key phrases
//!    ([`phrases`]: the rarest runs of content words, names boosted)
//!    searched on its own as keywords. Skipped: the seed's own episode (or,
//!    with `same_episode_gap_ms`, only its passages within that many ms of
//!    the seed), passages flagged as not content, passages outside the
//!    filters, and the seed told again (cosine > 0.97: a re-run or a copy).
//!    Every candidate is scored by meaning (its cosine to the seed, scaled
//!    over the dense candidates' range) and by name (its best phrase's BM25
//!    score over that phrase's surviving candidates, times the phrase's
//!    weight relative to the heaviest), half and half. A phrase is judged
//!    only over the candidates that survive the skips, so one that only the
//!    seed's own episode uses (a guest's name, a show's in-joke) scores
//!    nothing; and one phrase naming the idea ("Dunbar's number") is not
//!    drowned by the others, as it was in one query of all of them. A
//!    candidate far from the seed in meaning (cosine below 0.35) stays only
//!    if it uses one of the seed's key phrases of several words or a name,
//!    words together (BM25 also finds a phrase's words apart, which names
//!    nothing the two share), and is not far off altogether (cosine 0.25).
//! 2. Diversity by maximal marginal relevance (Carbonell & Goldstein, 1998):
//!    repeatedly pick the candidate maximising `λ·fused(c) − (1−λ)·max
//!    sim(c, picked)`, at most `per_episode` per episode, never a near copy
//!    (cosine > 0.97) of one already picked, never an intro or a passage
//!    below the insight floor ([`super::worth`]). When several candidates
//!    are within `show_margin` of the best, one from a show not yet
//!    represented (and not the seed's show) wins.
//! 3. Each result says why: its cosine to the seed and the key phrases both
//!    passages use (never a vague word: see [`phrases`]).

use std::collections::{HashMap, HashSet};

use super::phrases;
use super::related_hit;
use crate::chunk::ChunkId;
use crate::error::{Error, Result};
use crate::rank::fuse::Ranked;
use crate::rank::{dense, Hit};
use crate::store::text::StoredChunk;
use crate::store::vectors::episode_key;
use crate::store::{Filters, Store};

pub use super::archive::{Archive, Local, Skip};

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
    /// Which passages may be related: the search's filters (shows,
    /// episodes, speaker, dates, non-content).
    pub filters: Filters,
    /// Chunk ids never to return.
    pub exclude: HashSet<ChunkId>,
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
            filters: Filters::default(),
            exclude: HashSet::new(),
        }
    }
}

/// Passages related to the stored passage `seed` of the local index.
pub fn related(
    store: &Store,
    seed: ChunkId,
    opts: &RelatedOptions,
) -> Result<(StoredChunk, Vec<Hit>)> {
    related_in(&Local::new(store, &opts.filters)?, seed, opts)
}

/// Passages related to the stored passage `seed` of `archive` (made for
/// `opts.filters`).
pub fn related_in(
    archive: &dyn Archive,
    seed: ChunkId,
    opts: &RelatedOptions,
) -> Result<(StoredChunk, Vec<Hit>)> {
    let chunk = archive
        .chunk(seed)?
        .ok_or_else(|| Error::NoSuchChunk(seed.to_string()))?;
    let vector = archive
        .vector(seed)?
        .ok_or_else(|| Error::NoSuchChunk(seed.to_string()))?;
    let out = related_to_in(archive, &vector, &chunk, opts)?;
    Ok((chunk, out))
}

/// Passages of the local index related to `seed` (any passage) with vector
/// `vector`.
pub fn related_to(
    store: &Store,
    vector: &[f32],
    seed: &StoredChunk,
    opts: &RelatedOptions,
) -> Result<Vec<Hit>> {
    related_to_in(&Local::new(store, &opts.filters)?, vector, seed, opts)
}

/// Passages of `archive` related to `seed` (any passage) with vector
/// `vector`.
pub fn related_to_in(
    archive: &dyn Archive,
    vector: &[f32],
    seed: &StoredChunk,
    opts: &RelatedOptions,
) -> Result<Vec<Hit>> {
    let skip = Skip {
        seed: seed.id,
        episode: seed.episode.clone(),
        episode_key: episode_key(&seed.episode),
        start: seed.start_ms.unwrap_or(u64::MAX),
        gap_ms: opts.same_episode_gap_ms,
        exclude: opts.exclude.clone(),
    };
    // 1. Candidates by meaning.
    let dense_hits = archive.nearest(vector, opts.candidates.max(opts.limit), &skip)?;
    // 2. Candidates by the seed's key phrases (its idea's names), each
    //    phrase a keyword query of its own.
    let phrases = key_phrases(archive, &seed.text)?;
    let by_phrase = phrase_candidates(archive, &phrases)?;
    // 3. Read (candidates' vectors and episodes; every candidate passes the
    //    same filters and skips), then scored by meaning and by name.
    let ids = union(&dense_hits, &by_phrase);
    let mut info = candidates(archive, vector, &ids, &skip)?;
    let mut read = strangers_out(archive, &phrases, &mut info)?;
    score(&mut info, &dense_hits, &by_phrase);
    // 4. Diversified, and told why.
    let (picked, mut stored) = diversify(archive, seed, &info, opts, &mut read)?;
    let mut out = Vec::with_capacity(picked.len());
    for i in picked {
        let Some(Some(chunk)) = stored.remove(&info[i].id) else {
            continue;
        };
        let shared: Vec<String> = phrases::shared(&phrases, &chunk.text)
            .into_iter()
            .take(3)
            .map(|p| p.surface.clone())
            .collect();
        out.push(related_hit(out.len() + 1, chunk, info[i].sim, shared));
    }
    Ok(out)
}

/// The seed's key phrases, document frequencies asked of `archive` at once.
fn key_phrases(archive: &dyn Archive, text: &str) -> Result<Vec<phrases::Phrase>> {
    let terms = phrases::terms(text);
    let dfs: HashMap<&str, u64> = terms
        .iter()
        .map(String::as_str)
        .zip(archive.doc_freqs(&terms)?)
        .collect();
    let df = |t: &str| dfs.get(t).copied().unwrap_or(0);
    Ok(phrases::key_phrases(
        text,
        &df,
        archive.num_docs()?,
        KEY_PHRASES,
    ))
}

/// A candidate related passage.
struct Candidate {
    id: ChunkId,
    /// The fused score of its two arms.
    fused: f32,
    /// Cosine to the seed.
    sim: f32,
    vector: Vec<f32>,
    /// Its episode's key.
    episode: u64,
}

/// For each of the seed's [`SEARCHED_PHRASES`] heaviest key phrases, its weight
/// and the passages holding it, by BM25 over their own text and
/// neighbourhood.
fn phrase_candidates(
    archive: &dyn Archive,
    phrases: &[phrases::Phrase],
) -> Result<Vec<(f32, Vec<Ranked>)>> {
    phrases
        .iter()
        .take(SEARCHED_PHRASES)
        .map(|p| {
            let hits = archive.keyword(&p.surface, PHRASE_CANDIDATES, &KEYWORD_WEIGHTS)?;
            Ok((p.weight, hits))
        })
        .collect()
}

/// Leave out the candidates that neither mean much the same as the seed
/// (cosine [`STRANGER`] or more) nor, at [`NAMING_STRANGER`] or more, use
/// one of its key phrases that can name an idea
/// ([`phrases::Phrase::names_an_idea`]; words together, as
/// [`phrases::shared`] reads them): BM25 finds a phrase's words apart too
/// ("state" in one sentence, "border" in another), and such a passage
/// relates to nothing the seed says. Returns the passages it read.
fn strangers_out(
    archive: &dyn Archive,
    phrases: &[phrases::Phrase],
    info: &mut Vec<Candidate>,
) -> Result<HashMap<ChunkId, StoredChunk>> {
    let far: Vec<ChunkId> = info
        .iter()
        .filter(|c| c.sim < STRANGER)
        .map(|c| c.id)
        .collect();
    if far.is_empty() {
        return Ok(HashMap::new());
    }
    let texts = archive.chunks(&far)?;
    info.retain(|c| {
        c.sim >= STRANGER
            || c.sim >= NAMING_STRANGER
                && texts.get(&c.id).is_some_and(|t| {
                    phrases::shared(phrases, &t.text)
                        .iter()
                        .any(|p| p.names_an_idea())
                })
    });
    Ok(texts)
}

/// Every candidate id once, dense candidates first, in a fixed order.
fn union(dense_hits: &[Ranked], by_phrase: &[(f32, Vec<Ranked>)]) -> Vec<ChunkId> {
    let mut seen = HashSet::new();
    dense_hits
        .iter()
        .chain(by_phrase.iter().flat_map(|(_, hits)| hits))
        .map(|r| r.id)
        .filter(|id| seen.insert(*id))
        .collect()
}

/// Score the surviving candidates (see the module's step 1) and sort them,
/// best first (ties by id).
fn score(info: &mut [Candidate], dense_hits: &[Ranked], by_phrase: &[(f32, Vec<Ranked>)]) {
    let alive: HashSet<ChunkId> = info.iter().map(|c| c.id).collect();
    let heaviest = by_phrase
        .iter()
        .map(|(w, _)| *w)
        .fold(0.0f32, f32::max)
        .max(f32::MIN_POSITIVE);
    let mut by_name: HashMap<ChunkId, f32> = HashMap::new();
    for (weight, hits) in by_phrase {
        let hits: Vec<&Ranked> = hits.iter().filter(|r| alive.contains(&r.id)).collect();
        let top = hits.iter().map(|r| r.score).fold(0.0f32, f32::max);
        if top <= 0.0 {
            continue;
        }
        for r in hits {
            let s = (weight / heaviest) * r.score / top;
            let e = by_name.entry(r.id).or_default();
            *e = e.max(s);
        }
    }
    let (lo, hi) = dense_hits
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), r| {
            (l.min(r.score), h.max(r.score))
        });
    for c in info.iter_mut() {
        let meaning = if hi > lo {
            ((c.sim - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let name = by_name.get(&c.id).copied().unwrap_or(0.0);
        c.fused = DENSE_WEIGHT * meaning + (1.0 - DENSE_WEIGHT) * name;
    }
    info.sort_by(|a, b| b.fused.total_cmp(&a.fused).then(a.id.cmp(&b.id)));
}

/// The candidates `ids` with their vectors and episodes (scores still
/// zero); ones the filters refuse or `skip` skips, and the seed told again
/// (cosine > [`TWIN`]), left out.
fn candidates(
    archive: &dyn Archive,
    vector: &[f32],
    ids: &[ChunkId],
    skip: &Skip,
) -> Result<Vec<Candidate>> {
    let mut rows = archive.rows(ids)?;
    let mut info = Vec::new();
    for &id in ids {
        let Some(row) = rows.remove(&id) else {
            continue;
        };
        if !row.allowed || skip.skips(id, row.episode, row.start) {
            continue;
        }
        let sim = dense::dot(vector, &row.vector);
        // The same words told again (a re-run, a copy): not another view.
        if sim > TWIN {
            continue;
        }
        info.push(Candidate {
            id,
            fused: 0.0,
            sim,
            vector: row.vector,
            episode: row.episode,
        });
    }
    Ok(info)
}

/// Passages read so far: `None` for one that is not worth showing.
type Read = HashMap<ChunkId, Option<StoredChunk>>;

/// Diversify by MMR over the fused score, reading passages as they come up
/// (shows for diversity, worth for the insight floor; from `read_before`
/// when already read): the indices of `info` picked, in order, and the
/// passages read.
fn diversify(
    archive: &dyn Archive,
    seed: &StoredChunk,
    info: &[Candidate],
    opts: &RelatedOptions,
    read_before: &mut HashMap<ChunkId, StoredChunk>,
) -> Result<(Vec<usize>, Read)> {
    let mut stored: Read = HashMap::new();
    let mut picked: Vec<usize> = Vec::new();
    let mut per_ep: HashMap<u64, usize> = HashMap::new();
    let mut shows_used: HashSet<String> = HashSet::new();
    let mut rejected: HashSet<usize> = HashSet::new();
    while picked.len() < opts.limit {
        let scored = mmr_scores(info, &picked, &rejected, &per_ep, opts);
        let Some(best) = scored.iter().map(|x| x.1).reduce(f32::max) else {
            break;
        };
        let mut choice: Option<(usize, f32, bool)> = None;
        for &(i, mmr) in &scored {
            if mmr < best - opts.show_margin {
                continue;
            }
            let c = &info[i];
            let entry = match stored.entry(c.id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let chunk = match read_before.remove(&c.id) {
                        Some(chunk) => Some(chunk),
                        None => archive.chunk(c.id)?,
                    };
                    let read = match chunk {
                        Some(s) if worthy(archive, &s, &c.vector, opts)? => Some(s),
                        _ => None,
                    };
                    e.insert(read)
                }
            };
            let Some(chunk) = entry.as_ref() else {
                rejected.insert(i);
                continue;
            };
            let fresh = chunk.show != seed.show && !shows_used.contains(&chunk.show);
            let better = match choice {
                None => true,
                Some((_, m, f)) => (fresh, mmr) > (f, m),
            };
            if better {
                choice = Some((i, mmr, fresh));
            }
        }
        let Some((i, _, _)) = choice else {
            continue;
        };
        picked.push(i);
        *per_ep.entry(info[i].episode).or_default() += 1;
        if let Some(Some(c)) = stored.get(&info[i].id) {
            shows_used.insert(c.show.clone());
        }
    }
    Ok((picked, stored))
}

/// Each candidate still open with its MMR score: `λ·fused − (1−λ)·max
/// sim(c, picked)`; near copies of a pick (cosine > 0.97) and episodes at
/// their quota are left out.
fn mmr_scores(
    info: &[Candidate],
    picked: &[usize],
    rejected: &HashSet<usize>,
    per_ep: &HashMap<u64, usize>,
    opts: &RelatedOptions,
) -> Vec<(usize, f32)> {
    let mut scored = Vec::new();
    for (i, c) in info.iter().enumerate() {
        if picked.contains(&i)
            || rejected.contains(&i)
            || per_ep.get(&c.episode).copied().unwrap_or(0) >= opts.per_episode
        {
            continue;
        }
        let redundancy = picked
            .iter()
            .map(|&p| dense::dot(&c.vector, &info[p].vector))
            .fold(f32::NEG_INFINITY, f32::max);
        if redundancy > 0.97 {
            continue;
        }
        let mmr = if picked.is_empty() {
            c.fused
        } else {
            opts.lambda * c.fused - (1.0 - opts.lambda) * redundancy.max(0.0)
        };
        scored.push((i, mmr));
    }
    scored
}

/// Key phrases of the seed (for searching and for saying why).
const KEY_PHRASES: usize = 6;
/// The heaviest of them, searched as keywords, each on its own.
const SEARCHED_PHRASES: usize = 3;
/// Keyword candidates per phrase.
const PHRASE_CANDIDATES: usize = 30;
/// The keyword arm's fields: the passage's text and neighbourhood, not
/// titles (a title names every passage of its episode).
const KEYWORD_WEIGHTS: crate::rank::bm25::Weights = crate::rank::bm25::Weights {
    text: 1.0,
    context: 0.5,
    title: 0.0,
};
/// Weight of meaning in a candidate's score (the rest is by name).
const DENSE_WEIGHT: f32 = 0.5;
/// Cosine below which a candidate must use one of the seed's key phrases.
const STRANGER: f32 = 0.35;
/// Cosine below which not even a shared key phrase keeps a candidate (two
/// passages that say "north star" about different things).
const NAMING_STRANGER: f32 = 0.25;
/// Cosine above which a candidate is the seed told again, not related.
const TWIN: f32 = 0.97;

/// Whether a candidate may be shown as related: an insight in its own
/// right (not an intro, not below the worth floor), unless non-content was
/// asked for.
fn worthy(
    archive: &dyn Archive,
    c: &StoredChunk,
    v: &[f32],
    opts: &RelatedOptions,
) -> Result<bool> {
    if opts.filters.include_noncontent {
        return Ok(true);
    }
    if super::worth::is_intro_or_outro(&c.text) {
        return Ok(false);
    }
    let worth = super::worth::worth(&super::worth::Passage {
        text: &c.text,
        vector: v,
        noncontent: c.noncontent as f32 / 1000.0,
        salience: 0.5,
        host: archive.is_host(&c.show, &c.episode, c.speaker.as_deref())?,
    });
    Ok(worth >= super::top::WORTH_FLOOR)
}
