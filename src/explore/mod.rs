//! The explorer behind `podsift explore`: search, read a moment in context,
//! and hop through related passages, in a terminal.
//!
//! Three parts, so that all of it but the terminal is plain, testable code:
//!
//! - [`state`]: the state machine. [`State::update`] takes an [`Action`] (a
//!   key, or the answer to a task) and returns [`Task`]s (search, read a
//!   passage's neighbours, find related passages, list episodes, open or
//!   copy a link). No I/O.
//! - [`view`]: drawing a `State` with ratatui onto any backend (a terminal,
//!   or `TestBackend` in tests and benchmarks).
//! - [`backend`]: answering tasks from a [`Store`](crate::store::Store)
//!   ([`StoreBackend`]), and [`drive`], which runs the state machine to rest
//!   synchronously.
//!
//! The terminal itself (raw mode, the alternate screen, reading keys, the
//! worker and model-loading threads, restoring the terminal on exit or
//! panic) is the binary's `cli/commands/explore.rs`; this module never
//! touches it. [`text`] holds the pure helpers: highlighting by analysed
//! terms, word wrapping, and the OSC 52 clipboard sequence.

pub mod backend;
pub mod state;
pub mod text;
pub mod view;

#[cfg(test)]
mod testkit;

pub use backend::{drive, drive_tasks, StoreBackend};
pub use state::{Action, Focus, Key, Load, ModelStatus, Settings, State, Task};
