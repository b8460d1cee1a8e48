//! Search a PostgreSQL store ([`crate::store::pg`]): the same arms, fusion
//! and moment merging as the local search, answered by the database.
//!
//! - **Keyword arm**: BM25 as the local arm scores it (tantivy's formula,
//!   k1 = 1.2, b = 0.75; the same field weights, [`super::bm25::Weights`];
//!   lengths quantised as tantivy stores them), in SQL over the `postings`
//!   table (term, passage, per-field frequency and length; kept by each
//!   push): the best-scored passages first, unfiltered, then the filters
//!   checked on those alone (a longer prefix when too few pass), so a
//!   search never joins every matching passage. Document frequencies per
//!   field come from `term_stats`; passage counts and token totals from
//!   `shows`.
//! - **Semantic arm**: pgvector's HNSW index on inner product (the vectors
//!   are unit length, so it is the cosine), with `hnsw.ef_search` at least
//!   the candidates wanted and iterative scans so filters still fill the
//!   list; `--exact` turns the index off for an exact scan.
//! - Then [`super::fuse_arms`] and [`super::assemble`], as locally, with
//!   the candidates read in one query.
//!
//! Ties are broken as locally (score descending, then id). What still
//! differs from a local search is documented in `docs/SCALE.md`.

use std::collections::HashMap;
use std::time::Instant;

use pgvector::Vector;
use postgres::types::ToSql;

use super::fuse::{sort_ranked, Ranked};
use super::{assemble, bm25, fuse_arms, Filters, Hit, Mode, SearchOptions, Summary};
use crate::chunk::ChunkId;
use crate::error::{Error, Result, Setting};
use crate::store::pg::{fail, Db};
use crate::store::text::{self, StoredChunk};

/// Most candidates the HNSW scan is asked to keep (pgvector's limit on
/// `hnsw.ef_search`).
const MAX_EF_SEARCH: usize = 1000;

/// Query parameters, numbered as they are added.
#[derive(Default)]
pub(crate) struct Params(Vec<Box<dyn ToSql + Sync>>);

impl Params {
    /// Add a value; returns its placeholder (`$n`).
    pub(crate) fn add(&mut self, v: impl ToSql + Sync + 'static) -> String {
        self.0.push(Box::new(v));
        format!("${}", self.0.len())
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|b| b.as_ref()).collect()
    }
}

/// The SQL conditions on passages `p` that `filters` ask for.
pub(crate) fn where_clause(filters: &Filters, params: &mut Params) -> Result<String> {
    let mut c: Vec<String> = vec!["true".into()];
    if !filters.shows.is_empty() {
        c.push(format!(
            "p.show = any({})",
            params.add(filters.shows.clone())
        ));
    }
    if !filters.not_shows.is_empty() {
        c.push(format!(
            "p.show <> all({})",
            params.add(filters.not_shows.clone())
        ));
    }
    if !filters.episodes.is_empty() {
        c.push(format!(
            "p.episode = any({})",
            params.add(filters.episodes.clone())
        ));
    }
    if let Some(sp) = &filters.speaker {
        let words = text::name_terms(sp);
        if words.is_empty() {
            return Err(Error::setting(Setting::Speaker, "has no letters or digits"));
        }
        c.push(format!("p.speaker_terms @> {}", params.add(words)));
    }
    let day = |d: &Option<String>, what: Setting| -> Result<Option<i32>> {
        d.as_deref()
            .map(|s| {
                text::date_days(s).map(|d| d as i32).ok_or_else(|| {
                    Error::setting(what, format!("'{s}' is not a date (YYYY-MM-DD)"))
                })
            })
            .transpose()
    };
    if let Some(d) = day(&filters.since, Setting::Since)? {
        c.push(format!("p.date_days >= {}", params.add(d)));
    }
    if let Some(d) = day(&filters.until, Setting::Until)? {
        c.push(format!("p.date_days <= {}", params.add(d)));
    }
    if !filters.include_noncontent {
        c.push(format!(
            "p.noncontent < {}",
            params.add(crate::store::NONCONTENT_THRESHOLD as i32)
        ));
    }
    Ok(c.join(" and "))
}

