//! The personalised brief: a profile (what the reader cares about), a state
//! file (what was already sent), and the rendering of a ranked
//! `&[Insight]` as Markdown, HTML or JSON Lines.
//!
//! Choosing the insights is [`super::top`]'s job and finding their related
//! passages [`super::related`]'s; this module only parses, remembers and
//! renders. It never prints and never reads the clock: the caller passes
//! `now` and the [`BriefMeta`].
//!
//! ## Profile (TOML)
//!
//! ```toml
//! interests = ["why cloud companies build their own AI chips", "developer tools"]  # required
//! follow = ["the-changelog"]   # optional: only these shows
//! mute = ["some-show"]         # optional: never these shows
//! related = 3                  # related insights per insight, 0 to 10 (default 3)
//! n = 5                        # insights per brief, 1 to 50 (default 5)
//! since = "7d"                 # optional: YYYY-MM-DD or a span (7d, 4w, 6m, 1y)
//!
//! [email]                      # optional: for `brief --send` (see crate::mail)
//! to = "me@example.com"
//! from = "podsift <me@example.com>"
//! smtp = "smtp://smtp.example.com:587"
//! tls = "starttls"             # or "tls" (implicit), "none" (loopback relay only)
//! password_env = "PODSIFT_SMTP_PASSWORD"
//! ```
//!
//! Unknown keys are errors (a typo such as `intrests` must not silently drop
//! the reader's interests). Every error names its 1-based line and the key.
//!
//! ## State (`brief-state.json`, in the index folder)
//!
//! `{"version": 1, "last_brief": "2026-11-28T07:00:00Z", "sent": [u64, ...],
//! "covered": ["episode id", ...]}`: the chunk ids sent as insights and the
//! episodes they came from. The next brief skips both, so it never repeats an
//! insight and never returns to an episode it already covered. Related
//! passages are not recorded: they come from the whole archive and may recur.
//!
//! ## Renderings
//!
//! Each insight leads with its statement ([`super::statement`]: the claim
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
//!     ([`super::statement`]; its speaker is `speaker`), `why` the one-line
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

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::statement::Statement;
use super::{Insight, InsightSignals, Related};
use crate::chunk::ChunkId;
use crate::error::{Error, Result};
use crate::ingest::timestamp;
use crate::output::{deep_link, safe, time_range};
use crate::store::text::StoredChunk;

/// Passages are trimmed to about this many characters.
pub const PASSAGE_CHARS: usize = 600;
/// Related excerpts are trimmed to about this many characters.
pub const EXCERPT_CHARS: usize = 200;

// ---------------------------------------------------------------- profile

/// What a reader wants in their brief, from `profile.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// What the reader cares about, in their words (never empty).
    pub interests: Vec<String>,
    /// Only these shows (empty: all shows).
    pub follow: Vec<String>,
    /// Never these shows.
    pub mute: Vec<String>,
    /// Related insights per insight, 0..=10.
    pub related: usize,
    /// Insights per brief, 1..=50.
    pub n: usize,
    /// The window: `YYYY-MM-DD` or a span like `7d` (the grammar of
    /// `--since`), unresolved; `None` means "since the last brief".
    pub since: Option<String>,
    /// Where `brief --send` delivers the brief (the `[email]` table).
    pub email: Option<crate::mail::EmailSettings>,
}

impl Profile {
    /// Whether passages of `show` may appear: followed (or no follow list)
    /// and not muted.
    pub fn wants_show(&self, show: &str) -> bool {
        (self.follow.is_empty() || self.follow.iter().any(|s| s == show))
            && !self.mute.iter().any(|s| s == show)
    }
}

/// A profile that cannot be used: where, which key, and why.
///
/// Displays as `line N: message`; [`ProfileError::located`] gives the
/// compiler-style `profile.toml:N: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ProfileError {
    /// 1-based line of the problem.
    pub line: usize,
    /// The key at fault, when there is one (not for TOML syntax errors).
    pub key: Option<String>,
    /// What is wrong, naming the key.
    pub message: String,
}

impl ProfileError {
    /// `PATH:LINE: message`.
    pub fn located(&self, path: &Path) -> String {
        format!("{}:{}: {}", path.display(), self.line, self.message)
    }
}

const PROFILE_KEYS: [&str; 7] = [
    "interests",
    "follow",
    "mute",
    "related",
    "n",
    "since",
    "email",
];

/// Parse and validate a profile.
///
/// ```
/// let p = podsift::insight::brief::parse_profile("interests = [\"chips\"]\nrelated = 2\n").unwrap();
/// assert_eq!((p.interests.len(), p.related, p.n), (1, 2, 5));
/// let e = podsift::insight::brief::parse_profile("interests = [\"chips\"]\nrelated = 11\n").unwrap_err();
/// assert_eq!(e.to_string(), "line 2: key 'related' must be an integer from 0 to 10 (got 11)");
/// ```
pub fn parse_profile(text: &str) -> Result<Profile, ProfileError> {
    let doc = DeTable::parse(text).map_err(|e| ProfileError {
        line: line_of(text, e.span().map_or(0, |s| s.start)),
        key: None,
        message: format!("invalid TOML: {}", e.message().trim()),
    })?;
    let mut profile = Profile {
        interests: Vec::new(),
        follow: Vec::new(),
        mute: Vec::new(),
        related: 3,
        n: 5,
        since: None,
        email: None,
    };
    let mut has_interests = false;
    // In source order, so the first problem in the file is the one reported.
    let mut entries: Vec<_> = doc.get_ref().iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (k, v) in entries {
        let key = k.get_ref().as_ref();
        let at = |span: Range<usize>, message: String| ProfileError {
            line: line_of(text, span.start),
            key: Some(key.to_string()),
            message,
        };
        match key {
            "interests" => {
                let must = "key 'interests' must be a non-empty array of non-empty strings";
                profile.interests = strings(v, |s, got| at(s, format!("{must}{got}")))?;
                if profile.interests.is_empty() {
                    return Err(at(v.span(), format!("{must} (got an empty array)")));
                }
                has_interests = true;
            }
            "follow" | "mute" => {
                let must = format!("key '{key}' must be an array of show slugs");
                let shows = strings(v, |s, got| at(s, format!("{must}{got}")))?;
                match key {
                    "follow" => profile.follow = shows,
                    _ => profile.mute = shows,
                }
            }
            "related" => {
                profile.related = integer(v, 0, 10, |s, m| at(s, format!("key 'related' {m}")))?
            }
            "n" => profile.n = integer(v, 1, 50, |s, m| at(s, format!("key 'n' {m}")))?,
            "since" => {
                let must =
                    "key 'since' must be a date (YYYY-MM-DD) or a span like \"1d\", \"7d\", \"4w\" (at most 100y)";
                // A bare TOML date (`since = 2026-11-01`) is as good as a string.
                let text = match v.get_ref() {
                    DeValue::String(s) => Some(s.trim().to_string()),
                    DeValue::Datetime(d) if d.time.is_none() => Some(d.to_string()),
                    _ => None,
                };
                match text {
                    Some(s) if is_since(&s) => profile.since = Some(s),
                    _ => return Err(at(v.span(), format!("{must} (got {})", kind(v.get_ref())))),
                }
            }
            "email" => profile.email = Some(crate::mail::parse_settings(text, v)?),
            other => {
                let hint = match PROFILE_KEYS
                    .iter()
                    .find(|known| edit_distance(other, known) <= 2)
                {
                    Some(known) => format!("did you mean '{known}'?"),
                    None => format!("known keys: {}", PROFILE_KEYS.join(", ")),
                };
                return Err(at(k.span(), format!("unknown key '{other}' ({hint})")));
            }
        }
    }
    if !has_interests {
        return Err(ProfileError {
            line: 1,
            key: Some("interests".into()),
            message: "missing required key 'interests' (e.g. interests = [\"developer tools\"])"
                .into(),
        });
    }
    Ok(profile)
}

