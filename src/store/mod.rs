//! The store: an index folder on disk, and the only code that reads or writes
//! it.
//!
//! ```text
//! index/
//!   CURRENT            name of the live data folder (switched by rename)
//!   LOCK               held by the one writer (advisory lock + its pid)
//!   data-000001/
//!     manifest.json    format version, model, chunker settings, counts
//!     text/            tantivy (passage text + metadata, BM25)
//!     vectors/         seg-*.vec: chunk ids + unit vectors (see [`vectors`])
//!     state-*.json     files, episodes, segments of one commit ([`state`])
//! ```
//!
//! **Commit protocol.** New vector segments and the new state file are
//! written first (temporary name, fsync, rename); then tantivy commits with a
//! payload naming that state file, which is the atomic commit point; then the
//! manifest is rewritten and files no commit references are removed. A crash
//! anywhere leaves the previous commit whole: unreferenced files are
//! collected by the next writer. `--rebuild` builds a new data folder and
//! switches `CURRENT` only when it is complete.
//!
//! **Reading** never takes the lock: a reader sees the last commit, and
//! retries if a commit lands while it opens.

pub mod manifest;
pub mod pg;
pub mod query;
pub(crate) mod readonly;
pub mod sketch;
pub mod state;
pub mod text;
pub mod vectors;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::chunk::ChunkId;
use crate::error::{Error, Remedy, Result};
use manifest::Manifest;
use state::{EpisodeEntry, FileEntry, Partial, Payload, SegmentRef, State};
use text::{Fields, StoredChunk};
use vectors::{Row, Segment};

pub use query::{Filter, Filters, PassageRef};

/// A passage whose stored non-content score (0..=1000, from
/// [`crate::insight::noncontent`]) is at or above this is flagged as not
/// content ([`Store::flagged`]): left out of searches unless asked for.
/// It lives with the store, which applies it to what it stores, so that
/// neither the store nor the query side imports the detector;
/// [`crate::insight::noncontent`] re-exports it.
pub const NONCONTENT_THRESHOLD: u64 = 500;

/// Merge vector segments when a commit leaves more than this many.
const MAX_SEGMENTS: usize = 12;

/// Rows copied between releases of the source segments' mapped pages
/// ([`Segment::release`]) when segments are merged or rewritten: about
/// 32 MB of vectors, so a merge's resident memory does not grow with the
/// segments' size.
const RELEASE_ROWS: usize = 16_384;

/// Most documents a full-text merge writes. A merge reads its segments
/// through memory maps, and every page it reads counts as the writer's
/// resident memory until the merge ends: tantivy's default policy merges
/// ever larger segments (a third of a million passages at three times the
/// bundled corpus, 220 MB mapped at once), so the writer's peak grew with
/// the index. With merges capped (about 1.2 KB a passage on disk, so
/// under 80 MB mapped) it does not; the price is more segments for a
/// large index (one per 32-64k passages), which each query visits.
const MAX_MERGE_DOCS: u32 = 65_536;

/// tantivy's log merge policy with every merge cut to at most
/// [`MAX_MERGE_DOCS`] documents: segments of half that or more are left
/// alone, and each level the log policy would merge at once is packed into
/// merges under the cap.
#[derive(Debug)]
struct CappedMerges {
    log: tantivy::indexer::LogMergePolicy,
    max_docs: u32,
}

impl CappedMerges {
    fn new(max_docs: u32) -> CappedMerges {
        let mut log = tantivy::indexer::LogMergePolicy::default();
        log.set_max_docs_before_merge((max_docs / 2).saturating_sub(1) as usize);
        CappedMerges { log, max_docs }
    }
}

impl tantivy::indexer::MergePolicy for CappedMerges {
    fn compute_merge_candidates(
        &self,
        segments: &[tantivy::index::SegmentMeta],
    ) -> Vec<tantivy::indexer::MergeCandidate> {
        // Packed by documents written, deleted ones included: a merge maps
        // all of them.
        let docs: HashMap<tantivy::index::SegmentId, u32> =
            segments.iter().map(|s| (s.id(), s.max_doc())).collect();
        let levels = self
            .log
            .compute_merge_candidates(segments)
            .into_iter()
            .map(|c| {
                c.0.into_iter()
                    .map(|id| (id, docs.get(&id).copied().unwrap_or(0)))
                    .collect()
            })
            .collect();
        pack_merges(levels, self.max_docs)
            .into_iter()
            .map(tantivy::indexer::MergeCandidate)
            .collect()
    }
}

/// Split each group of (segment, documents) into merges of at least two
/// segments and at most `max_docs` documents, largest first.
fn pack_merges<T>(groups: Vec<Vec<(T, u32)>>, max_docs: u32) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    for mut group in groups {
        group.sort_by_key(|g| std::cmp::Reverse(g.1));
        let mut merge: Vec<T> = Vec::new();
        let mut total = 0u32;
        for (id, n) in group {
            if !merge.is_empty() && total.saturating_add(n) > max_docs {
                // A segment alone is left for a later merge.
                if merge.len() >= 2 {
                    out.push(std::mem::take(&mut merge));
                } else {
                    merge.clear();
                }
                total = 0;
            }
            merge.push(id);
            total = total.saturating_add(n);
        }
        if merge.len() >= 2 {
            out.push(merge);
        }
    }
    out
}

