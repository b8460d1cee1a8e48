//! Top insights: the passages of recent episodes worth quoting on their own.
//!
//! Every passage is scored by signals in 0..1, each explainable:
//!
//! - **worth**: the probability that the passage is a self-contained
//!   statement of an idea (a claim, an explanation, advice, a fact), not an
//!   intro, a question, banter or a fragment ([`super::worth`]);
//! - **relevance** (with interests): the calibrated probability that it is
//!   on one of the reader's interests, from how unusually close its stretch
//!   of conversation is to the interest and the share of the interest's
//!   terms it uses ([`super::relevance`]);
//! - **salience**: the cosine to the episode's centroid (mean of its passage
//!   vectors), rescaled: how central it is to what the episode is about;
//! - **specificity**: numbers, names, length, little filler (shown, and a
//!   feature of worth).
//!
//! With interests, candidates come from the hybrid ranker (each interest
//! searched, keyword and semantic, over the window's passages); a passage
//! below the relevance floor or the worth floor is never shown, so a brief
//! with nothing relevant is short rather than padded. The score is
//! [`score`]. Without interests, each episode's most central passages are
//! read and ranked by worth and salience. The best passages of each episode
//! compete (at most `per_episode`); near-duplicates across episodes (a
//! cosine above 0.9: the same story told twice) are folded into the better one. Each
//! insight gets its related passages from the archive.

use std::collections::{HashMap, HashSet};

use super::archive::{Archive, EpisodeRow, Local};
use super::noncontent::NONCONTENT_THRESHOLD;
use super::related::{related_to_in, RelatedOptions};
use super::relevance::{self, Interest};
use super::statement::Statement;
use super::worth::{self, Passage};
use super::{Insight, InsightSignals};
use crate::chunk::{sentence_spans, ChunkId};
use crate::error::Result;
use crate::rank::dense::dot;
use crate::rank::{Filters, Mode, SearchOptions};
use crate::store::text::StoredChunk;
use crate::store::vectors::episode_key;
use crate::store::Store;

/// What `top` (and the brief) look at.
#[derive(Debug, Clone)]
pub struct TopOptions {
    /// Which episodes to look at, the search's filters: `since` takes the
    /// episodes added or published on or after that day (`None`: every
    /// episode), `shows` and `not_shows` their shows. (`top` reads no
    /// other field yet: the speaker, `until` and episode filters are
    /// ignored.)
    pub filters: Filters,
    /// The reader's interests.
    pub interests: Vec<Interest>,
    /// Insights wanted.
    pub limit: usize,
    /// Insights per episode at most.
    pub per_episode: usize,
    /// Passages never to pick (already sent).
    pub exclude_chunks: HashSet<ChunkId>,
    /// Episodes never to pick from (already covered).
    pub exclude_episodes: HashSet<String>,
    /// Related passages per insight.
    pub related: usize,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions {
            filters: Filters::default(),
            interests: Vec::new(),
            limit: 5,
            per_episode: 1,
            exclude_chunks: HashSet::new(),
            exclude_episodes: HashSet::new(),
            related: 3,
        }
    }
}

/// What a run looked at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopSummary {
    /// Episodes in the window.
    pub episodes: usize,
    /// Passages scored.
    pub passages: usize,
    /// Passages skipped as non-content.
    pub noncontent: usize,
    /// Per interest, the candidates above the relevance floor (empty
    /// without interests): a zero means nothing new on that interest.
    pub relevant: Vec<usize>,
}

/// Below this worth a passage is not an insight (and not a related one).
pub const WORTH_FLOOR: f32 = 0.35;

/// Candidates per interest from the hybrid ranker.
const CANDIDATES_PER_INTEREST: usize = 150;

/// The combined score of an insight: with interests, relevance and worth
/// in the fitted mix (`relevance.mix` of the model), salience 0.1; without,
/// worth leads and salience breaks ties between equally quotable passages.
pub fn score(relevance: Option<f32>, worth: f32, salience: f32) -> f32 {
    match relevance {
        Some(r) => {
            let mix = worth::model().relevance.mix;
            mix * r + (0.9 - mix) * worth + 0.1 * salience
        }
        None => 0.75 * worth + 0.25 * salience,
    }
}

const FILLER: &[&str] = &[
    "you know", "i mean", "kind of", "sort of", "like,", "um", "uh", "yeah", "right?", "okay",
    "so yeah",
];

