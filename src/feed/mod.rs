//! Following podcasts: RSS feeds in, transcripts in a library folder out,
//! ready for the indexer.
//!
//! The stage, one module per part:
//! - [`list`]: the followed feeds and what is remembered about each
//!   (`<index>/feeds.json`), and the scan lock.
//! - [`http`]: every request, with its limits (timeout, size cap, redirects,
//!   retries with backoff, `User-Agent: podsift/<version>`), conditional
//!   requests, local `file://` feeds.
//! - [`parse`]: RSS + the Podcasting 2.0 namespace → [`parse::Feed`]; XML
//!   entities are never expanded.
//! - [`select`]: which transcript link to take (language, then JSON > VTT >
//!   SRT > HTML > text, `rel="captions"` honoured).
//! - [`chapters`]: Podcasting 2.0 JSON chapters.
//! - [`audio`]: downloading an episode's audio for transcription (streamed
//!   to disk, capped, resumable).
//! - [`library`]: `library/<show>/<date>-<slug>.<ext>` and its
//!   `.meta.json` sidecar, written atomically.
//! - [`opml`]: subscription lists exported by podcast apps.
//! - [`scan`]: one scan of every feed, reporting per feed.
//!
//! Input → output: a [`list::FeedList`] and the network → files in the
//! library and an updated list. The library never prints: [`scan::scan`]
//! returns a [`scan::ScanReport`] and calls back per feed. It does not index;
//! the caller indexes the library folder with [`crate::indexer::run`], which
//! reads the sidecars like any other metadata.
//!
//! podsift makes no network request except to the feeds the user added and
//! the links inside them (and a model download the user asked for, in
//! [`crate::embed`]).

pub mod audio;
pub mod chapters;
pub mod error;
pub mod http;
pub mod library;
pub mod list;
pub mod opml;
pub mod parse;
pub mod scan;
pub mod select;

pub use error::{FeedError, Result};