/// Write `bytes` to `path` atomically: temporary file, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    // Errors name `path`: the temporary name means nothing to the user.
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// The data folder `CURRENT` points to, if any.
pub fn current_data(root: &Path) -> Result<Option<PathBuf>> {
    let cur = root.join("CURRENT");
    match std::fs::read_to_string(&cur) {
        Ok(name) => {
            let name = name.trim();
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(Error::Corrupt {
                    index: root.to_path_buf(),
                    problem: format!("{} names no data folder", cur.display()),
                    remedy: Remedy::Rebuild,
                });
            }
            Ok(Some(root.join(name)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(cur, e)),
    }
}

/// What is wrong with a full-text index that does not open or load, in
/// words (tantivy's messages are debug dumps).
fn tantivy_problem(e: &tantivy::TantivyError) -> String {
    use tantivy::directory::error::OpenReadError;
    match e {
        tantivy::TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(p)) => {
            format!("its file {} is missing", p.display())
        }
        e => e.to_string(),
    }
}

/// The full-text index does not load: damaged, or parts missing.
fn not_loading(root: &Path, e: &tantivy::TantivyError) -> Error {
    Error::Corrupt {
        index: root.to_path_buf(),
        problem: format!("full-text index does not load ({})", tantivy_problem(e)),
        remedy: Remedy::Rebuild,
    }
}

/// Open the full-text index of `data`; `locks: false` opens it without
/// tantivy's lock files, for reading where they cannot be created
/// ([`readonly`]).
fn open_tantivy(data: &Path, root: &Path, locks: bool) -> Result<(Index, Fields)> {
    let text_dir = data.join("text");
    let opened = if locks {
        Index::open_in_dir(&text_dir)
    } else {
        readonly::NoLockDirectory::open(&text_dir)
            .map_err(tantivy::TantivyError::from)
            .and_then(Index::open)
    };
    let index = opened.map_err(|e| Error::Corrupt {
        index: root.to_path_buf(),
        problem: format!(
            "full-text index {} does not open ({})",
            text_dir.display(),
            tantivy_problem(&e)
        ),
        remedy: Remedy::Rebuild,
    })?;
    let (schema, fields) = text::schema();
    if index.schema() != schema {
        return Err(Error::Corrupt {
            index: root.to_path_buf(),
            problem: "full-text schema differs from this podsift's".into(),
            remedy: Remedy::Rebuild,
        });
    }
    text::register(&index);
    Ok((index, fields))
}

/// The commit payload naming the state file; none before the first commit.
/// A payload that does not parse is damage, not "no commit": read as
/// none, the index would look empty, and a writer would build on nothing.
fn read_payload(index: &Index, root: &Path) -> Result<Option<Payload>> {
    let metas = index.load_metas()?;
    match metas.payload {
        Some(p) => serde_json::from_str(&p)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                index: root.to_path_buf(),
                problem: format!("the last commit's payload is unreadable ({e})"),
                remedy: Remedy::Rebuild,
            }),
        None => Ok(None),
    }
}

fn read_state(data: &Path, payload: &Option<Payload>, root: &Path) -> Result<State> {
    let Some(p) = payload else {
        return Ok(State::default());
    };
    let path = data.join(&p.state);
    let bytes = std::fs::read(&path).map_err(|e| Error::Corrupt {
        index: root.to_path_buf(),
        problem: format!("state file {} is missing ({e})", path.display()),
        remedy: Remedy::Rebuild,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        index: root.to_path_buf(),
        problem: format!("state file {} is unreadable ({e})", path.display()),
        remedy: Remedy::Rebuild,
    })
}

fn open_segments(data: &Path, state: &State, dim: usize, root: &Path) -> Result<Vec<Segment>> {
    state
        .segments
        .iter()
        .map(|s| {
            let path = data.join("vectors").join(&s.file);
            let seg = Segment::open(&path, dim).map_err(|e| match e {
                Error::Io { source, .. } => Error::Corrupt {
                    index: root.to_path_buf(),
                    problem: format!("vector segment {} is missing ({source})", path.display()),
                    remedy: Remedy::Rebuild,
                },
                other => other,
            })?;
            if seg.rows() as u64 != s.rows {
                return Err(Error::Corrupt {
                    index: root.to_path_buf(),
                    problem: format!(
                        "vector segment {} has {} rows, the state says {}",
                        path.display(),
                        seg.rows(),
                        s.rows
                    ),
                    remedy: Remedy::Rebuild,
                });
            }
            Ok(seg)
        })
        .collect()
}

