//! `podsift push`: copy what a local index holds into a PostgreSQL store.
//!
//! The unit is the episode. Each local episode gets a content hash (its
//! metadata and every passage's text, metadata, non-content scores and
//! vector); an episode whose hash the store already has is skipped, so a
//! second push of an unchanged index writes nothing. Changed and new
//! episodes are written in batches of about [`PushOptions::batch_rows`]
//! passages, one transaction per batch: the episode row (with its hash)
//! and its passages land together or not at all. A push killed at any
//! point leaves whole episodes behind it; the next push finds the rest by
//! their hashes, so nothing is lost or written twice.
//!
//! **Many pushers.** A push writes only the shows its index holds: their
//! episodes, their passages and their `shows` row (recomputed in the same
//! transaction). Machines indexing disjoint shows push into one database
//! at the same time without touching each other's rows. A show belongs to
//! one pusher: an episode of a pushed show that the local index no longer
//! holds is deleted from the store.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use pgvector::Vector;
use tantivy::fieldnorm::FieldNormReader;

use super::{fail, Db, DIM};
use crate::error::{Error, Remedy, Result};
use crate::store::text::{self, StoredChunk};
use crate::store::Store;

/// How to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Passages per transaction (whole episodes; at least one episode).
    pub batch_rows: usize,
    /// Wait this long after each batch (tests use it to kill a push
    /// between batches).
    pub pause: Option<Duration>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            batch_rows: 2000,
            pause: None,
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Episodes written (new or changed).
    pub episodes: usize,
    /// Passages written.
    pub passages: usize,
    /// Episodes the store already had, unchanged.
    pub unchanged: usize,
    /// Episodes deleted from the store (gone from the local index).
    pub deleted: usize,
    /// Transactions committed.
    pub batches: usize,
}

/// One passage as the store holds it.
struct Row {
    chunk: StoredChunk,
    speaker_terms: String,
    terms: String,
    lens: [i32; 4],
    norms: [i32; 4],
    hash: String,
    vector: Vec<f32>,
}

/// One episode ready to write.
struct Pending {
    id: String,
    show: String,
    entry: crate::store::state::EpisodeEntry,
    hash: String,
    rows: Vec<Row>,
}

