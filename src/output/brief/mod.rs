//! The rendering of a brief (a ranked `&[Insight]`, see
//! [`crate::insight::top`] and [`crate::insight::brief`]) as Markdown
//! ([`render_markdown`]), HTML ([`render_html`]) or JSON Lines
//! ([`render_json`]). Renderers never print: they return the text.
//!
//! ## Renderings
//!
//! Each insight leads with its statement ([`crate::insight::statement`]: the claim
//! in 1-3 cleaned sentences, `— Speaker` where known); the passage it comes
//! from and the link to hear it are one step away (in HTML the whole
//! passage is behind a `<details>`).
//!
//! - **Markdown** pastes into an email or a notes app: no HTML, transcript
//!   text escaped where Markdown would read it as markup (`\`, `*`, `_`,
//!   `[`, `]`, backticks, `<`, and `#`, `>`, `-`, `+` or `1.` at the start
//!   of a line), links only for http(s) URLs.
//! - **HTML** is one self-contained page: inline CSS, no scripts (a
//!   Content-Security-Policy forbids them as a second line of defence), no
//!   external resources; every string from a transcript or the profile is
//!   escaped (`&`, `<`, `>`, `"`, `'`), and only http(s) URLs become links.
//! - **JSON Lines**, one object per line, tagged by `type`; absent values are
//!   `null`, never missing keys:
//!   - `insight`: `{"type", "rank", "id", "score", "show", "episode_id",
//!     "title", "date", "speaker", "start_ms", "end_ms", "start", "path",
//!     "url", "link", "text", "statement", "why", "signals": {"relevance", "salience",
//!     "specificity", "noncontent", "score"}, "related": [...]}`; `id` is the
//!     chunk id as 16 hex digits (as in search), `start` is `HH:MM:SS`,
//!     `link` the deep link `url#t=SECONDS`, `text` the whole passage,
//!     `statement` its claim in 1-3 cleaned sentences
//!     ([`crate::insight::statement`]; its speaker is `speaker`), `why` the one-line
//!     reason shown to humans.
//!   - each `related` entry: `{"type": "related", "rank", "id", "similarity",
//!     "show", "episode_id", "title", "date", "speaker", "start_ms", "end_ms",
//!     "start", "path", "url", "link", "text", "shared_terms", "why"}`.
//!   - `summary`, last and always present: `{"type": "summary", "title",
//!     "date", "window", "interests", "episodes_scanned", "insights",
//!     "message"}`; `message` is the "nothing new" line of an empty brief,
//!     else `null`.
//!
//! An empty brief renders a friendly "Nothing new since …" in all three.

mod css;
mod html;
mod json;
mod markdown;

use super::{deep_link, time_range};
use crate::ingest::timestamp;
use crate::insight::statement::Statement;
use crate::insight::InsightSignals;
use crate::store::text::StoredChunk;

pub use html::render_html;
pub use json::render_json;
pub use markdown::render_markdown;

/// Passages are trimmed to about this many characters.
pub const PASSAGE_CHARS: usize = 600;
/// Related passages are quoted in about this many characters.
pub const EXCERPT_CHARS: usize = 300;

/// What a brief says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BriefMeta {
    /// Heading, e.g. "podsift brief".
    pub title: String,
    /// The brief's date, e.g. "2026-11-28".
    pub date: String,
    /// The profile's interests.
    pub interests: Vec<String>,
    /// The window as a phrase, e.g. "since 2026-11-27".
    pub window: String,
    /// Episodes considered.
    pub episodes_scanned: usize,
}

impl BriefMeta {
    /// The line an empty brief shows.
    pub fn nothing_new(&self) -> String {
        let window = if self.window.trim().is_empty() {
            "since the last brief"
        } else {
            self.window.trim()
        };
        format!(
            "Nothing new {window}: no new insights among {} episode{} scanned.",
            self.episodes_scanned,
            if self.episodes_scanned == 1 { "" } else { "s" }
        )
    }

    fn subtitle(&self, insights: usize) -> String {
        let mut parts = vec![self.date.clone()];
        if !self.window.trim().is_empty() {
            parts.push(self.window.trim().to_string());
        }
        parts.push(format!("{} episodes scanned", self.episodes_scanned));
        parts.push(format!(
            "{insights} insight{}",
            if insights == 1 { "" } else { "s" }
        ));
        parts.join(" · ")
    }
}

