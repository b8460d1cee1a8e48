//! Adding episodes: read, parse and chunk a batch while the one before it
//! is embedded, score each passage for non-content, and stage it; long
//! files alone, in parts.

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;

use super::{
    key_of, load_with, Event, IndexOptions, ReadBudget, Report, Source, BYTES_PER_PASSAGE,
    COMMIT_EVERY, COMMIT_ROWS, EMBED_BATCH_ROWS, PARTS_FROM_BYTES, PART_TEXT_BYTES, SLICE_ROWS,
};
use crate::chunk;
use crate::embed::Embedder;
use crate::error::Result;
use crate::ingest::showmeta::ShowMeta;
use crate::ingest::walk::Candidate;
use crate::insight::noncontent::{self, Detector, NONCONTENT_THRESHOLD};
use crate::store::state::{EpisodeEntry, Partial};
use crate::store::text::StoredChunk;
use crate::store::Writer;
use crate::transcript::{Episode, Transcript, Warning};

/// What adding episodes needs besides the writer.
pub(super) struct Apply<'a> {
    /// The model.
    pub embedder: &'a Embedder,
    /// Non-content scoring from a passage alone.
    pub detector: &'a Detector,
    /// The run's settings.
    pub opts: &'a IndexOptions,
    /// Every candidate walked, by key.
    pub candidates: &'a HashMap<String, &'a Candidate>,
    /// Bytes read at once.
    pub budget: &'a ReadBudget,
}

impl Apply<'_> {
    /// Read, parse, chunk, embed, score and stage the sources in `todo`, in
    /// order, committing every few thousand passages (or minutes). A long
    /// file is indexed alone, in parts ([`Part`]).
    pub(super) fn add(
        &self,
        writer: &mut Writer,
        mut todo: Vec<Source>,
        on_event: &mut dyn FnMut(Event),
        report: &mut Report,
    ) -> Result<()> {
        let (embedder, opts, candidates, budget) =
            (self.embedder, self.opts, self.candidates, self.budget);
        let mut last_commit = Instant::now();
        let mut show_meta = ShowMeta::default();
        let batch_rows = match opts.commit_rows {
            0 => EMBED_BATCH_ROWS,
            n => n.min(EMBED_BATCH_ROWS),
        };
        let commit_rows = match opts.commit_rows {
            0 => COMMIT_ROWS,
            n => n,
        };
        let mut i = 0;
        let in_parts = |source: &Source| match source {
            Source::File { key, .. } => candidates
                .get(key)
                .is_some_and(|c| c.size >= PARTS_FROM_BYTES),
            _ => false,
        };
        // Reading, parsing and chunking the next batch overlaps with embedding
        // this one, on the same thread pool, so no core waits for the other
        // stage (embedding alone leaves gaps: tokenising, small last batches).
        let mut taken = take_batch(&mut todo, &mut i, candidates, batch_rows, &in_parts);
        let mut loaded = prepare(taken, candidates, budget, &mut show_meta, opts, embedder);
        report_meta_problems(&mut show_meta, on_event);
        while !loaded.is_empty() || i < todo.len() {
            // A long file alone, part by part, once the batch before it is in.
            if loaded.is_empty() && in_parts(&todo[i]) {
                let source = std::mem::replace(&mut todo[i], Source::Done);
                i += 1;
                if let Source::File { id, key } = source {
                    if let Some(c) = candidates.get(&key) {
                        let part = Part {
                            embedder,
                            detector: self.detector,
                            opts,
                        };
                        part.index(writer, c, &id, &mut show_meta, on_event, report)?;
                        last_commit = Instant::now();
                    }
                }
                taken = take_batch(&mut todo, &mut i, candidates, batch_rows, &in_parts);
                loaded = prepare(taken, candidates, budget, &mut show_meta, opts, embedder);
                report_meta_problems(&mut show_meta, on_event);
                continue;
            }
            let mut batch: Vec<(Transcript, Vec<chunk::Chunk>)> = Vec::new();
            for item in loaded {
                match item {
                    Ok((t, chunks)) => {
                        for w in &t.warnings {
                            on_event(Event::Warning {
                                path: &t.episode.path,
                                warning: w,
                            });
                        }
                        batch.push((t, chunks));
                    }
                    Err(e) => {
                        on_event(Event::Skipped(&e));
                        report.skipped += 1;
                    }
                }
            }
            taken = take_batch(&mut todo, &mut i, candidates, batch_rows, &in_parts);
            let te = Instant::now();
            let (vectors, next) = rayon::join(
                || embed_batch(&batch, opts, embedder),
                || prepare(taken, candidates, budget, &mut show_meta, opts, embedder),
            );
            report.embed_secs += te.elapsed().as_secs_f64();
            loaded = next;
            report_meta_problems(&mut show_meta, on_event);
            let mut vectors = vectors?.into_iter();
            for (t, chunks) in batch {
                let vecs: Vec<Vec<f32>> = vectors.by_ref().take(chunks.len()).collect();
                self.stage(writer, &t, &chunks, vecs)?;
                report.indexed += 1;
                report.chunks += chunks.len();
                on_event(Event::Indexed {
                    episode: &t.episode.id,
                    chunks: chunks.len(),
                });
            }
            if writer.pending_rows() >= commit_rows || last_commit.elapsed() >= COMMIT_EVERY {
                let generation = writer.commit()?;
                on_event(Event::Committed { generation });
                last_commit = Instant::now();
            }
        }
        Ok(())
    }

    /// Score an episode's passages for non-content from the passages
    /// alone (repetition across episodes is added by
    /// [`refresh`](super::refresh) once the run is in) and stage them with
    /// their vectors, in slices: the first replaces any earlier version of
    /// the episode, the rest add to it (no commit in between).
    fn stage(
        &self,
        writer: &mut Writer,
        t: &Transcript,
        chunks: &[chunk::Chunk],
        vecs: Vec<Vec<f32>>,
    ) -> Result<()> {
        let (base, scores, flagged) = score_alone(self.detector, chunks, &vecs);
        writer.mark_noncontent_stale(&t.episode.show);
        let entry = EpisodeEntry {
            chunks: chunks.len() as u64,
            noncontent: flagged,
            ..episode_entry(t, key_of(&t.episode.path))
        };
        let mut vecs = vecs.into_iter();
        let mut lo = 0;
        let mut entry = Some(entry);
        while lo < chunks.len() || entry.is_some() {
            let hi = (lo + SLICE_ROWS).min(chunks.len());
            let stored = stored_slice(&t.episode, chunks, &base, &scores, lo..hi);
            let v: Vec<Vec<f32>> = vecs.by_ref().take(hi - lo).collect();
            match entry.take() {
                Some(entry) => writer.add_episode(&t.episode.id, entry, &stored, v)?,
                None => writer.add_passages(&t.episode.id, &stored, v)?,
            }
            lo = hi;
        }
        Ok(())
    }
}