/// Push `store` into `db` (whose schema must be current).
pub fn push(
    db: &mut Db,
    store: &Store,
    opts: &PushOptions,
    progress: &mut dyn FnMut(&PushReport),
) -> Result<PushReport> {
    db.check_schema()?;
    check_model(db, store)?;
    let generation = store.generation() as i64;
    let mut by_show: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, e) in store.episodes() {
        by_show
            .entry(e.show.as_str())
            .or_default()
            .push(id.as_str());
    }
    let shows: Vec<String> = by_show.keys().map(|s| s.to_string()).collect();
    let url = db.url().to_string();
    let remote: HashMap<String, String> = db
        .client()
        .query(
            "select id, content_hash from episodes where show = any($1)",
            &[&shows],
        )
        .map_err(fail(&url, "reading the store's episodes"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut report = PushReport::default();
    let mut batch: Vec<Pending> = Vec::new();
    let mut batch_rows = 0usize;
    for (show, ids) in &by_show {
        let mut passages: HashMap<String, Vec<StoredChunk>> = HashMap::new();
        for c in store.show_passages(show)? {
            passages.entry(c.episode.clone()).or_default().push(c);
        }
        for id in ids {
            let Some(entry) = store.episode(id).cloned() else {
                continue;
            };
            let mut chunks = passages.remove(*id).unwrap_or_default();
            chunks.sort_by_key(|c| c.seq);
            let rows = rows(store, chunks)?;
            let hash = episode_hash(id, &entry, &rows);
            if remote.get(*id) == Some(&hash) {
                report.unchanged += 1;
                continue;
            }
            batch_rows += rows.len();
            batch.push(Pending {
                id: id.to_string(),
                show: show.to_string(),
                entry,
                hash,
                rows,
            });
            if batch_rows >= opts.batch_rows.max(1) {
                write_batch(db, &mut batch, generation, &mut report)?;
                batch_rows = 0;
                progress(&report);
                if let Some(p) = opts.pause {
                    std::thread::sleep(p);
                }
            }
        }
    }
    if !batch.is_empty() {
        write_batch(db, &mut batch, generation, &mut report)?;
        progress(&report);
    }
    // Episodes of these shows that the local index no longer holds.
    let gone: Vec<String> = remote
        .keys()
        .filter(|id| store.episode(id).is_none())
        .cloned()
        .collect();
    if !gone.is_empty() {
        let mut tx = db
            .client()
            .transaction()
            .map_err(fail(&url, "starting a transaction"))?;
        forget_terms(&mut tx, &url, &gone)?;
        let n = tx
            .execute("delete from episodes where id = any($1)", &[&gone])
            .map_err(fail(&url, "deleting episodes"))?;
        for show in &shows {
            refresh_show(&mut tx, show).map_err(fail(&url, "updating show statistics"))?;
        }
        tx.commit().map_err(fail(&url, "committing"))?;
        report.deleted = n as usize;
        report.batches += 1;
        progress(&report);
    }
    Ok(report)
}

/// Record the local model in the store on first push; refuse another.
fn check_model(db: &mut Db, store: &Store) -> Result<()> {
    let m = &store.manifest().model;
    if m.dim != DIM {
        return Err(Error::StoreSchema {
            url: db.url().to_string(),
            message: format!(
                "it holds {DIM}-dimensional vectors; the index's model '{}' makes {}",
                m.id, m.dim
            ),
            remedy: None,
        });
    }
    let url = db.url().to_string();
    db.client()
        .execute(
            "insert into podsift_meta (key, value) values
                 ('model_id', $1), ('model_fingerprint', $2), ('dim', $3)
             on conflict (key) do nothing",
            &[&m.id, &m.fingerprint, &m.dim.to_string()],
        )
        .map_err(fail(&url, "recording the model"))?;
    let fp = db.meta("model_fingerprint")?.unwrap_or_default();
    if fp != m.fingerprint {
        let id = db.meta("model_id")?.unwrap_or_default();
        return Err(Error::StoreSchema {
            url,
            message: format!(
                "it holds vectors of model '{id}' (fingerprint {fp}), not the index's '{}' ({}); push into another database",
                m.id, m.fingerprint
            ),
            remedy: None,
        });
    }
    Ok(())
}

/// The store's rows for one episode's passages (in `seq` order): context
/// rebuilt from the neighbours as the indexer builds it, terms, lengths,
/// hashes, vectors.
fn rows(store: &Store, chunks: Vec<StoredChunk>) -> Result<Vec<Row>> {
    let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let (a, b) = (i.saturating_sub(1), (i + 2).min(texts.len()));
            c.context = texts[a..b].join(" ");
            let vector = store
                .vector(c.chunk_id())
                .ok_or_else(|| Error::Corrupt {
                    index: store.root().to_path_buf(),
                    problem: format!("passage {} has no vector", c.chunk_id()),
                    remedy: Remedy::Rebuild,
                })?
                .to_vec();
            let fields = [
                text::analyse(&c.text),
                text::analyse(&c.context),
                text::analyse(&c.title),
                text::analyse(c.chapter.as_deref().unwrap_or("")),
            ];
            let (terms, lens) = tsvector(&fields);
            let norms = lens.map(|l| {
                FieldNormReader::id_to_fieldnorm(FieldNormReader::fieldnorm_to_id(l as u32)) as i32
            });
            let speaker_terms = text::name_terms(c.speaker.as_deref().unwrap_or("")).join(" ");
            let hash = passage_hash(&c, &vector);
            Ok(Row {
                chunk: c,
                speaker_terms,
                terms,
                lens,
                norms,
                hash,
                vector,
            })
        })
        .collect()
}