/// Passage count and token totals per field (text, context, title,
/// chapter) of the whole store.
pub(crate) fn collection(db: &mut Db) -> Result<(u64, [f64; 4])> {
    let url = db.url().to_string();
    let row = db
        .client()
        .query_one(
            "select coalesce(sum(passages), 0)::bigint, coalesce(sum(tokens_text), 0)::bigint,
                    coalesce(sum(tokens_context), 0)::bigint,
                    coalesce(sum(tokens_title), 0)::bigint,
                    coalesce(sum(tokens_chapter), 0)::bigint
             from shows",
            &[],
        )
        .map_err(fail(&url, "reading collection statistics"))?;
    let n: i64 = row.get(0);
    let tokens = [1, 2, 3, 4].map(|i| row.get::<_, i64>(i) as f64);
    Ok((n.max(0) as u64, tokens))
}

/// For each term, the passages whose text uses it.
pub(crate) fn doc_freqs(db: &mut Db, terms: &[String]) -> Result<Vec<u64>> {
    Ok(field_doc_freqs(db, terms)?
        .into_iter()
        .map(|f| f[0])
        .collect())
}

/// For each term, the passages whose text, context, title and chapter use
/// it, summed over the shows of `term_stats`.
fn field_doc_freqs(db: &mut Db, terms: &[String]) -> Result<Vec<[u64; 4]>> {
    let url = db.url().to_string();
    Ok(db
        .client()
        .query(
            "select coalesce(sum(s.df_text), 0)::bigint, coalesce(sum(s.df_context), 0)::bigint,
                    coalesce(sum(s.df_title), 0)::bigint, coalesce(sum(s.df_chapter), 0)::bigint
             from unnest($1::text[]) with ordinality as u(term, n)
             left join term_stats s on s.term = u.term
             group by u.n order by u.n",
            &[&terms],
        )
        .map_err(fail(&url, "reading document frequencies"))?
        .iter()
        .map(|r| [0, 1, 2, 3].map(|i| r.get::<_, i64>(i).max(0) as u64))
        .collect())
}

/// tantivy's BM25 idf.
fn idf(df: u64, n: u64) -> f64 {
    let x = (n.saturating_sub(df) as f64 + 0.5) / (df as f64 + 0.5);
    (1.0 + x).ln()
}

/// The keyword arm: BM25 over the four fields, top `depth`.
pub(crate) fn keyword(
    db: &mut Db,
    query: &str,
    filters: &Filters,
    depth: usize,
    w: &bm25::Weights,
    collection: (u64, [f64; 4]),
    exact: bool,
) -> Result<Vec<Ranked>> {
    let (passages, tokens) = collection;
    let mut terms = text::analyse(query);
    terms.truncate(bm25::MAX_TERMS);
    let mut seen = std::collections::HashSet::new();
    terms.retain(|t| seen.insert(t.clone()));
    if terms.is_empty() || passages == 0 {
        return Ok(Vec::new());
    }
    let dfs = field_doc_freqs(db, &terms)?;
    let boosts = [w.text, w.context, w.title, w.title].map(f64::from);
    // weight[f][t] = boost_f * idf_f(t) * (k1 + 1), as tantivy's Bm25Weight.
    let weight: Vec<Vec<f64>> = (0..4)
        .map(|f| {
            (0..terms.len())
                .map(|t| boosts[f] * idf(dfs[t][f], passages) * 2.2)
                .collect()
        })
        .collect();
    let avg = tokens.map(|t| {
        let a = t / passages as f64;
        if a > 0.0 {
            a
        } else {
            1.0
        }
    });
    let bm25 = Bm25 { terms, weight, avg };
    if !exact {
        if let Some(out) = keyword_pruned(db, &bm25, &dfs, filters, depth)? {
            return Ok(out);
        }
    }
    keyword_full(db, &bm25, filters, depth)
}

/// A keyword query ready for SQL: its terms, their weight per field
/// (`weight[field][term]`) and the fields' average lengths.
struct Bm25 {
    terms: Vec<String>,
    weight: Vec<Vec<f64>>,
    avg: [f64; 4],
}

/// Postings the keyword arm reads in full per query, about: in PostgreSQL
/// each costs roughly a microsecond, and a common term ("do", "people")
/// has one for most passages.
const POSTINGS_BUDGET: u64 = 150_000;

/// The postings budget: [`POSTINGS_BUDGET`], or `PODSIFT_PG_POSTINGS`
/// (tests make it small to take the pruned path on a small store).
fn postings_budget() -> u64 {
    std::env::var("PODSIFT_PG_POSTINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(POSTINGS_BUDGET)
}

/// The terms whose postings are read in full (indices): the rarest first
/// while their passages fit `budget` (at least the rarest one), given
/// each term's most passages in a field.
fn essential(reach: &[u64], budget: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..reach.len()).collect();
    order.sort_by_key(|&t| (reach[t], t));
    let mut used = 0u64;
    let mut out = Vec::new();
    for t in order {
        used = used.saturating_add(reach[t]);
        if used > budget && !out.is_empty() {
            break;
        }
        out.push(t);
    }
    out
}

