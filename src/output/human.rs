//! Human output: one block per moment.
//!
//! ```text
//!  1  lennys-podcast · Seth Godin's best tactics for building… · 2024-12-08
//!     00:12:03-00:13:10  Seth Godin
//!     …the snippet, trimmed around the sentence with most query terms…
//!     id 1a2b3c4d5e6f7a8b  https://youtu.be/x#t=723
//! ```
//!
//! Query terms are highlighted by comparing analysed (stemmed, folded) words,
//! so "chips" in a query marks "chip" in the text. Colour only when asked
//! (the CLI asks on a terminal, unless `NO_COLOR` is set).
//!
//! Every field is cleaned of control characters ([`super::safe::line`])
//! before it is painted: this printer's colour codes are the only escape
//! sequences it writes, so the CLI gives it the terminal as it is.

use std::collections::HashSet;
use std::io::{self, Write};

use super::safe;
use crate::chunk::sentence_spans;
use crate::rank::{Hit, Summary};
use crate::store::text;

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const HL: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 320;

/// The human printer.
pub struct Human<W: Write> {
    out: W,
    color: bool,
    explain: bool,
    /// Printing related passages: say why each is related.
    related: bool,
}

/// Analysed terms of a text.
pub fn analysed_terms(s: &str) -> HashSet<String> {
    let mut a = text::analyzer();
    let mut stream = a.token_stream(s);
    let mut out = HashSet::new();
    while stream.advance() {
        out.insert(stream.token().text.clone());
    }
    out
}

/// The part of `passage` worth showing for `terms`: the sentence with the
/// most distinct query terms, grown with its neighbours up to `max_chars`.
pub fn snippet(passage: &str, terms: &HashSet<String>, max_chars: usize) -> String {
    let spans = sentence_spans(passage);
    if spans.is_empty() {
        return String::new();
    }
    let score = |r: &std::ops::Range<usize>| {
        let t = analysed_terms(&passage[r.clone()]);
        t.intersection(terms).count()
    };
    let best = (0..spans.len())
        .max_by(|&a, &b| score(&spans[a]).cmp(&score(&spans[b])).then(b.cmp(&a)))
        .unwrap_or(0);
    let (mut lo, mut hi) = (best, best);
    let len = |lo: usize, hi: usize| passage[spans[lo].start..spans[hi].end].chars().count();
    loop {
        let grew_after = hi + 1 < spans.len() && len(lo, hi + 1) <= max_chars;
        if grew_after {
            hi += 1;
        }
        let grew_before = lo > 0 && len(lo - 1, hi) <= max_chars;
        if grew_before {
            lo -= 1;
        }
        if !grew_after && !grew_before {
            break;
        }
    }
    let mut s: String = passage[spans[lo].start..spans[hi].end].to_string();
    if s.chars().count() > max_chars {
        s = s.chars().take(max_chars).collect::<String>() + "…";
    }
    let prefix = if lo > 0 { "…" } else { "" };
    let suffix = if hi + 1 < spans.len() && !s.ends_with('…') {
        "…"
    } else {
        ""
    };
    format!("{prefix}{s}{suffix}")
}

/// `text` with the words whose analysed form is in `terms` wrapped by
/// `open`/`close`.
pub fn highlight(text: &str, terms: &HashSet<String>, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let hit = analysed_terms(word).iter().any(|t| terms.contains(t));
        if hit {
            out.push_str(open);
            out.push_str(word);
            out.push_str(close);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

impl<W: Write> Human<W> {
    /// A printer to `out`.
    pub fn new(out: W, color: bool, explain: bool) -> Human<W> {
        Human {
            out,
            color,
            explain,
            related: false,
        }
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut W {
        &mut self.out
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    /// Print hits; a line to say there are none. Related passages (`related`)
    /// also say why they are related.
    pub fn hits(
        &mut self,
        query: &str,
        related: bool,
        hits: &[Hit],
        summary: &Summary,
    ) -> io::Result<()> {
        self.related = related;
        let terms = if related {
            HashSet::new()
        } else {
            analysed_terms(query)
        };
        for h in hits {
            self.hit(h, &terms)?;
        }
        if hits.is_empty() {
            writeln!(
                self.out,
                "no results for \"{}\" ({} passages searched)",
                safe::line(query),
                summary.passages
            )?;
        }
        self.out.flush()
    }

    /// Print one hit.
    pub fn hit(&mut self, h: &Hit, terms: &HashSet<String>) -> io::Result<()> {
        let c = &h.chunk;
        let mut head = format!("{} · {}", c.show, c.title);
        if let Some(d) = &c.date {
            head.push_str(&format!(" · {d}"));
        }
        let head = safe::line(&head);
        writeln!(self.out, "{:>2}  {}", h.rank, self.paint(BOLD, &head))?;
        let times = super::time_range(h.start_ms, h.end_ms);
        let mut speaker = c.speaker.clone().unwrap_or_default();
        if let Some(ch) = &c.chapter {
            speaker.push_str(&format!("  · {ch}"));
        }
        writeln!(
            self.out,
            "    {}  {}",
            self.paint(CYAN, &times),
            safe::line(speaker.trim())
        )?;
        let snip = safe::line(&snippet(&c.text, terms, SNIPPET_CHARS)).into_owned();
        let snip = if self.color {
            highlight(&snip, terms, HL, RESET)
        } else {
            snip
        };
        writeln!(self.out, "    {snip}")?;
        let mut tail = format!("id {}", c.chunk_id());
        if let Some(link) = super::deep_link(c.url.as_deref(), h.start_ms) {
            tail.push_str("  ");
            tail.push_str(&link);
        }
        writeln!(self.out, "    {}", self.paint(DIM, &safe::line(&tail)))?;
        if self.related {
            let mut why = format!("similar meaning ({:.2})", h.score);
            if !h.shared_terms.is_empty() {
                let terms: Vec<String> =
                    h.shared_terms.iter().map(|t| format!("\"{t}\"")).collect();
                why.push_str(&format!("; both mention {}", terms.join(", ")));
            }
            writeln!(self.out, "    {}", self.paint(DIM, &safe::line(&why)))?;
        }
        if self.explain {
            let s = &h.signals;
            let arm = |r: Option<usize>, v: Option<f32>| match (r, v) {
                (Some(r), Some(v)) => format!("#{r} ({v:.4})"),
                _ => "-".into(),
            };
            writeln!(
                self.out,
                "    {}",
                self.paint(
                    DIM,
                    &format!(
                        "keyword {}  semantic {}  fused {}",
                        arm(s.bm25_rank, s.bm25_score),
                        arm(s.dense_rank, s.dense_score),
                        s.fused.map_or("-".into(), |f| format!("{f:.5}"))
                    )
                )
            )?;
        }
        writeln!(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_centres_on_best_sentence() {
        let p = "Intro words here. More filler text. The custom chips save power. Outro.";
        let terms = analysed_terms("chip power");
        assert_eq!(snippet(p, &terms, 30), "…The custom chips save power.…");
        assert_eq!(snippet(p, &terms, 1000), p);
    }

    #[test]
    fn highlights_by_stem() {
        let terms = analysed_terms("chips");
        assert_eq!(
            highlight("Chip design.", &terms, "[", "]"),
            "[Chip] design."
        );
    }
}
