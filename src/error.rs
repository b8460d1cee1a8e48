//! Typed errors of the library. Every variant names what failed; where the
//! user can fix it, the variant carries what the fix needs (a [`Remedy`], a
//! [`Setting`], the models involved) and the binary words the advice in its
//! own terms (its commands and flags: `src/cli/advice.rs`). The library's
//! messages name no command-line flag.
//!
//! The binary adds context with `anyhow` and prints `podsift: {err:#}`.

use std::io;
use std::path::PathBuf;

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A transcript could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The model failed to load or run.
    #[error("{what}: {source}")]
    Model {
        /// What was being done ("loading weights", "forward pass").
        what: &'static str,
        /// candle's error.
        #[source]
        source: candle_core::Error,
    },
    /// The tokenizer failed to load or run.
    #[error("tokenizer {}: {message}", path.display())]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// The tokenizers crate's message.
        message: String,
    },
    /// A model configuration file is invalid.
    #[error("{}: {message}", path.display())]
    ModelConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No model files could be found or downloaded.
    #[error("no model '{model}' found (looked in: {})", tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoModel {
        /// The model asked for.
        model: String,
        /// The places looked at.
        tried: Vec<PathBuf>,
    },
    /// Downloading the model from the hub failed.
    #[error("downloading model '{model}': {message}")]
    Download {
        /// The model id.
        model: String,
        /// hf-hub's message.
        message: String,
    },
    /// The requested device is not available.
    #[error("device {device}: {message}")]
    Device {
        /// The device asked for.
        device: String,
        /// Why it is not available.
        message: String,
    },
    /// The full-text index failed.
    #[error("full-text index: {0}")]
    Index(#[from] IndexError),
    /// The index was built with another model.
    #[error("the index at {} was built with model '{index_model}', not '{requested_model}'", index.display())]
    IndexMismatch {
        /// The index folder.
        index: PathBuf,
        /// Model recorded in the index.
        index_model: String,
        /// Model asked for now.
        requested_model: String,
    },
    /// No index exists where one was expected.
    #[error("no index at {}", .0.display())]
    NoIndex(PathBuf),
    /// The index is damaged or from an incompatible version.
    #[error("index at {}: {problem}", index.display())]
    Corrupt {
        /// The index folder.
        index: PathBuf,
        /// What is wrong.
        problem: String,
        /// What the user can do.
        remedy: Remedy,
    },
    /// The disk that holds a file podsift writes is full. Nothing committed
    /// is lost: every write goes to a temporary file first.
    #[error("no space left on the device holding {}; fix: free some space, then run the same command again (what was committed before is intact)", path.display())]
    NoSpace {
        /// The file or folder being written.
        path: PathBuf,
    },
    /// A file or folder podsift must write is on a read-only file system or
    /// not writable by this user.
    #[error("cannot write to {} ({reason})", path.display())]
    NotWritable {
        /// The file or folder.
        path: PathBuf,
        /// "read-only file system" or "permission denied".
        reason: &'static str,
    },
    /// Another process holds the index's write lock.
    #[error("index at {} is being written by another podsift process (pid {pid}); wait for it to finish", index.display())]
    Locked {
        /// The index folder.
        index: PathBuf,
        /// The holder's pid as it wrote it in the lock file, if readable.
        pid: String,
    },
    /// The file's format is not one we read.
    #[error("{}: unsupported format", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// A chunk id that is not in the index.
    #[error("no passage with id {0} in the index")]
    NoSuchChunk(String),
    /// A PostgreSQL store could not be reached, or answered with an error
    /// (its message is cleaned of control characters when printed).
    #[error("PostgreSQL store {url}: {what}")]
    Postgres {
        /// The URL, password hidden.
        url: String,
        /// What podsift was doing.
        what: &'static str,
        /// The driver's error (the server's message among its causes).
        #[source]
        source: postgres::Error,
    },
    /// A PostgreSQL store whose schema or contents this podsift cannot use
    /// as asked.
    #[error("PostgreSQL store {url}: {message}")]
    StoreSchema {
        /// The URL, password hidden.
        url: String,
        /// What is wrong.
        message: String,
        /// What fixes it, where a command does.
        remedy: Option<Remedy>,
    },
    /// A setting the user chose (a flag of the binary) is invalid.
    #[error("{setting}: {message}")]
    Setting {
        /// Which setting.
        setting: Setting,
        /// Why.
        message: String,
    },
    /// A user-supplied value (a file's line, a profile's field) is invalid.
    #[error("{what}: {message}")]
    Invalid {
        /// Which value.
        what: String,
        /// Why.
        message: String,
    },
}

