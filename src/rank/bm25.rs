//! The keyword arm: BM25 over the stemmed passage text (and the episode
//! title, down-weighted), scored by the store ([`Store::keyword`]).
//!
//! The query string is never given to a query parser: it is run through
//! the same analyzer as the index and each resulting term becomes an
//! optional clause. So no query string can be a syntax error (`"unbalanced`,
//! `field:`, `AND OR`), and `--show`/`--speaker` filters cannot be spoofed from
//! inside the query.

use super::fuse::{sort_ranked, Ranked};
use crate::error::Result;
use crate::store::query::Filter;
pub use crate::store::query::Weights;
use crate::store::Store;

/// Longest query, in terms, that is scored (the rest is ignored).
pub const MAX_TERMS: usize = 64;

/// The analysed terms of `query`, each once, in order, at most
/// [`MAX_TERMS`], each with weight 1.
pub fn terms(store: &Store, query: &str) -> Vec<(String, f32)> {
    let mut terms = store.query_terms(query);
    terms.truncate(MAX_TERMS);
    let mut seen = std::collections::HashSet::new();
    terms.retain(|t| seen.insert(t.clone()));
    terms.into_iter().map(|t| (t, 1.0)).collect()
}

/// Top `limit` passages for `query`, restricted by `filter` when given.
pub fn search(
    store: &Store,
    q: &str,
    filter: Option<&Filter>,
    limit: usize,
    weights: &Weights,
) -> Result<Vec<Ranked>> {
    search_weighted(store, &terms(store, q), filter, limit, weights)
}

/// Top `limit` passages for analysed terms, each with its own weight (query
/// expansion gives added terms less than the reader's own).
pub fn search_weighted(
    store: &Store,
    terms: &[(String, f32)],
    filter: Option<&Filter>,
    limit: usize,
    weights: &Weights,
) -> Result<Vec<Ranked>> {
    let mut out: Vec<Ranked> = store
        .keyword(terms, weights, filter, limit)?
        .into_iter()
        .map(|(id, score)| Ranked { id, score })
        .collect();
    sort_ranked(&mut out);
    Ok(out)
}