/// Non-content scores of passages from themselves alone (their text and
/// vector; repetition across episodes comes later, in `refresh`): the
/// base scores, the stored scores (smoothed over neighbours), and how many
/// are flagged.
fn score_alone(
    detector: &Detector,
    chunks: &[chunk::Chunk],
    vectors: &[Vec<f32>],
) -> (Vec<u64>, Vec<u64>, u64) {
    let base: Vec<u64> = chunks
        .iter()
        .zip(vectors)
        .map(|(c, v)| detector.score(&c.text, v))
        .collect();
    let scores = noncontent::finalize(&base, &vec![0.0; base.len()], NONCONTENT_THRESHOLD);
    let flagged = scores
        .iter()
        .filter(|s| **s >= NONCONTENT_THRESHOLD)
        .count() as u64;
    (base, scores, flagged)
}

/// The next sources from `todo[*i..]`, until their estimated passages
/// fill a batch of `batch_rows` or a file to index in parts comes next.
fn take_batch(
    todo: &mut [Source],
    i: &mut usize,
    candidates: &HashMap<String, &Candidate>,
    batch_rows: usize,
    in_parts: &dyn Fn(&Source) -> bool,
) -> Vec<Source> {
    let mut taken: Vec<Source> = Vec::new();
    let mut estimate = 0;
    while *i < todo.len() && estimate < batch_rows && !in_parts(&todo[*i]) {
        let source = std::mem::replace(&mut todo[*i], Source::Done);
        *i += 1;
        estimate += match &source {
            Source::File { key, .. } => candidates
                .get(key)
                .map_or(1, |c| (c.size as usize / BYTES_PER_PASSAGE).max(1)),
            Source::Doc(t) => {
                t.cues.iter().map(|c| c.text.len()).sum::<usize>() / BYTES_PER_PASSAGE + 1
            }
            Source::Done => 0,
        };
        taken.push(source);
    }
    taken
}

