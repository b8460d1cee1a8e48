//! Top insights: the passages of recent episodes worth quoting on their own.
//!
//! Every passage of the episodes in the window (added to the index, or
//! published, on or after `since`) that is not flagged as non-content is
//! scored by signals in 0..1, each explainable:
//!
//! - **relevance**: the best cosine to the reader's interests, rescaled so
//!   0.20 counts as nothing and 0.70 as everything (only with interests);
//! - **salience**: the cosine to the episode's centroid (mean of its passage
//!   vectors): how central the passage is to what the episode is about;
//! - **specificity**: long enough to stand alone, with numbers and names,
//!   little filler ("you know", "um"), not a bare question.
//!
//! `score = 0.6·relevance + 0.2·salience + 0.2·specificity` with interests,
//! `0.5·salience + 0.5·specificity` without. The best passage of each
//! episode competes (at most `per_episode`); near-duplicates across episodes
//! (cosine > 0.9: the same story told twice) are folded into the better one.
//! Each insight gets its related passages from the archive, other shows
//! first.

use std::collections::HashSet;

use super::related::{related_to, RelatedOptions};
use super::{Insight, InsightSignals};
use crate::chunk::sentence_spans;
use crate::error::Result;
use crate::rank::dense::dot;
use crate::rank::NONCONTENT_THRESHOLD;
use crate::store::text::StoredChunk;
use crate::store::Store;

/// What `top` (and the brief) look at.
#[derive(Debug, Clone)]
pub struct TopOptions {
    /// Episodes added or published on or after this day (`YYYY-MM-DD`);
    /// `None`: every episode.
    pub since: Option<String>,
    /// Interests, embedded (unit vectors).
    pub interests: Vec<Vec<f32>>,
    /// Insights wanted.
    pub limit: usize,
    /// Insights per episode at most.
    pub per_episode: usize,
    /// Only these shows (empty: all).
    pub shows: Vec<String>,
    /// Not these shows.
    pub not_shows: Vec<String>,
    /// Passages never to pick (already sent).
    pub exclude_chunks: HashSet<u64>,
    /// Episodes never to pick from (already covered).
    pub exclude_episodes: HashSet<String>,
    /// Related passages per insight.
    pub related: usize,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions {
            since: None,
            interests: Vec::new(),
            limit: 5,
            per_episode: 1,
            shows: Vec::new(),
            not_shows: Vec::new(),
            exclude_chunks: HashSet::new(),
            exclude_episodes: HashSet::new(),
            related: 3,
        }
    }
}

/// What a run looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TopSummary {
    /// Episodes in the window.
    pub episodes: usize,
    /// Passages scored.
    pub passages: usize,
    /// Passages skipped as non-content.
    pub noncontent: usize,
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

fn relevance(v: &[f32], interests: &[Vec<f32>]) -> f32 {
    let best = interests
        .iter()
        .map(|i| dot(v, i))
        .fold(f32::NEG_INFINITY, f32::max);
    if best == f32::NEG_INFINITY {
        return 0.0;
    }
    ((best - 0.2) / 0.5).clamp(0.0, 1.0)
}

/// Passages per episode whose text is read and scored in full; the rest are
/// ranked out by their vectors alone (relevance and salience).
const SHORTLIST_PER_EPISODE: usize = 8;