/// 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML value's kind, for "(got …)".
pub(crate) fn kind(v: &DeValue<'_>) -> String {
    match v {
        DeValue::Integer(i) => i.to_string(),
        DeValue::String(s) => format!("\"{s}\""),
        other => format!("a {}", other.type_str()),
    }
}

/// A non-empty-string array; `err(span, " (got …)")` otherwise.
fn strings(
    v: &Spanned<DeValue<'_>>,
    err: impl Fn(Range<usize>, String) -> ProfileError,
) -> Result<Vec<String>, ProfileError> {
    let Some(items) = v.get_ref().as_array() else {
        return Err(err(v.span(), format!(" (got {})", kind(v.get_ref()))));
    };
    let mut out = Vec::new();
    for item in items {
        match item.get_ref().as_str().map(str::trim) {
            Some(s) if !s.is_empty() => out.push(s.to_string()),
            Some(_) => return Err(err(item.span(), " (got an empty string)".into())),
            None => return Err(err(item.span(), format!(" (got {})", kind(item.get_ref())))),
        }
    }
    Ok(out)
}

/// An integer in `lo..=hi`.
fn integer(
    v: &Spanned<DeValue<'_>>,
    lo: i64,
    hi: i64,
    err: impl Fn(Range<usize>, String) -> ProfileError,
) -> Result<usize, ProfileError> {
    let must = format!("must be an integer from {lo} to {hi}");
    let Some(i) = v.get_ref().as_integer() else {
        return Err(err(v.span(), format!("{must} (got {})", kind(v.get_ref()))));
    };
    match i64::from_str_radix(i.as_str(), i.radix()) {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n as usize),
        _ => Err(err(v.span(), format!("{must} (got {i})"))),
    }
}

/// `YYYY-MM-DD` (or another date form ingest reads) or `N` + `d|w|m|y`, at
/// most 100 years ([`crate::value::date`]).
fn is_since(s: &str) -> bool {
    // Any day serves: the span limit keeps every day in range.
    let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    crate::value::date(s, day).is_ok()
}

/// Levenshtein distance, for "did you mean".
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

// ------------------------------------------------------------------ state

/// What earlier briefs sent, so the next one never repeats itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BriefState {
    sent: BTreeSet<u64>,
    covered: BTreeSet<String>,
    last_brief: Option<DateTime<Utc>>,
}

/// The state file as stored; see the module doc.
#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    last_brief: Option<String>,
    sent: Vec<u64>,
    covered: Vec<String>,
}

const STATE_VERSION: u32 = 1;

impl BriefState {
    /// The state file's name.
    pub const FILE_NAME: &'static str = "brief-state.json";

    /// Where the state of the index at `index` lives: in its root folder,
    /// which `--rebuild` keeps (it swaps data folders under it).
    pub fn path_in(index: &Path) -> PathBuf {
        index.join(Self::FILE_NAME)
    }

    /// Read the state at `path`; a missing file is the empty state (no brief
    /// sent yet). A damaged file is an error that names it and the fix.
    pub fn load(path: &Path) -> Result<BriefState> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BriefState::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        let corrupt = |problem: String| {
            Error::invalid(
                path.display().to_string(),
                format!(
                    "not a valid brief state file ({problem}); delete it to start afresh \
                     (the next brief may then repeat insights already sent)"
                ),
            )
        };
        let file: StateFile = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        if file.version != STATE_VERSION {
            return Err(corrupt(format!(
                "version {}, this podsift reads version {STATE_VERSION}",
                file.version
            )));
        }
        let last_brief = match file.last_brief {
            None => None,
            Some(t) => Some(
                DateTime::parse_from_rfc3339(&t)
                    .map_err(|e| corrupt(format!("last_brief '{t}': {e}")))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(BriefState {
            sent: file.sent.into_iter().collect(),
            covered: file.covered.into_iter().collect(),
            last_brief,
        })
    }

    /// Write the state to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let file = StateFile {
            version: STATE_VERSION,
            last_brief: self
                .last_brief
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            sent: self.sent.iter().copied().collect(),
            covered: self.covered.iter().cloned().collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("plain data serialises");
        bytes.push(b'\n');
        crate::store::write_atomic(path, &bytes)
    }

    /// Remember `insights` as sent at `now`: their passages and episodes.
    pub fn record(&mut self, insights: &[Insight], now: DateTime<Utc>) {
        for i in insights {
            self.sent.insert(i.chunk.id);
            self.covered.insert(i.chunk.episode.clone());
        }
        self.last_brief = Some(now);
    }

    /// Whether passage `chunk_id` was sent as an insight.
    pub fn is_sent(&self, chunk_id: u64) -> bool {
        self.sent.contains(&chunk_id)
    }

    /// Whether a brief already covered `episode` (an episode id).
    pub fn is_covered(&self, episode: &str) -> bool {
        self.covered.contains(episode)
    }

    /// Whether `chunk` may appear in the next brief: not sent, and its
    /// episode not covered.
    pub fn is_new(&self, chunk: &StoredChunk) -> bool {
        !self.is_sent(chunk.id) && !self.is_covered(&chunk.episode)
    }

    /// When the last brief was recorded.
    pub fn last_brief(&self) -> Option<DateTime<Utc>> {
        self.last_brief
    }

    /// Passages sent so far.
    pub fn sent_count(&self) -> usize {
        self.sent.len()
    }
}

// -------------------------------------------------------------- rendering

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

/// `title · HH:MM:SS`, for a related passage (its time when timed).
fn related_meta(c: &StoredChunk) -> Vec<String> {
    let mut parts = vec![c.title.clone()];
    parts.extend(c.start_ms.map(timestamp::format_hms));
    parts
}

