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
//!    [`Signature`](crate::ingest::fingerprint::Signature) of word
//!    shingles, estimated Jaccard >= 0.8: another format cut into other
//!    cues, under another name, with small transcription differences) are
//!    one episode too; each group keeps its richest file (timed, then
//!    with speakers, then the most cues, then JSON > VTT > SRT > Markdown
//!    > HTML > text, then the path) and folds the others.
//! 4. **Apply**: episodes no longer wanted are removed; new and changed ones
//!    are parsed, chunked, embedded (batched across episodes, sorted by
//!    length) and added; the store commits every few thousand passages, so an
//!    interrupted run keeps what it finished.
//!
//! A file that cannot be read or parsed is reported through the [`Event`]
//! callback and skipped; if it was indexed before, its last good version
//! stays. The library prints nothing: the caller renders events.
//!
//! [`run`] is these stages in order, one function each: `plan` holds the
//! walk, the diff, the folding of duplicates, the collections and the
//! changes (all but the reading testable without a model), `apply` the
//! reading, chunking, embedding, scoring and staging of new episodes, and
//! `refresh` the last commit and the non-content pass across the
//! episodes of each show. [`open_writer`] opens the index the way `podsift
//! index` does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::chunk::ChunkConfig;
use crate::embed::{Embedder, ModelInfo};
use crate::error::{Error, Result};
use crate::ingest::showmeta::ShowMeta;
use crate::ingest::{self, walk::Candidate, Format};
use crate::insight::noncontent::Detector;
use crate::store::manifest::{Counts, Manifest, FORMAT_VERSION};
use crate::store::state::Outcome;
use crate::store::Writer;
use crate::transcript::{Episode, Transcript, Warning};

mod apply;
mod plan;
mod refresh;

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
/// Transcript text per part ([`crate::chunk::slices`]): about a thousand
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

/// Index `roots` into `writer`, stage by stage (see the module doc).
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
    let found = plan::walk(roots, &opts.exclude);
    for e in &found.errors {
        on_event(Event::Skipped(e));
        report.skipped += 1;
    }
    report.ignored += found.ignored.len();
    let old_files = writer.files().clone();
    let budget = ReadBudget::default();
    let mut diff = plan::diff(
        &found.candidates,
        &old_files,
        roots,
        &budget,
        on_event,
        &mut report,
    );
    let wanted = plan::fold(&mut diff.table);
    report.folded = diff
        .table
        .values()
        .filter(|e| matches!(e.outcome, Outcome::Folded { .. }))
        .count();
    report.ignored += diff
        .table
        .values()
        .filter(|e| e.outcome == Outcome::Ignored)
        .count();
    let collections = plan::collections(writer, &mut diff, &old_files, on_event, &mut report);
    let todo = plan::changes(writer, &wanted, &old_files, &diff, collections, &mut report);
    on_event(Event::Planned {
        episodes: todo.len(),
    });
    if !todo.is_empty() {
        writer.record_engine(embedder.engine_name());
    }
    let apply = apply::Apply {
        embedder,
        detector: &detector,
        opts,
        candidates: &diff.candidates,
        budget: &budget,
    };
    apply.add(writer, todo, on_event, &mut report)?;
    refresh::finish(writer, &old_files, on_event, &mut report)?;
    report.total_secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// How `podsift index` opens its index for writing.
#[derive(Debug, Clone, Default)]
pub struct WriterOptions {
    /// Build a new data folder; the old one serves until it is complete.
    pub rebuild: bool,
    /// Passage budget in tokens for a new index (default
    /// [`ChunkConfig::default`]).
    pub max_tokens: Option<usize>,
    /// Overlap between passages in tokens for a new index.
    pub overlap_tokens: Option<usize>,
    /// Context template put before each passage for embedding, for a new
    /// index.
    pub embed_context: Option<String>,
}

/// The manifest of the index at `root` that a run with `rebuild` would
/// add to (none for a rebuild or where there is no index yet): it names
/// the model the index was built with, which a run must load.
pub fn existing_manifest(root: &Path, rebuild: bool) -> Result<Option<Manifest>> {
    if rebuild {
        return Ok(None);
    }
    match crate::store::current_data(root)? {
        Some(data) => Ok(Some(Manifest::read(&data.join("manifest.json"), root)?)),
        None => Ok(None),
    }
}

/// Open the index at `root` for writing passages embedded by `model`:
/// an existing index keeps its chunking (and must have the same model); a
/// new one (or a rebuild) is made with the chunking `w` asks for.
pub fn open_writer(root: &Path, model: ModelInfo, w: &WriterOptions) -> Result<Writer> {
    let defaults = ChunkConfig::default();
    let max_tokens = w.max_tokens.unwrap_or(defaults.max_tokens);
    let chunk = ChunkConfig {
        max_tokens,
        overlap_tokens: w.overlap_tokens.unwrap_or(defaults.overlap_tokens),
        min_tokens: defaults.min_tokens.min(max_tokens / 2),
    };
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        model,
        chunk,
        embed_context: w.embed_context.clone().unwrap_or_default(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        generation: 0,
        counts: Counts::default(),
        engines: Vec::new(),
    };
    Writer::open(root, manifest, w.rebuild)
}

impl IndexOptions {
    /// The settings of a run over `writer`'s index: its chunking and
    /// embedding context, with the run's own exclusions and commit size.
    pub fn for_writer(writer: &Writer, exclude: Vec<String>, commit_rows: usize) -> IndexOptions {
        IndexOptions {
            chunk: writer.manifest().chunk,
            embed_context: writer.manifest().embed_context.clone(),
            exclude,
            commit_rows,
        }
    }
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