/// Specificity of a passage, 0..1: long enough to stand alone, numbers and
/// names, little filler, not a bare question.
pub fn specificity(text: &str) -> f32 {
    let words: Vec<&str> = text.split_whitespace().collect();
    let n = words.len() as f32;
    if n == 0.0 {
        return 0.0;
    }
    let length = ((n - 30.0) / 70.0).clamp(0.0, 1.0);
    let numbers = words
        .iter()
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .count() as f32;
    // Capitalised words that do not start a sentence: names, products, places.
    let mut names = 0f32;
    for pair in words.windows(2) {
        let prev_ends = pair[0].ends_with(['.', '?', '!', ':']);
        let w = pair[1].trim_matches(|c: char| !c.is_alphanumeric());
        if !prev_ends && w.len() > 1 && w != "I" && w.chars().next().is_some_and(char::is_uppercase)
        {
            names += 1.0;
        }
    }
    let lower = text.to_lowercase();
    let filler: f32 = FILLER.iter().map(|f| lower.matches(f).count() as f32).sum();
    let sentences = sentence_spans(text).len().max(1) as f32;
    let questions = text.matches('?').count() as f32;
    let s = 0.45 * length + (numbers * 0.08).min(0.25) + (names / n * 4.0).min(0.3)
        - (filler / n * 6.0).min(0.35)
        - 0.3 * (questions / sentences).min(1.0);
    s.clamp(0.0, 1.0)
}

/// Passages per episode whose text is read and scored in full when there
/// are no interests; the rest are ranked out by salience alone.
const SHORTLIST_PER_EPISODE: usize = 8;

/// Episode vectors: each window episode's rows and its unit centroid.
struct Window<'a> {
    /// Episode key -> its passages.
    rows: HashMap<u64, Vec<EpisodeRow<'a>>>,
    /// Episode key -> centroid.
    centroids: HashMap<u64, Vec<f32>>,
    /// Episode ids in the window, sorted.
    ids: Vec<String>,
    /// Episodes in the archive.
    all: usize,
}

fn window<'a>(archive: &'a dyn Archive, opts: &TopOptions) -> Result<Window<'a>> {
    let in_window = |e: &super::archive::Episode| match &opts.filters.since {
        None => true,
        Some(since) => {
            e.added.as_str() >= since.as_str()
                || e.date.as_deref().is_some_and(|d| d >= since.as_str())
        }
    };
    let episodes = archive.episodes()?;
    let mut ids = Vec::new();
    for e in &episodes {
        if in_window(e)
            && !opts.exclude_episodes.contains(&e.id)
            && (opts.filters.shows.is_empty() || opts.filters.shows.contains(&e.show))
            && !opts.filters.not_shows.contains(&e.show)
        {
            ids.push(e.id.clone());
        }
    }
    ids.sort();
    let mut rows: HashMap<u64, Vec<EpisodeRow<'a>>> = HashMap::new();
    for row in archive.episode_rows(&ids)? {
        rows.entry(row.episode).or_default().push(row);
    }
    let centroids = rows
        .iter()
        .map(|(k, ep_rows)| {
            let dim = ep_rows.first().map_or(0, |r| r.vector.len());
            (*k, centroid_of(dim, ep_rows.iter().map(|r| &*r.vector)))
        })
        .collect();
    Ok(Window {
        rows,
        centroids,
        ids,
        all: episodes.len(),
    })
}

/// The unit mean of `vectors`; a damaged one (NaN, infinity), which would
/// spoil the whole episode, left out.
fn centroid_of<'a>(dim: usize, vectors: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut c = vec![0f32; dim];
    for v in vectors {
        if !v.iter().all(|x| x.is_finite()) {
            continue;
        }
        for (a, x) in c.iter_mut().zip(v) {
            *a += x;
        }
    }
    let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    c.iter_mut().for_each(|x| *x /= norm);
    c
}

/// A passage scored for `top`.
struct Scored {
    chunk: StoredChunk,
    signals: InsightSignals,
    vector: Vec<f32>,
}

/// The top insights of the local index under `opts`.
pub fn top(store: &Store, opts: &TopOptions) -> Result<(Vec<Insight>, TopSummary)> {
    top_in(&Local::new(store, &Filters::default())?, opts)
}

