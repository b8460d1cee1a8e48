//! Test fixtures shared by the insight stage's tests and the brief
//! renderers' tests ([`crate::output::brief`]).

use super::statement::Statement;
use super::{Insight, InsightSignals};
use crate::chunk::ChunkId;
use crate::rank::Hit;
use crate::store::text::StoredChunk;

/// A timed passage with a web URL, spoken by Ada Lovelace.
pub(crate) fn chunk(id: u64, show: &str, episode: &str, text: &str) -> StoredChunk {
    StoredChunk {
        id: ChunkId(id),
        episode: format!("{show}/{episode}"),
        show: show.into(),
        title: format!("Episode {episode}"),
        speaker: Some("Ada Lovelace".into()),
        text: text.into(),
        start_ms: Some(723_000),
        end_ms: Some(790_500),
        date: Some("2026-11-27".into()),
        url: Some(format!("https://example.com/{episode}.mp3")),
        path: format!("corpus/{show}/{episode}.vtt"),
        ..StoredChunk::default()
    }
}

/// An insight on `c` with fixed signals.
pub(crate) fn insight(rank: usize, c: StoredChunk, related: Vec<Hit>) -> Insight {
    Insight {
        rank,
        statement: Statement::of(&c.text, c.speaker.as_deref()),
        chunk: c,
        signals: InsightSignals {
            relevance: 0.62,
            salience: 0.71,
            specificity: 0.8,
            noncontent: 0.02,
            worth: 0.9,
            interest: Some(0),
            score: 0.68,
        },
        related,
    }
}
