//! Insights: passages worth quoting on their own, and what connects them.
//!
//! - [`noncontent`]: the detector of sponsor reads, intros/outros,
//!   housekeeping and transcription junk, scored at index time.
//! - [`related`]: nearest passages by meaning from other episodes,
//!   diversified, with the key terms they share with the seed.
//! - [`top`]: the top insights of recent episodes, scored by explainable
//!   signals (relevance to interests, salience in the episode, specificity).
//! - [`statement`]: the insight as a statement: the sentences of a passage
//!   that carry its claim, cleaned of disfluencies, attributed.
//! - [`brief`]: the personalised daily brief: a profile, a state file of what
//!   was sent, and Markdown/HTML/JSON rendering.

pub mod archive;
pub mod brief;
pub mod hosts;
pub mod noncontent;
pub mod phrases;
pub mod related;
pub mod relevance;
pub mod statement;
#[cfg(test)]
pub(crate) mod testkit;
pub mod top;
pub mod worth;

use crate::rank::{Hit, Signals};
use crate::store::text::StoredChunk;

/// A related passage as a search hit (the one shape a passage found has):
/// its `score` is the cosine similarity to the seed, its `shared_terms` the
/// key terms both passages use, most specific first (surface forms from the
/// related passage).
pub fn related_hit(rank: usize, chunk: StoredChunk, similarity: f32, shared: Vec<String>) -> Hit {
    Hit {
        rank,
        score: similarity,
        start_ms: chunk.start_ms,
        end_ms: chunk.end_ms,
        chunk,
        merged: Vec::new(),
        shared_terms: shared,
        signals: Signals {
            dense_rank: Some(rank),
            dense_score: Some(similarity),
            ..Signals::default()
        },
    }
}

/// Why a passage is related, in one line, e.g. `similar meaning (0.71);
/// both mention "chips", "inference"`.
pub fn why_related(hit: &Hit) -> String {
    let mut s = format!("similar meaning ({:.2})", hit.score);
    if !hit.shared_terms.is_empty() {
        let terms: Vec<String> = hit
            .shared_terms
            .iter()
            .take(4)
            .map(|t| format!("\"{t}\""))
            .collect();
        s.push_str("; both mention ");
        s.push_str(&terms.join(", "));
    }
    s
}

/// Why a passage ranks as an insight: each signal in 0..1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InsightSignals {
    /// Probability that it is on the reader's best-matching interest (0
    /// when none are given; see [`relevance`]).
    pub relevance: f32,
    /// Cosine to the episode's centroid: how central the passage is.
    pub salience: f32,
    /// Claims, numbers, names, low filler.
    pub specificity: f32,
    /// Non-content score (ads, intros); insights need it low.
    pub noncontent: f32,
    /// Insight-worthiness: probability that the passage is a
    /// self-contained statement worth quoting ([`worth`]).
    pub worth: f32,
    /// Which of the reader's interests it is most relevant to (index).
    pub interest: Option<usize>,
    /// The combined score.
    pub score: f32,
}

/// One insight: a passage, its signals, and its related passages.
#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    /// 1-based rank.
    pub rank: usize,
    /// The claim in the speaker's words: 1-3 sentences of the passage,
    /// cleaned of disfluencies, and who said them.
    pub statement: statement::Statement,
    /// The passage.
    pub chunk: StoredChunk,
    /// Signals.
    pub signals: InsightSignals,
    /// Related passages from the archive, other shows first.
    pub related: Vec<Hit>,
}
