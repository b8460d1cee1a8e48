//! A PostgreSQL store ([`crate::store::pg`]) as an [`Archive`]: the dense
//! arm is pgvector's HNSW index, the keyword arm the store's BM25
//! ([`crate::rank::pg`]), the filters and skips SQL conditions.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use pgvector::Vector;

use super::{Archive, Episode, EpisodeRow, Row, Skip};
use crate::chunk::ChunkId;
use crate::error::Result;
use crate::insight::hosts::{HostCache, ShowSpeakers};
use crate::rank::bm25::Weights;
use crate::rank::fuse::Ranked;
use crate::rank::pg::{self as rank_pg, Params};
use crate::rank::{Hit, SearchOptions};
use crate::store::pg::{fail, Db};
use crate::store::text::StoredChunk;
use crate::store::vectors::episode_key;
use crate::store::Filters;

/// A PostgreSQL store under one set of filters.
pub struct PgArchive<'a> {
    db: RefCell<&'a mut Db>,
    filters: Filters,
    /// Whether HNSW is bypassed for an exact scan and the keyword arm reads
    /// every posting.
    exact: bool,
    /// Each show's hosts, once asked about.
    hosts: HostCache,
}

impl<'a> PgArchive<'a> {
    /// The store of `db` under `filters`; `exact` scans every vector
    /// instead of asking the HNSW index, and reads every posting of a
    /// keyword query's terms.
    pub fn new(db: &'a mut Db, filters: &Filters, exact: bool) -> PgArchive<'a> {
        PgArchive {
            db: RefCell::new(db),
            filters: filters.clone(),
            exact,
            hosts: HostCache::default(),
        }
    }
}

/// The SQL condition on passages `p` that `skip` skips none of.
fn not_skipped(skip: &Skip, params: &mut Params) -> String {
    let mut ids: Vec<i64> = skip.exclude.iter().map(|c| c.0 as i64).collect();
    ids.push(skip.seed.0 as i64);
    ids.sort_unstable();
    let ids = params.add(ids);
    let episode = params.add(skip.episode.clone());
    let own = match skip.gap_ms {
        None => "false".to_string(),
        Some(gap) if skip.start != u64::MAX => format!(
            "(p.start_ms is not null and abs(p.start_ms - {}) >= {})",
            params.add(skip.start as i64),
            params.add(gap as i64)
        ),
        Some(_) => "false".to_string(),
    };
    format!("p.id <> all({ids}) and (p.episode <> {episode} or {own})")
}

impl Archive for PgArchive<'_> {
    fn chunk(&self, id: ChunkId) -> Result<Option<StoredChunk>> {
        let mut db = self.db.borrow_mut();
        Ok(rank_pg::chunks(&mut db, &[id])?.remove(&id))
    }

    fn chunks(&self, ids: &[ChunkId]) -> Result<HashMap<ChunkId, StoredChunk>> {
        rank_pg::chunks(&mut self.db.borrow_mut(), ids)
    }

    fn vector(&self, id: ChunkId) -> Result<Option<Vec<f32>>> {
        let mut db = self.db.borrow_mut();
        let url = db.url().to_string();
        let row = db
            .client()
            .query_opt(
                "select embedding from passages where id = $1",
                &[&(id.0 as i64)],
            )
            .map_err(fail(&url, "reading a vector"))?;
        Ok(row.map(|r| r.get::<_, Vector>(0).to_vec()))
    }

    fn num_docs(&self) -> Result<u64> {
        Ok(rank_pg::collection(&mut self.db.borrow_mut())?.0)
    }

    fn passages(&self) -> Result<u64> {
        self.num_docs()
    }

    fn doc_freqs(&self, terms: &[String]) -> Result<Vec<u64>> {
        rank_pg::doc_freqs(&mut self.db.borrow_mut(), terms)
    }

    fn nearest(&self, vector: &[f32], k: usize, skip: &Skip) -> Result<Vec<Ranked>> {
        rank_pg::semantic(
            &mut self.db.borrow_mut(),
            vector,
            &self.filters,
            &|p| not_skipped(skip, p),
            k,
            self.exact,
        )
    }