/// Read, parse and chunk `taken` in parallel (token counting is the costly
/// part), keeping their order.
fn prepare(
    taken: Vec<Source>,
    candidates: &HashMap<String, &Candidate>,
    budget: &ReadBudget,
    show_meta: &mut ShowMeta,
    opts: &IndexOptions,
    embedder: &Embedder,
) -> Vec<Result<(Transcript, Vec<chunk::Chunk>)>> {
    let meta = std::sync::Mutex::new(show_meta);
    taken
        .into_par_iter()
        .filter_map(|source| {
            // Held while the file is read, parsed and chunked.
            let _permit = match &source {
                Source::File { key, .. } => candidates.get(key).map(|c| budget.take(c.size)),
                _ => None,
            };
            let t = match source {
                Source::File { id, key } => {
                    let c = candidates.get(&key)?;
                    let episode_meta = {
                        let mut m = meta.lock().unwrap_or_else(|p| p.into_inner());
                        m.lookup(&c.root, &c.path)
                    };
                    load_with(c, episode_meta).map(|mut t| {
                        t.episode.id = id;
                        t
                    })
                }
                Source::Doc(t) => Ok(*t),
                Source::Done => return None,
            };
            Some(t.map(|t| {
                let chunks = chunk::split(&t.episode.id, &t.cues, &opts.chunk, |s| {
                    embedder.count_tokens(s)
                });
                (t, chunks)
            }))
        })
        .collect()
}

/// Passages `range` of an episode's `chunks` as stored: each with its
/// neighbours as context and its non-content scores.
fn stored_slice(
    episode: &Episode,
    chunks: &[chunk::Chunk],
    base: &[u64],
    scores: &[u64],
    range: std::ops::Range<usize>,
) -> Vec<StoredChunk> {
    range
        .map(|i| {
            let mut st = stored(episode, &chunks[i]);
            let (a, b) = (i.saturating_sub(1), (i + 2).min(chunks.len()));
            st.context = chunks[a..b]
                .iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            st.noncontent_base = base[i];
            st.noncontent = scores[i];
            st
        })
        .collect()
}

/// The vectors of a batch's passages, in order. The texts (with their
/// context) and their encodings exist for one slice at a time, however
/// large an episode.
fn embed_batch(
    batch: &[(Transcript, Vec<chunk::Chunk>)],
    opts: &IndexOptions,
    embedder: &Embedder,
) -> Result<Vec<Vec<f32>>> {
    let rows: usize = batch.iter().map(|(_, chunks)| chunks.len()).sum();
    let mut texts = batch.iter().flat_map(|(t, chunks)| {
        let ctx = context(&opts.embed_context, &t.episode);
        chunks.iter().map(move |c| format!("{ctx}{}", c.text))
    });
    let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(rows);
    loop {
        let slice: Vec<String> = texts.by_ref().take(SLICE_ROWS).collect();
        if slice.is_empty() {
            break;
        }
        let refs: Vec<&str> = slice.iter().map(String::as_str).collect();
        vectors.extend(embedder.embed_passages(&refs)?);
    }
    Ok(vectors)
}

/// Tell the caller about metadata files that could not be used.
fn report_meta_problems(meta: &mut ShowMeta, on_event: &mut dyn FnMut(Event)) {
    for (path, message) in meta.take_problems() {
        on_event(Event::Warning {
            path: &path,
            warning: &Warning::new(0, message),
        });
    }
}

/// Indexing one long file in parts: what a part needs besides the writer.
struct Part<'a> {
    embedder: &'a Embedder,
    detector: &'a Detector,
    opts: &'a IndexOptions,
}