/// The top insights of `archive` (made without filters: `opts.filters`
/// choose the window) under `opts`.
pub fn top_in(archive: &dyn Archive, opts: &TopOptions) -> Result<(Vec<Insight>, TopSummary)> {
    let mut summary = TopSummary::default();
    let w = window(archive, opts)?;
    summary.episodes = w.ids.len();
    summary.passages = w.rows.values().map(Vec::len).sum();
    let candidates = if opts.interests.is_empty() {
        by_worth(archive, opts, &w, &mut summary)?
    } else {
        by_interest(archive, opts, &w, &mut summary)?
    };
    // At most per_episode, never two neighbouring passages.
    let mut per_episode: HashMap<String, Vec<u64>> = HashMap::new();
    let mut kept: Vec<Scored> = Vec::new();
    for c in candidates {
        let seqs = per_episode.entry(c.chunk.episode.clone()).or_default();
        if seqs.len() >= opts.per_episode.max(1)
            || seqs.iter().any(|s| s.abs_diff(c.chunk.seq) <= 1)
        {
            continue;
        }
        seqs.push(c.chunk.seq);
        kept.push(c);
    }
    let mut chosen: Vec<Scored> = Vec::new();
    for c in kept {
        if chosen.len() >= opts.limit {
            break;
        }
        if chosen.iter().any(|k| dot(&k.vector, &c.vector) > 0.9) {
            continue;
        }
        chosen.push(c);
    }
    let mut out = Vec::with_capacity(chosen.len());
    let picked: HashSet<ChunkId> = chosen.iter().map(|c| c.chunk.id).collect();
    for (rank, c) in chosen.into_iter().enumerate() {
        let related = if opts.related > 0 {
            let ro = RelatedOptions {
                limit: opts.related,
                exclude: picked.clone(),
                ..RelatedOptions::default()
            };
            related_to_in(archive, &c.vector, &c.chunk, &ro)?
        } else {
            Vec::new()
        };
        out.push(Insight {
            rank: rank + 1,
            statement: Statement::of(&c.chunk.text, c.chunk.speaker.as_deref()),
            chunk: c.chunk,
            signals: c.signals,
            related,
        });
    }
    Ok((out, summary))
}

/// Without interests: each episode's most central passages, by worth.
fn by_worth(
    archive: &dyn Archive,
    opts: &TopOptions,
    w: &Window,
    summary: &mut TopSummary,
) -> Result<Vec<Scored>> {
    let mut keys: Vec<&u64> = w.rows.keys().collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let centroid = &w.centroids[key];
        let mut pre: Vec<(f32, ChunkId, &[f32])> = Vec::new();
        for row in &w.rows[key] {
            if row.flagged {
                summary.noncontent += 1;
                continue;
            }
            if opts.exclude_chunks.contains(&row.id) {
                continue;
            }
            let sal = salience(&row.vector, centroid);
            // Never ranked: a score that is not a number (a damaged vector).
            if sal.is_finite() {
                pre.push((sal, row.id, &*row.vector));
            }
        }
        pre.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, id, v) in pre.into_iter().take(SHORTLIST_PER_EPISODE) {
            if let Some(c) = scored(archive, id, v, centroid, None, summary)? {
                out.push(c);
            }
        }
    }
    sort(&mut out);
    Ok(out)
}

/// With interests: the hybrid ranker's candidates for each, by relevance
/// and worth.
fn by_interest(
    archive: &dyn Archive,
    opts: &TopOptions,
    w: &Window,
    summary: &mut TopSummary,
) -> Result<Vec<Scored>> {
    if w.ids.is_empty() {
        summary.relevant = vec![0; opts.interests.len()];
        return Ok(Vec::new());
    }
    let all = w.ids.len() == w.all;
    let filters = Filters {
        episodes: if all { Vec::new() } else { w.ids.clone() },
        ..Filters::default()
    };
    let mut ids: Vec<ChunkId> = Vec::new();
    let mut seen = HashSet::new();
    for it in &opts.interests {
        let so = SearchOptions {
            mode: Mode::Hybrid,
            limit: CANDIDATES_PER_INTEREST,
            filters: filters.clone(),
            merge_moments: false,
            ..SearchOptions::default()
        };
        let hits = archive.search(Some(&it.vector), &it.text, &so)?;
        for h in hits {
            if seen.insert(h.chunk.id) {
                ids.push(h.chunk.id);
            }
        }
    }
    let cal = worth::model().relevance;
    let sample = relevance::reference(archive)?;
    let mut interests = opts.interests.clone();
    for it in &mut interests {
        it.calibrate(&sample);
    }
    // Each window episode's vectors in passage order, and where each
    // passage sits among them, for its context vector.
    let mut vectors: HashMap<u64, Vec<&[f32]>> = HashMap::new();
    let mut position: HashMap<ChunkId, (u64, usize)> = HashMap::new();
    for (key, rows) in &w.rows {
        for (i, r) in rows.iter().enumerate() {
            position.insert(r.id, (*key, i));
        }
        vectors.insert(*key, rows.iter().map(|r| &*r.vector).collect());
    }
    summary.relevant = vec![0; opts.interests.len()];
    let mut out = Vec::new();
    for id in ids {
        if opts.exclude_chunks.contains(&id) {
            continue;
        }
        let Some(v) = archive.vector(id)? else {
            continue;
        };
        let Some(chunk) = archive.chunk(id)? else {
            continue;
        };
        let key = episode_key(&chunk.episode);
        let Some(centroid) = w.centroids.get(&key) else {
            continue;
        };
        let terms = relevance::passage_terms(&chunk.text);
        let context = match position
            .get(&id)
            .and_then(|(k, i)| Some((vectors.get(k)?, *i)))
        {
            Some((episode, i)) => relevance::context(episode, i),
            None => v.clone(),
        };
        let (rel, best) = relevance::best(&cal, &interests, &context, &terms);
        if rel < cal.floor {
            continue;
        }
        if let Some(mut c) = score_chunk(archive, chunk, &v, centroid, Some(rel), summary)? {
            summary.relevant[best] += 1;
            c.signals.interest = Some(best);
            out.push(c);
        }
    }
    sort(&mut out);
    Ok(out)
}

