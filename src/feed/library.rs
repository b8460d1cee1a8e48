//! The library: downloaded transcripts laid out the way `podsift index`
//! reads folders, `library/<show>/<date>-<slug>.<ext>`, each with a sidecar
//! `<date>-<slug>.meta.json`.
//!
//! The sidecar keeps the four keys the indexer reads for every transcript
//! (`title`, `date`, `url`, `guests`; see [`crate::ingest::showmeta`]) and
//! adds what the feed said about the episode: `guid`, `link`,
//! `enclosure_url`, `duration_s`, `persons` (name, role, group, href),
//! `hosts`, `chapters_url` and `chapters` (`[{"start_s", "title"}]`), the
//! `transcript` link it came from, the `feed_url` and when it was `fetched`.
//! `url` is the enclosure (audio) URL when there is one, because a media
//! fragment (`#t=SECONDS`) seeks there; the web page is `link`.
//!
//! Writes are atomic (a hidden temporary file, fsync, rename), the sidecar
//! before the transcript, so a reader never sees a half-written file or a
//! transcript without its metadata. Two episodes of one show with the same
//! date and title get `-2`, `-3`, ... after the slug; the same episode (same
//! guid) written again replaces its own files.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::chapters::Chapter;
use super::error::{FeedError, Result};
use super::parse::{Item, Person, TranscriptLink};

/// Longest slug, in characters.
const MAX_SLUG: usize = 60;

/// An episode's metadata file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// Episode title.
    pub title: Option<String>,
    /// Publication date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Where to listen: the enclosure, else the web page.
    pub url: Option<String>,
    /// Names of the persons whose role is `guest`.
    pub guests: Vec<String>,
    /// Names of the persons whose role is `host` or `co-host`.
    pub hosts: Vec<String>,
    /// The show (the feed's name in podsift).
    pub show: String,
    /// The item's guid (podsift's key for it).
    pub guid: String,
    /// The episode's web page.
    pub link: Option<String>,
    /// The audio or video file.
    pub enclosure_url: Option<String>,
    /// Length in seconds.
    pub duration_s: Option<u64>,
    /// Every `podcast:person`.
    pub persons: Vec<Person>,
    /// The `podcast:chapters` link.
    pub chapters_url: Option<String>,
    /// The chapters, when they could be fetched.
    pub chapters: Vec<Chapter>,
    /// The transcript link the file came from.
    pub transcript: TranscriptLink,
    /// The feed.
    pub feed_url: String,
    /// When the transcript was downloaded (RFC 3339, UTC).
    pub fetched: String,
    /// The Whisper model that made the transcript from the audio, when
    /// podsift transcribed it (the `transcript` link is then the audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcribed_by: Option<String>,
}

impl Sidecar {
    /// The sidecar of `item` of `show`.
    pub fn new(show: &str, feed_url: &str, item: &Item, transcript: &TranscriptLink) -> Sidecar {
        let names = |roles: &[&str]| -> Vec<String> {
            item.persons
                .iter()
                .filter(|p| roles.contains(&p.role.as_str()))
                .map(|p| p.name.clone())
                .collect()
        };
        Sidecar {
            title: item.title.clone(),
            date: item.date.clone(),
            url: item.enclosure_url.clone().or_else(|| item.link.clone()),
            guests: names(&["guest"]),
            hosts: names(&["host", "co-host"]),
            show: show.to_string(),
            guid: item.guid.clone(),
            link: item.link.clone(),
            enclosure_url: item.enclosure_url.clone(),
            duration_s: item.duration_s,
            persons: item.persons.clone(),
            chapters_url: item.chapters_url.clone(),
            chapters: Vec::new(),
            transcript: transcript.clone(),
            feed_url: feed_url.to_string(),
            fetched: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            transcribed_by: None,
        }
    }
}

/// A lower-case ASCII slug: accents folded (`café` → `cafe`), runs of
/// anything else → one `-`, at most 60 characters, cut at a word boundary.
///
/// ```
/// use podsift::feed::library::slug;
/// assert_eq!(slug("Kelp & Currents: Part 2!"), "kelp-currents-part-2");
/// assert_eq!(slug("Crème Brûlée"), "creme-brulee");
/// assert_eq!(slug("東京"), "");
/// ```
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in s.nfkd() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii() || c.is_whitespace() {
            dash = true;
        }
        // Other non-ASCII (combining accents, other scripts) is dropped.
    }
    if out.len() > MAX_SLUG {
        let cut = out[..=MAX_SLUG]
            .rfind('-')
            .filter(|&i| i > 0)
            .unwrap_or(MAX_SLUG);
        out.truncate(cut);
    }
    out
}

