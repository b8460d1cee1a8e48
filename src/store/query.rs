//! The store's query side: what [`crate::rank`], [`crate::insight`] and the
//! commands ask of the full-text index, in our own types. Passage filters
//! ([`Filters`], compiled once by [`Store::filter`] into an opaque
//! [`Filter`]), weighted keyword scoring ([`Store::keyword`]), the ids a
//! filter allows ([`Store::allowed`]) and the ids flagged as not content
//! ([`Store::flagged`]).
//!
//! Nothing here names a type of the engine underneath in its signatures:
//! terms in, chunk ids and scores out. An index kept in another search
//! engine would answer the same calls.

use std::collections::{HashMap, HashSet};

use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Searcher, Term};

use super::text::{self, CHUNK_ID};
use super::{Store, NONCONTENT_THRESHOLD};
use crate::chunk::ChunkId;
use crate::error::{Error, Result, Setting};

/// Restrictions on which passages may be returned.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only these shows (any of them).
    pub shows: Vec<String>,
    /// Not these shows.
    pub not_shows: Vec<String>,
    /// Only these episode ids (any of them).
    pub episodes: Vec<String>,
    /// Only passages whose speaker has all these words.
    pub speaker: Option<String>,
    /// Episodes dated on or after, `YYYY-MM-DD`.
    pub since: Option<String>,
    /// Episodes dated on or before, `YYYY-MM-DD`.
    pub until: Option<String>,
    /// Include passages flagged as not content (ads, intros).
    pub include_noncontent: bool,
}

impl Filters {
    /// Whether any filter narrows the passages (shows, episodes, speaker or
    /// dates; including non-content widens, it does not narrow).
    pub fn narrows(&self) -> bool {
        !(self.shows.is_empty()
            && self.not_shows.is_empty()
            && self.episodes.is_empty()
            && self.speaker.is_none()
            && self.since.is_none()
            && self.until.is_none())
    }
}

/// Field weights of a keyword query. A passage's score is the sum over
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

/// A compiled [`Filters`]: build it once per query with [`Store::filter`]
/// and pass it to [`Store::keyword`] and [`Store::allowed`].
#[derive(Debug)]
pub struct Filter(Box<dyn Query>);

/// Where a stored passage is, to read it later with [`Store::passage_at`]
/// without holding its text (valid for the [`Store`] that gave it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PassageRef(pub(super) DocAddress);

fn term_query(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// Passages at or above the non-content threshold.
fn flagged_query(field: Field) -> RangeQuery {
    RangeQuery::new(
        std::ops::Bound::Included(Term::from_field_u64(field, NONCONTENT_THRESHOLD)),
        std::ops::Bound::Unbounded,
    )
}

/// The chunk ids of the documents at `docs`, read from the id column.
fn ids_at(searcher: &Searcher, docs: impl IntoIterator<Item = DocAddress>) -> Result<HashSet<u64>> {
    let mut out = HashSet::new();
    let mut columns = HashMap::new();
    for a in docs {
        let col = match columns.entry(a.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                searcher
                    .segment_reader(a.segment_ord)
                    .fast_fields()
                    .u64(CHUNK_ID)?,
            ),
        };
        if let Some(id) = col.first(a.doc_id) {
            out.insert(id);
        }
    }
    Ok(out)
}