fn sort(v: &mut [Scored]) {
    v.sort_by(|a, b| {
        b.signals
            .score
            .total_cmp(&a.signals.score)
            .then(a.chunk.id.cmp(&b.chunk.id))
    });
}

/// Read passage `id` and score it; `None` for non-content or passages below
/// the worth floor.
fn scored(
    archive: &dyn Archive,
    id: ChunkId,
    v: &[f32],
    centroid: &[f32],
    relevance: Option<f32>,
    summary: &mut TopSummary,
) -> Result<Option<Scored>> {
    let Some(chunk) = archive.chunk(id)? else {
        return Ok(None);
    };
    score_chunk(archive, chunk, v, centroid, relevance, summary)
}

fn score_chunk(
    archive: &dyn Archive,
    chunk: StoredChunk,
    v: &[f32],
    centroid: &[f32],
    relevance: Option<f32>,
    summary: &mut TopSummary,
) -> Result<Option<Scored>> {
    if chunk.noncontent >= NONCONTENT_THRESHOLD || worth::is_intro_or_outro(&chunk.text) {
        summary.noncontent += 1;
        return Ok(None);
    }
    let host = archive.is_host(&chunk.show, &chunk.episode, chunk.speaker.as_deref())?;
    let signals = signals(&chunk, v, centroid, relevance, host);
    // A worth that is not a number fails the comparison and is dropped.
    let usable = signals.worth >= WORTH_FLOOR && signals.score.is_finite();
    if !usable {
        return Ok(None);
    }
    Ok(Some(Scored {
        chunk,
        signals,
        vector: v.to_vec(),
    }))
}

fn salience(v: &[f32], centroid: &[f32]) -> f32 {
    ((dot(v, centroid) - 0.3) / 0.6).clamp(0.0, 1.0)
}

/// The signals of passage `p` with vector `v` in an episode with
/// `centroid`; `relevance`: its calibrated relevance, when there are
/// interests; `host`: whether the show's host speaks it, in an episode
/// with a guest ([`Archive::is_host`]).
pub fn signals(
    p: &StoredChunk,
    v: &[f32],
    centroid: &[f32],
    relevance: Option<f32>,
    host: bool,
) -> InsightSignals {
    let salience = salience(v, centroid);
    let noncontent = p.noncontent as f32 / 1000.0;
    let worth = worth::worth(&Passage {
        text: &p.text,
        vector: v,
        noncontent,
        salience,
        host,
    });
    InsightSignals {
        relevance: relevance.unwrap_or(0.0),
        salience,
        specificity: specificity(&p.text),
        noncontent,
        worth,
        interest: None,
        score: score(relevance, worth, salience),
    }
}

/// The centroid of `episode`'s passage vectors (unit length), for
/// [`signals`] outside `top`.
pub fn centroid(store: &Store, episode: &str) -> Vec<f32> {
    let key = episode_key(episode);
    let mut vectors = Vec::new();
    for seg in store.segments() {
        for (r, ep) in seg.episodes().iter().enumerate() {
            if *ep == key {
                vectors.push(seg.vector(r));
            }
        }
    }
    centroid_of(store.manifest().model.dim, vectors.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specificity_prefers_claims_with_numbers_and_names() {
        let claim = "When we moved the billing service from Python to Go in 2019, Stripe's webhook latency at p99 fell from 800 milliseconds to 90, and the on-call load at Acme dropped by a third because the retry storms stopped. That paid for the rewrite in about four months.";
        let filler = "Yeah, yeah, I mean, you know, it's kind of, um, like, sort of interesting, right? Yeah. You know what I mean? Okay, so yeah.";
        let question = "What would you say is the most important thing? Why does it matter? How did you think about that?";
        assert!(specificity(claim) > 0.6, "{}", specificity(claim));
        assert!(specificity(filler) < 0.1, "{}", specificity(filler));
        assert!(specificity(question) < specificity(claim));
    }
}
