//! Bringing a store up to date with folders of transcripts.
//!
//! 1. **Walk** the folders ([`ingest::walk`]).
//! 2. **Diff** each file against the store's file table: same size and
//!    modification time means unchanged (not even read); otherwise the bytes
//!    are hashed, and only a changed hash means the file is parsed again.
//!    Files under the given folders that are gone are dropped.
//! 3. **Plan**: files with the same episode id are one episode in several
//!    formats, files whose spoken words are identical are one episode under
//!    several names, and files whose words are nearly the same (a MinHash
//!    [`Signature`] of word shingles, estimated Jaccard >= 0.8: another
//!    format cut into other cues, under another name, with small
//!    transcription differences) are one episode too; each group keeps its
//!    richest file
//!    (timed, then with speakers, then the most cues, then JSON > VTT > SRT
//!    > Markdown > HTML > text, then the path) and folds the others.
//! 4. **Apply**: episodes no longer wanted are removed; new and changed ones
//!    are parsed, chunked, embedded (batched across episodes, sorted by
//!    length) and added; the store commits every few thousand passages, so an
//!    interrupted run keeps what it finished.
//!
//! A file that cannot be read or parsed is reported through the [`Event`]
//! callback and skipped; if it was indexed before, its last good version
//! stays. The library prints nothing: the caller renders events.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::chunk::{self, ChunkConfig};
use crate::embed::Embedder;
use crate::error::{Error, ParseErrorKind, Result};
use crate::ingest::fingerprint::{self, Signature};
use crate::ingest::showmeta::ShowMeta;
use crate::ingest::{self, walk::Candidate, Format};
use crate::insight::noncontent::{self, Detector, NONCONTENT_THRESHOLD};
use crate::store::state::{EpisodeEntry, FileEntry, FoldReason, Outcome, Partial};
use crate::store::text::StoredChunk;
use crate::store::Store;
use crate::store::Writer;
use crate::transcript::{Episode, Transcript, Warning};

/// Passages staged before a commit.
const COMMIT_ROWS: usize = 4096;
/// Longest time between commits.
const COMMIT_EVERY: Duration = Duration::from_secs(120);
/// Passages embedded per batch of episodes.
const EMBED_BATCH_ROWS: usize = 512;
/// Passages whose embedding texts (and tokenizer encodings) exist at once,
/// and passages staged at once in their stored form (text, context,
/// metadata): an episode of 100,000 passages is handled in slices, so the
/// memory it takes beyond its vectors and chunks stays flat.
const SLICE_ROWS: usize = 1024;
/// Rough transcript bytes per passage, to size batches before parsing.
const BYTES_PER_PASSAGE: usize = 900;
/// Files at least this large are indexed alone and in parts
/// (indexed in parts).
const PARTS_FROM_BYTES: u64 = 2 << 20;
/// Transcript text per part ([`chunk::slices`]): about a thousand
/// passages.
const PART_TEXT_BYTES: usize = 1 << 20;

/// Bytes of transcript files read and parsed at once, across threads.
/// Parsing costs a few times a file's size in memory, so on a machine with
/// many cores a folder of large files would multiply the peak by the number
/// of threads; a file over the budget is read alone.
const READ_BUDGET: u64 = ingest::MAX_FILE_BYTES;

/// Lets threads read files while the bytes in flight stay within
/// [`READ_BUDGET`] (or one file is in flight).
#[derive(Default)]
struct ReadBudget {
    in_flight: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

impl ReadBudget {
    /// Wait until `bytes` more fit, and take them until the permit drops.
    fn take(&self, bytes: u64) -> ReadPermit<'_> {
        let mut used = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        while *used > 0 && used.saturating_add(bytes) > READ_BUDGET {
            used = self.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += bytes;
        ReadPermit {
            budget: self,
            bytes,
        }
    }
}

/// Bytes taken from a [`ReadBudget`], given back on drop.
struct ReadPermit<'a> {
    budget: &'a ReadBudget,
    bytes: u64,
}