/// What [`Store::verify`] checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verified {
    /// Vector segments whose checksums match.
    pub checked: usize,
    /// Vector segments written before checksums (nothing to check).
    pub unchecked: usize,
    /// Rows in all segments.
    pub rows: u64,
    /// Full-text segments, every file of which matched its checksum.
    pub text_files: usize,
}

/// A read-only view of the last commit.
pub struct Store {
    root: PathBuf,
    data: PathBuf,
    manifest: Manifest,
    state: State,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    segments: Vec<Segment>,
    /// tantivy's opstamp of the commit this view shows.
    opstamp: u64,
    by_id: std::sync::OnceLock<HashMap<u64, (u32, u32)>>,
    flagged: std::sync::OnceLock<HashSet<u64>>,
    sketch: std::sync::OnceLock<sketch::Sketch>,
}

impl Store {
    /// Open the index at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        let data = current_data(root)?.ok_or_else(|| Error::NoIndex(root.to_path_buf()))?;
        Store::open_data(root, data)
    }

    /// Open a given data folder of the index at `root` (a rebuild in
    /// progress, which `CURRENT` does not name yet).
    pub fn open_data(root: &Path, data: PathBuf) -> Result<Store> {
        let manifest = Manifest::read(&data.join("manifest.json"), root)?;
        let (mut index, fields) = open_tantivy(&data, root, true)?;
        let reader: IndexReader = match index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
        {
            Ok(r) => r,
            // A read-only file system, or a folder this user may not write:
            // read without tantivy's lock file.
            Err(e) if readonly::is_unwritable_lock(&e) => {
                index = open_tantivy(&data, root, false)?.0;
                index
                    .reader_builder()
                    .reload_policy(ReloadPolicy::Manual)
                    .try_into()
                    .map_err(|e| not_loading(root, &e))?
            }
            Err(e) => return Err(not_loading(root, &e)),
        };
        // A commit may land between reading the payload and loading the
        // searcher; retry until both name the same commit.
        for attempt in 0.. {
            let before = index.load_metas()?.opstamp;
            let payload = read_payload(&index, root)?;
            match reader.reload() {
                Err(_) if attempt < 5 => continue,
                other => other.map_err(|e| not_loading(root, &e))?,
            }
            let after = index.load_metas()?.opstamp;
            if before != after && attempt < 5 {
                continue;
            }
            let state = match read_state(&data, &payload, root) {
                Err(_) if attempt < 5 => continue,
                other => other?,
            };
            let segments = match open_segments(&data, &state, manifest.model.dim, root) {
                Err(_) if attempt < 5 => continue,
                other => other?,
            };
            let rows: u64 = state.segments.iter().map(|s| s.rows).sum();
            let docs = reader.searcher().num_docs();
            if rows != docs {
                if attempt < 5 {
                    continue;
                }
                return Err(Error::Corrupt {
                    index: root.to_path_buf(),
                    problem: format!("{docs} passages in the full-text index but {rows} vectors"),
                    remedy: Remedy::Rebuild,
                });
            }
            return Ok(Store {
                root: root.to_path_buf(),
                data,
                manifest,
                state,
                index,
                reader,
                fields,
                segments,
                opstamp: after,
                by_id: std::sync::OnceLock::new(),
                flagged: std::sync::OnceLock::new(),
                sketch: std::sync::OnceLock::new(),
            });
        }
        unreachable!("the loop returns")
    }

    /// Whether this view still shows the index's last commit: `CURRENT`
    /// names the same data folder and tantivy's last commit is the one
    /// loaded. A long-lived reader (`podsift mcp`) opens the store again
    /// when not; it costs two small file reads.
    pub fn is_current(&self) -> bool {
        matches!(current_data(&self.root), Ok(Some(d)) if d == self.data)
            && self
                .index
                .load_metas()
                .is_ok_and(|m| m.opstamp == self.opstamp)
    }

    /// The index folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The indexed episodes, by id (sorted).
    pub fn episodes(&self) -> std::collections::btree_map::Iter<'_, String, EpisodeEntry> {
        self.state.episodes.iter()
    }

    /// An indexed episode.
    pub fn episode(&self, id: &str) -> Option<&EpisodeEntry> {
        self.state.episodes.get(id)
    }

    /// The source files seen, by key (sorted).
    pub fn files(&self) -> std::collections::btree_map::Iter<'_, String, FileEntry> {
        self.state.files.iter()
    }

    /// A source file by its key ([`EpisodeEntry::file`]).
    pub fn file(&self, key: &str) -> Option<&FileEntry> {
        self.state.files.get(key)
    }

    /// The generation of the commit this view shows.
    pub fn generation(&self) -> u64 {
        self.state.generation
    }

    /// Shows, episodes, passages and hours of the commit this view shows.
    pub fn counts(&self) -> manifest::Counts {
        self.state.counts()
    }

    /// Passages flagged as not content, over all episodes.
    pub fn flagged_noncontent(&self) -> u64 {
        self.state.flagged_noncontent()
    }

    /// A searcher on the last commit (for [`query`] and the readers here).
    fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Passages whose text uses the analysed term `term` (0 on a read
    /// error: a frequency is a weight, not data).
    pub fn doc_freq(&self, term: &str) -> u64 {
        self.searcher()
            .doc_freq(&tantivy::Term::from_field_text(self.fields.text, term))
            .unwrap_or(0)
    }

    /// Passages in the full-text index.
    pub fn num_docs(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// The vector segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Number of passages.
    pub fn len(&self) -> usize {
        self.segments.iter().map(Segment::rows).sum()
    }

    /// Whether the index holds no passage.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where a chunk's vector lives: (segment, row).
    pub fn locate(&self, id: ChunkId) -> Option<(usize, usize)> {
        let map = self.by_id.get_or_init(|| {
            let mut m = HashMap::with_capacity(self.len());
            for (s, seg) in self.segments.iter().enumerate() {
                for (r, &cid) in seg.ids().iter().enumerate() {
                    m.insert(cid, (s as u32, r as u32));
                }
            }
            m
        });
        map.get(&id.0).map(|&(s, r)| (s as usize, r as usize))
    }

    /// Check the whole index against its checksums: every vector segment
    /// ([`Segment::verify`]) and every full-text file (tantivy's own
    /// checksums). Reads everything once; `podsift stats --verify`.
    pub fn verify(&self) -> Result<Verified> {
        let mut v = Verified::default();
        for seg in &self.segments {
            if seg.verify()? {
                v.checked += 1;
            } else {
                v.unchecked += 1;
            }
            v.rows += seg.rows() as u64;
        }
        let damaged = self.index.validate_checksum()?;
        if let Some(file) = damaged.iter().min() {
            return Err(Error::Corrupt {
                index: self.root.clone(),
                problem: format!(
                    "full-text file {} does not match its checksum",
                    self.data.join("text").join(file).display()
                ),
                remedy: Remedy::Rebuild,
            });
        }
        v.text_files = self.index.searchable_segment_metas()?.len();
        Ok(v)
    }

    /// The one-bit sketches of the vectors ([`sketch`]), built on first use.
    pub fn sketch(&self) -> &sketch::Sketch {
        self.sketch
            .get_or_init(|| sketch::Sketch::build(&self.segments, self.manifest.model.dim))
    }

    /// A chunk's vector.
    pub fn vector(&self, id: ChunkId) -> Option<&[f32]> {
        self.locate(id).map(|(s, r)| self.segments[s].vector(r))
    }

    /// A stored passage by id.
    pub fn chunk(&self, id: ChunkId) -> Result<Option<StoredChunk>> {
        let searcher = self.searcher();
        let q = TermQuery::new(
            Term::from_field_u64(self.fields.chunk_id, id.0),
            IndexRecordOption::Basic,
        );
        let top = searcher.search(&q, &TopDocs::with_limit(1))?;
        match top.first() {
            Some((_, addr)) => {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                Ok(Some(StoredChunk::from_doc(&doc, &self.fields)))
            }
            None => Ok(None),
        }
    }

    /// Stored passages for many ids (missing ones are skipped), in input order.
    pub fn chunks(&self, ids: &[ChunkId]) -> Result<Vec<StoredChunk>> {
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(c) = self.chunk(id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Every passage of a show (in no particular order).
    pub fn show_passages(&self, show: &str) -> Result<Vec<StoredChunk>> {
        self.show_addresses(show)?
            .into_iter()
            .map(|a| self.passage_at(a))
            .collect()
    }

    /// Where the passages of a show are, in index order: to read them one
    /// at a time with [`Store::passage_at`] instead of all at once.
    pub fn show_addresses(&self, show: &str) -> Result<Vec<PassageRef>> {
        let q = TermQuery::new(
            Term::from_field_text(self.fields.show, show),
            IndexRecordOption::Basic,
        );
        let docs = self
            .searcher()
            .search(&q, &tantivy::collector::DocSetCollector)?;
        let mut addrs: Vec<PassageRef> = docs.into_iter().map(PassageRef).collect();
        addrs.sort();
        Ok(addrs)
    }

    /// The passage at `addr` (from [`Store::show_addresses`]).
    pub fn passage_at(&self, addr: PassageRef) -> Result<StoredChunk> {
        let doc: TantivyDocument = self.searcher().doc(addr.0)?;
        Ok(StoredChunk::from_doc(&doc, &self.fields))
    }

    /// Passages of `episode` with `seq` in `from..=to`, in order.
    pub fn episode_range(&self, episode: &str, from: u64, to: u64) -> Result<Vec<StoredChunk>> {
        let searcher = self.searcher();
        let q = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.episode, episode),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>,
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    std::ops::Bound::Included(Term::from_field_u64(self.fields.seq, from)),
                    std::ops::Bound::Included(Term::from_field_u64(self.fields.seq, to)),
                )),
            ),
        ]);
        let limit = (to.saturating_sub(from) as usize)
            .saturating_add(1)
            .min(100_000);
        let top = searcher.search(&q, &TopDocs::with_limit(limit.max(1)))?;
        let mut out: Vec<StoredChunk> = top
            .into_iter()
            .map(|(_, a)| {
                searcher
                    .doc::<TantivyDocument>(a)
                    .map(|d| StoredChunk::from_doc(&d, &self.fields))
            })
            .collect::<tantivy::Result<_>>()?;
        out.sort_by_key(|c| c.seq);
        Ok(out)
    }
}