/// The keyword arm without reading every posting of the commonest terms.
/// The rarest terms whose postings fit [`POSTINGS_BUDGET`] are read in
/// full; the passages holding one are the candidates, ranked by those
/// terms' scores; the best `4 x depth` of them (more while too few pass
/// the filters) are scored in full, common terms included (read for those
/// passages only), filtered and ranked. So it may miss a passage that
/// scores high on the common terms alone, or whose common terms lift it
/// past candidates ranked above it (`docs/SCALE.md` gives the measured
/// overlap with the exhaustive arm, which `--exact` runs). `None`: every
/// term fits the budget, or the candidates cannot fill `depth`; the
/// exhaustive arm runs.
fn keyword_pruned(
    db: &mut Db,
    q: &Bm25,
    dfs: &[[u64; 4]],
    filters: &Filters,
    depth: usize,
) -> Result<Option<Vec<Ranked>>> {
    let reach: Vec<u64> = dfs
        .iter()
        .map(|d| d.iter().copied().max().unwrap_or(0))
        .collect();
    let rare = essential(&reach, postings_budget());
    if rare.len() == q.terms.len() {
        return Ok(None);
    }
    let cands = scores(db, q, &rare, Read::default())?;
    let all: Vec<usize> = (0..q.terms.len()).collect();
    let mut take = depth.saturating_mul(4).max(200);
    loop {
        let ids: Vec<i64> = cands[..take.min(cands.len())].iter().map(|c| c.0).collect();
        let read = Read {
            ids: Some(&ids),
            ..Read::default()
        };
        let full = ranked(scores(db, q, &all, read)?);
        let out = best_passing(db, filters, full, depth)?;
        if out.len() >= depth {
            return Ok(Some(out));
        }
        if take >= cands.len() {
            return Ok(None);
        }
        take = take.saturating_mul(4);
    }
}

/// Scores as [`Ranked`], best first.
fn ranked(scores: Vec<(i64, f64)>) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = scores
        .into_iter()
        .map(|(id, s)| Ranked {
            id: ChunkId(id as u64),
            score: s as f32,
        })
        .collect();
    sort_ranked(&mut out);
    out
}

/// The keyword arm over every posting of the query's terms: the best
/// passages unfiltered, then the filters on those, a longer prefix while
/// too few pass.
fn keyword_full(db: &mut Db, q: &Bm25, filters: &Filters, depth: usize) -> Result<Vec<Ranked>> {
    let all: Vec<usize> = (0..q.terms.len()).collect();
    let mut prefix = (depth * 2).max(100);
    loop {
        let read = Read {
            limit: Some(prefix),
            ..Read::default()
        };
        let scored = ranked(scores(db, q, &all, read)?);
        let n = scored.len();
        let out = best_passing(db, filters, scored, depth)?;
        // Enough passed the filters, or every scored passage was read.
        if out.len() >= depth || n < prefix {
            return Ok(out);
        }
        prefix = prefix.saturating_mul(8);
    }
}

/// Which postings [`scores`] reads.
#[derive(Default, Clone, Copy)]
struct Read<'a> {
    /// Only these passages'.
    ids: Option<&'a [i64]>,
    /// Only the best this many passages come back.
    limit: Option<usize>,
}