impl Error {
    /// An I/O error on `path`. A full disk and a read-only file system,
    /// which can only come from a write, become [`Error::NoSpace`] and
    /// [`Error::NotWritable`], whose messages say what to do.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        let path = path.into();
        match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::NoSpace { path },
            io::ErrorKind::ReadOnlyFilesystem => Error::NotWritable {
                path,
                reason: "read-only file system",
            },
            _ => Error::Io { path, source },
        }
    }

    /// A candle error while doing `what`.
    pub fn model(what: &'static str) -> impl FnOnce(candle_core::Error) -> Error {
        move |source| Error::Model { what, source }
    }

    /// An invalid value of the setting `setting`.
    pub fn setting(setting: Setting, message: impl Into<String>) -> Error {
        Error::Setting {
            setting,
            message: message.into(),
        }
    }

    /// An invalid user value.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }
}

/// What fixes a damaged or incompatible index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Build the index again from the transcripts.
    Rebuild,
    /// A newer podsift wrote it: upgrade, or rebuild with this one.
    UpgradeOrRebuild,
    /// The folder's permissions stop podsift reading it.
    CheckPermissions,
    /// A PostgreSQL store's schema is older than this podsift's: migrate it.
    InitStore,
}

/// A setting of a search, a device or a store, named by what it means; the
/// binary shows it as its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The speaker filter.
    Speaker,
    /// The first day of the date filter.
    Since,
    /// The last day of the date filter.
    Until,
    /// The search mode.
    Mode,
    /// The compute device.
    Device,
    /// The read-only role of a PostgreSQL store.
    ReaderRole,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Setting::Speaker => "speaker",
            Setting::Since => "since",
            Setting::Until => "until",
            Setting::Mode => "mode",
            Setting::Device => "device",
            Setting::ReaderRole => "reader role",
        })
    }
}

/// An error of the engine under the full-text index, opaque to all but the
/// store (which converts its engine's errors into [`Error::Index`]): its
/// message and sources are the engine's own. Boxed so that this module
/// names no engine, and a second backend's errors fit too.
#[derive(Debug)]
pub struct IndexError(Box<dyn std::error::Error + Send + Sync>);

impl IndexError {
    /// Wrap an engine's error.
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> IndexError {
        IndexError(Box::new(e))
    }
}

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IndexError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// A transcript file that cannot be read as its format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {kind}", path.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "<input>".into()))]
pub struct ParseError {
    /// The file, once known (parsers work on `&str` and leave it `None`).
    pub path: Option<PathBuf>,
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// An error at `line` with no path yet.
    pub fn new(line: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            path: None,
            line,
            kind,
        }
    }
}

/// The kinds of parse failure, so tests can match on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A WebVTT file without the `WEBVTT` header.
    #[error("missing WEBVTT header")]
    MissingHeader,
    /// A timestamp that does not parse.
    #[error("bad timestamp '{0}'")]
    BadTimestamp(String),
    /// JSON that is not one of the transcript shapes we read.
    #[error("JSON is not a transcript (expected Podcasting 2.0 segments, Whisper segments or a chat array)")]
    UnknownJsonShape,
    /// Invalid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Invalid YAML front matter.
    #[error("invalid front matter: {0}")]
    FrontMatter(String),
    /// A file of a transcript format that holds no transcript (a topic index,
    /// a README): ignored rather than reported as broken.
    #[error("not a transcript (no speaker turns or timestamps)")]
    NotTranscript,
    /// The file holds no speech at all.
    #[error("no transcript text found")]
    Empty,
    /// The file looks binary.
    #[error("binary data, not a transcript")]
    Binary,
    /// The file is larger than we read.
    #[error("file too large ({0} bytes; the limit is {1} bytes)")]
    TooLarge(u64, u64),
}