/// The single writer of an index: holds `LOCK`, stages changes, commits.
pub struct Writer {
    root: PathBuf,
    data: PathBuf,
    manifest: Manifest,
    state: State,
    fields: Fields,
    writer: IndexWriter,
    pending: Vec<Row>,
    removed_episodes: HashSet<u64>,
    dirty: bool,
    switch_current: bool,
    _lock: Lock,
}

/// The write lock of an index, held while it lives. `LOCK` holds the
/// writer's pid while it works and is emptied when the writer ends, by
/// finishing or by an error; so a pid found there by the next writer means
/// the last one was killed ([`Lock::after_crash`]).
#[derive(Debug)]
pub struct Lock {
    file: File,
    after_crash: bool,
}

impl Lock {
    /// Whether the writer before this one was killed mid-run (its pid was
    /// still in `LOCK`).
    pub fn after_crash(&self) -> bool {
        self.after_crash
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// Take the write lock of `root`, or say who holds it.
pub fn lock(root: &Path) -> Result<Lock> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let path = root.join("LOCK");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            // The first write into the index: a folder of another user's.
            std::io::ErrorKind::PermissionDenied => Error::NotWritable {
                path: root.to_path_buf(),
                reason: "permission denied",
            },
            _ => Error::io(&path, e),
        })?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_string();
            return Err(Error::Locked {
                index: root.to_path_buf(),
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let mut previous = String::new();
    let after_crash =
        std::io::Read::read_to_string(&mut f, &mut previous).is_ok() && !previous.trim().is_empty();
    f.set_len(0).map_err(|e| Error::io(&path, e))?;
    std::io::Seek::rewind(&mut f).map_err(|e| Error::io(&path, e))?;
    write!(f, "{}", std::process::id()).map_err(|e| Error::io(&path, e))?;
    let _ = f.sync_all();
    Ok(Lock {
        file: f,
        after_crash,
    })
}

impl Writer {
    /// Open the index at `root` for writing. When there is none, or when
    /// `fresh` is set, a new data folder is made from `manifest` (and becomes
    /// current at the first commit of a new index, or at [`finish`](Self::finish)
    /// for a rebuild). When an index exists its manifest must describe the
    /// same model and chunking as `manifest`.
    pub fn open(root: &Path, manifest: Manifest, fresh: bool) -> Result<Writer> {
        let lock = lock(root)?;
        let existing = current_data(root)?;
        let (data, manifest, switch_current) = match existing {
            Some(data) if !fresh => {
                let found = Manifest::read(&data.join("manifest.json"), root)?;
                if found.model.fingerprint != manifest.model.fingerprint
                    || found.model.id != manifest.model.id
                {
                    return Err(Error::IndexMismatch {
                        index: root.to_path_buf(),
                        index_model: found.model.id,
                        requested_model: manifest.model.id,
                    });
                }
                (data, found, false)
            }
            existing => {
                let n = next_data_number(root);
                let data = root.join(format!("data-{n:06}"));
                std::fs::create_dir_all(data.join("text")).map_err(|e| Error::io(&data, e))?;
                std::fs::create_dir_all(data.join("vectors")).map_err(|e| Error::io(&data, e))?;
                let (schema, _) = text::schema();
                let dir =
                    tantivy::directory::MmapDirectory::open(data.join("text")).map_err(|e| {
                        Error::Corrupt {
                            index: root.to_path_buf(),
                            problem: e.to_string(),
                            remedy: Remedy::CheckPermissions,
                        }
                    })?;
                Index::create(dir, schema, tantivy::IndexSettings::default())
                    .map_err(|e| text::error_at(&data.join("text"), e))?;
                manifest.write(&data.join("manifest.json"))?;
                // A brand-new index becomes current at once (empty until the
                // first commit); a rebuild waits until it is complete.
                if existing.is_none() {
                    set_current(root, &data)?;
                }
                (data, manifest, existing.is_some())
            }
        };
        let (index, fields) = open_tantivy(&data, root, true)?;
        let payload = read_payload(&index, root)?;
        let state = read_state(&data, &payload, root)?;
        let segments = open_segments(&data, &state, manifest.model.dim, root)?;
        // After a writer was killed, check every vector against its
        // checksum before building on them (a reader's open checks only the
        // ids: reading every vector on each query would cost too much).
        if lock.after_crash() {
            for seg in &segments {
                seg.verify()?;
            }
        }
        drop(segments);
        // The full-text side must load too, as a reader would load it: a
        // writer that only adds to a damaged index would report success
        // while every search fails.
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| not_loading(root, &e))?;
        let docs = reader.searcher().num_docs();
        let rows: u64 = state.segments.iter().map(|s| s.rows).sum();
        if docs != rows {
            return Err(Error::Corrupt {
                index: root.to_path_buf(),
                problem: format!("{docs} passages in the full-text index but {rows} vectors"),
                remedy: Remedy::Rebuild,
            });
        }
        drop(reader);
        let text_dir = data.join("text");
        let writer: IndexWriter = index
            .writer_with_num_threads(1, 64 << 20)
            .map_err(|e| text::error_at(&text_dir, e))?;
        writer.set_merge_policy(Box::new(CappedMerges::new(MAX_MERGE_DOCS)));
        let w = Writer {
            root: root.to_path_buf(),
            data,
            manifest,
            state,
            fields,
            writer,
            pending: Vec::new(),
            removed_episodes: HashSet::new(),
            dirty: false,
            switch_current,
            _lock: lock,
        };
        w.collect_garbage();
        Ok(w)
    }

    /// The index folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data folder being written.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Replace stored passages in place (same ids, same vectors), e.g. with
    /// new non-content scores. `noncontent` maps episode id to its new count
    /// of flagged passages.
    pub fn replace_chunks(
        &mut self,
        chunks: &[StoredChunk],
        noncontent: &HashMap<String, u64>,
    ) -> Result<()> {
        for c in chunks {
            self.writer
                .delete_term(Term::from_field_u64(self.fields.chunk_id, c.id));
            self.add_doc(c.to_doc(&self.fields))?;
        }
        for (ep, n) in noncontent {
            if let Some(e) = self.state.episodes.get_mut(ep) {
                e.noncontent = *n;
            }
        }
        self.dirty = true;
        Ok(())
    }

    /// Record that `engine` embeds passages added from now on (written
    /// with the next commit).
    pub fn record_engine(&mut self, engine: &str) {
        if !self.manifest.engines.iter().any(|e| e == engine) {
            self.manifest.engines.push(engine.to_string());
        }
    }

    /// The manifest of the index being written.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The file table as committed plus the changes staged so far.
    pub fn files(&self) -> &std::collections::BTreeMap<String, FileEntry> {
        &self.state.files
    }

    /// The indexed episodes, as committed plus the changes staged so far.
    pub fn episodes(&self) -> std::collections::btree_map::Iter<'_, String, EpisodeEntry> {
        self.state.episodes.iter()
    }

    /// An indexed episode (staged changes included).
    pub fn episode(&self, id: &str) -> Option<&EpisodeEntry> {
        self.state.episodes.get(id)
    }

    /// How far an episode indexed in parts got, while it is not whole
    /// ([`set_episode`](Self::set_episode)).
    pub fn partial(&self, id: &str) -> Option<&Partial> {
        self.state.partial.get(id)
    }

    /// Record a source file.
    pub fn set_file(&mut self, key: String, entry: FileEntry) {
        self.state.files.insert(key, entry);
    }

    /// Forget a source file.
    pub fn remove_file(&mut self, key: &str) {
        self.state.files.remove(key);
    }

    /// Stage the removal of an episode's passages and vectors.
    pub fn remove_episode(&mut self, id: &str) {
        if self.state.partial.remove(id).is_some() {
            self.dirty = true;
        }
        if self.state.episodes.remove(id).is_some() {
            self.writer
                .delete_term(Term::from_field_text(self.fields.episode, id));
            self.removed_episodes.insert(vectors::episode_key(id));
            let key = vectors::episode_key(id);
            self.pending.retain(|r| r.episode != key);
        }
    }

    /// Stage an episode: its passages and their vectors (same order). An
    /// episode with the same id is replaced.
    pub fn add_episode(
        &mut self,
        id: &str,
        entry: EpisodeEntry,
        chunks: &[StoredChunk],
        vecs: Vec<Vec<f32>>,
    ) -> Result<()> {
        self.remove_episode(id);
        self.add_passages(id, chunks, vecs)?;
        self.state.episodes.insert(id.to_string(), entry);
        Ok(())
    }

    /// Stage more passages of an episode staged by
    /// [`add_episode`](Self::add_episode) since the last commit (a long
    /// episode staged in slices). The episode's entry stays as given there.
    pub fn add_passages(
        &mut self,
        id: &str,
        chunks: &[StoredChunk],
        vecs: Vec<Vec<f32>>,
    ) -> Result<()> {
        let key = vectors::episode_key(id);
        for (c, v) in chunks.iter().zip(vecs) {
            self.add_doc(c.to_doc(&self.fields))?;
            self.pending.push(Row {
                id: c.id,
                episode: key,
                start_ms: c.start_ms.unwrap_or(u64::MAX),
                vector: v,
            });
        }
        Ok(())
    }

    /// Record an episode's entry, and how far it got when it is indexed in
    /// parts (`None` once its last part is staged), for passages staged
    /// with [`add_passages`](Self::add_passages): an episode too long to
    /// stage at once is committed part by part, each commit holding whole
    /// parts and the entry that counts them.
    pub fn set_episode(&mut self, id: &str, entry: EpisodeEntry, partial: Option<Partial>) {
        self.state.episodes.insert(id.to_string(), entry);
        match partial {
            Some(p) => self.state.partial.insert(id.to_string(), p),
            None => self.state.partial.remove(id),
        };
        self.dirty = true;
    }

    /// Hand a document to tantivy's indexing thread. When that thread has
    /// failed (a full disk, most likely), tantivy says only that "an index
    /// writer was killed"; the thread's own error comes out when the workers
    /// are joined, which `prepare_commit` does, returning before anything is
    /// committed.
    fn add_doc(&mut self, doc: TantivyDocument) -> Result<()> {
        let Err(e) = self.writer.add_document(doc) else {
            return Ok(());
        };
        let e = match e {
            tantivy::TantivyError::ErrorInThread(_) => match self.writer.prepare_commit() {
                Err(inner) => inner,
                Ok(prepared) => {
                    let _ = prepared.abort();
                    e
                }
            },
            e => e,
        };
        Err(text::error_at(&self.data.join("text"), e))
    }

    /// Record that `show`'s non-content scores wait for the pass across its
    /// episodes; the mark is committed with the next commit, so a run
    /// killed before that pass leaves it for the next run.
    pub fn mark_noncontent_stale(&mut self, show: &str) {
        if !self.state.stale_shows.contains(show) {
            self.state.stale_shows.insert(show.to_string());
        }
    }

    /// The shows marked by [`mark_noncontent_stale`](Self::mark_noncontent_stale),
    /// committed or not.
    pub fn noncontent_stale(&self) -> &BTreeSet<String> {
        &self.state.stale_shows
    }

    /// Unmark `show` once its pass across episodes is staged; the next
    /// commit records that.
    pub fn clear_noncontent_stale(&mut self, show: &str) {
        if self.state.stale_shows.remove(show) {
            self.dirty = true;
        }
    }

    /// Passages staged since the last commit.
    pub fn pending_rows(&self) -> usize {
        self.pending.len()
    }

    /// Whether anything is staged that a commit would write.
    pub fn is_dirty(&self) -> bool {
        self.dirty || !self.pending.is_empty() || !self.removed_episodes.is_empty()
    }

    /// Commit everything staged. Returns the new generation.
    pub fn commit(&mut self) -> Result<u64> {
        let gen = self.state.generation + 1;
        let dim = self.manifest.model.dim;
        let vdir = self.data.join("vectors");
        let old = open_segments(&self.data, &self.state, dim, &self.root)?;
        let mut segments: Vec<SegmentRef> = Vec::new();
        // Copy-on-write the segments that lose rows.
        for (i, (seg, r)) in old.iter().zip(self.state.segments.clone()).enumerate() {
            let keep: Vec<usize> = (0..seg.rows())
                .filter(|&k| !self.removed_episodes.contains(&seg.episodes()[k]))
                .collect();
            if keep.len() == seg.rows() {
                segments.push(r);
            } else if !keep.is_empty() {
                let file = format!("seg-{gen:08}-{i:03}.vec");
                let bytes = vectors::write_with(&vdir.join(&file), dim, keep.len(), |k| {
                    if k % RELEASE_ROWS == 0 {
                        seg.release();
                    }
                    seg.row(keep[k])
                })?;
                segments.push(SegmentRef {
                    file,
                    rows: keep.len() as u64,
                    bytes,
                });
            }
        }
        if !self.pending.is_empty() {
            let file = format!("seg-{gen:08}-new.vec");
            let bytes = vectors::write(&vdir.join(&file), dim, &self.pending)?;
            segments.push(SegmentRef {
                file,
                rows: self.pending.len() as u64,
                bytes,
            });
        }
        drop(old);
        if segments.len() > MAX_SEGMENTS {
            segments = self.merge_small(segments, gen)?;
        }
        let mut state = self.state.clone();
        state.generation = gen;
        state.segments = segments;
        let state_file = format!("state-{gen:08}.json");
        let bytes =
            serde_json::to_vec(&state).map_err(|e| Error::invalid("state", e.to_string()))?;
        write_atomic(&self.data.join(&state_file), &bytes)?;
        let payload = serde_json::to_string(&Payload {
            generation: gen,
            state: state_file,
        })
        .map_err(|e| Error::invalid("payload", e.to_string()))?;
        let text_dir = self.data.join("text");
        let mut prepared = self
            .writer
            .prepare_commit()
            .map_err(|e| text::error_at(&text_dir, e))?;
        prepared.set_payload(&payload);
        prepared
            .commit()
            .map_err(|e| text::error_at(&text_dir, e))?;
        self.state = state;
        self.pending.clear();
        self.removed_episodes.clear();
        self.dirty = false;
        self.manifest.generation = gen;
        self.manifest.counts = self.state.counts();
        self.manifest.write(&self.data.join("manifest.json"))?;
        self.collect_garbage();
        Ok(gen)
    }

    /// Merge the smaller half of the segments into one.
    fn merge_small(&self, mut segments: Vec<SegmentRef>, gen: u64) -> Result<Vec<SegmentRef>> {
        let dim = self.manifest.model.dim;
        let vdir = self.data.join("vectors");
        segments.sort_by_key(|s| (s.rows, s.file.clone()));
        let split = segments.len() / 2 + 1;
        let small: Vec<SegmentRef> = segments.drain(..split).collect();
        let opened: Vec<Segment> = small
            .iter()
            .map(|s| Segment::open(&vdir.join(&s.file), dim))
            .collect::<Result<_>>()?;
        let index: Vec<(usize, usize)> = opened
            .iter()
            .enumerate()
            .flat_map(|(s, seg)| (0..seg.rows()).map(move |r| (s, r)))
            .collect();
        let file = format!("seg-{gen:08}-merged.vec");
        let bytes = vectors::write_with(&vdir.join(&file), dim, index.len(), |k| {
            if k % RELEASE_ROWS == 0 {
                opened.iter().for_each(Segment::release);
            }
            let (s, r) = index[k];
            opened[s].row(r)
        })?;
        segments.push(SegmentRef {
            file,
            rows: index.len() as u64,
            bytes,
        });
        segments.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(segments)
    }

    /// Finish writing: for a rebuild, switch `CURRENT` to the new data folder
    /// and remove the old one.
    pub fn finish(self) -> Result<()> {
        let Writer {
            root,
            data,
            writer,
            switch_current,
            _lock,
            ..
        } = self;
        // Let tantivy's background merges end before the lock is released.
        writer
            .wait_merging_threads()
            .map_err(|e| text::error_at(&data.join("text"), e))?;
        if switch_current {
            let old = current_data(&root)?;
            set_current(&root, &data)?;
            if let Some(old) = old {
                if old != data {
                    let _ = std::fs::remove_dir_all(old);
                }
            }
        }
        drop(_lock);
        Ok(())
    }

    /// Remove vector segments and state files no commit references, and data
    /// folders `CURRENT` does not name (left by an interrupted rebuild).
    fn collect_garbage(&self) {
        let live_state = format!("state-{:08}.json", self.state.generation);
        let live: HashSet<&str> = self
            .state
            .segments
            .iter()
            .map(|s| s.file.as_str())
            .collect();
        if let Ok(entries) = std::fs::read_dir(self.data.join("vectors")) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !live.contains(name.as_str()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(&self.data) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let stale_state = name.starts_with("state-") && name != live_state;
                let stale_tmp = name.contains(".tmp");
                if stale_state || stale_tmp {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let current = current_data(&self.root).ok().flatten();
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("data-") && Some(&p) != current.as_ref() && p != self.data {
                    let _ = std::fs::remove_dir_all(&p);
                }
            }
        }
    }
}

