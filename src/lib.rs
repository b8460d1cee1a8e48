//! # podsift: local, offline semantic search over podcast transcripts
//!
//! The pipeline, one module per stage: transcript files are read and parsed
//! into cues ([`ingest`]), cut into passages ([`chunk`]), embedded
//! ([`embed`]) and stored with their text ([`store`]); queries are answered by
//! a keyword arm and a dense arm fused into moments ([`rank`]) and printed
//! ([`output`]). [`indexer`] drives the write side.
//!
//! ## Glossary
//! - **Episode**: one source transcript file and its metadata (id, title,
//!   show, date, url, path).
//! - **Transcript**: an episode plus its cues.
//! - **Cue**: one timed unit of speech (start, end, speaker, text); the WebVTT
//!   term.
//! - **Chunk** (passage): a run of sentences of one episode; the unit indexed.
//! - **ChunkId**: the stable u64 that joins keyword hits, vectors and text.
//! - **Hit**: a ranked result (a moment: a chunk, possibly merged with
//!   overlapping ones of the same episode) with its signals.
//! - **Ranked**: `(ChunkId, score)` in rank order, one arm's output.
//! - **Store**: our on-disk index (full-text index + vector segments +
//!   state); the only module that knows the full-text engine.
//! - **Feed**: an RSS feed the user follows; its items' transcripts are
//!   downloaded into the **library** (`library/<show>/`) with a sidecar each.
//! - **Centre** and **trail** (explorer): the passage being read, and the
//!   hops through related passages that led to it.
//!
//! ## Modules
//! - [`transcript`]: the data model parsers produce.
//! - [`ingest`]: formats, parsers, metadata, walking folders, duplicates.
//! - [`chunk`]: sentences, token budget, overlap, stable ids.
//! - [`embed`]: model files, device, candle BERT, pooling.
//! - [`store`]: full-text schema and queries, vector segments, crash-safe
//!   commits.
//! - [`indexer`]: incremental updates of a store from folders.
//! - [`rank`]: BM25, dense, fusion, filters, moment merging.
//! - [`feed`]: following RSS feeds, downloading new transcripts into a library.
//! - [`insight`]: non-content detection, related passages, top insights, the daily brief.
//! - [`mail`]: the brief by email: `[email]` settings, the message, SMTP delivery.
//! - [`explore`]: the terminal explorer's state machine, rendering and task backend.
//! - [`transcribe`]: Whisper on candle: audio in, timed cues and WebVTT out,
//!   for podcasts that publish no transcript.
//! - [`output`]: human and JSON Lines printers, and the one step that
//!   cleans control characters from everything printed.
//! - [`value`]: parsing the values a user types (dates, spans, limits).
//! - [`eval`]: retrieval quality metrics (BEIR, podcast moments).
//! - [`error`]: typed errors.

#![warn(missing_docs)]

pub mod chunk;
pub mod embed;
pub mod error;
pub mod eval;
pub mod explore;
pub mod feed;
pub mod indexer;
pub mod ingest;
pub mod insight;
pub mod mail;
pub mod output;
pub mod rank;
pub mod store;
pub mod transcribe;
pub mod transcript;
pub mod value;