/// Escape transcript text for Markdown, inside a line: one line (whitespace
/// collapsed), no HTML, no emphasis, links or code spans; `&` only where it
/// would start an entity (`&amp;`), so "AT&T" stays readable as plain text.
fn md(s: &str) -> String {
    // Control characters (ESC, C1 CSI/OSC) would reach the terminal of
    // whoever reads the Markdown.
    let s = safe::line(s);
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(flat.len() + 8);
    for (i, ch) in flat.char_indices() {
        let entity = ch == '&' && {
            let rest = &flat[i + 1..];
            let name = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'));
            name.is_some_and(|n| n > 0 && rest[n..].starts_with(';'))
        };
        if entity || matches!(ch, '\\' | '`' | '*' | '_' | '[' | ']' | '<') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// [`md`] for text that starts a line, where `#`, `>`, `-`, `+`, `=` and
/// `1.`/`1)` would start a block.
fn md_line(s: &str) -> String {
    let mut out = md(s);
    let digits = out.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && out[digits..].starts_with(['.', ')']) {
        out.insert(digits, '\\');
    } else if out.starts_with(['#', '>', '-', '+', '=']) {
        out.insert(0, '\\');
    }
    out
}

/// A URL made safe inside Markdown's `(...)`.
fn md_url(u: &str) -> String {
    u.replace('"', "%22")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

fn md_locator(c: &StoredChunk) -> String {
    match locator(c) {
        Locator::Link { url, label } => format!("[{label}]({})", md_url(&url)),
        Locator::Text(t) => md_line(&t),
    }
}

/// The statement as a bold quote, attributed: `**“…”** — Speaker`, and a
/// blank line; nothing for an empty one.
fn md_statement(s: &Statement) -> String {
    if s.is_empty() {
        return String::new();
    }
    let by = s
        .speaker
        .as_deref()
        .map_or(String::new(), |p| format!(" — {}", md(p)));
    format!("**“{}”**{by}\n\n", md(&s.text))
}

/// The brief as Markdown.
pub fn render_markdown(insights: &[Insight], meta: &BriefMeta) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {} — {}\n", md(&meta.title), md(&meta.date));
    let _ = writeln!(o, "{}\n", md_line(&meta.subtitle(insights.len())));
    if !meta.interests.is_empty() {
        let list: Vec<String> = meta
            .interests
            .iter()
            .map(|i| format!("\"{}\"", md(i)))
            .collect();
        let _ = writeln!(o, "Interests: {}\n", list.join(", "));
    }
    if insights.is_empty() {
        let _ = writeln!(o, "{}", md_line(&meta.nothing_new()));
        return o;
    }
    for ins in insights {
        let c = &ins.chunk;
        let _ = writeln!(o, "---\n\n## {}. {}\n", ins.rank, md(&c.title));
        let _ = write!(o, "{}", md_statement(&ins.statement));
        let mut line = vec![format!("**{}**", md(&c.show))];
        line.extend(passage_meta(c).iter().map(|p| md(p)));
        let _ = writeln!(o, "{}  \n{}\n", line.join(" · "), md_locator(c));
        let _ = writeln!(o, "> {}\n", md_line(&excerpt(&c.text, PASSAGE_CHARS)));
        let _ = writeln!(
            o,
            "*Why this insight:* {}\n",
            md(&why_insight(&ins.signals, &meta.interests))
        );
        if !ins.related.is_empty() {
            let _ = writeln!(o, "**Related**\n");
            for r in &ins.related {
                let rc = &r.chunk;
                let mut line = vec![format!("**{}**", md(&rc.show))];
                line.extend(related_meta(rc).iter().map(|p| md(p)));
                line.push(md_locator(rc));
                let _ = writeln!(
                    o,
                    "- {}\n\n  “{}”\n\n  *Why related:* {}\n",
                    line.join(" · "),
                    md(&excerpt(&rc.text, EXCERPT_CHARS)),
                    md(&r.why())
                );
            }
        }
    }
    o.push_str("---\n\n*Made offline by podsift from your index.*\n");
    o
}

/// Escape for HTML text and attribute values.
fn h(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(ch),
            c if safe::is_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn html_locator(c: &StoredChunk) -> String {
    match locator(c) {
        Locator::Link { url, label } => {
            format!(
                "<a href=\"{}\" rel=\"noopener\" target=\"_blank\">▶&nbsp;{}</a>",
                h(&url),
                h(&label)
            )
        }
        Locator::Text(t) => format!("<span class=\"src\">{}</span>", h(&t)),
    }
}

const CSS: &str = "
:root{--fg:#1d1d1f;--muted:#5f6368;--bg:#fafaf7;--card:#fff;--line:#e3e1da;--accent:#b4451f;--quote:#f4f1ea}
@media (prefers-color-scheme:dark){:root{--fg:#e8e6e1;--muted:#a5a29b;--bg:#161615;--card:#201f1d;--line:#37352f;--accent:#f08a5d;--quote:#2a2825}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.55 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:46rem;margin:0 auto;padding:2rem 1.25rem 3rem}
header h1{margin:0 0 .25rem;font-size:1.9rem;letter-spacing:-.01em}
.sub{color:var(--muted);margin:0 0 .5rem}
.tags{margin:.5rem 0 1.5rem;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:.4rem}
.tags li{background:var(--quote);border:1px solid var(--line);border-radius:999px;padding:.1rem .7rem;font-size:.9rem}
article{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:10px;padding:1.1rem 1.3rem;margin:0 0 1.5rem}
article h2{margin:0 0 .3rem;font-size:1.3rem;line-height:1.3}
.rank{color:var(--accent);margin-right:.35rem}
.meta{color:var(--muted);font-size:.92rem;margin:0 0 .7rem}
.show{font-weight:600;color:var(--fg)}
blockquote{margin:.8rem 0;padding:.7rem 1rem;background:var(--quote);border-radius:8px;font-size:1.02rem}
a{color:var(--accent);text-decoration:none;font-weight:600;white-space:nowrap}
a:hover{text-decoration:underline}
.src{color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
.why{color:var(--muted);font-size:.9rem;margin:.6rem 0 0}
.why b,.rwhy b{color:var(--fg);font-weight:600}
.related h3{font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:1.2rem 0 .5rem}
.related ol{list-style:none;margin:0;padding:0}
.related li{border-top:1px solid var(--line);padding:.7rem 0 .2rem}
.related .meta{margin:0 0 .3rem}
.related p{margin:.2rem 0}
.ex{font-size:.95rem}
.rwhy{color:var(--muted);font-size:.85rem}
.empty{font-size:1.15rem;padding:2rem 1.3rem;text-align:center;background:var(--card);border:1px solid var(--line);border-radius:10px}
footer{color:var(--muted);font-size:.85rem;text-align:center;margin-top:2rem}
.statement{font-size:1.12rem;font-weight:600;margin:.5rem 0 .6rem}
.by{font-weight:400;color:var(--muted);white-space:nowrap}
details{margin:.6rem 0}
summary{cursor:pointer;color:var(--muted);font-size:.9rem}
";

/// The statement as a paragraph, attributed; nothing for an empty one.
fn html_statement(s: &Statement) -> String {
    if s.is_empty() {
        return String::new();
    }
    let by = s.speaker.as_deref().map_or(String::new(), |p| {
        format!(" <span class=\"by\">— {}</span>", h(p))
    });
    format!("<p class=\"statement\">“{}”{by}</p>\n", h(&s.text))
}

/// The brief as one self-contained HTML page.
pub fn render_html(insights: &[Insight], meta: &BriefMeta) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{} — {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<header>\n<h1>{}</h1>\n\
         <p class=\"sub\">{}</p>\n",
        h(&meta.title),
        h(&meta.date),
        h(&meta.title),
        h(&meta.subtitle(insights.len())),
    );
    if !meta.interests.is_empty() {
        o.push_str("<ul class=\"tags\" aria-label=\"Interests\">");
        for i in &meta.interests {
            let _ = write!(o, "<li>{}</li>", h(i));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</header>\n");
    if insights.is_empty() {
        let _ = writeln!(o, "<p class=\"empty\">{}</p>", h(&meta.nothing_new()));
    }
    for ins in insights {
        let c = &ins.chunk;
        let mut line = vec![format!("<span class=\"show\">{}</span>", h(&c.show))];
        line.extend(passage_meta(c).iter().map(|p| h(p)));
        let _ = write!(
            o,
            "<article id=\"insight-{rank}\">\n<h2><span class=\"rank\">{rank}.</span>{}</h2>\n\
             {statement}<p class=\"meta\">{}</p>\n\
             <details><summary>Whole passage</summary><blockquote>{}</blockquote></details>\n<p>{}</p>\n\
             <p class=\"why\"><b>Why this insight:</b> {}</p>\n",
            h(&c.title),
            line.join(" · "),
            h(&excerpt(&c.text, usize::MAX)),
            html_locator(c),
            h(&why_insight(&ins.signals, &meta.interests)),
            rank = ins.rank,
            statement = html_statement(&ins.statement),
        );
        if !ins.related.is_empty() {
            o.push_str("<section class=\"related\">\n<h3>Related from the archive</h3>\n<ol>\n");
            for r in &ins.related {
                let rc = &r.chunk;
                let mut line = vec![format!("<span class=\"show\">{}</span>", h(&rc.show))];
                line.extend(related_meta(rc).iter().map(|p| h(p)));
                line.push(html_locator(rc));
                let _ = writeln!(
                    o,
                    "<li><p class=\"meta\">{}</p>\
                     <p class=\"ex\">“{}”</p><p class=\"rwhy\"><b>Why related:</b> {}</p></li>",
                    line.join(" · "),
                    h(&excerpt(&rc.text, EXCERPT_CHARS)),
                    h(&r.why()),
                );
            }
            o.push_str("</ol>\n</section>\n");
        }
        o.push_str("</article>\n");
    }
    o.push_str(
        "<footer>Made offline by podsift from your index.</footer>\n</main>\n</body>\n</html>\n",
    );
    o
}

/// Signals as printed.
#[derive(Serialize)]
struct SignalsJson {
    relevance: f32,
    salience: f32,
    specificity: f32,
    noncontent: f32,
    score: f32,
}

/// The passage fields `insight` and `related` lines share.
#[derive(Serialize)]
struct PassageJson<'a> {
    id: String,
    show: &'a str,
    episode_id: &'a str,
    title: &'a str,
    date: Option<&'a str>,
    speaker: Option<&'a str>,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    start: Option<String>,
    path: &'a str,
    url: Option<&'a str>,
    link: Option<String>,
    text: &'a str,
}

impl<'a> PassageJson<'a> {
    fn new(c: &'a StoredChunk) -> Self {
        PassageJson {
            id: ChunkId(c.id).to_string(),
            show: &c.show,
            episode_id: &c.episode,
            title: &c.title,
            date: c.date.as_deref(),
            speaker: c.speaker.as_deref(),
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            start: c.start_ms.map(timestamp::format_hms),
            path: &c.path,
            url: c.url.as_deref(),
            link: deep_link(c.url.as_deref(), c.start_ms),
            text: &c.text,
        }
    }
}

#[derive(Serialize)]
struct RelatedJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    rank: usize,
    similarity: f32,
    #[serde(flatten)]
    passage: PassageJson<'a>,
    shared_terms: &'a [String],
    why: String,
}

#[derive(Serialize)]
struct InsightJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    rank: usize,
    score: f32,
    #[serde(flatten)]
    passage: PassageJson<'a>,
    statement: &'a str,
    why: String,
    signals: SignalsJson,
    related: Vec<RelatedJson<'a>>,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    date: &'a str,
    window: &'a str,
    interests: &'a [String],
    episodes_scanned: usize,
    insights: usize,
    message: Option<String>,
}

/// The brief as JSON Lines (schema in the module doc).
pub fn render_json(insights: &[Insight], meta: &BriefMeta) -> String {
    let mut o = String::new();
    for ins in insights {
        let s = &ins.signals;
        let line = InsightJson {
            kind: "insight",
            rank: ins.rank,
            score: s.score,
            passage: PassageJson::new(&ins.chunk),
            statement: &ins.statement.text,
            why: why_insight(s, &meta.interests),
            signals: SignalsJson {
                relevance: s.relevance,
                salience: s.salience,
                specificity: s.specificity,
                noncontent: s.noncontent,
                score: s.score,
            },
            related: ins
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| related_json(i + 1, r))
                .collect(),
        };
        o.push_str(&serde_json::to_string(&line).expect("plain data serialises"));
        o.push('\n');
    }
    let summary = SummaryJson {
        kind: "summary",
        title: &meta.title,
        date: &meta.date,
        window: &meta.window,
        interests: &meta.interests,
        episodes_scanned: meta.episodes_scanned,
        insights: insights.len(),
        message: insights.is_empty().then(|| meta.nothing_new()),
    };
    o.push_str(&serde_json::to_string(&summary).expect("plain data serialises"));
    o.push('\n');
    // serde_json passes DEL and C1 controls through raw.
    safe::json(&o).into_owned()
}

fn related_json(rank: usize, r: &Related) -> RelatedJson<'_> {
    RelatedJson {
        kind: "related",
        rank,
        similarity: r.similarity,
        passage: PassageJson::new(&r.chunk),
        shared_terms: &r.shared_terms,
        why: r.why(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::{InsightSignals, Related};

    // ------------------------------------------------------------ profile

    fn err(text: &str) -> ProfileError {
        parse_profile(text).expect_err("profile should be rejected")
    }

    #[test]
    fn profile_fixture_parses_every_key() {
        let p = parse_profile(include_str!("../../tests/fixtures/brief/profile.toml")).unwrap();
        assert_eq!(
            p.interests,
            [
                "why cloud companies build their own AI chips",
                "developer tools"
            ]
        );
        assert_eq!(p.follow, ["the-changelog", "lennys-podcast"]);
        assert_eq!(p.mute, ["some-show"]);
        assert_eq!((p.related, p.n, p.since.as_deref()), (2, 3, Some("7d")));
        assert!(p.wants_show("the-changelog"));
        assert!(!p.wants_show("other-show"));
    }

    #[test]
    fn profile_defaults_and_crlf() {
        let p = parse_profile("interests = [\"chips\"]\r\n").unwrap();
        assert_eq!((p.related, p.n, p.since.as_deref()), (3, 5, None));
        assert!(p.follow.is_empty() && p.mute.is_empty());
        assert!(p.wants_show("anything"));
        let p =
            parse_profile("interests = [\"a\"]\r\nmute = [\"x\"]\r\nsince = \"2026-11-01\"\r\n")
                .unwrap();
        assert!(!p.wants_show("x") && p.wants_show("y"));
        assert_eq!(p.since.as_deref(), Some("2026-11-01"));
    }

    #[test]
    fn profile_missing_interests() {
        for text in ["", "# nothing\n", "related = 2\nn = 3\n"] {
            let e = err(text);
            assert_eq!(
                (e.line, e.key.as_deref()),
                (1, Some("interests")),
                "{text:?}"
            );
            assert!(
                e.to_string()
                    .starts_with("line 1: missing required key 'interests'"),
                "{e}"
            );
        }
        let e = err("related = 2\n");
        assert_eq!(
            e.located(Path::new("profile.toml")),
            "profile.toml:1: missing required key 'interests' (e.g. interests = [\"developer tools\"])"
        );
    }

    #[test]
    fn profile_unknown_key_names_line_and_suggests() {
        let e = parse_profile(include_str!("../../tests/fixtures/brief/typo-profile.toml"))
            .unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (4, Some("intrests")));
        assert_eq!(
            e.to_string(),
            "line 4: unknown key 'intrests' (did you mean 'interests'?)"
        );
        let e = err("interests = [\"a\"]\ncolour = \"red\"\n");
        assert_eq!(e.line, 2);
        assert!(
            e.message
                .contains("known keys: interests, follow, mute, related, n, since"),
            "{e}"
        );
        // A table header is a key too.
        let e = err("interests = [\"a\"]\n\n[extra]\nx = 1\n");
        assert_eq!((e.line, e.key.as_deref()), (3, Some("extra")));
    }

    #[test]
    fn profile_related_range_and_type() {
        let e = err("interests = [\"a\"]\n\nrelated = 11\n");
        assert_eq!((e.line, e.key.as_deref()), (3, Some("related")));
        assert_eq!(
            e.to_string(),
            "line 3: key 'related' must be an integer from 0 to 10 (got 11)"
        );
        assert_eq!(err("interests = [\"a\"]\nrelated = -1\n").line, 2);
        let e = err("interests = [\"a\"]\nrelated = \"3\"\n");
        assert_eq!(
            e.message,
            "key 'related' must be an integer from 0 to 10 (got \"3\")"
        );
        let e = err("interests = [\"a\"]\nrelated = 2.5\n");
        assert_eq!(
            e.message,
            "key 'related' must be an integer from 0 to 10 (got a float)"
        );
        assert_eq!(
            parse_profile("interests = [\"a\"]\nrelated = 0\n")
                .unwrap()
                .related,
            0
        );
        let e = err("interests = [\"a\"]\nn = 0\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "key 'n' must be an integer from 1 to 50 (got 0)")
        );
    }

    #[test]
    fn profile_interests_shape() {
        let e = err("interests = []\n");
        assert_eq!((e.line, e.key.as_deref()), (1, Some("interests")));
        assert!(e.message.ends_with("(got an empty array)"), "{e}");
        let e = err("interests = \"developer tools\"\n");
        assert!(e.message.ends_with("(got \"developer tools\")"), "{e}");
        // The element's own line in a multi-line array.
        let e = err("interests = [\n  \"chips\",\n  42,\n]\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (
                3,
                "key 'interests' must be a non-empty array of non-empty strings (got 42)"
            )
        );
        let e = err("interests = [\"chips\", \"  \"]\n");
        assert!(e.message.ends_with("(got an empty string)"), "{e}");
        let e = err("interests = [\"a\"]\nfollow = \"the-changelog\"\n");
        assert_eq!((e.line, e.key.as_deref()), (2, Some("follow")));
        assert!(
            e.message
                .starts_with("key 'follow' must be an array of show slugs"),
            "{e}"
        );
        assert_eq!(
            err("interests = [\"a\"]\nmute = [1]\n").key.as_deref(),
            Some("mute")
        );
    }

    #[test]
    fn profile_since() {
        for ok in ["1d", "7d", "4w", "6m", "1y", "2026-11-27"] {
            let p = parse_profile(&format!("interests = [\"a\"]\nsince = \"{ok}\"\n")).unwrap();
            assert_eq!(p.since.as_deref(), Some(ok));
        }
        let p = parse_profile("interests = [\"a\"]\nsince = 2026-11-01\n").unwrap();
        assert_eq!(p.since.as_deref(), Some("2026-11-01"), "a bare TOML date");
        for bad in [
            "\"yesterday\"",
            "\"d\"",
            "\"7x\"",
            "7",
            "2026-11-01T07:00:00Z",
        ] {
            let e = err(&format!("interests = [\"a\"]\nsince = {bad}\n"));
            assert_eq!((e.line, e.key.as_deref()), (2, Some("since")), "{bad}");
            assert!(e.message.starts_with("key 'since' must be a date"), "{e}");
        }
    }

    #[test]
    fn profile_toml_syntax_errors_name_the_line() {
        let e = err("interests = [\"a\"]\nrelated = \n");
        assert_eq!((e.line, e.key.as_deref()), (2, None));
        assert!(e.message.starts_with("invalid TOML: "), "{e}");
        let e = err("interests = [\"a\"]\n\n\ninterests = [\"b\"]\n");
        assert_eq!(e.line, 4, "{e}");
        let e = err("interests = [\"a\"\n");
        assert!(e.message.starts_with("invalid TOML"), "{e}");
    }

    // -------------------------------------------------------------- state

    fn chunk(id: u64, show: &str, episode: &str, text: &str) -> StoredChunk {
        StoredChunk {
            id,
            episode: format!("{show}/{episode}"),
            show: show.into(),
            title: format!("Episode {episode}"),
            speaker: Some("Ada Lovelace".into()),
            text: text.into(),
            start_ms: Some(723_000),
            end_ms: Some(790_500),
            date: Some("2026-11-27".into()),
            url: Some(format!("https://example.com/{episode}.mp3")),
            path: format!("corpus/{show}/{episode}.vtt"),
            ..StoredChunk::default()
        }
    }

    fn insight(rank: usize, c: StoredChunk, related: Vec<Related>) -> Insight {
        Insight {
            rank,
            statement: Statement::of(&c.text, c.speaker.as_deref()),
            chunk: c,
            signals: InsightSignals {
                relevance: 0.62,
                salience: 0.71,
                specificity: 0.8,
                noncontent: 0.02,
                worth: 0.9,
                interest: Some(0),
                score: 0.68,
            },
            related,
        }
    }

    fn now(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn state_missing_file_is_empty_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = BriefState::path_in(dir.path());
        assert_eq!(path.file_name().unwrap(), "brief-state.json");
        let mut st = BriefState::load(&path).unwrap();
        assert_eq!(st, BriefState::default());
        assert_eq!(st.last_brief(), None);
        let sent = [
            insight(1, chunk(7, "a", "e1", "x"), vec![]),
            insight(2, chunk(u64::MAX, "b", "e2", "y"), vec![]),
        ];
        st.record(&sent, now("2026-11-28T07:00:00Z"));
        st.save(&path).unwrap();
        let back = BriefState::load(&path).unwrap();
        assert_eq!(back, st);
        assert!(back.is_sent(u64::MAX) && back.is_sent(7) && !back.is_sent(8));
        assert!(back.is_covered("a/e1") && !back.is_covered("a/e3"));
        assert_eq!(back.last_brief(), Some(now("2026-11-28T07:00:00Z")));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"last_brief\": \"2026-11-28T07:00:00Z\""),
            "{text}"
        );
        assert!(text.contains("\"version\": 1"), "{text}");
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn state_never_repeats_an_insight_or_an_episode() {
        let mut st = BriefState::default();
        let day1 = vec![insight(
            1,
            chunk(1, "a", "e1", "x"),
            vec![insight_related(9)],
        )];
        st.record(&day1, now("2026-11-27T07:00:00Z"));
        // Candidates for day 2: the sent passage, another passage of the
        // covered episode, a passage of a new episode, and the related
        // passage shown yesterday (related passages may recur).
        let candidates = [
            chunk(1, "a", "e1", "x"),
            chunk(2, "a", "e1", "z"),
            chunk(3, "b", "e9", "w"),
            chunk(9, "c", "r", "r"),
        ];
        let new: Vec<u64> = candidates
            .iter()
            .filter(|c| st.is_new(c))
            .map(|c| c.id)
            .collect();
        assert_eq!(new, [3, 9]);
        st.record(
            &[insight(1, chunk(3, "b", "e9", "w"), vec![])],
            now("2026-11-28T07:00:00Z"),
        );
        assert!(candidates
            .iter()
            .filter(|c| st.is_new(c))
            .all(|c| c.id == 9));
        assert_eq!(st.sent_count(), 2);
        assert_eq!(st.last_brief(), Some(now("2026-11-28T07:00:00Z")));
    }

    fn insight_related(id: u64) -> Related {
        Related {
            chunk: chunk(id, "c", "r", "r"),
            similarity: 0.5,
            shared_terms: vec![],
        }
    }

    #[test]
    fn state_corrupt_file_is_an_error_naming_file_and_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brief-state.json");
        for bad in [
            "{not json",
            "",
            "{\"version\": 1, \"sent\": [-1], \"covered\": [], \"last_brief\": null}",
            "{\"version\": 9, \"sent\": [], \"covered\": [], \"last_brief\": null}",
            "{\"version\": 1, \"sent\": [], \"covered\": [], \"last_brief\": \"yesterday\"}",
        ] {
            std::fs::write(&path, bad).unwrap();
            let msg = BriefState::load(&path).expect_err(bad).to_string();
            assert!(msg.starts_with(&path.display().to_string()), "{msg}");
            assert!(msg.contains("delete it to start afresh"), "{msg}");
        }
        std::fs::write(
            &path,
            "{\"version\": 9, \"sent\": [], \"covered\": [], \"last_brief\": null}",
        )
        .unwrap();
        assert!(BriefState::load(&path)
            .unwrap_err()
            .to_string()
            .contains("version 9"));
    }

    // ---------------------------------------------------------- rendering

    const LONG: &str = "Custom silicon is about control. When you run inference at our scale, \
        the cost per token is dominated by memory bandwidth, not arithmetic, so we designed \
        the chip around HBM and a big SRAM scratchpad. The first generation was 40 percent \
        cheaper per query than the GPUs we were renting. That paid for the team in a year. \
        But the real win is the roadmap: we decide when the next part ships, we decide which \
        numeric formats it supports, and we co-design the compiler with the models our \
        researchers actually train. Nobody else can give you that. Buying chips means waiting \
        in line behind everyone else who is buying the same chips, every single generation.";

    fn meta(interests: &[&str]) -> BriefMeta {
        BriefMeta {
            title: "podsift brief".into(),
            date: "2026-11-28".into(),
            interests: interests.iter().map(|s| s.to_string()).collect(),
            window: "since 2026-11-27".into(),
            episodes_scanned: 12,
        }
    }

    fn sample() -> Vec<Insight> {
        let mut local = chunk(
            20,
            "acquired",
            "tpu-story",
            "The TPU started as a *side project* in 2013. Everyone said [no].",
        );
        local.url = None;
        local.start_ms = Some(3_723_000);
        let rel = vec![
            Related {
                chunk: chunk(
                    10,
                    "acquired",
                    "nvidia",
                    "Jensen bet the company on CUDA when nobody wanted it.",
                ),
                similarity: 0.71,
                shared_terms: vec!["chips".into(), "inference".into()],
            },
            Related {
                chunk: local,
                similarity: 0.64,
                shared_terms: vec![],
            },
        ];
        let mut second = chunk(
            30,
            "the-changelog",
            "devtools",
            "Fast feedback loops beat clever tools. Ship the boring thing.",
        );
        second.speaker = None;
        second.start_ms = None;
        second.end_ms = None;
        vec![
            insight(1, chunk(1, "hard-fork", "chips", LONG), rel),
            insight(2, second, vec![]),
        ]
    }

    #[test]
    fn excerpt_cuts_at_a_sentence_end() {
        assert_eq!(excerpt("  short\n text  ", 600), "short text");
        let e = excerpt(LONG, PASSAGE_CHARS);
        assert!(e.chars().count() <= PASSAGE_CHARS + 2, "{e}");
        assert!(
            e.ends_with("researchers actually train. Nobody else can give you that. …"),
            "{e}"
        );
        // No sentence end in the budget's second half: a word break.
        let words = "word ".repeat(100);
        let e = excerpt(&words, 42);
        assert!(e.ends_with("word …") && e.chars().count() <= 44, "{e}");
        // Multi-byte text is cut on char boundaries.
        assert!(excerpt(&"é".repeat(1000), 10).starts_with("éééééééééé"));
    }

    #[test]
    fn markdown_snapshot() {
        let out = render_markdown(&sample(), &meta(&["AI chips", "developer tools"]));
        let expect_lines = [
            "# podsift brief — 2026-11-28",
            "2026-11-28 · since 2026-11-27 · 12 episodes scanned · 2 insights",
            "Interests: \"AI chips\", \"developer tools\"",
            "## 1. Episode chips",
            "**hard-fork** · 2026-11-27 · Ada Lovelace · 00:12:03-00:13:10  ",
            "[Listen at 00:12:03](https://example.com/chips.mp3#t=723)",
            "*Why this insight:* relevant to \"AI chips\" (0.62) · quotable (0.90) · central to the episode (0.71) · specific (0.80)",
            "**Related**",
            "- **acquired** · Episode nvidia · 00:12:03 · [Listen at 00:12:03](https://example.com/nvidia.mp3#t=723)",
            "  “Jensen bet the company on CUDA when nobody wanted it.”",
            "  *Why related:* similar meaning (0.71); both mention \"chips\", \"inference\"",
            "- **acquired** · Episode tpu-story · 01:02:03 · source: corpus/acquired/tpu-story.vtt at 01:02:03",
            "  “The TPU started as a \\*side project\\* in 2013. Everyone said \\[no\\].”",
            "## 2. Episode devtools",
            "**the-changelog** · 2026-11-27  ",
            "[Listen](https://example.com/devtools.mp3)",
            "> Fast feedback loops beat clever tools. Ship the boring thing.",
        ];
        let lines: Vec<&str> = out.lines().collect();
        for want in expect_lines {
            assert!(lines.contains(&want), "missing line {want:?} in:\n{out}");
        }
        assert!(out.contains("> Custom silicon is about control."), "{out}");
        assert!(!out.contains('<'), "no HTML in markdown:\n{out}");
        // Rank order, one quote per insight.
        assert!(out.find("## 1.").unwrap() < out.find("## 2.").unwrap());
        assert_eq!(out.lines().filter(|l| l.starts_with("> ")).count(), 2);
    }

    #[test]
    fn markdown_escapes_markup_in_transcript_text() {
        assert_eq!(
            md("a *b* _c_ [d](e) `f` <g> \\"),
            "a \\*b\\* \\_c\\_ \\[d\\](e) \\`f\\` \\<g> \\\\"
        );
        assert_eq!(md_line("# not a heading"), "\\# not a heading");
        assert_eq!(md_line("> not a quote"), "\\> not a quote");
        assert_eq!(md_line("- not a list"), "\\- not a list");
        assert_eq!(md_line("1. not a list"), "1\\. not a list");
        assert_eq!(md_line("12) not a list"), "12\\) not a list");
        assert_eq!(md_line("2026 was fine. Really."), "2026 was fine. Really.");
        assert_eq!(md("- inside a line -"), "- inside a line -");
        assert_eq!(md("AT&T &amp; &#39; & co"), "AT&T \\&amp; \\&#39; & co");
        assert_eq!(md("line\none"), "line one");
        assert_eq!(md_url("https://x.test/a_(b)"), "https://x.test/a_%28b%29");
    }

    #[test]
    fn html_snapshot() {
        let out = render_html(&sample(), &meta(&["developer tools"]));
        for want in [
            "<!DOCTYPE html>",
            "<meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>podsift brief — 2026-11-28</title>",
            "<h1>podsift brief</h1>",
            "<p class=\"sub\">2026-11-28 · since 2026-11-27 · 12 episodes scanned · 2 insights</p>",
            "<li>developer tools</li>",
            "<article id=\"insight-1\">",
            "<h2><span class=\"rank\">1.</span>Episode chips</h2>",
            "<p class=\"meta\"><span class=\"show\">hard-fork</span> · 2026-11-27 · Ada Lovelace · 00:12:03-00:13:10</p>",
            "<a href=\"https://example.com/chips.mp3#t=723\" rel=\"noopener\" target=\"_blank\">▶&nbsp;Listen at 00:12:03</a>",
            "<b>Why this insight:</b> relevant to &quot;developer tools&quot; (0.62) · quotable (0.90) · central to the episode (0.71) · specific (0.80)",
            "<b>Why related:</b> similar meaning (0.71); both mention &quot;chips&quot;, &quot;inference&quot;",
            "<span class=\"src\">source: corpus/acquired/tpu-story.vtt at 01:02:03</span>",
            "The TPU started as a *side project* in 2013.",
            "<article id=\"insight-2\">",
            "</html>",
        ] {
            assert!(out.contains(want), "missing {want:?} in:\n{out}");
        }
        // Self-contained: no scripts, no external resources.
        for banned in [
            "<script", "<link", "<img", "<iframe", "src=", "@import", "url(",
        ] {
            assert!(!out.to_lowercase().contains(banned), "{banned} in page");
        }
        assert_eq!(out.matches("<article").count(), 2);
        assert_eq!(out.matches("<blockquote>").count(), 2);
    }

    fn hostile() -> (Vec<Insight>, BriefMeta) {
        let evil =
            "<script>alert(1)</script> \"quotes\" 'single' &amp; <img src=x onerror=alert(2)>";
        let mut c = chunk(1, "<script>alert('show')</script>", "x", evil);
        c.title = format!("Title {evil}");
        c.speaker = Some("\"Mallory\" <b>O'Brien</b>".into());
        c.url = Some("javascript:alert(document.cookie)".into());
        let mut r1 = chunk(2, "s", "y", evil);
        r1.url = Some(" JaVaScRiPt:alert(1)".into());
        let mut r2 = chunk(3, "s", "z", "fine");
        r2.url = Some("https://example.com/a\"onmouseover=\"alert(3)".into());
        let mut r3 = chunk(4, "s", "w", "fine");
        r3.url = Some("data:text/html,<script>alert(4)</script>".into());
        let rel = |c: StoredChunk| Related {
            chunk: c,
            similarity: 0.5,
            shared_terms: vec!["<script>".into(), "\"x\"".into()],
        };
        let ins = vec![insight(1, c, vec![rel(r1), rel(r2), rel(r3)])];
        let mut m = meta(&[evil]);
        m.window = "since <script>".into();
        (ins, m)
    }

    #[test]
    fn html_escapes_hostile_text() {
        let (ins, m) = hostile();
        let out = render_html(&ins, &m);
        let lower = out.to_lowercase();
        assert!(!lower.contains("<script"), "unescaped script in:\n{out}");
        assert!(!lower.contains("<img"), "unescaped img");
        assert!(!lower.contains("<b>o"), "unescaped speaker markup");
        assert!(!lower.contains("href=\"javascript:") && !lower.contains("href=\" javascript:"));
        assert!(!lower.contains("href=\"data:"));
        assert!(!out.contains("\"onmouseover"), "attribute injection");
        for escaped in [
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&quot;quotes&quot;",
            "&#39;single&#39;",
            "&amp;amp;",
            "&lt;img src=x onerror=alert(2)&gt;",
            "&quot;Mallory&quot; &lt;b&gt;O&#39;Brien&lt;/b&gt;",
            "&lt;script&gt;alert(&#39;show&#39;)&lt;/script&gt;",
            "link (not a web address): javascript:alert(document.cookie)",
            "href=\"https://example.com/a&quot;onmouseover=&quot;alert(3)#t=723\"",
        ] {
            assert!(out.contains(escaped), "missing {escaped:?} in:\n{out}");
        }
        // Every href is http(s).
        for (i, _) in out.match_indices("href=\"") {
            assert!(
                out[i + 6..].starts_with("https://") || out[i + 6..].starts_with("http://"),
                "{}",
                &out[i..i + 40]
            );
        }
    }

    #[test]
    fn markdown_and_json_survive_hostile_text() {
        let (ins, m) = hostile();
        let md_out = render_markdown(&ins, &m);
        // Every `<` is escaped, so no Markdown renderer passes HTML through.
        for (i, _) in md_out.match_indices('<') {
            assert!(
                md_out[..i].ends_with('\\'),
                "unescaped < at {i} in:\n{md_out}"
            );
        }
        assert!(md_out.contains("> \\<script>alert(1)\\</script> \"quotes\" 'single' \\&amp;"));
        assert!(md_out.contains("(https://example.com/a%22onmouseover=%22alert%283%29#t=723)"));
        assert!(
            !md_out.contains("](javascript") && !md_out.contains("](data:"),
            "{md_out}"
        );
        for line in render_json(&ins, &m).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v["type"].is_string());
        }
    }

    #[test]
    fn json_lines_schema() {
        let out = render_json(&sample(), &meta(&["developer tools"]));
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        let first = &lines[0];
        assert_eq!(first["type"], "insight");
        assert_eq!(first["rank"], 1);
        assert_eq!(first["id"], "0000000000000001");
        assert_eq!(first["show"], "hard-fork");
        assert_eq!(first["episode_id"], "hard-fork/chips");
        assert_eq!(first["start"], "00:12:03");
        assert_eq!(first["link"], "https://example.com/chips.mp3#t=723");
        assert_eq!(first["text"], LONG, "JSON keeps the whole passage");
        assert_eq!(first["signals"]["salience"].as_f64().unwrap() as f32, 0.71);
        assert!(first["why"]
            .as_str()
            .unwrap()
            .starts_with("relevant to \"developer tools\""));
        let rel = first["related"].as_array().unwrap();
        assert_eq!(rel.len(), 2);
        assert_eq!(rel[0]["type"], "related");
        assert_eq!(rel[0]["rank"], 1);
        assert_eq!(
            rel[0]["shared_terms"],
            serde_json::json!(["chips", "inference"])
        );
        assert_eq!(rel[1]["url"], serde_json::Value::Null);
        assert_eq!(rel[1]["link"], serde_json::Value::Null);
        let second = &lines[1];
        for key in ["speaker", "start_ms", "end_ms", "start"] {
            assert!(
                second.get(key).is_some_and(|v| v.is_null()),
                "{key} must be null, not missing"
            );
        }
        let s = &lines[2];
        assert_eq!(s["type"], "summary");
        assert_eq!(
            (s["insights"].as_u64(), s["episodes_scanned"].as_u64()),
            (Some(2), Some(12))
        );
        assert_eq!(s["window"], "since 2026-11-27");
        assert_eq!(s["message"], serde_json::Value::Null);
    }

    /// The first sample insight with a disfluent passage, and its statement.
    fn with_statement() -> (Vec<Insight>, &'static str, &'static str) {
        let raw = "Thanks for having me. So, um, the TPU team cut inference cost by 40 \
                   percent because, you know, the chip skips the graphics work. Anyway, yeah.";
        let want = "The TPU team cut inference cost by 40 percent because the chip skips \
                    the graphics work.";
        let mut ins = sample();
        ins[0].chunk.text = raw.into();
        ins[0].statement = Statement::of(raw, ins[0].chunk.speaker.as_deref());
        assert_eq!(ins[0].statement.text, want);
        (ins, raw, want)
    }

    fn before(out: &str, a: &str, b: &str) -> bool {
        let (Some(i), Some(j)) = (out.find(a), out.find(b)) else {
            panic!("missing {a:?} or {b:?} in:\n{out}");
        };
        i < j
    }

    #[test]
    fn statement_leads_markdown_then_link_and_passage() {
        let (ins, raw, want) = with_statement();
        let out = render_markdown(&ins, &meta(&["AI chips"]));
        let quoted = format!("**“{want}”** — Ada Lovelace");
        let link = "[Listen at 00:12:03](https://example.com/chips.mp3#t=723)";
        assert!(out.lines().any(|l| l == quoted), "{out}");
        assert!(before(&out, "## 1. Episode chips", &quoted));
        assert!(before(&out, &quoted, link));
        assert!(before(&out, link, &format!("> {raw}")));
        // No speaker: no attribution.
        assert!(
            out.lines().any(|l| l
                == "**“Fast feedback loops beat clever tools. Ship the boring thing.”**"),
            "{out}"
        );
    }

    #[test]
    fn statement_leads_html_with_the_passage_behind_details() {
        let (ins, raw, want) = with_statement();
        let out = render_html(&ins, &meta(&["AI chips"]));
        let statement =
            format!("<p class=\"statement\">“{want}” <span class=\"by\">— Ada Lovelace</span></p>");
        let passage = format!(
            "<details><summary>Whole passage</summary><blockquote>{raw}</blockquote></details>"
        );
        let link = "<a href=\"https://example.com/chips.mp3#t=723\"";
        assert!(out.contains(&statement), "{out}");
        assert!(out.contains(&passage), "{out}");
        assert!(before(&out, &statement, &passage) && before(&out, &passage, link));
        assert_eq!(out.matches("<p class=\"statement\">").count(), 2);
        // Hostile speakers and text are escaped in the statement too.
        let (evil, m) = hostile();
        let page = render_html(&evil, &m);
        assert!(page.contains("<span class=\"by\">— &quot;Mallory&quot; &lt;b&gt;"));
        assert!(!page.to_lowercase().contains("<script"));
    }

    #[test]
    fn statement_in_json_beside_the_whole_passage_and_link() {
        let (ins, raw, want) = with_statement();
        let out = render_json(&ins, &meta(&[]));
        let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(first["statement"], want);
        assert_eq!(first["text"], raw);
        assert_eq!(first["speaker"], "Ada Lovelace");
        assert_eq!(first["link"], "https://example.com/chips.mp3#t=723");
        for r in first["related"].as_array().unwrap() {
            assert!(r.get("statement").is_none(), "related lines are unchanged");
        }
    }

    #[test]
    fn empty_brief_says_nothing_new_in_every_format() {
        let m = meta(&["developer tools"]);
        let want = "Nothing new since 2026-11-27: no new insights among 12 episodes scanned.";
        assert_eq!(m.nothing_new(), want);
        assert!(render_markdown(&[], &m).contains(want));
        let html = render_html(&[], &m);
        assert!(
            html.contains(&format!("<p class=\"empty\">{want}</p>")) && !html.contains("<article")
        );
        let json = render_json(&[], &m);
        assert_eq!(json.lines().count(), 1);
        let s: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(
            (s["type"].as_str(), s["message"].as_str()),
            (Some("summary"), Some(want))
        );
        let mut m = m;
        m.window = String::new();
        m.episodes_scanned = 1;
        assert_eq!(
            m.nothing_new(),
            "Nothing new since the last brief: no new insights among 1 episode scanned."
        );
    }

    /// Writes a sample page for a look in a browser:
    /// `cargo test --lib insight::brief -- --ignored write_sample_html`, then
    /// `scripts/check-brief-html /tmp/brief.html`.
    #[test]
    #[ignore]
    fn write_sample_html() {
        let mut ins = sample();
        ins[0].related[0].chunk.text = LONG.into();
        let (mut evil, _) = hostile();
        evil[0].rank = 3;
        ins.extend(evil);
        let m = meta(&[
            "why cloud companies build their own AI chips",
            "developer tools",
        ]);
        let dir = std::env::temp_dir();
        std::fs::write(dir.join("brief.html"), render_html(&ins, &m)).unwrap();
        std::fs::write(dir.join("brief-empty.html"), render_html(&[], &m)).unwrap();
        std::fs::write(dir.join("brief.md"), render_markdown(&ins, &m)).unwrap();
    }
}
