//! The store's write side: the one [`Writer`] of an index, its [`Lock`],
//! and how it commits (the protocol is in [`super`]'s doc): new vector
//! segments and state file first, then tantivy's commit, then the manifest;
//! segments are merged under caps that keep the writer's memory flat.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::manifest::Manifest;
use super::state::{EpisodeEntry, FileEntry, Partial, Payload, SegmentRef, State};
use super::text::{self, Fields, StoredChunk};
use super::vectors::{self, Row, Segment};
use super::write_atomic;
use super::{current_data, not_loading, open_segments, open_tantivy, read_payload, read_state};
use crate::error::{Error, Remedy, Result};

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
                .delete_term(Term::from_field_u64(self.fields.chunk_id, c.id.0));
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

    /// Record the speakers `episode`'s passages name (sorted, each once),
    /// written with the next commit.
    pub fn set_speakers(&mut self, episode: &str, speakers: Vec<String>) {
        if let Some(e) = self.state.episodes.get_mut(episode) {
            if e.speakers.as_ref() != Some(&speakers) {
                e.speakers = Some(speakers);
                self.dirty = true;
            }
        }
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
                id: c.id.0,
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