fn next_data_number(root: &Path) -> u64 {
    std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix("data-"))
                        .and_then(|n| n.parse::<u64>().ok())
                })
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
        + 1
}

fn set_current(root: &Path, data: &Path) -> Result<()> {
    let name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_atomic(&root.join("CURRENT"), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::pack_merges;

    #[test]
    fn merges_are_packed_under_the_cap() {
        // A level of eight segments the log policy would merge at once.
        let level: Vec<(char, u32)> = "abcdefgh"
            .chars()
            .zip([30, 5, 20, 30, 5, 5, 1, 30])
            .collect();
        let merges = pack_merges(vec![level.clone()], 64);
        let docs = |m: &[char]| -> u32 {
            m.iter()
                .map(|c| level.iter().find(|l| l.0 == *c).unwrap().1)
                .sum()
        };
        assert!(
            merges.iter().all(|m| m.len() >= 2 && docs(m) <= 64),
            "{merges:?}"
        );
        // Largest first: 30 + 30; 30 + 20 + 5 + 5; the rest, 5 + 1.
        let sizes: Vec<u32> = merges.iter().map(|m| docs(m)).collect();
        assert_eq!(sizes, vec![60, 60, 6]);
        assert_eq!(merges.iter().map(Vec::len).sum::<usize>(), 8);
        // A cap no pair fits under merges nothing; one under it merges all.
        assert!(pack_merges(vec![level.clone()], 10)
            .iter()
            .all(|m| docs(m) <= 10));
        assert_eq!(pack_merges(vec![level], 1000).len(), 1);
        assert!(pack_merges(Vec::<Vec<(u8, u32)>>::new(), 64).is_empty());
    }
}