impl Drop for ReadPermit<'_> {
    fn drop(&mut self) {
        let mut used = self
            .budget
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// Something worth telling the user while indexing.
#[derive(Debug)]
pub enum Event<'a> {
    /// The plan: episodes to index, passages are not known yet.
    Planned {
        /// Episodes to (re)index.
        episodes: usize,
    },
    /// A file could not be indexed.
    Skipped(&'a Error),
    /// A non-fatal problem in a file.
    Warning {
        /// The file.
        path: &'a Path,
        /// The problem.
        warning: &'a Warning,
    },
    /// An episode was indexed.
    Indexed {
        /// Its id.
        episode: &'a str,
        /// Its passages.
        chunks: usize,
    },
    /// A commit landed.
    Committed {
        /// Generation.
        generation: u64,
    },
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Episodes (re)indexed.
    pub indexed: usize,
    /// Episodes left as they were.
    pub unchanged: usize,
    /// Files that failed.
    pub skipped: usize,
    /// Files folded into another file of the same episode.
    pub folded: usize,
    /// Episodes removed.
    pub removed: usize,
    /// Files that are not transcripts.
    pub ignored: usize,
    /// Passages added.
    pub chunks: usize,
    /// Seconds spent embedding (with the next batch read and chunked at
    /// the same time).
    pub embed_secs: f64,
    /// Seconds in all.
    pub total_secs: f64,
    /// Seconds spent re-scoring non-content across episodes.
    pub noncontent_secs: f64,
    /// Passages whose non-content score changed in that pass.
    pub noncontent_updated: usize,
}

impl Report {
    /// Whether the run changed the index.
    pub fn changed(&self) -> bool {
        self.indexed > 0 || self.removed > 0
    }
}

/// Settings of a run.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// Chunking.
    pub chunk: ChunkConfig,
    /// Context template put before each passage for embedding only.
    pub embed_context: String,
    /// Skip files and folders with these names (path components below a root).
    pub exclude: Vec<String>,
    /// Commit once this many passages are staged (0: the default, 4096).
    /// Small values make many commits, for tests of crash safety.
    pub commit_rows: usize,
}

/// Normalised spoken words, hashed: equal for the same speech in any format.
pub fn text_hash(t: &Transcript) -> String {
    let mut h = blake3::Hasher::new();
    for cue in &t.cues {
        for w in cue
            .text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            h.update(w.to_lowercase().as_bytes());
            h.update(b" ");
        }
    }
    h.finalize().to_hex()[..32].to_string()
}

fn format_rank(f: Format) -> u8 {
    match f {
        Format::Json => 0,
        Format::Vtt => 1,
        Format::Srt => 2,
        Format::Markdown => 3,
        Format::Html => 4,
        Format::Text => 5,
        Format::Beir => 6,
    }
}

/// Richer first: timed, with speakers, more cues, format, then path.
fn richer(a: &(String, FileEntry), b: &(String, FileEntry)) -> std::cmp::Ordering {
    b.1.is_timed
        .cmp(&a.1.is_timed)
        .then(b.1.has_speakers.cmp(&a.1.has_speakers))
        .then(b.1.cues.cmp(&a.1.cues))
        .then(format_rank(a.1.format).cmp(&format_rank(b.1.format)))
        .then(a.0.cmp(&b.0))
}

/// Whether an entry from the file table has what planning needs, or must
/// be read again (entries from before [`FileEntry::minhash`] existed).
fn is_fingerprinted(e: &FileEntry) -> bool {
    e.minhash.is_some() || e.outcome == Outcome::Ignored || e.format == Format::Beir
}

/// Fold the files still wanted whose words are nearly the same
/// ([`fingerprint::similar_groups`], any show, as for identical words) into
/// the richest of each group.
fn fold_similar(
    wanted: &mut BTreeMap<String, (String, FileEntry)>,
    folded_into: &mut HashMap<String, (String, FoldReason)>,
) {
    let files: Vec<(String, FileEntry)> = wanted.values().cloned().collect();
    let none = Signature::default();
    let items: Vec<&Signature> = files
        .iter()
        .map(|(_, e)| e.minhash.as_ref().unwrap_or(&none))
        .collect();
    for group in fingerprint::similar_groups(&items) {
        let mut members: Vec<&(String, FileEntry)> = group.iter().map(|&i| &files[i]).collect();
        members.sort_by(|a, b| richer(a, b));
        let into = &members[0].1.path;
        for (key, e) in &members[1..] {
            folded_into.insert(key.clone(), (into.clone(), FoldReason::SimilarWords));
            wanted.remove(&e.episode);
        }
    }
}

