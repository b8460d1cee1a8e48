//! Relevance of a passage to a reader's interest, as a calibrated
//! probability that the passage is on that topic.
//!
//! Two pieces of evidence, as in hybrid search: how close the passage's
//! stretch of conversation is to the interest in meaning, and the share of
//! the interest's terms (stemmed, stop words dropped, as the keyword arm
//! sees them) that the passage uses (words).
//!
//! Meaning is read from the passage's [`context`] (its vector averaged with
//! its neighbours', nearer ones weighing more: a topic is a property of a
//! stretch of talk, not of one passage) and scored as a z-score: the cosine
//! to the interest, less the interest's mean cosine over a fixed sample of
//! the archive ([`Interest::calibrate`]), in units of its spread there.
//! Some interests ("developer tools") are close to everything a tech show
//! says and others to little; the z-score makes "unusually close to this
//! interest" comparable across them. A logistic curve over both, fitted
//! on the tune half of the labelled insights against the profiles' topics
//! (`scripts/fit-insight`), turns them into a probability; below
//! [`Calibration::floor`] a passage is not relevant, and a brief says so
//! rather than pad with it.
//!
//! Candidates come from the hybrid ranker (`top` searches each interest over
//! the window's passages); this module only scores them.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::archive::{Archive, EpisodeRow};
use crate::error::Result;
use crate::rank::dense::dot;
use crate::store::text::analyse;

/// A reader's interest, ready for scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct Interest {
    /// As the reader wrote it.
    pub text: String,
    /// Its embedding (a query vector).
    pub vector: Vec<f32>,
    /// Its distinct analysed terms.
    pub terms: Vec<String>,
    /// Mean cosine of the archive's sample to it ([`Interest::calibrate`]).
    pub mean: f32,
    /// Spread (standard deviation) of those cosines.
    pub spread: f32,
}

impl Interest {
    /// An interest from its text and query vector.
    pub fn new(text: &str, vector: Vec<f32>) -> Interest {
        let mut terms = analyse(text);
        let mut seen = HashSet::new();
        terms.retain(|t| seen.insert(t.clone()));
        Interest {
            text: text.to_string(),
            vector,
            terms,
            mean: 0.0,
            spread: 1.0,
        }
    }

    /// Set [`Interest::mean`] and [`Interest::spread`] from the context
    /// vectors of a sample of the archive ([`reference()`]); a sample too
    /// small to measure a spread leaves the raw cosine.
    pub fn calibrate(&mut self, sample: &[Vec<f32>]) {
        if sample.len() < 2 {
            return;
        }
        let cos: Vec<f64> = sample
            .iter()
            .map(|v| f64::from(dot(v, &self.vector)))
            .collect();
        let n = cos.len() as f64;
        let mean = cos.iter().sum::<f64>() / n;
        let var = cos.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / n;
        if var.sqrt() > 1e-6 {
            self.mean = mean as f32;
            self.spread = var.sqrt() as f32;
        }
    }

    /// How unusually close `context` is to this interest (see the module
    /// doc).
    pub fn z(&self, context: &[f32]) -> f32 {
        (dot(context, &self.vector) - self.mean) / self.spread
    }
}

/// Neighbours on each side that a passage's [`context`] averages.
pub const CONTEXT_RADIUS: usize = 2;

/// Weight of a neighbour `d` passages away is `CONTEXT_DECAY^d`.
pub const CONTEXT_DECAY: f32 = 0.7;

/// The context vector of passage `at` of an episode whose passage vectors
/// are `rows`, in order: the unit mean of it and its neighbours within
/// [`CONTEXT_RADIUS`], weighted by [`CONTEXT_DECAY`] per step; a vector
/// that is not finite is left out.
pub fn context(rows: &[&[f32]], at: usize) -> Vec<f32> {
    let dim = rows.get(at).map_or(0, |r| r.len());
    let mut c = vec![0f32; dim];
    let lo = at.saturating_sub(CONTEXT_RADIUS);
    let hi = (at + CONTEXT_RADIUS + 1).min(rows.len());
    for (i, v) in rows.iter().enumerate().take(hi).skip(lo) {
        if v.len() != dim || !v.iter().all(|x| x.is_finite()) {
            continue;
        }
        let w = CONTEXT_DECAY.powi(i.abs_diff(at) as i32);
        for (a, x) in c.iter_mut().zip(v.iter()) {
            *a += w * x;
        }
    }
    let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    c.iter_mut().for_each(|x| *x /= norm);
    c
}

/// Episodes the archive sample of [`reference()`] holds at most.
pub const REFERENCE_EPISODES: usize = 32;

/// The archive sample that interests are calibrated against: every k-th
/// episode (sorted by id, so the same sample from the index and from a
/// store pushed from it), at most [`REFERENCE_EPISODES`], and the context
/// vector of each of their passages that is content.
pub fn reference(archive: &dyn Archive) -> Result<Vec<Vec<f32>>> {
    let episodes = archive.episodes()?;
    let step = episodes.len().div_ceil(REFERENCE_EPISODES).max(1);
    let ids: Vec<String> = episodes
        .iter()
        .step_by(step)
        .map(|e| e.id.clone())
        .collect();
    let rows = archive.episode_rows(&ids)?;
    let mut out = Vec::new();
    for ep in by_episode(&rows).values() {
        let vectors: Vec<&[f32]> = ep.iter().map(|r| &*r.vector).collect();
        for (i, r) in ep.iter().enumerate() {
            if !r.flagged {
                out.push(context(&vectors, i));
            }
        }
    }
    Ok(out)
}