impl Part<'_> {
    /// Index the file of candidate `c` as episode `id`, one part at a
    /// time: its cues are cut into parts of about [`PART_TEXT_BYTES`] of
    /// text ([`chunk::slices`]); each part is chunked, embedded, staged and
    /// committed before the next is chunked, so memory holds the parsed
    /// file and one part's passages, however long the file. The first part
    /// keeps the ids a one-part episode would have; later parts derive
    /// theirs from `<id>` and the part number, and their `seq` continues.
    ///
    /// Each commit records how far the episode got ([`State::partial`]):
    /// what is committed is searchable, and a run killed half-way is
    /// continued by the next run from the first part not committed (same
    /// file hash; another version starts over). An episode of one part is
    /// staged like any other and committed with the next batch.
    ///
    /// [`State::partial`]: crate::store::state::State::partial
    fn index(
        &self,
        writer: &mut Writer,
        c: &Candidate,
        id: &str,
        meta: &mut ShowMeta,
        on_event: &mut dyn FnMut(Event),
        report: &mut Report,
    ) -> Result<()> {
        let episode_meta = meta.lookup(&c.root, &c.path);
        report_meta_problems(meta, on_event);
        let loaded = load_with(c, episode_meta).map(|mut t| {
            t.episode.id = id.to_string();
            t
        });
        let mut t = match loaded {
            Ok(t) => t,
            Err(e) => {
                on_event(Event::Skipped(&e));
                report.skipped += 1;
                return Ok(());
            }
        };
        for w in &t.warnings {
            on_event(Event::Warning {
                path: &t.episode.path,
                warning: w,
            });
        }
        let key = key_of(&t.episode.path);
        let hash = writer
            .files()
            .get(&key)
            .map(|f| f.hash.clone())
            .unwrap_or_default();
        // Go on where a killed run stopped, if it was this same file.
        let done = match (writer.partial(id), writer.episode(id)) {
            (Some(p), Some(e)) if p.hash == hash && e.file == key => Some((p.parts, e.clone())),
            _ => None,
        };
        let (skip, mut entry) = match done {
            Some((parts, entry)) => (parts as usize, entry),
            None => {
                writer.remove_episode(id);
                (0, episode_entry(&t, key))
            }
        };
        // Parts are cut as they are reached: the cues after them stay as
        // parsed, and one part's passages exist at a time.
        let mut parts = chunk::slices(std::mem::take(&mut t.cues), PART_TEXT_BYTES)
            .enumerate()
            .peekable();
        let ctx = context(&self.opts.embed_context, &t.episode);
        let mut added = 0usize;
        let mut last_done = true;
        while let Some((k, cues)) = parts.next() {
            if k < skip {
                // Committed by an earlier run.
                last_done = parts.peek().is_none();
                continue;
            }
            let more = parts.peek().is_some();
            let part_id = if k == 0 {
                id.to_string()
            } else {
                format!("{id}\u{0}part {k}")
            };
            let mut chunks = chunk::split(&part_id, &cues, &self.opts.chunk, |s| {
                self.embedder.count_tokens(s)
            });
            drop(cues);
            let seq0 = entry.chunks as u32;
            for ch in &mut chunks {
                ch.seq += seq0;
            }
            let te = Instant::now();
            let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(chunks.len());
            for slice in chunks.chunks(SLICE_ROWS) {
                let texts: Vec<String> = slice.iter().map(|c| format!("{ctx}{}", c.text)).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                vectors.extend(self.embedder.embed_passages(&refs)?);
            }
            report.embed_secs += te.elapsed().as_secs_f64();
            let (base, scores, flagged) = score_alone(self.detector, &chunks, &vectors);
            let mut vectors = vectors.into_iter();
            for lo in (0..chunks.len()).step_by(SLICE_ROWS) {
                let hi = (lo + SLICE_ROWS).min(chunks.len());
                let stored = stored_slice(&t.episode, &chunks, &base, &scores, lo..hi);
                let v: Vec<Vec<f32>> = vectors.by_ref().take(hi - lo).collect();
                writer.add_passages(id, &stored, v)?;
            }
            entry.chunks += chunks.len() as u64;
            entry.noncontent += flagged;
            added += chunks.len();
            let partial = more.then(|| Partial {
                parts: (k + 1) as u32,
                hash: hash.clone(),
            });
            writer.set_episode(id, entry.clone(), partial);
            writer.mark_noncontent_stale(&entry.show);
            // One part alone is an episode like any other: it is committed
            // with the next batch.
            if k > 0 || more {
                let generation = writer.commit()?;
                on_event(Event::Committed { generation });
            }
            last_done = false;
        }
        if last_done {
            // Nothing was added: no text at all, or (resuming) every part
            // was committed and only the closing record is missing.
            writer.set_episode(id, entry.clone(), None);
        }
        report.indexed += 1;
        report.chunks += added;
        on_event(Event::Indexed {
            episode: id,
            chunks: entry.chunks as usize,
        });
        Ok(())
    }
}

fn context(template: &str, e: &Episode) -> String {
    if template.is_empty() {
        return String::new();
    }
    template
        .replace("{show}", &e.show)
        .replace("{title}", e.title())
}

fn stored(e: &Episode, c: &chunk::Chunk) -> StoredChunk {
    StoredChunk {
        id: c.id,
        episode: e.id.clone(),
        show: e.show.clone(),
        title: e.title().to_string(),
        chapter: c
            .start_ms
            .and_then(|s| crate::transcript::chapter_at(&e.meta.chapters, s))
            .map(str::to_string),
        speaker: c.speaker.clone(),
        text: c.text.clone(),
        start_ms: c.start_ms,
        end_ms: c.end_ms,
        seq: c.seq as u64,
        date: e.meta.date.clone(),
        url: e.meta.url.clone(),
        path: e.path.to_string_lossy().into_owned(),
        noncontent: 0,
        noncontent_base: 0,
        context: String::new(),
    }
}

/// The state-table entry of `t`, stored under file `key`, added now, with
/// no passages counted yet.
fn episode_entry(t: &Transcript, key: String) -> EpisodeEntry {
    EpisodeEntry {
        file: key,
        show: t.episode.show.clone(),
        title: t.episode.title().to_string(),
        date: t.episode.meta.date.clone(),
        url: t.episode.meta.url.clone(),
        chunks: 0,
        noncontent: 0,
        duration_ms: t.duration_ms(),
        added: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        speakers: None,
    }
}