/// Why an insight ranks, in one line, e.g. `relevant to "developer tools"
/// (0.62) · quotable (0.84) · central to the episode (0.71) · specific
/// (0.80)`. The interest it matched best is named.
pub fn why_insight(s: &InsightSignals, interests: &[String]) -> String {
    let mut parts = Vec::new();
    match (s.interest.and_then(|i| interests.get(i)), interests) {
        (_, []) => {}
        (Some(one), _) => parts.push(format!("relevant to \"{one}\" ({:.2})", s.relevance)),
        (None, [one]) => parts.push(format!("relevant to \"{one}\" ({:.2})", s.relevance)),
        (None, _) => parts.push(format!("relevant to your interests ({:.2})", s.relevance)),
    }
    let quotable = if s.worth >= 0.5 { "quotable" } else { "worth" };
    parts.push(format!("{quotable} ({:.2})", s.worth));
    let salience = if s.salience >= 0.5 {
        "central to the episode"
    } else {
        "episode salience"
    };
    parts.push(format!("{salience} ({:.2})", s.salience));
    let specific = if s.specificity >= 0.5 {
        "specific"
    } else {
        "specificity"
    };
    parts.push(format!("{specific} ({:.2})", s.specificity));
    parts.join(" · ")
}

/// `text` with whitespace runs collapsed, trimmed to about `max_chars` at
/// the last sentence end (else word break) before the limit, with `…`.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        return flat;
    }
    let cut = flat
        .char_indices()
        .nth(max_chars)
        .map_or(flat.len(), |(i, _)| i);
    let head = &flat[..cut];
    // A sentence end in the second half of the budget, else the last space.
    let sentence = head
        .match_indices(['.', '?', '!'])
        .rev()
        .map(|(i, _)| i + 1)
        .find(|&i| head[i..].starts_with(' ') && head[..i].chars().count() >= max_chars / 2);
    let end = sentence.or_else(|| head.rfind(' ')).unwrap_or(cut);
    format!("{} …", head[..end].trim_end_matches([',', ';', ':', ' ']))
}

/// An http(s) URL we are willing to make a link of.
fn web_url(url: &str) -> Option<&str> {
    let u = url.trim();
    let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !u.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(u)
}

/// Where a passage can be heard: a web link, or a non-web locator as text.
enum Locator {
    Link { url: String, label: String },
    Text(String),
}

fn locator(c: &StoredChunk) -> Locator {
    let at = c.start_ms.map(timestamp::format_hms);
    match deep_link(c.url.as_deref(), c.start_ms) {
        Some(link) => match web_url(&link) {
            Some(u) => Locator::Link {
                url: u.to_string(),
                label: at.map_or("Listen".into(), |t| format!("Listen at {t}")),
            },
            None => Locator::Text(format!("link (not a web address): {link}")),
        },
        None => Locator::Text(match at {
            Some(t) => format!("source: {} at {t}", c.path),
            None => format!("source: {}", c.path),
        }),
    }
}

/// `date · speaker · time range`, the parts that exist.
fn passage_meta(c: &StoredChunk) -> Vec<String> {
    let mut parts = Vec::new();
    parts.extend(c.date.clone());
    parts.extend(c.speaker.clone().filter(|s| !s.trim().is_empty()));
    if c.start_ms.is_some() {
        parts.push(time_range(c.start_ms, c.end_ms));
    }
    parts
}

/// What a related passage is quoted by: its statement (the sentences that
/// carry its claim, cleaned, as an insight's), else its opening words.
fn related_quote(c: &StoredChunk) -> String {
    let s = Statement::of(&c.text, None);
    let text = if s.is_empty() { &c.text } else { &s.text };
    excerpt(text, EXCERPT_CHARS)
}

/// `title · HH:MM:SS`, for a related passage (its time when timed).
fn related_meta(c: &StoredChunk) -> Vec<String> {
    let mut parts = vec![c.title.clone()];
    parts.extend(c.start_ms.map(timestamp::format_hms));
    parts
}

#[cfg(test)]
mod tests;
