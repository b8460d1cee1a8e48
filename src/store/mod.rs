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
mod writer;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::chunk::ChunkId;
use crate::error::{Error, Remedy, Result};
use manifest::Manifest;
use state::{EpisodeEntry, FileEntry, Payload, State};
use text::{Fields, StoredChunk};
use vectors::Segment;

pub use query::{Filter, Filters, PassageRef};
pub use writer::{lock, Lock, Writer};

/// A passage whose stored non-content score (0..=1000, from
/// [`crate::insight::noncontent`]) is at or above this is flagged as not
/// content ([`Store::flagged`]): left out of searches unless asked for.
/// It lives with the store, which applies it to what it stores, so that
/// neither the store nor the query side imports the detector;
/// [`crate::insight::noncontent`] re-exports it.
pub const NONCONTENT_THRESHOLD: u64 = 500;

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