    fn keyword(&self, query: &str, k: usize, weights: &Weights) -> Result<Vec<Ranked>> {
        let mut db = self.db.borrow_mut();
        let (passages, tokens) = rank_pg::collection(&mut db)?;
        let all = Filters {
            include_noncontent: true,
            ..Filters::default()
        };
        rank_pg::keyword(
            &mut db,
            query,
            &all,
            k,
            weights,
            (passages, tokens),
            self.exact,
        )
    }

    fn rows(&self, ids: &[ChunkId]) -> Result<HashMap<ChunkId, Row>> {
        let mut db = self.db.borrow_mut();
        let url = db.url().to_string();
        let mut params = Params::default();
        let list = params.add(ids.iter().map(|c| c.0 as i64).collect::<Vec<_>>());
        let allowed = rank_pg::where_clause(&self.filters, &mut params)?;
        let sql = format!(
            "select p.id, p.episode, p.start_ms, p.embedding, ({allowed}) from passages p
             where p.id = any({list})"
        );
        let rows = db
            .client()
            .query(sql.as_str(), &params.refs())
            .map_err(fail(&url, "reading candidates"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let id = ChunkId(r.get::<_, i64>(0) as u64);
                let row = Row {
                    episode: episode_key(r.get::<_, &str>(1)),
                    start: r.get::<_, Option<i64>>(2).map_or(u64::MAX, |v| v as u64),
                    vector: r.get::<_, Vector>(3).to_vec(),
                    allowed: r.get(4),
                };
                (id, row)
            })
            .collect())
    }

    fn episodes(&self) -> Result<Vec<Episode>> {
        let mut db = self.db.borrow_mut();
        let url = db.url().to_string();
        let rows = db
            .client()
            .query(
                "select id, show, to_char(pushed_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), date
                 from episodes order by id",
                &[],
            )
            .map_err(fail(&url, "reading episodes"))?;
        Ok(rows
            .iter()
            .map(|r| Episode {
                id: r.get(0),
                show: r.get(1),
                added: r.get(2),
                date: r.get(3),
            })
            .collect())
    }

    fn is_host(&self, show: &str, episode: &str, speaker: Option<&str>) -> Result<bool> {
        self.hosts.is_host(show, episode, speaker, |show| {
            let mut db = self.db.borrow_mut();
            let url = db.url().to_string();
            let rows = db
                .client()
                .query(
                    "select id, coalesce(speakers, '{}') from episodes
                     where show = $1 order by id",
                    &[&show],
                )
                .map_err(fail(&url, "reading the show's speakers"))?;
            let mut counts = ShowSpeakers::default();
            for r in &rows {
                let (id, names): (String, Vec<String>) = (r.get(0), r.get(1));
                counts.add_episode(&id, names.iter().map(String::as_str));
            }
            Ok(counts)
        })
    }

    fn episode_rows(&self, episodes: &[String]) -> Result<Vec<EpisodeRow<'_>>> {
        let mut db = self.db.borrow_mut();
        let url = db.url().to_string();
        let rows = db
            .client()
            .query(
                "select id, episode, embedding, noncontent >= $2 from passages
                 where episode = any($1) order by episode, seq",
                &[&episodes, &(crate::store::NONCONTENT_THRESHOLD as i32)],
            )
            .map_err(fail(&url, "reading the window's passages"))?;
        Ok(rows
            .iter()
            .map(|r| EpisodeRow {
                id: ChunkId(r.get::<_, i64>(0) as u64),
                episode: episode_key(r.get::<_, &str>(1)),
                vector: Cow::Owned(r.get::<_, Vector>(2).to_vec()),
                flagged: r.get(3),
            })
            .collect())
    }

    fn search(
        &self,
        vector: Option<&[f32]>,
        query: &str,
        opts: &SearchOptions,
    ) -> Result<Vec<Hit>> {
        Ok(rank_pg::search(&mut self.db.borrow_mut(), vector, query, opts)?.0)
    }
}
