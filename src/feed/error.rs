//! Typed errors of the feed stage. Every variant names the URL or file that
//! failed, so one line on stderr tells the user which feed or episode it was.
//!
//! [`FeedError::is_transient`] decides what the HTTP client retries: network
//! trouble, timeouts and the statuses a server uses to say "later" (408,
//! 429, 5xx). Everything else (a 404, a body over the cap, a redirect loop,
//! bad XML) fails at once: retrying would give the same answer.

use std::io;
use std::path::PathBuf;

/// The feed stage's result type.
pub type Result<T, E = FeedError> = std::result::Result<T, E>;

/// Everything that can go wrong while following feeds.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The server answered with an error status.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The request did not finish within the timeout.
    #[error("{url}: no complete answer within {secs} s")]
    Timeout {
        /// The URL asked for.
        url: String,
        /// The timeout, in seconds.
        secs: f64,
    },
    /// The connection failed (DNS, refused, reset, TLS).
    #[error("{url}: {message}")]
    Network {
        /// The URL asked for.
        url: String,
        /// The client's message.
        message: String,
    },
    /// The redirect chain was longer than allowed (or looped).
    #[error("{url}: more than {max} redirects")]
    TooManyRedirects {
        /// The URL asked for.
        url: String,
        /// The limit.
        max: u32,
    },
    /// A redirect that is not followed: to anything but an http(s) URL with
    /// a host, or without a usable `Location`.
    #[error("{url}: {message}")]
    Redirect {
        /// The URL asked for.
        url: String,
        /// Where the server pointed (empty without a `Location`).
        to: String,
        /// What podsift did not follow, and why.
        message: String,
    },
    /// A local link that a feed may not make: outside the feed file's
    /// folder, or any local file from a feed on the web.
    #[error("{url}: {message}")]
    LocalFile {
        /// The link, resolved.
        url: String,
        /// Why it is refused.
        message: String,
        /// Whether the user may allow it (a local feed linking outside its
        /// folder), as opposed to never (a feed on the web).
        allowable: bool,
    },
    /// podsift itself failed on this feed (a bug); the other feeds went on.
    #[error("{url}: podsift failed on this feed (an internal error: {message}); the other feeds went on")]
    Internal {
        /// The feed's URL.
        url: String,
        /// The panic's message.
        message: String,
    },
    /// The body was larger than the cap for its kind.
    #[error("{url}: larger than the {limit}-byte cap")]
    TooLarge {
        /// The URL asked for.
        url: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// A URL we cannot or will not fetch.
    #[error("{url}: {message}")]
    BadUrl {
        /// The URL as written.
        url: String,
        /// Why.
        message: String,
    },
    /// The document is not an RSS feed we can read.
    #[error("{url}: not a readable RSS feed: {message}")]
    Xml {
        /// The feed's URL.
        url: String,
        /// The parser's message.
        message: String,
    },
    /// The feed declares XML entities: refused, never expanded.
    #[error("{url}: the feed declares XML entities (<!ENTITY ...>); podsift never expands them and refuses the feed")]
    EntityDeclaration {
        /// The feed's URL.
        url: String,
    },
    /// A downloaded transcript is not the format it claims, or not a
    /// transcript at all.
    #[error("{url}: not a usable transcript: {message}")]
    Transcript {
        /// The transcript's URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// An episode's audio could not be transcribed.
    #[error("{url}: transcribing the audio: {source}")]
    Transcribe {
        /// The audio's URL.
        url: String,
        /// Why.
        #[source]
        source: Box<crate::transcribe::TranscribeError>,
    },
    /// A chapters document that is not Podcasting 2.0 JSON chapters.
    #[error("{url}: not JSON chapters: {message}")]
    Chapters {
        /// The chapters' URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// An OPML file that cannot be read.
    #[error("{}: not a readable OPML file: {message}", path.display())]
    Opml {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The feed list file is damaged.
    #[error("{}: {message}; fix or delete it (then add the feeds again)", path.display())]
    BadList {
        /// The feed list file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No feed with this name is followed.
    #[error("no feed named '{0}'")]
    NoSuchFeed(String),
    /// The name is taken by another feed.
    #[error("a feed named '{name}' is already followed ({url})")]
    NameTaken {
        /// The name.
        name: String,
        /// The feed that has it.
        url: String,
    },
    /// The URL is followed already.
    #[error("{url} is already followed as '{name}'")]
    AlreadyFollowed {
        /// The feed's name.
        name: String,
        /// Its URL.
        url: String,
    },
    /// A user-supplied value is invalid.
    #[error("{what}: {message}")]
    Invalid {
        /// Which value.
        what: String,
        /// Why.
        message: String,
    },
}

impl FeedError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> FeedError {
        FeedError::Io {
            path: path.into(),
            source,
        }
    }

    /// An invalid user value.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> FeedError {
        FeedError::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }

    /// Whether trying the same request again later might succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            FeedError::Timeout { .. } | FeedError::Network { .. } => true,
            FeedError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }
}