/// The file stem of an item: `<date>-<slug>` (`undated-` without a date;
/// a short hash of the guid when the title has no slug).
pub fn stem(item: &Item) -> String {
    let date = item.date.as_deref().unwrap_or("undated");
    let mut s = slug(item.title.as_deref().unwrap_or(""));
    if s.is_empty() {
        s = format!(
            "episode-{}",
            &blake3::hash(item.guid.as_bytes()).to_hex()[..8]
        );
    }
    format!("{date}-{s}")
}

/// Write `item`'s transcript and sidecar into `library/<show>/`; returns the
/// transcript's path.
pub fn write_episode(
    library: &Path,
    show: &str,
    item: &Item,
    ext: &str,
    bytes: &[u8],
    sidecar: &Sidecar,
) -> Result<PathBuf> {
    let dir = library.join(show);
    std::fs::create_dir_all(&dir).map_err(|e| FeedError::io(&dir, e))?;
    let base = stem(item);
    let mut n = 1;
    let stem = loop {
        let s = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let side = dir.join(format!("{s}.meta.json"));
        let taken = match std::fs::read(&side) {
            Ok(b) => serde_json::from_slice::<serde_json::Value>(&b)
                .ok()
                .and_then(|v| v.get("guid").and_then(|g| g.as_str()).map(str::to_string))
                .is_none_or(|g| g != item.guid),
            Err(_) => false,
        };
        if !taken {
            break s;
        }
        n += 1;
    };
    let side = dir.join(format!("{stem}.meta.json"));
    let mut json = serde_json::to_vec_pretty(sidecar).map_err(|e| FeedError::Io {
        path: side.clone(),
        source: std::io::Error::other(e),
    })?;
    json.push(b'\n');
    write_atomic(&side, &json)?;
    let path = dir.join(format!("{stem}.{ext}"));
    write_atomic(&path, bytes)?;
    Ok(path)
}

/// Write `bytes` to `path` atomically: a hidden temporary file beside it
/// (the walker skips hidden files), fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FeedError::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(guid: &str, title: &str, date: Option<&str>) -> Item {
        Item {
            guid: guid.into(),
            title: Some(title.into()),
            date: date.map(str::to_string),
            ..Item::default()
        }
    }

    fn link() -> TranscriptLink {
        TranscriptLink {
            url: "https://example.com/t.vtt".into(),
            mime: "text/vtt".into(),
            language: None,
            rel: None,
        }
    }

    #[test]
    fn slugs_are_short_ascii_and_cut_at_words() {
        let long = "word ".repeat(30);
        let s = slug(&long);
        assert!(s.len() <= MAX_SLUG && !s.ends_with('-'), "{s}");
        assert_eq!(slug("  --Hello--  "), "hello");
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
    }

    #[test]
    fn stems_have_a_date_and_a_fallback() {
        assert_eq!(
            stem(&item("g", "Kelp", Some("2024-03-05"))),
            "2024-03-05-kelp"
        );
        assert_eq!(stem(&item("g", "Kelp", None)), "undated-kelp");
        assert!(stem(&item("g", "東京", None)).starts_with("undated-episode-"));
    }

    #[test]
    fn same_title_other_guid_gets_a_suffix_same_guid_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let a = item("a", "Kelp", Some("2024-03-05"));
        let b = item("b", "Kelp", Some("2024-03-05"));
        let side = |i: &Item| Sidecar::new("tide", "https://example.com/f", i, &link());
        let pa = write_episode(dir.path(), "tide", &a, "vtt", b"WEBVTT\n", &side(&a)).unwrap();
        let pb = write_episode(dir.path(), "tide", &b, "vtt", b"WEBVTT\n", &side(&b)).unwrap();
        let pa2 = write_episode(dir.path(), "tide", &a, "vtt", b"WEBVTT\n\n", &side(&a)).unwrap();
        assert!(pa.ends_with("tide/2024-03-05-kelp.vtt"));
        assert!(pb.ends_with("tide/2024-03-05-kelp-2.vtt"));
        assert_eq!(pa, pa2);
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("tide/2024-03-05-kelp-2.meta.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["guid"], "b");
        for key in ["title", "date", "url", "guests"] {
            assert!(meta.get(key).is_some(), "{key}");
        }
        let names: Vec<String> = std::fs::read_dir(dir.path().join("tide"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }
}
