//! Per-item messages on stderr that mark the run as failed but let it go on
//! (ripgrep's `messages.rs`): a file that cannot be indexed is one line
//! `path:line: reason`, and the command exits 2 at the end.
//!
//! Every line the binary writes to stderr goes through [`errln!`], which
//! prints it as one line without control characters
//! ([`podsift::output::safe::line`]): file names, feed titles and a
//! server's error text come from outside.

/// `eprintln!` for everything the binary says on stderr: the message on one
/// line, its control characters removed.
macro_rules! errln {
    ($($arg:tt)*) => {
        eprintln!("{}", podsift::output::safe::line(&format!($($arg)*)))
    };
}

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
    errln!("{}", one_line(e));
}

/// An error as one line: `path:line: reason` for parse errors (the library's
/// `Display`), `path: reason` for I/O, with the advice for its kind
/// ([`super::advice`]).
pub fn one_line(e: &Error) -> String {
    super::advice::library(e).replace('\n', " ")
}

/// Report a warning about a file.
pub fn warning(path: &std::path::Path, line: usize, message: &str) {
    if line > 0 {
        errln!("{}:{line}: warning: {message}", path.display());
    } else {
        errln!("{}: warning: {message}", path.display());
    }
}