impl Store {
    /// Compile `filters`, or `None` when they allow every passage.
    pub fn filter(&self, filters: &Filters) -> Result<Option<Filter>> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let any_of = |field, values: &[String]| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(
                values
                    .iter()
                    .map(|v| (Occur::Should, term_query(field, v)))
                    .collect(),
            ))
        };
        if !filters.shows.is_empty() {
            must.push((Occur::Must, any_of(f.show, &filters.shows)));
        }
        for s in &filters.not_shows {
            must.push((Occur::MustNot, term_query(f.show, s)));
        }
        if !filters.episodes.is_empty() {
            must.push((Occur::Must, any_of(f.episode, &filters.episodes)));
        }
        if let Some(sp) = &filters.speaker {
            let words = text::terms(&self.index, text::NAME_ANALYZER, sp);
            if words.is_empty() {
                return Err(Error::setting(Setting::Speaker, "has no letters or digits"));
            }
            for w in words {
                must.push((Occur::Must, term_query(f.speaker, &w)));
            }
        }
        let day = |d: &Option<String>, what: Setting| -> Result<Option<i64>> {
            d.as_deref()
                .map(|s| {
                    text::date_days(s).ok_or_else(|| {
                        Error::setting(what, format!("'{s}' is not a date (YYYY-MM-DD)"))
                    })
                })
                .transpose()
        };
        let (since, until) = (
            day(&filters.since, Setting::Since)?,
            day(&filters.until, Setting::Until)?,
        );
        if since.is_some() || until.is_some() {
            let b = |d: Option<i64>| match d {
                Some(v) => std::ops::Bound::Included(Term::from_field_i64(f.date_days, v)),
                None => std::ops::Bound::Unbounded,
            };
            must.push((Occur::Must, Box::new(RangeQuery::new(b(since), b(until)))));
        }
        if !filters.include_noncontent {
            must.push((Occur::MustNot, Box::new(flagged_query(f.noncontent))));
        }
        if must.is_empty() {
            return Ok(None);
        }
        if must.iter().all(|(o, _)| *o == Occur::MustNot) {
            must.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Some(Filter(Box::new(BooleanQuery::new(must)))))
    }

    /// The chunk ids `filter` allows (for the dense arm).
    pub fn allowed(&self, filter: &Filter) -> Result<HashSet<u64>> {
        let searcher = self.searcher();
        let docs = searcher.search(filter.0.as_ref(), &DocSetCollector)?;
        ids_at(&searcher, docs)
    }

    /// Ids of the passages flagged as not content (ads, intros), read once.
    /// A read error is returned, never taken for "none flagged": that would
    /// put every sponsor read back into the results without a word.
    pub fn flagged(&self) -> Result<&HashSet<u64>> {
        if let Some(set) = self.flagged.get() {
            return Ok(set);
        }
        let searcher = self.searcher();
        let docs = searcher.search(&flagged_query(self.fields.noncontent), &DocSetCollector)?;
        let out = ids_at(&searcher, docs)?;
        // Another thread may have set it meanwhile: the same set.
        let _ = self.flagged.set(out);
        Ok(self
            .flagged
            .get()
            .expect("the flagged set was set just above"))
    }

    /// The analysed terms of `text` as the keyword index sees them
    /// (lower-cased, folded, stop words dropped, stemmed; in order, repeats
    /// kept).
    pub fn query_terms(&self, text: &str) -> Vec<String> {
        text::terms(&self.index, text::ANALYZER, text)
    }

    /// The top `limit` passages by BM25 for analysed `terms`, each with its
    /// own weight (query expansion gives added terms less than the reader's
    /// own), over the fields as `weights` weigh them, restricted by
    /// `filter`. Best first in the engine's order; no terms, no passages.
    pub fn keyword(
        &self,
        terms: &[(String, f32)],
        weights: &Weights,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Result<Vec<(ChunkId, f32)>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let scoring = self.scoring_query(terms, weights);
        let full: Box<dyn Query> = match filter {
            Some(f) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, scoring),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(f.0.box_clone(), 0.0)),
                ),
            ])),
            None => scoring,
        };
        let searcher = self.searcher();
        let top = searcher.search(&full, &TopDocs::with_limit(limit.max(1)))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let reader = searcher.segment_reader(addr.segment_ord);
            let ids = reader.fast_fields().u64(CHUNK_ID)?;
            if let Some(id) = ids.first(addr.doc_id) {
                out.push((ChunkId(id), score));
            }
        }
        Ok(out)
    }

    /// One optional clause per term and field, boosted by the field's
    /// weight times the term's.
    fn scoring_query(&self, terms: &[(String, f32)], w: &Weights) -> Box<dyn Query> {
        let f = &self.fields;
        let boosted = |field: Field, t: &str, boost: f32| -> (Occur, Box<dyn Query>) {
            (
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, t),
                        IndexRecordOption::WithFreqs,
                    )),
                    boost,
                )),
            )
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (t, tw) in terms {
            let (text_boost, context_boost, title_boost) =
                (w.text * tw, w.context * tw, w.title * tw);
            clauses.push(boosted(f.text, t, text_boost));
            if context_boost > 0.0 {
                clauses.push(boosted(f.context, t, context_boost));
            }
            if title_boost > 0.0 {
                // Chapter titles weigh like episode titles.
                clauses.push(boosted(f.chapter, t, title_boost));
                clauses.push(boosted(f.title, t, title_boost));
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }
}
