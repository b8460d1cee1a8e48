//! The brief's profile (`profile.toml`): parsing and validation; the
//! format is in [`super`]'s doc.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::Result;

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
    pub email: Option<super::email::EmailSettings>,
}

impl Default for Profile {
    /// No interests yet (a profile file must give some), all shows, 3
    /// related per insight, 5 insights, since the last brief, no email.
    fn default() -> Self {
        Profile {
            interests: Vec::new(),
            follow: Vec::new(),
            mute: Vec::new(),
            related: 3,
            n: 5,
            since: None,
            email: None,
        }
    }
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
    let mut profile = Profile::default();
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
            "email" => profile.email = Some(super::email::parse_settings(text, v)?),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ProfileError {
        parse_profile(text).expect_err("profile should be rejected")
    }

    #[test]
    fn profile_fixture_parses_every_key() {
        let p = parse_profile(include_str!("../../../tests/fixtures/brief/profile.toml")).unwrap();
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
        let e = parse_profile(include_str!(
            "../../../tests/fixtures/brief/typo-profile.toml"
        ))
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
}
