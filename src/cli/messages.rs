//! Per-item messages on stderr that mark the run as failed but let it go on
//! (ripgrep's `messages.rs`): a file that cannot be indexed is one line
//! `path:line: reason`, and the command exits 2 at the end.

use std::sync::atomic::{AtomicBool, Ordering};

use podsift::error::Error;

static ERRORED: AtomicBool = AtomicBool::new(false);

/// Whether any per-item error was reported.
pub fn errored() -> bool {
    ERRORED.load(Ordering::Relaxed)
}

/// Report a per-item error: one line on stderr.
pub fn error(e: &Error) {
    ERRORED.store(true, Ordering::Relaxed);
    eprintln!("{}", one_line(e));
}

/// An error as one line: `path:line: reason` for parse errors (the library's
/// `Display`), `path: reason` for I/O.
pub fn one_line(e: &Error) -> String {
    e.to_string().replace('\n', " ")
}

/// Report a warning about a file.
pub fn warning(path: &std::path::Path, line: usize, message: &str) {
    if line > 0 {
        eprintln!("{}:{line}: warning: {message}", path.display());
    } else {
        eprintln!("{}: warning: {message}", path.display());
    }
}