/// Most positions PostgreSQL keeps per lexeme, and the largest position.
const MAX_POSITIONS: usize = 255;
const MAX_POSITION: usize = 16_383;

/// A tsvector literal of four fields' terms, labelled `A`..`D` in order,
/// positions counted across the fields; and each field's length in terms.
pub fn tsvector(fields: &[Vec<String>; 4]) -> (String, [i32; 4]) {
    let mut at: BTreeMap<&str, Vec<(usize, char)>> = BTreeMap::new();
    let mut pos = 0usize;
    let mut lens = [0i32; 4];
    for (f, terms) in fields.iter().enumerate() {
        let label = (b'A' + f as u8) as char;
        lens[f] = terms.len() as i32;
        for t in terms {
            pos += 1;
            let p = at.entry(t.as_str()).or_default();
            if pos <= MAX_POSITION && p.len() < MAX_POSITIONS {
                p.push((pos, label));
            }
        }
    }
    let mut out = String::new();
    for (term, ps) in at {
        if !out.is_empty() {
            out.push(' ');
        }
        super::push_lexeme(&mut out, term);
        for (i, (p, l)) in ps.iter().enumerate() {
            out.push(if i == 0 { ':' } else { ',' });
            out.push_str(&p.to_string());
            out.push(*l);
        }
    }
    (out, lens)
}

fn passage_hash(c: &StoredChunk, vector: &[f32]) -> String {
    let mut h = blake3::Hasher::new();
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "\u{0}none".into());
    let num = |n: Option<u64>| n.map_or("-".to_string(), |v| v.to_string());
    for part in [
        c.id.to_string(),
        c.episode.clone(),
        c.show.clone(),
        c.title.clone(),
        opt(&c.chapter),
        opt(&c.speaker),
        c.text.clone(),
        num(c.start_ms),
        num(c.end_ms),
        c.seq.to_string(),
        opt(&c.date),
        opt(&c.url),
        c.path.clone(),
        c.noncontent.to_string(),
        c.noncontent_base.to_string(),
        c.context.clone(),
    ] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.update(bytemuck::cast_slice(vector));
    h.finalize().to_hex()[..32].to_string()
}

fn episode_hash(id: &str, e: &crate::store::state::EpisodeEntry, rows: &[Row]) -> String {
    let mut h = blake3::Hasher::new();
    for part in [
        id,
        &e.show,
        &e.title,
        e.date.as_deref().unwrap_or("\u{0}none"),
        e.url.as_deref().unwrap_or("\u{0}none"),
        &e.file,
        &e.duration_ms.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    for r in rows {
        h.update(r.hash.as_bytes());
    }
    h.finalize().to_hex()[..32].to_string()
}

const INSERT: &str = "
insert into passages (id, episode, show, seq, title, chapter, speaker, speaker_terms, text,
    start_ms, end_ms, date, date_days, url, path, noncontent, noncontent_base, content_hash,
    generation, terms, len_text, len_context, len_title, len_chapter,
    norm_text, norm_context, norm_title, norm_chapter, embedding)
select id, episode, show, seq, title, chapter, speaker, string_to_array(speaker_terms, ' '), text,
    start_ms, end_ms, date, date_days, url, path, noncontent, noncontent_base, content_hash,
    $29::bigint, terms::tsvector, lt, lc, lti, lch, nt, nc, nti, nch, embedding
from unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
    $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[],
    $13::integer[], $14::text[], $15::text[], $16::integer[], $17::integer[], $18::text[],
    $19::text[], $20::integer[], $21::integer[], $22::integer[], $23::integer[],
    $24::integer[], $25::integer[], $26::integer[], $27::integer[], $28::vector[])
    as r(id, episode, show, seq, title, chapter, speaker, speaker_terms, text, start_ms, end_ms,
         date, date_days, url, path, noncontent, noncontent_base, content_hash, terms,
         lt, lc, lti, lch, nt, nc, nti, nch, embedding)