/// BM25 scores from the postings of the query's terms `which` (indices)
/// that `read` asks for, per passage, best first (then by id).
fn scores(db: &mut Db, q: &Bm25, which: &[usize], read: Read) -> Result<Vec<(i64, f64)>> {
    let Read { ids, limit } = read;
    let mut params = Params::default();
    let terms: Vec<String> = which.iter().map(|&t| q.terms[t].clone()).collect();
    let q_terms = params.add(terms);
    let q_w: Vec<String> = q
        .weight
        .iter()
        .map(|w| {
            let v: Vec<f64> = which.iter().map(|&t| w[t]).collect();
            format!("({}::float8[])", params.add(v))
        })
        .collect();
    let q_avg: Vec<String> = q.avg.iter().map(|&a| params.add(a)).collect();
    let field = |f: usize, norm: &str, tf: &str| {
        format!(
            "case when o.{tf} > 0 then {w}[x.i] * o.{tf} / (o.{tf} + 1.2::float8 * (0.25::float8 + 0.75::float8 * o.{norm} / {avg}::float8)) else 0::float8 end",
            w = q_w[f],
            avg = q_avg[f]
        )
    };
    let only = match ids {
        Some(ids) => format!("and o.passage = any({})", params.add(ids.to_vec())),
        None => String::new(),
    };
    let limit = match limit {
        Some(n) => format!("limit {}", params.add(n as i64)),
        None => String::new(),
    };
    // `term = any(...)`, not a join on the terms: the planner then reads
    // each term's postings by index, whatever it guesses of the terms.
    let sql = format!(
        "select o.passage, sum({a} + {b} + {c} + {d}) as score
         from postings o cross join lateral (select array_position({q_terms}::text[], o.term) as i) x
         where o.term = any({q_terms}::text[]) {only}
         group by o.passage
         order by score desc, o.passage
         {limit}",
        a = field(0, "norm_text", "tf_text"),
        b = field(1, "norm_context", "tf_context"),
        c = field(2, "norm_title", "tf_title"),
        d = field(3, "norm_chapter", "tf_chapter"),
    );
    // The postings of one term lie together within each push's batch, so
    // reading them by index touches few pages; the planner, seeing a
    // common term's row count, would scan the whole table instead.
    let settings = "set local enable_seqscan = off";
    let rows = query_with(db, settings, &sql, &params, "searching by keyword")?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, f64>(1)))
        .collect())
}

/// The first `depth` of `scored` (best first) whose passages pass
/// `filters`.
fn best_passing(
    db: &mut Db,
    filters: &Filters,
    scored: Vec<Ranked>,
    depth: usize,
) -> Result<Vec<Ranked>> {
    let url = db.url().to_string();
    let mut params = Params::default();
    let ids: Vec<i64> = scored.iter().map(|r| r.id.0 as i64).collect();
    let q_ids = params.add(ids);
    let filter = where_clause(filters, &mut params)?;
    let sql = format!("select p.id from passages p where p.id = any({q_ids}) and {filter}");
    let kept: std::collections::HashSet<i64> = db
        .client()
        .query(sql.as_str(), &params.refs())
        .map_err(fail(&url, "filtering keyword hits"))?
        .iter()
        .map(|r| r.get::<_, i64>(0))
        .collect();
    Ok(scored
        .into_iter()
        .filter(|r| kept.contains(&(r.id.0 as i64)))
        .take(depth)
        .collect())
}

/// `sql` run inside a transaction after the `set local` statements
/// `settings`; `what` names the query in an error.
fn query_with(
    db: &mut Db,
    settings: &str,
    sql: &str,
    params: &Params,
    what: &'static str,
) -> Result<Vec<postgres::Row>> {
    let url = db.url().to_string();
    let mut tx = db
        .client()
        .transaction()
        .map_err(fail(&url, "starting a transaction"))?;
    tx.batch_execute(settings)
        .map_err(fail(&url, "setting up the scan"))?;
    let rows = tx.query(sql, &params.refs()).map_err(fail(&url, what))?;
    tx.commit().map_err(fail(&url, "ending a transaction"))?;
    Ok(rows)
}

/// The semantic arm: nearest passages by inner product, top `depth`;
/// `extra` adds a condition on passages `p` (`"true"` for none).
pub(crate) fn semantic(
    db: &mut Db,
    vector: &[f32],
    filters: &Filters,
    extra: &dyn Fn(&mut Params) -> String,
    depth: usize,
    exact: bool,
) -> Result<Vec<Ranked>> {
    let mut params = Params::default();
    let q = params.add(Vector::from(vector.to_vec()));
    let filter = where_clause(filters, &mut params)?;
    let filter = format!("{filter} and ({})", extra(&mut params));
    let limit = params.add(depth as i64);
    let sql = format!(
        "select p.id, (p.embedding <#> {q})::float8 from passages p where {filter}
         order by p.embedding <#> {q} limit {limit}"
    );
    let ef = depth.clamp(40, MAX_EF_SEARCH);
    let mut settings =
        format!("set local hnsw.ef_search = {ef}; set local hnsw.iterative_scan = strict_order;");
    if exact {
        settings.push_str("set local enable_indexscan = off;");
    }
    let rows = query_with(db, &settings, &sql, &params, "searching by meaning")?;
    let mut out: Vec<Ranked> = rows
        .iter()
        .map(|r| Ranked {
            id: ChunkId(r.get::<_, i64>(0) as u64),
            score: -(r.get::<_, f64>(1)) as f32,
        })
        .collect();
    sort_ranked(&mut out);
    Ok(out)
}