/// The top insights under `opts`.
///
/// Vectors first, text second: every passage of the window is scored for
/// relevance and salience from the memory-mapped vectors (no document
/// reads), and only each episode's best few are read from the doc store for
/// specificity. That keeps a pass over a whole archive to seconds.
pub fn top(store: &Store, opts: &TopOptions) -> Result<(Vec<Insight>, TopSummary)> {
    let mut summary = TopSummary::default();
    let state = store.state();
    let in_window = |e: &crate::store::state::EpisodeEntry| match &opts.since {
        None => true,
        Some(since) => {
            e.added.as_str() >= since.as_str()
                || e.date.as_deref().is_some_and(|d| d >= since.as_str())
        }
    };
    let mut episodes: std::collections::HashMap<u64, &str> = std::collections::HashMap::new();
    for (id, e) in &state.episodes {
        if in_window(e)
            && !opts.exclude_episodes.contains(id)
            && (opts.shows.is_empty() || opts.shows.contains(&e.show))
            && !opts.not_shows.contains(&e.show)
        {
            episodes.insert(crate::store::vectors::episode_key(id), id.as_str());
        }
    }
    summary.episodes = episodes.len();
    // Rows of each episode in the window.
    let segments = store.segments();
    let mut rows: std::collections::HashMap<u64, Vec<(usize, usize)>> =
        std::collections::HashMap::new();
    for (s, seg) in segments.iter().enumerate() {
        for (r, ep) in seg.episodes().iter().enumerate() {
            if episodes.contains_key(ep) {
                rows.entry(*ep).or_default().push((s, r));
            }
        }
    }
    let flagged = store.flagged()?;
    let dim = store.manifest().model.dim;
    let mut keys: Vec<&u64> = rows.keys().collect();
    keys.sort_by_key(|k| episodes[*k]);
    let mut candidates: Vec<(StoredChunk, InsightSignals, Vec<f32>)> = Vec::new();
    for key in keys {
        let ep_rows = &rows[key];
        let mut centroid = vec![0f32; dim];
        for &(s, r) in ep_rows {
            let v = segments[s].vector(r);
            // A damaged row (NaN, infinity) would spoil the whole episode.
            if !v.iter().all(|x| x.is_finite()) {
                continue;
            }
            for (c, x) in centroid.iter_mut().zip(v) {
                *c += x;
            }
        }
        let norm = centroid.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
        centroid.iter_mut().for_each(|x| *x /= norm);
        // Vector-only pre-score.
        let mut pre: Vec<(f32, u64, &[f32])> = Vec::new();
        for &(s, r) in ep_rows {
            summary.passages += 1;
            let id = segments[s].ids()[r];
            if flagged.contains(&id) {
                summary.noncontent += 1;
                continue;
            }
            if opts.exclude_chunks.contains(&id) {
                continue;
            }
            let v = segments[s].vector(r);
            let sal = salience(v, &centroid);
            let score = if opts.interests.is_empty() {
                sal
            } else {
                0.75 * relevance(v, &opts.interests) + 0.25 * sal
            };
            // Never ranked: a score that is not a number (a damaged vector).
            if score.is_finite() {
                pre.push((score, id, v));
            }
        }
        pre.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut scored: Vec<(StoredChunk, InsightSignals, Vec<f32>)> = Vec::new();
        for (_, id, v) in pre.into_iter().take(SHORTLIST_PER_EPISODE) {
            let Some(p) = store.chunk(crate::chunk::ChunkId(id))? else {
                continue;
            };
            if p.noncontent >= NONCONTENT_THRESHOLD {
                continue;
            }
            let sig = signals(&p, v, &centroid, &opts.interests);
            if sig.score.is_finite() {
                scored.push((p, sig, v.to_vec()));
            }
        }
        scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.id.cmp(&b.0.id)));
        // At most per_episode, and not two overlapping passages.
        let mut kept: Vec<(StoredChunk, InsightSignals, Vec<f32>)> = Vec::new();
        for s in scored {
            if kept.len() >= opts.per_episode.max(1) {
                break;
            }
            if kept.iter().any(|k| k.0.seq.abs_diff(s.0.seq) <= 1) {
                continue;
            }
            kept.push(s);
        }
        candidates.extend(kept);
    }
    candidates.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.id.cmp(&b.0.id)));
    let mut chosen: Vec<(StoredChunk, InsightSignals, Vec<f32>)> = Vec::new();
    for c in candidates {
        if chosen.len() >= opts.limit {
            break;
        }
        if chosen.iter().any(|k| dot(&k.2, &c.2) > 0.9) {
            continue;
        }
        chosen.push(c);
    }
    let mut out = Vec::with_capacity(chosen.len());
    let picked: HashSet<u64> = chosen.iter().map(|c| c.0.id).collect();
    for (rank, (chunk, signals, v)) in chosen.into_iter().enumerate() {
        let related = if opts.related > 0 {
            let ro = RelatedOptions {
                limit: opts.related,
                exclude: picked.clone(),
                ..RelatedOptions::default()
            };
            related_to(store, &v, &chunk, &ro)?
        } else {
            Vec::new()
        };
        out.push(Insight {
            rank: rank + 1,
            chunk,
            signals,
            related,
        });
    }
    Ok((out, summary))
}

fn salience(v: &[f32], centroid: &[f32]) -> f32 {
    ((dot(v, centroid) - 0.3) / 0.6).clamp(0.0, 1.0)
}

fn signals(p: &StoredChunk, v: &[f32], centroid: &[f32], interests: &[Vec<f32>]) -> InsightSignals {
    let salience = salience(v, centroid);
    let specificity = specificity(&p.text);
    let noncontent = p.noncontent as f32 / 1000.0;
    let (relevance, score) = if interests.is_empty() {
        (0.0, 0.5 * salience + 0.5 * specificity)
    } else {
        let r = relevance(v, interests);
        (r, 0.6 * r + 0.2 * salience + 0.2 * specificity)
    };
    InsightSignals {
        relevance,
        salience,
        specificity,
        noncontent,
        score,
    }
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
