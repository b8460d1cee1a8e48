//! Relevance of a passage to a reader's interest, as a calibrated
//! probability that the passage is on that topic.
//!
//! Two pieces of evidence, as in hybrid search: the cosine between the
//! passage's vector and the interest's (meaning), and the share of the
//! interest's terms (stemmed, stop words dropped, as the keyword arm sees
//! them) that the passage uses (words). A logistic curve over both, fitted
//! on the tune half of the labelled insights against the profiles' topics
//! (`scripts/fit-insight`), turns them into a probability; below
//! [`Calibration::floor`] a passage is not relevant, and a brief says so
//! rather than pad with it.
//!
//! Candidates come from the hybrid ranker (`top` searches each interest over
//! the window's passages); this module only scores them.

use std::collections::HashSet;

use serde::Deserialize;

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
        }
    }
}

/// Share of `terms` present in `passage_terms` (0 when there are none).
pub fn term_share(terms: &[String], passage_terms: &HashSet<String>) -> f32 {
    if terms.is_empty() {
        return 0.0;
    }
    terms.iter().filter(|t| passage_terms.contains(*t)).count() as f32 / terms.len() as f32
}

/// The fitted curve: `p = 1 / (1 + e^-(cosine·cos + terms·share + bias))`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Calibration {
    /// Weight of the cosine.
    pub cosine: f32,
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
    /// Probability that a passage with this cosine and term share is on
    /// the interest's topic.
    pub fn probability(&self, cosine: f32, share: f32) -> f32 {
        let z = self.cosine * cosine + self.terms * share + self.bias;
        1.0 / (1.0 + (-z).exp())
    }
}

/// The passage's relevance to the reader's interests: the curve at the
/// best cosine and the best term share over the interests (a profile's
/// interests cover a topic together, so the evidence is pooled), and the
/// index of the interest it is closest to in meaning.
pub fn best(
    cal: &Calibration,
    interests: &[Interest],
    vector: &[f32],
    passage_terms: &HashSet<String>,
) -> (f32, usize) {
    let mut cos = f32::NEG_INFINITY;
    let mut at = 0;
    let mut share = 0f32;
    for (i, it) in interests.iter().enumerate() {
        let c = dot(vector, &it.vector);
        if c > cos {
            cos = c;
            at = i;
        }
        share = share.max(term_share(&it.terms, passage_terms));
    }
    if interests.is_empty() {
        return (0.0, 0);
    }
    (cal.probability(cos, share), at)
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
            cosine: 8.0,
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
                Interest {
                    text: "a".into(),
                    vector: vec![1.0, 0.0],
                    terms: vec![],
                },
                Interest {
                    text: "b".into(),
                    vector: vec![0.0, 1.0],
                    terms: vec![],
                },
            ],
            &[0.0, 1.0],
            &HashSet::new(),
        );
        assert_eq!(i, 1);
        assert!((p - c.probability(1.0, 0.0)).abs() < 1e-6);
    }
}