/// Stored passages by id.
pub fn chunks(db: &mut Db, ids: &[ChunkId]) -> Result<HashMap<ChunkId, StoredChunk>> {
    let url = db.url().to_string();
    let ids: Vec<i64> = ids.iter().map(|i| i.0 as i64).collect();
    let rows = db
        .client()
        .query(
            "select id, episode, show, title, chapter, speaker, text, start_ms, end_ms, seq,
                    date, url, path, noncontent, noncontent_base
             from passages where id = any($1)",
            &[&ids],
        )
        .map_err(fail(&url, "reading passages"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let c = StoredChunk {
                id: ChunkId(r.get::<_, i64>(0) as u64),
                episode: r.get(1),
                show: r.get(2),
                title: r.get(3),
                chapter: r.get(4),
                speaker: r.get(5),
                text: r.get(6),
                start_ms: r.get::<_, Option<i64>>(7).map(|v| v as u64),
                end_ms: r.get::<_, Option<i64>>(8).map(|v| v as u64),
                seq: r.get::<_, i64>(9) as u64,
                date: r.get(10),
                url: r.get(11),
                path: r.get(12),
                noncontent: r.get::<_, i32>(13) as u64,
                noncontent_base: r.get::<_, i32>(14) as u64,
                context: String::new(),
            };
            (c.chunk_id(), c)
        })
        .collect())
}

/// Run a search against the store, the query already embedded (`None`:
/// no semantic arm).
pub fn search(
    db: &mut Db,
    query_vector: Option<&[f32]>,
    query: &str,
    opts: &SearchOptions,
) -> Result<(Vec<Hit>, Summary)> {
    let t0 = Instant::now();
    let (passages, tokens) = collection(db)?;
    let mut summary = Summary {
        mode: opts.mode.name(),
        passages: passages as usize,
        ..Summary::default()
    };
    let depth = opts.depth();
    let t = Instant::now();
    let keyword = if opts.mode == Mode::Semantic {
        Vec::new()
    } else {
        keyword(
            db,
            query,
            &opts.filters,
            depth,
            &opts.weights,
            (passages, tokens),
            opts.exact,
        )?
    };
    summary.bm25_ms = ms(t);
    let t = Instant::now();
    let semantic = match query_vector.filter(|_| opts.mode != Mode::Keyword) {
        Some(v) => semantic(db, v, &opts.filters, &|_| "true".into(), depth, opts.exact)?,
        None => Vec::new(),
    };
    summary.dense_ms = ms(t);
    summary.bm25_candidates = keyword.len();
    summary.dense_candidates = semantic.len();
    let t = Instant::now();
    let fused = fuse_arms(opts, &keyword, &semantic);
    let ids: Vec<ChunkId> = fused.iter().map(|f| f.id).collect();
    let mut found = chunks(db, &ids)?;
    let hits = assemble(&fused, opts, |id| Ok(found.remove(&id)))?;
    summary.fuse_ms = ms(t);
    summary.hits = hits.len();
    summary.total_ms = ms(t0);
    Ok((hits, summary))
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_terms_are_the_rarest_that_fit_the_budget() {
        // reach per term: 900, 10, 300, 50
        let reach = [900, 10, 300, 50];
        assert_eq!(essential(&reach, 100), vec![1, 3]);
        assert_eq!(essential(&reach, 360), vec![1, 3, 2]);
        assert_eq!(essential(&reach, 10_000), vec![1, 3, 2, 0]);
        // Over budget from the first term: the rarest is read anyway.
        assert_eq!(essential(&reach, 1), vec![1]);
        // Equal reach: by position.
        assert_eq!(essential(&[5, 5], 5), vec![0]);
    }

    #[test]
    fn idf_is_the_local_bm25_idf() {
        // ln(1 + (10 - 1 + 0.5) / (1 + 0.5))
        assert!((idf(1, 10) - (1.0f64 + 9.5 / 1.5).ln()).abs() < 1e-12);
    }

    #[test]
    fn filters_become_numbered_conditions() {
        let mut p = Params::default();
        let _ = p.add(1i64);
        let f = Filters {
            shows: vec!["a".into()],
            speaker: Some("Owen C".into()),
            since: Some("2024-01-01".into()),
            ..Filters::default()
        };
        let sql = where_clause(&f, &mut p).unwrap();
        assert_eq!(
            sql,
            "true and p.show = any($2) and p.speaker_terms @> $3 and p.date_days >= $4 and p.noncontent < $5"
        );
        let bad = Filters {
            speaker: Some("--".into()),
            ..Filters::default()
        };
        assert!(where_clause(&bad, &mut p).is_err());
    }
}