/// `rows` grouped by episode key, each episode's rows in passage order.
fn by_episode<'r, 'a>(rows: &'r [EpisodeRow<'a>]) -> BTreeMap<u64, Vec<&'r EpisodeRow<'a>>> {
    let mut out: BTreeMap<u64, Vec<&EpisodeRow>> = BTreeMap::new();
    for r in rows {
        out.entry(r.episode).or_default().push(r);
    }
    out
}

/// Share of `terms` present in `passage_terms` (0 when there are none).
pub fn term_share(terms: &[String], passage_terms: &HashSet<String>) -> f32 {
    if terms.is_empty() {
        return 0.0;
    }
    terms.iter().filter(|t| passage_terms.contains(*t)).count() as f32 / terms.len() as f32
}

/// The fitted curve: `p = 1 / (1 + e^-(z·zscore + terms·share + bias))`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Calibration {
    /// Weight of the z-score ([`Interest::z`]).
    pub z: f32,
    /// Weight of the term share.
    pub terms: f32,
    /// Intercept.
    pub bias: f32,
    /// Probability below which a passage is not relevant.
    pub floor: f32,
    /// Weight of relevance in an insight's score (worth gets `0.9 - mix`,
    /// salience 0.1).
    #[serde(default = "half")]
    pub mix: f32,
}

fn half() -> f32 {
    0.5
}

impl Calibration {
    /// Probability that a passage with this z-score and term share is on
    /// the interest's topic.
    pub fn probability(&self, z: f32, share: f32) -> f32 {
        let t = self.z * z + self.terms * share + self.bias;
        1.0 / (1.0 + (-t).exp())
    }
}

/// The passage's relevance to the reader's interests: the curve at the
/// best z-score of its `context` ([`context`]) and the best term share over
/// the interests (a profile's interests cover a topic together, so the
/// evidence is pooled), and the index of the interest it is closest to.
pub fn best(
    cal: &Calibration,
    interests: &[Interest],
    context: &[f32],
    passage_terms: &HashSet<String>,
) -> (f32, usize) {
    let mut best_z = f32::NEG_INFINITY;
    let mut at = 0;
    let mut share = 0f32;
    for (i, it) in interests.iter().enumerate() {
        let z = it.z(context);
        if z > best_z {
            best_z = z;
            at = i;
        }
        share = share.max(term_share(&it.terms, passage_terms));
    }
    if interests.is_empty() {
        return (0.0, 0);
    }
    (cal.probability(best_z, share), at)
}

/// A passage's analysed terms, as a set.
pub fn passage_terms(text: &str) -> HashSet<String> {
    analyse(text).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_share_uses_stems() {
        let it = Interest::new("pricing a product", vec![]);
        assert_eq!(it.terms.len(), 2, "{:?}", it.terms);
        let p = passage_terms("We priced the products per seat.");
        assert_eq!(term_share(&it.terms, &p), 1.0);
        let q = passage_terms("Nothing about that here.");
        assert_eq!(term_share(&it.terms, &q), 0.0);
    }

    #[test]
    fn probability_rises_with_both_signals() {
        let c = Calibration {
            z: 8.0,
            terms: 2.0,
            bias: -3.0,
            floor: 0.5,
            mix: 0.5,
        };
        assert!(c.probability(0.6, 0.0) > c.probability(0.2, 0.0));
        assert!(c.probability(0.3, 1.0) > c.probability(0.3, 0.0));
        let (p, i) = best(
            &c,
            &[
                Interest::new("a", vec![1.0, 0.0]),
                Interest::new("b", vec![0.0, 1.0]),
            ],
            &[0.0, 1.0],
            &HashSet::new(),
        );
        assert_eq!(i, 1);
        assert!((p - c.probability(1.0, 0.0)).abs() < 1e-6);
    }

    #[test]
    fn calibration_makes_z_scores_of_the_sample() {
        let mut it = Interest::new("x", vec![1.0, 0.0]);
        let sample = vec![vec![0.2, 0.98], vec![0.4, 0.92], vec![0.6, 0.8]];
        it.calibrate(&sample);
        assert!((it.mean - 0.4).abs() < 1e-6, "{}", it.mean);
        assert!(it.z(&[0.4, 0.92]).abs() < 1e-5);
        assert!(it.z(&[0.6, 0.8]) > 1.0 && it.z(&[0.2, 0.98]) < -1.0);
        // Too small a sample to measure a spread: the raw cosine.
        let mut raw = Interest::new("x", vec![1.0, 0.0]);
        raw.calibrate(&sample[..1]);
        assert_eq!(raw.z(&[0.6, 0.8]), 0.6);
    }

    #[test]
    fn context_weighs_near_neighbours_more_and_stays_in_the_episode() {
        let rows: Vec<Vec<f32>> = vec![
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![f32::NAN, 0.0],
        ];
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let c = context(&refs, 1);
        // itself (weight 1) against two neighbours at 0.7 each.
        let want = [1.4f32, 1.0];
        let n = (want[0] * want[0] + want[1] * want[1]).sqrt();
        assert!(
            (c[0] - want[0] / n).abs() < 1e-6 && (c[1] - want[1] / n).abs() < 1e-6,
            "{c:?}"
        );
        // The damaged neighbour is left out, and the first passage has no left side.
        let last = context(&refs, 3);
        assert!(last.iter().all(|x| x.is_finite()));
        let first = context(&refs, 0);
        assert!(first[0] > first[1]);
        assert!((first.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
