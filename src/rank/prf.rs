//! Pseudo-relevance feedback for the keyword arm (RM3's idea): the words
//! that stand out in the first pass's best passages are added to the
//! keyword query with less weight than the reader's own, and the keyword
//! arm runs again. A paraphrase that shares few words with the moment it
//! describes often shares them with the passages the meaning arm found.

use std::collections::HashMap;

use crate::chunk::ChunkId;
use crate::error::Result;
use crate::store::text::analyse;
use crate::store::Store;

/// Passages of the first pass that feed the expansion.
pub const DOCS: usize = 3;
/// Weight of the heaviest added term (the reader's terms weigh 1).
pub const WEIGHT: f32 = 0.3;

/// The query's terms (weight 1) and up to `n` expansion terms from the
/// passages `top`, weighted by their share of those passages times their
/// rarity, the heaviest scaled to [`WEIGHT`].
pub fn expand(store: &Store, query: &str, top: &[ChunkId], n: usize) -> Result<Vec<(String, f32)>> {
    let mut q = analyse(query);
    let mut seen = std::collections::HashSet::new();
    q.retain(|t| seen.insert(t.clone()));
    let docs = store.num_docs().max(1) as f32;
    let mut weight: HashMap<String, f32> = HashMap::new();
    for id in top {
        let Some(c) = store.chunk(*id)? else {
            continue;
        };
        let terms = analyse(&c.text);
        let len = terms.len().max(1) as f32;
        for t in terms {
            if t.chars().count() < 3 || seen.contains(&t) {
                continue;
            }
            *weight.entry(t).or_default() += 1.0 / len;
        }
    }
    let mut scored: Vec<(String, f32)> = weight
        .into_iter()
        .filter_map(|(t, tf)| {
            let df = store.doc_freq(&t) as f32;
            // Too common to point anywhere, or a slip of one passage.
            if df < 2.0 || df > 0.05 * docs {
                return None;
            }
            Some((t, tf * ((docs - df + 0.5) / (df + 0.5) + 1.0).ln()))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(n);
    let top_w = scored.first().map_or(1.0, |s| s.1).max(1e-9);
    let mut out: Vec<(String, f32)> = q.into_iter().map(|t| (t, 1.0)).collect();
    out.extend(scored.into_iter().map(|(t, w)| (t, WEIGHT * w / top_w)));
    Ok(out)
}