on conflict (id) do update set
    episode = excluded.episode, show = excluded.show, seq = excluded.seq,
    title = excluded.title, chapter = excluded.chapter, speaker = excluded.speaker,
    speaker_terms = excluded.speaker_terms, text = excluded.text,
    start_ms = excluded.start_ms, end_ms = excluded.end_ms, date = excluded.date,
    date_days = excluded.date_days, url = excluded.url, path = excluded.path,
    noncontent = excluded.noncontent, noncontent_base = excluded.noncontent_base,
    content_hash = excluded.content_hash, generation = excluded.generation,
    terms = excluded.terms, len_text = excluded.len_text,
    len_context = excluded.len_context, len_title = excluded.len_title,
    len_chapter = excluded.len_chapter, norm_text = excluded.norm_text,
    norm_context = excluded.norm_context, norm_title = excluded.norm_title,
    norm_chapter = excluded.norm_chapter, embedding = excluded.embedding";

const UPSERT_EPISODE: &str = "
insert into episodes (id, show, title, date, url, file, passages, duration_ms, content_hash,
    generation, pushed_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
on conflict (id) do update set
    show = excluded.show, title = excluded.title, date = excluded.date, url = excluded.url,
    file = excluded.file, passages = excluded.passages, duration_ms = excluded.duration_ms,
    content_hash = excluded.content_hash, generation = excluded.generation,
    pushed_at = excluded.pushed_at";

/// Write `batch` in one transaction and empty it.
fn write_batch(
    db: &mut Db,
    batch: &mut Vec<Pending>,
    generation: i64,
    report: &mut PushReport,
) -> Result<()> {
    let url = db.url().to_string();
    let mut tx = db
        .client()
        .transaction()
        .map_err(fail(&url, "starting a transaction"))?;
    // The old passages' terms leave the statistics once, for the whole
    // batch, before the loop deletes those passages.
    let episodes: Vec<String> = batch.iter().map(|p| p.id.clone()).collect();
    forget_terms(&mut tx, &url, &episodes)?;
    let mut shows: Vec<&str> = Vec::new();
    for p in batch.iter() {
        let e = &p.entry;
        tx.execute(
            UPSERT_EPISODE,
            &[
                &p.id,
                &p.show,
                &e.title,
                &e.date,
                &e.url,
                &e.file,
                &(p.rows.len() as i32),
                &(e.duration_ms as i64),
                &p.hash,
                &generation,
            ],
        )
        .map_err(fail(&url, "writing an episode"))?;
        tx.execute("delete from passages where episode = $1", &[&p.id])
            .map_err(fail(&url, "deleting an episode's old passages"))?;
        if !shows.contains(&p.show.as_str()) {
            shows.push(&p.show);
        }
    }
    let rows: Vec<&Row> = batch.iter().flat_map(|p| &p.rows).collect();
    if !rows.is_empty() {
        let col = |f: &dyn Fn(&Row) -> String| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
        let opt = |f: &dyn Fn(&Row) -> Option<String>| {
            rows.iter().map(|r| f(r)).collect::<Vec<Option<String>>>()
        };
        let int = |f: &dyn Fn(&Row) -> i32| rows.iter().map(|r| f(r)).collect::<Vec<i32>>();
        let id: Vec<i64> = rows.iter().map(|r| r.chunk.id.0 as i64).collect();
        let seq: Vec<i64> = rows.iter().map(|r| r.chunk.seq as i64).collect();
        let start: Vec<Option<i64>> = rows
            .iter()
            .map(|r| r.chunk.start_ms.map(|v| v as i64))
            .collect();
        let end: Vec<Option<i64>> = rows
            .iter()
            .map(|r| r.chunk.end_ms.map(|v| v as i64))
            .collect();
        let days: Vec<Option<i32>> = rows
            .iter()
            .map(|r| {
                r.chunk
                    .date
                    .as_deref()
                    .and_then(text::date_days)
                    .map(|d| d as i32)
            })
            .collect();
        let episode = col(&|r| r.chunk.episode.clone());
        let show = col(&|r| r.chunk.show.clone());
        let title = col(&|r| r.chunk.title.clone());
        let chapter = opt(&|r| r.chunk.chapter.clone());
        let speaker = opt(&|r| r.chunk.speaker.clone());
        let speaker_terms = col(&|r| r.speaker_terms.clone());
        let body = col(&|r| r.chunk.text.clone());
        let date = opt(&|r| r.chunk.date.clone());
        let link = opt(&|r| r.chunk.url.clone());
        let path = col(&|r| r.chunk.path.clone());
        let nc = int(&|r| r.chunk.noncontent as i32);
        let ncb = int(&|r| r.chunk.noncontent_base as i32);
        let hash = col(&|r| r.hash.clone());
        let terms = col(&|r| r.terms.clone());
        let lens: Vec<Vec<i32>> = (0..4).map(|f| int(&|r| r.lens[f])).collect();
        let norms: Vec<Vec<i32>> = (0..4).map(|f| int(&|r| r.norms[f])).collect();
        let vectors: Vec<Vector> = rows
            .iter()
            .map(|r| Vector::from(r.vector.clone()))
            .collect();
        tx.execute(
            INSERT,
            &[
                &id,
                &episode,
                &show,
                &seq,
                &title,
                &chapter,
                &speaker,
                &speaker_terms,
                &body,
                &start,
                &end,
                &date,
                &days,
                &link,
                &path,
                &nc,
                &ncb,
                &hash,
                &terms,
                &lens[0],
                &lens[1],
                &lens[2],
                &lens[3],
                &norms[0],
                &norms[1],
                &norms[2],
                &norms[3],
                &vectors,
                &generation,
            ],
        )
        .map_err(fail(&url, "writing passages"))?;
    }
    tx.execute(TERM_STATS_UP, &[&episodes])
        .map_err(fail(&url, "updating term statistics"))?;
    tx.execute(SPEAKERS_UP, &[&episodes])
        .map_err(fail(&url, "recording the episodes' speakers"))?;
    tx.execute(POSTINGS_UP, &[&episodes])
        .map_err(fail(&url, "writing postings"))?;
    for show in &shows {
        refresh_show(&mut tx, show).map_err(fail(&url, "updating show statistics"))?;
    }
    tx.commit().map_err(fail(&url, "committing a batch"))?;
    report.batches += 1;
    report.episodes += batch.len();
    report.passages += rows.len();
    batch.clear();
    Ok(())
}

/// Record the speakers the passages of episodes `$1` name, sorted, each
/// once, in `episodes.speakers` (a show's hosts are read from them,
/// [`crate::insight::hosts`]); the same as migration 4 fills.
const SPEAKERS_UP: &str = "
update episodes e set speakers = coalesce(
    (select array_agg(distinct p.speaker order by p.speaker)
     from passages p where p.episode = e.id and p.speaker is not null),
    '{}')
where e.id = any($1)";

/// Add the terms of the passages of episodes `$1` to `term_stats` (per
/// term, show and field: the passages using it); [`TERM_STATS_DOWN`]
/// takes them away. In the transaction that writes or deletes those
/// passages, so the statistics stay those of the rows (a killed push
/// rolls both back); pushers of different shows touch different rows.
const TERM_STATS_UP: &str = "
insert into term_stats as s (term, show, df_text, df_context, df_title, df_chapter)
select u.lexeme, p.show,
       count(*) filter (where 'A' = any(u.weights)),
       count(*) filter (where 'B' = any(u.weights)),
       count(*) filter (where 'C' = any(u.weights)),
       count(*) filter (where 'D' = any(u.weights))
from passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights)
where p.episode = any($1)
group by u.lexeme, p.show
order by u.lexeme, p.show
on conflict (term, show) do update set
    df_text = s.df_text + excluded.df_text, df_context = s.df_context + excluded.df_context,
    df_title = s.df_title + excluded.df_title, df_chapter = s.df_chapter + excluded.df_chapter";

