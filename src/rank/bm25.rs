//! The keyword arm: BM25 over the stemmed passage text (and the episode
//! title, down-weighted), by tantivy.
//!
//! The query string is never given to tantivy's query parser: it is run
//! through the same analyzer as the index and each resulting term becomes an
//! optional clause. So no query string can be a syntax error (`"unbalanced`,
//! `field:`, `AND OR`), and `--show`/`--speaker` filters cannot be spoofed from
//! inside the query.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use super::fuse::{sort_ranked, Ranked};
use crate::chunk::ChunkId;
use crate::error::Result;
use crate::store::{text, Store};

/// Longest query, in terms, that is scored (the rest is ignored).
pub const MAX_TERMS: usize = 64;

/// Field weights of the keyword arm. A passage's score is the sum over
/// query terms of BM25 in its own text, in its neighbourhood (the passage
/// with the one before and after: a match spread over adjacent passages
/// still scores, and a short passage is not penalised for the words its
/// neighbours said) and in the episode title. Chosen with `podsift eval` on
/// SciFact and the podcast moments (see BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// The passage's own text.
    pub text: f32,
    /// Passage plus neighbours.
    pub context: f32,
    /// Episode title.
    pub title: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            text: 0.5,
            context: 1.0,
            title: 0.3,
        }
    }
}

/// The scoring query for `query`, or `None` when it has no searchable term.
pub fn query(store: &Store, query: &str, w: &Weights) -> Option<Box<dyn Query>> {
    let mut terms = text::terms(store.index(), text::ANALYZER, query);
    terms.truncate(MAX_TERMS);
    let mut seen = std::collections::HashSet::new();
    terms.retain(|t| seen.insert(t.clone()));
    let weighted: Vec<(String, f32)> = terms.into_iter().map(|t| (t, 1.0)).collect();
    weighted_query(store, &weighted, w)
}

/// The scoring query for analysed terms, each with its own weight (query
/// expansion gives added terms less than the reader's own).
pub fn weighted_query(
    store: &Store,
    terms: &[(String, f32)],
    w: &Weights,
) -> Option<Box<dyn Query>> {
    if terms.is_empty() {
        return None;
    }
    let f = store.fields();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (t, tw) in terms {
        let (text_boost, context_boost, title_boost) = (w.text * tw, w.context * tw, w.title * tw);
        clauses.push((
            Occur::Should,
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(f.text, t),
                    IndexRecordOption::WithFreqs,
                )),
                text_boost,
            )),
        ));
        if context_boost > 0.0 {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.context, t),
                        IndexRecordOption::WithFreqs,
                    )),
                    context_boost,
                )),
            ));
        }
        if title_boost > 0.0 {
            // Chapter titles weigh like episode titles.
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.chapter, t),
                        IndexRecordOption::WithFreqs,
                    )),
                    title_boost,
                )),
            ));
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.title, t),
                        IndexRecordOption::WithFreqs,
                    )),
                    title_boost,
                )),
            ));
        }
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

/// Top `limit` passages for `query`, restricted by `filter` when given.
pub fn search(
    store: &Store,
    q: &str,
    filter: Option<&dyn Query>,
    limit: usize,
    weights: &Weights,
) -> Result<Vec<Ranked>> {
    run(store, query(store, q, weights), filter, limit)
}

/// Top `limit` passages for weighted analysed terms ([`weighted_query`]).
pub fn search_weighted(
    store: &Store,
    terms: &[(String, f32)],
    filter: Option<&dyn Query>,
    limit: usize,
    weights: &Weights,
) -> Result<Vec<Ranked>> {
    run(store, weighted_query(store, terms, weights), filter, limit)
}

fn run(
    store: &Store,
    scoring: Option<Box<dyn Query>>,
    filter: Option<&dyn Query>,
    limit: usize,
) -> Result<Vec<Ranked>> {
    let Some(scoring) = scoring else {
        return Ok(Vec::new());
    };
    let full: Box<dyn Query> = match filter {
        Some(f) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, scoring),
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(f.box_clone(), 0.0)),
            ),
        ])),
        None => scoring,
    };
    let searcher = store.searcher();
    let top = searcher.search(&full, &TopDocs::with_limit(limit.max(1)))?;
    let mut out = Vec::with_capacity(top.len());
    for (score, addr) in top {
        let reader = searcher.segment_reader(addr.segment_ord);
        let ids = reader.fast_fields().u64(text::CHUNK_ID)?;
        if let Some(id) = ids.first(addr.doc_id) {
            out.push(Ranked {
                id: ChunkId(id),
                score,
            });
        }
    }
    sort_ranked(&mut out);
    Ok(out)
}
