//! Printing results. Results are computed once ([`crate::rank::search`]
//! returns hits and a summary) and the printer only formats them: human text
//! for a terminal, or JSON Lines with one schema ([`json`]). Printers write to
//! any `io::Write`, so tests print into a `Vec<u8>`. Nothing from outside
//! reaches a terminal with its control characters: [`safe`] is the one
//! cleaning step every human, Markdown and JSON writer goes through.

pub mod brief;
pub mod human;
pub mod json;
pub mod lines;
pub mod safe;

use std::io::{self, Write};

use crate::ingest::timestamp;
use crate::rank::{Hit, Summary};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human text; `color` adds ANSI colour.
    Human {
        /// Use colour.
        color: bool,
        /// Show each hit's signals.
        explain: bool,
    },
    /// JSON Lines.
    Json,
}

/// A printer over `W`.
pub enum Printer<W: Write> {
    /// Human.
    Human(human::Human<W>),
    /// JSON Lines.
    Json(json::Json<W>),
}

impl<W: Write> Printer<W> {
    /// A printer of `format` writing to `out`.
    pub fn new(format: OutputFormat, out: W) -> Printer<W> {
        match format {
            OutputFormat::Human { color, explain } => {
                Printer::Human(human::Human::new(out, color, explain))
            }
            OutputFormat::Json => Printer::Json(json::Json::new(out)),
        }
    }

    /// Print search hits for `query`, then the summary.
    pub fn hits(
        &mut self,
        query: &str,
        kind: json::HitKind,
        hits: &[Hit],
        summary: &Summary,
    ) -> io::Result<()> {
        match self {
            Printer::Human(p) => p.hits(
                query,
                matches!(kind, json::HitKind::Related { .. }),
                hits,
                summary,
            ),
            Printer::Json(p) => p.hits(query, kind, hits, summary),
        }
    }

    /// The underlying writer.
    pub fn writer(&mut self) -> &mut W {
        match self {
            Printer::Human(p) => p.writer(),
            Printer::Json(p) => p.writer(),
        }
    }
}

/// `url#t=SECONDS`, the deep link to a moment.
pub fn deep_link(url: Option<&str>, start_ms: Option<u64>) -> Option<String> {
    let url = url?.trim();
    if url.is_empty() {
        return None;
    }
    let base = url.split('#').next().unwrap_or(url);
    Some(match start_ms {
        Some(ms) => format!("{base}#t={}", ms / 1000),
        None => base.to_string(),
    })
}

/// `HH:MM:SS-HH:MM:SS` (or `--:--` when untimed).
pub fn time_range(start: Option<u64>, end: Option<u64>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => format!("{}-{}", timestamp::format_hms(s), timestamp::format_hms(e)),
        (Some(s), None) => timestamp::format_hms(s),
        _ => "--:--:--".into(),
    }
}