/// [`TERM_STATS_UP`] in reverse, before the passages go.
const TERM_STATS_DOWN: &str = "
update term_stats s set
    df_text = s.df_text - d.a, df_context = s.df_context - d.b,
    df_title = s.df_title - d.c, df_chapter = s.df_chapter - d.d
from (select u.lexeme, p.show,
             count(*) filter (where 'A' = any(u.weights)) as a,
             count(*) filter (where 'B' = any(u.weights)) as b,
             count(*) filter (where 'C' = any(u.weights)) as c,
             count(*) filter (where 'D' = any(u.weights)) as d
      from passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights)
      where p.episode = any($1)
      group by u.lexeme, p.show) d
where s.term = d.lexeme and s.show = d.show";

/// Write the postings (the keyword arm's inverted index: per term and
/// passage, the term's frequency in each field and the field lengths) of
/// the passages of episodes `$1`, read back from their `terms` in the
/// same transaction. In term order, as the primary key wants them.
const POSTINGS_UP: &str = "
insert into postings (term, passage, tf_text, tf_context, tf_title, tf_chapter,
                      norm_text, norm_context, norm_title, norm_chapter)
select u.lexeme, p.id,
       coalesce(cardinality(array_positions(u.weights, 'A')), 0),
       coalesce(cardinality(array_positions(u.weights, 'B')), 0),
       coalesce(cardinality(array_positions(u.weights, 'C')), 0),
       coalesce(cardinality(array_positions(u.weights, 'D')), 0),
       p.norm_text, p.norm_context, p.norm_title, p.norm_chapter
from passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights)
where p.episode = any($1)
order by 1, 2";

/// [`POSTINGS_UP`] in reverse, before the passages go: each old passage's
/// postings, found by primary key from its own terms.
const POSTINGS_DOWN: &str = "
delete from postings o
using passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights)
where p.episode = any($1) and o.term = u.lexeme and o.passage = p.id";

/// Take the stored passages of `episodes` out of `term_stats` and
/// `postings`, before those passages are deleted or replaced.
fn forget_terms(tx: &mut postgres::Transaction<'_>, url: &str, episodes: &[String]) -> Result<()> {
    tx.execute(TERM_STATS_DOWN, &[&episodes])
        .map_err(fail(url, "updating term statistics"))?;
    tx.execute(POSTINGS_DOWN, &[&episodes])
        .map_err(fail(url, "deleting old postings"))?;
    Ok(())
}

/// Recompute a show's row of `shows` from its passages.
fn refresh_show(tx: &mut postgres::Transaction<'_>, show: &str) -> Result<(), postgres::Error> {
    tx.execute(
        "insert into shows (show, episodes, passages, tokens_text, tokens_context,
                            tokens_title, tokens_chapter, updated_at)
         select $1, (select count(*) from episodes where show = $1), count(*),
                coalesce(sum(len_text), 0), coalesce(sum(len_context), 0),
                coalesce(sum(len_title), 0), coalesce(sum(len_chapter), 0), now()
         from passages where show = $1
         on conflict (show) do update set
             episodes = excluded.episodes, passages = excluded.passages,
             tokens_text = excluded.tokens_text, tokens_context = excluded.tokens_context,
             tokens_title = excluded.tokens_title, tokens_chapter = excluded.tokens_chapter,
             updated_at = excluded.updated_at",
        &[&show],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn tsvector_labels_fields_and_counts_terms() {
        let (lit, lens) = tsvector(&[v(&["chip", "cost"]), v(&["chip"]), v(&[]), v(&["it's"])]);
        assert_eq!(lit, "'chip':1A,3B 'cost':2A 'it''s':4D");
        assert_eq!(lens, [2, 1, 0, 1]);
    }

    #[test]
    fn tsvector_escapes_backslashes() {
        let (lit, _) = tsvector(&[v(&["a\\b"]), v(&[]), v(&[]), v(&[])]);
        assert_eq!(lit, "'a\\\\b':1A");
    }
}