/// Point every folded file at the file its episode is finally indexed
/// from: a file folded by name into one that was then folded by content
/// would otherwise point at a folded file.
fn resolve_chains(
    table: &BTreeMap<String, FileEntry>,
    folded_into: &mut HashMap<String, (String, FoldReason)>,
) {
    let by_path: HashMap<String, String> = folded_into
        .iter()
        .filter_map(|(key, (into, _))| Some((table.get(key)?.path.clone(), into.clone())))
        .collect();
    for (into, _) in folded_into.values_mut() {
        // Each step moves to a file folded later in the plan, so chains end.
        for _ in 0..by_path.len() {
            match by_path.get(into.as_str()) {
                Some(next) if next != into => *into = next.clone(),
                _ => break,
            }
        }
    }
}

fn key_of(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Read and parse one candidate into a transcript, with its metadata.
fn load(c: &Candidate, meta: &mut ShowMeta) -> Result<Transcript> {
    load_with(c, meta.lookup(&c.root, &c.path))
}

/// [`load`] with the show-level metadata already looked up.
fn load_with(c: &Candidate, meta: crate::transcript::EpisodeMeta) -> Result<Transcript> {
    let episode = Episode {
        id: c.episode_id.clone(),
        show: c.show.clone(),
        meta,
        path: c.path.clone(),
        format: c.format,
    };
    ingest::read(&c.path, c.format, episode)
}

/// Index `roots` into `writer`.
pub fn run(
    writer: &mut Writer,
    embedder: &Embedder,
    roots: &[PathBuf],
    opts: &IndexOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Report> {
    let t0 = Instant::now();
    let mut report = Report::default();
    let detector = Detector::new(embedder)?;
    let mut found = ingest::walk::walk(roots);
    if !opts.exclude.is_empty() {
        found.candidates.retain(|c| {
            let rel = c.path.strip_prefix(&c.root).unwrap_or(&c.path);
            !rel.components()
                .any(|part| opts.exclude.iter().any(|x| part.as_os_str() == x.as_str()))
        });
    }
    for e in &found.errors {
        on_event(Event::Skipped(e));
        report.skipped += 1;
    }
    report.ignored += found.ignored.len();
    let root_keys: Vec<String> = roots.iter().map(|r| key_of(r)).collect();

    // 2. Diff against the file table.
    let old_files = writer.files().clone();
    let mut table: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut candidates: HashMap<String, &Candidate> = HashMap::new();
    let mut to_read: Vec<(String, &Candidate)> = Vec::new();
    let mut collections: Vec<(String, &Candidate)> = Vec::new();
    for c in &found.candidates {
        let key = key_of(&c.path);
        candidates.insert(key.clone(), c);
        if c.format == Format::Beir {
            collections.push((key, c));
            continue;
        }
        match old_files.get(&key) {
            Some(old)
                if old.size == c.size
                    && old.mtime_ns == c.mtime_ns
                    && old.episode == c.episode_id
                    && is_fingerprinted(old) =>
            {
                table.insert(key, old.clone());
            }
            _ => to_read.push((key, c)),
        }
    }
    let budget = ReadBudget::default();
    let read: Vec<(String, Result<FileEntry>)> = to_read
        .par_iter()
        .map(|(key, c)| {
            let _permit = budget.take(c.size);
            let entry = (|| {
                let bytes = ingest::read_capped(&c.path)?;
                let hash = blake3::hash(&bytes).to_hex()[..32].to_string();
                if let Some(old) = old_files.get(key) {
                    if old.hash == hash && old.episode == c.episode_id && is_fingerprinted(old) {
                        let mut e = old.clone();
                        e.size = c.size;
                        e.mtime_ns = c.mtime_ns;
                        e.path = c.path.to_string_lossy().into_owned();
                        return Ok(e);
                    }
                }
                drop(bytes);
                let mut entry = FileEntry {
                    path: c.path.to_string_lossy().into_owned(),
                    size: c.size,
                    mtime_ns: c.mtime_ns,
                    hash,
                    text_hash: String::new(),
                    episode: c.episode_id.clone(),
                    format: c.format,
                    is_timed: false,
                    has_speakers: false,
                    cues: 0,
                    minhash: None,
                    outcome: Outcome::Indexed,
                };
                match load(c, &mut ShowMeta::default()) {
                    Ok(t) => {
                        entry.text_hash = text_hash(&t);
                        entry.minhash = Some(Signature::of_transcript(&t));
                        entry.is_timed = t.is_timed();
                        entry.has_speakers = t.has_speakers();
                        entry.cues = t.cues.len() as u64;
                        entry.format = t.episode.format;
                        Ok(entry)
                    }
                    Err(Error::Parse(p)) if p.kind == ParseErrorKind::NotTranscript => {
                        entry.outcome = Outcome::Ignored;
                        Ok(entry)
                    }
                    Err(e) => Err(e),
                }
            })();
            (key.clone(), entry)
        })
        .collect();
    let mut failed: HashSet<String> = HashSet::new();
    for (key, entry) in read {
        match entry {
            Ok(e) => {
                table.insert(key, e);
            }
            Err(e) => {
                on_event(Event::Skipped(&e));
                report.skipped += 1;
                // Keep the last good version of a file that broke.
                if let Some(old) = old_files.get(&key) {
                    table.insert(key.clone(), old.clone());
                }
                failed.insert(key);
            }
        }
    }
    // Files known from before that are outside these roots stay as they are;
    // those inside that are gone are dropped.
    for (key, old) in &old_files {
        let inside = root_keys.iter().any(|r| Path::new(key).starts_with(r));
        if !table.contains_key(key) && !inside {
            table.insert(key.clone(), old.clone());
        }
    }

    // 3. Plan: fold by episode id, then by identical words, then by similar
    // words.
    let mut groups: BTreeMap<String, Vec<(String, FileEntry)>> = BTreeMap::new();
    for (key, e) in &table {
        if e.outcome == Outcome::Ignored || e.format == Format::Beir {
            continue;
        }
        groups
            .entry(e.episode.clone())
            .or_default()
            .push((key.clone(), e.clone()));
    }
    let mut kept: Vec<(String, FileEntry)> = Vec::new();
    let mut folded_into: HashMap<String, (String, FoldReason)> = HashMap::new();
    for (_, mut files) in groups {
        files.sort_by(richer);
        let best = files[0].clone();
        for (k, _) in &files[1..] {
            folded_into.insert(k.clone(), (best.1.path.clone(), FoldReason::EpisodeId));
        }
        kept.push(best);
    }
    let mut by_text: BTreeMap<String, Vec<(String, FileEntry)>> = BTreeMap::new();
    for k in kept {
        by_text.entry(k.1.text_hash.clone()).or_default().push(k);
    }
    let mut wanted: BTreeMap<String, (String, FileEntry)> = BTreeMap::new();
    for (_, mut files) in by_text {
        files.sort_by(richer);
        let best = files[0].clone();
        for (k, _) in &files[1..] {
            folded_into.insert(k.clone(), (best.1.path.clone(), FoldReason::SameWords));
        }
        wanted.insert(best.1.episode.clone(), best);
    }
    fold_similar(&mut wanted, &mut folded_into);
    resolve_chains(&table, &mut folded_into);
    for (key, e) in table.iter_mut() {
        if e.outcome == Outcome::Ignored || e.format == Format::Beir {
            continue;
        }
        e.outcome = match folded_into.get(key) {
            Some((into, by)) => Outcome::Folded {
                into: into.clone(),
                by: *by,
            },
            None => Outcome::Indexed,
        };
    }
    report.folded = table
        .values()
        .filter(|e| matches!(e.outcome, Outcome::Folded { .. }))
        .count();
    report.ignored += table
        .values()
        .filter(|e| e.outcome == Outcome::Ignored)
        .count();

    // Collections (BEIR JSON Lines): unchanged ones keep all their episodes,
    // changed ones are replaced whole.
    // A collection is complete when all its documents are in; a run
    // killed half-way through one leaves it incomplete, and the next run
    // adds the documents that are missing (its file entry is committed with
    // the first batch).
    let mut kept_collections: HashSet<String> = HashSet::new();
    let mut changed_collections: Vec<(String, &Candidate, Vec<ingest::beir::Doc>)> = Vec::new();
    let mut resumed_collections: Vec<(&Candidate, Vec<ingest::beir::Doc>)> = Vec::new();
    let mut present: HashMap<&str, u64> = HashMap::new();
    for (_, e) in writer.episodes() {
        *present.entry(e.file.as_str()).or_default() += 1;
    }
    // (A count of 0 is unknown, from an index written before counts were
    // kept: the documents are then checked one by one.)
    let complete = |key: &str| {
        old_files
            .get(key)
            .is_some_and(|o| o.cues > 0 && present.get(key).copied().unwrap_or(0) >= o.cues)
    };
    for (key, c) in &collections {
        let same_stat = old_files
            .get(key)
            .is_some_and(|o| o.size == c.size && o.mtime_ns == c.mtime_ns);
        if same_stat && complete(key) {
            kept_collections.insert(key.clone());
            table.insert(key.clone(), old_files[key].clone());
            continue;
        }
        let read = ingest::read_capped(&c.path).and_then(|bytes| {
            let hash = blake3::hash(&bytes).to_hex()[..32].to_string();
            let (text, _) = ingest::decode(&bytes).map_err(|e| parse_err(e, &c.path))?;
            Ok((hash, text))
        });
        let parsed = read.and_then(|(hash, text)| {
            let same = old_files.get(key).is_some_and(|o| o.hash == hash);
            if same && complete(key) {
                return Ok((hash, None, false));
            }
            let docs = ingest::beir::parse(&text).map_err(|e| parse_err(e, &c.path))?;
            Ok((hash, Some(docs), same))
        });
        match parsed {
            Ok((hash, docs, resume)) => {
                let entry = FileEntry {
                    path: c.path.to_string_lossy().into_owned(),
                    size: c.size,
                    mtime_ns: c.mtime_ns,
                    hash: hash.clone(),
                    text_hash: hash,
                    episode: c.episode_id.clone(),
                    format: Format::Beir,
                    is_timed: false,
                    has_speakers: false,
                    cues: docs.as_ref().map_or(0, |d| d.len() as u64),
                    minhash: None,
                    outcome: Outcome::Indexed,
                };
                table.insert(key.clone(), entry);
                match docs {
                    Some(docs) if resume => {
                        let missing: Vec<ingest::beir::Doc> = docs
                            .into_iter()
                            .filter(|d| writer.episode(&format!("{}/{}", c.show, d.id)).is_none())
                            .collect();
                        kept_collections.insert(key.clone());
                        resumed_collections.push((c, missing));
                    }
                    Some(docs) => changed_collections.push((key.clone(), c, docs)),
                    None => {
                        kept_collections.insert(key.clone());
                    }
                }
            }
            Err(e) => {
                on_event(Event::Skipped(&e));
                report.skipped += 1;
                if let Some(old) = old_files.get(key) {
                    table.insert(key.clone(), old.clone());
                    kept_collections.insert(key.clone());
                }
            }
        }
    }

    // 4. Apply: removals first, then additions.

    let current: Vec<(String, EpisodeEntry)> = writer
        .episodes()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut todo: Vec<Source> = Vec::new();
    let changed_keys: HashSet<String> = changed_collections
        .iter()
        .map(|(k, ..)| k.clone())
        .collect();
    for (id, entry) in &current {
        if kept_collections.contains(&entry.file) {
            report.unchanged += 1;
            continue;
        }
        if changed_keys.contains(&entry.file) {
            writer.remove_episode(id);
            continue;
        }
        match wanted.get(id) {
            Some((key, fe))
                if *key == entry.file
                    && old_files.get(key).is_some_and(|o| o.hash == fe.hash)
                    && writer.partial(id).is_none() =>
            {
                report.unchanged += 1;
            }
            Some(_) => {}
            None => {
                writer.mark_noncontent_stale(&entry.show);
                writer.remove_episode(id);
                report.removed += 1;
            }
        }
    }
    for (id, (key, fe)) in &wanted {
        let same = writer.partial(id).is_none()
            && current.iter().any(|(cid, ce)| {
                cid == id
                    && ce.file == *key
                    && old_files.get(key).is_some_and(|o| o.hash == fe.hash)
            });
        if !same && !failed.contains(key) {
            todo.push(Source::File {
                id: id.clone(),
                key: key.clone(),
            });
        }
    }
    for (key, e) in &table {
        writer.set_file(key.clone(), e.clone());
    }
    for key in old_files.keys() {
        if !table.contains_key(key) {
            writer.remove_file(key);
        }
    }
    for (c, docs) in changed_collections
        .into_iter()
        .map(|(_, c, docs)| (c, docs))
        .chain(resumed_collections)
    {
        for d in docs {
            todo.push(Source::Doc(Box::new(doc_transcript(c, d))));
        }
    }
    on_event(Event::Planned {
        episodes: todo.len(),
    });
    if !todo.is_empty() {
        writer.record_engine(embedder.engine_name());
    }

    let mut last_commit = Instant::now();
    let mut show_meta = ShowMeta::default();
    let batch_rows = match opts.commit_rows {
        0 => EMBED_BATCH_ROWS,
        n => n.min(EMBED_BATCH_ROWS),
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
    let mut taken = take_batch(&mut todo, &mut i, &candidates, batch_rows, &in_parts);
    let mut loaded = prepare(taken, &candidates, &budget, &mut show_meta, opts, embedder);
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
                        detector: &detector,
                        opts,
                    };
                    part.index(writer, c, &id, &mut show_meta, on_event, &mut report)?;
                    last_commit = Instant::now();
                }
            }
            taken = take_batch(&mut todo, &mut i, &candidates, batch_rows, &in_parts);
            loaded = prepare(taken, &candidates, &budget, &mut show_meta, opts, embedder);
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
        taken = take_batch(&mut todo, &mut i, &candidates, batch_rows, &in_parts);
        let te = Instant::now();
        let (vectors, next) = rayon::join(
            || embed_batch(&batch, opts, embedder),
            || prepare(taken, &candidates, &budget, &mut show_meta, opts, embedder),
        );
        report.embed_secs += te.elapsed().as_secs_f64();
        loaded = next;
        report_meta_problems(&mut show_meta, on_event);
        let vectors = vectors?;
        let mut vectors = vectors.into_iter();
        for (t, chunks) in batch {
            let vecs: Vec<Vec<f32>> = vectors.by_ref().take(chunks.len()).collect();
            // Non-content scores from the passages alone; repetition across
            // episodes is added by `refresh_noncontent` once the run is in.
            let base: Vec<u64> = chunks
                .iter()
                .zip(&vecs)
                .map(|(c, v)| detector.score(&c.text, v))
                .collect();
            let scores = noncontent::finalize(&base, &vec![0.0; base.len()], NONCONTENT_THRESHOLD);
            writer.mark_noncontent_stale(&t.episode.show);
            let key = key_of(&t.episode.path);
            let entry = EpisodeEntry {
                file: key,
                show: t.episode.show.clone(),
                title: t.episode.title().to_string(),
                date: t.episode.meta.date.clone(),
                url: t.episode.meta.url.clone(),
                chunks: chunks.len() as u64,
                noncontent: scores
                    .iter()
                    .filter(|s| **s >= NONCONTENT_THRESHOLD)
                    .count() as u64,
                duration_ms: t.duration_ms(),
                added: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            // Stage in slices; the first replaces any earlier version of
            // the episode, the rest add to it (no commit in between).
            let mut vecs = vecs.into_iter();
            let mut lo = 0;
            let mut entry = Some(entry);
            while lo < chunks.len() || entry.is_some() {
                let hi = (lo + SLICE_ROWS).min(chunks.len());
                let stored = stored_slice(&t.episode, &chunks, &base, &scores, lo..hi);
                let v: Vec<Vec<f32>> = vecs.by_ref().take(hi - lo).collect();
                match entry.take() {
                    Some(entry) => writer.add_episode(&t.episode.id, entry, &stored, v)?,
                    None => writer.add_passages(&t.episode.id, &stored, v)?,
                }
                lo = hi;
            }
            report.indexed += 1;
            report.chunks += chunks.len();
            on_event(Event::Indexed {
                episode: &t.episode.id,
                chunks: chunks.len(),
            });
        }
        let commit_rows = match opts.commit_rows {
            0 => COMMIT_ROWS,
            n => n,
        };
        if writer.pending_rows() >= commit_rows || last_commit.elapsed() >= COMMIT_EVERY {
            let generation = writer.commit()?;
            on_event(Event::Committed { generation });
            last_commit = Instant::now();
        }
    }
    let files_changed = *writer.files() != old_files;
    if report.changed() || files_changed || writer.is_dirty() {
        let generation = writer.commit()?;
        on_event(Event::Committed { generation });
    }
    // The shows touched now, and any a killed run left marked.
    // One show at a time, each committed before the next: memory holds one
    // show's pass (not a whole corpus's changes), and a run killed in
    // between keeps the shows done and leaves the rest marked.
    let stale: Vec<String> = writer.noncontent_stale().iter().cloned().collect();
    if !stale.is_empty() {
        let t = Instant::now();
        for show in &stale {
            report.noncontent_updated += refresh_noncontent(writer, show)?;
            writer.clear_noncontent_stale(show);
            let generation = writer.commit()?;
            on_event(Event::Committed { generation });
        }
        report.noncontent_secs = t.elapsed().as_secs_f64();
    }
    report.total_secs = t0.elapsed().as_secs_f64();
    Ok(report)
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
                let entry = EpisodeEntry {
                    file: key,
                    show: t.episode.show.clone(),
                    title: t.episode.title().to_string(),
                    date: t.episode.meta.date.clone(),
                    url: t.episode.meta.url.clone(),
                    chunks: 0,
                    noncontent: 0,
                    duration_ms: t.duration_ms(),
                    added: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                };
                (0, entry)
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
            let base: Vec<u64> = chunks
                .iter()
                .zip(&vectors)
                .map(|(c, v)| self.detector.score(&c.text, v))
                .collect();
            let scores = noncontent::finalize(&base, &vec![0.0; base.len()], NONCONTENT_THRESHOLD);
            let mut vectors = vectors.into_iter();
            for lo in (0..chunks.len()).step_by(SLICE_ROWS) {
                let hi = (lo + SLICE_ROWS).min(chunks.len());
                let stored = stored_slice(&t.episode, &chunks, &base, &scores, lo..hi);
                let v: Vec<Vec<f32>> = vectors.by_ref().take(hi - lo).collect();
                writer.add_passages(id, &stored, v)?;
            }
            entry.chunks += chunks.len() as u64;
            entry.noncontent += scores
                .iter()
                .filter(|s| **s >= NONCONTENT_THRESHOLD)
                .count() as u64;
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

/// Re-score the non-content of every passage of `show` with repetition
/// across episodes (sponsor reads, intros and outros repeat), and stage the
/// passages whose score changed. Returns how many changed.
fn refresh_noncontent(writer: &mut Writer, show: &str) -> Result<usize> {
    /// What scoring needs of a passage; its text is read again only if its
    /// score changes (a show's passages are never all in memory at once).
    struct Light {
        addr: crate::store::PassageRef,
        episode: u32,
        seq: u64,
        noncontent: u64,
        base: u64,
        shingles: Vec<u64>,
    }
    // Opened per show: the pages of the stored passages read through its
    // maps count as resident memory until they are unmapped.
    let store = Store::open_data(writer.root(), writer.data_dir().to_path_buf())?;
    let mut episodes: Vec<String> = Vec::new();
    let mut numbers: HashMap<String, u32> = HashMap::new();
    let mut repeated = noncontent::Repetition::default();
    let mut lights: Vec<Light> = Vec::new();
    for addr in store.show_addresses(show)? {
        let c = store.passage_at(addr)?;
        let key = crate::store::vectors::episode_key(&c.episode);
        let shingles = repeated.add(key, &c.text);
        let episode = match numbers.get(&c.episode) {
            Some(&n) => n,
            None => {
                let n = episodes.len() as u32;
                numbers.insert(c.episode.clone(), n);
                episodes.push(c.episode);
                n
            }
        };
        lights.push(Light {
            addr,
            episode,
            seq: c.seq,
            noncontent: c.noncontent,
            base: c.noncontent_base,
            shingles,
        });
    }
    drop(numbers);
    lights.sort_by(|a, b| {
        episodes[a.episode as usize]
            .cmp(&episodes[b.episode as usize])
            .then(a.seq.cmp(&b.seq))
    });
    // Changed passages are staged a slice at a time.
    let mut changed: Vec<StoredChunk> = Vec::new();
    let mut total = 0;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut i = 0;
    while i < lights.len() {
        let ep = lights[i].episode;
        let j = i + lights[i..].iter().take_while(|l| l.episode == ep).count();
        let name = &episodes[ep as usize];
        let key = crate::store::vectors::episode_key(name);
        let base: Vec<u64> = lights[i..j].iter().map(|l| l.base).collect();
        let rep: Vec<f32> = lights[i..j]
            .iter()
            .map(|l| repeated.share(key, &l.shingles, 2))
            .collect();
        let scores = noncontent::finalize(&base, &rep, NONCONTENT_THRESHOLD);
        counts.insert(
            name.clone(),
            scores
                .iter()
                .filter(|s| **s >= NONCONTENT_THRESHOLD)
                .count() as u64,
        );
        for k in i..j {
            if lights[k].noncontent != scores[k - i] {
                let mut c = store.passage_at(lights[k].addr)?;
                c.noncontent = scores[k - i];
                let (lo, hi) = (k.saturating_sub(1).max(i), (k + 2).min(j));
                let mut context = Vec::with_capacity(hi - lo);
                for (n, l) in lights.iter().enumerate().take(hi).skip(lo) {
                    if n == k {
                        context.push(c.text.clone());
                    } else {
                        context.push(store.passage_at(l.addr)?.text);
                    }
                }
                c.context = context.join(" ");
                changed.push(c);
                if changed.len() >= SLICE_ROWS {
                    total += changed.len();
                    writer.replace_chunks(&changed, &HashMap::new())?;
                    changed.clear();
                }
            }
        }
        i = j;
    }
    counts.retain(|ep, n| writer.episode(ep).is_some_and(|e| e.noncontent != *n));
    writer.replace_chunks(&changed, &counts)?;
    Ok(total + changed.len())
}

/// What to index next: an episode file, or a document of a collection.
enum Source {
    File { id: String, key: String },
    Doc(Box<Transcript>),
    Done,
}

fn parse_err(mut e: crate::error::ParseError, path: &Path) -> Error {
    e.path = Some(path.to_path_buf());
    Error::Parse(e)
}

/// A collection document as an untimed transcript `<show>/<_id>`; the
/// title is the episode title (and, for BM25, the title field).
fn doc_transcript(c: &Candidate, d: ingest::beir::Doc) -> Transcript {
    let text = if d.text.is_empty() {
        d.title.clone()
    } else {
        d.text
    };
    Transcript {
        episode: Episode {
            id: format!("{}/{}", c.show, d.id),
            show: c.show.clone(),
            meta: crate::transcript::EpisodeMeta {
                title: (!d.title.is_empty()).then_some(d.title),
                ..Default::default()
            },
            path: c.path.clone(),
            format: Format::Beir,
        },
        cues: vec![crate::transcript::Cue {
            text,
            ..Default::default()
        }],
        warnings: Vec::new(),
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
        id: c.id.0,
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
