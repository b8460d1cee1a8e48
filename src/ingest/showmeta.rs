//! Show-level metadata files: episode titles, dates and urls that live beside
//! the transcripts rather than in them.
//!
//! - `metadata.json`: an array of `{"epnum", "title", "url", "date_published"
//!   | "date", "description"}` (seen-and-unseen). Joined on the episode number.
//! - `*playlist*.txt`: lines `number|title|url` (twiml-ai), CRLF tolerated.
//! - `<stem>.meta.json` beside a transcript: one object `{"title", "date",
//!   "url", "guests"}` for that file alone (written by `podsift scan`).
//!
//! A metadata file that exists but cannot be read or parsed is not taken
//! for "no metadata" in silence: the episode is indexed without it and the
//! problem is kept for the caller to report ([`ShowMeta::take_problems`]).
//!
//! Episode numbers come from the file stem: an optional `E`/`ep`/`episode`
//! prefix and the leading digits (`E01.mp3.vtt` is 1, `12_Brendan_...` is 12).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::transcript::EpisodeMeta;

/// Whether a file is a metadata file rather than a transcript.
pub fn is_metadata_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    lower == "metadata.json"
        || lower.ends_with(".meta.json")
        || (lower.contains("playlist") && lower.ends_with(".txt"))
}

/// The episode number in a file stem, if it starts with one.
///
/// ```
/// use podsift::ingest::showmeta::episode_number;
/// assert_eq!(episode_number("E01.mp3"), Some(1));
/// assert_eq!(episode_number("12_Brendan_Frey"), Some(12));
/// assert_eq!(episode_number("the-changelog-253"), None);
/// ```
pub fn episode_number(stem: &str) -> Option<u64> {
    let lower = stem.to_ascii_lowercase();
    let rest = ["episode", "ep", "e"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower);
    let rest = rest.trim_start_matches(['-', '_', ' ']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

#[derive(Deserialize)]
struct JsonEntry {
    #[serde(alias = "episode", alias = "number")]
    epnum: Option<u64>,
    title: Option<String>,
    url: Option<String>,
    #[serde(alias = "date", alias = "published")]
    date_published: Option<String>,
}

#[derive(Deserialize, Default)]
struct Sidecar {
    title: Option<String>,
    date: Option<String>,
    url: Option<String>,
    #[serde(default)]
    guests: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    chapters: Vec<SideChapter>,
}

#[derive(Deserialize)]
struct SideChapter {
    start_s: f64,
    title: String,
}

/// Metadata files found so far, parsed once each.
#[derive(Debug, Default)]
pub struct ShowMeta {
    by_dir: HashMap<PathBuf, Option<HashMap<u64, EpisodeMeta>>>,
    problems: Vec<(PathBuf, String)>,
}

impl ShowMeta {
    /// Metadata for the transcript at `path`: its sidecar if any, else the
    /// first metadata file found in its folder or a parent folder up to and
    /// including `root`, joined on the episode number.
    pub fn lookup(&mut self, root: &Path, path: &Path) -> EpisodeMeta {
        let mut meta = match sidecar(path) {
            Ok(m) => m.unwrap_or_default(),
            Err(problem) => {
                self.problems.push(problem);
                EpisodeMeta::default()
            }
        };
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.split('.').next().unwrap_or(n).to_string())
            .unwrap_or_default();
        let Some(num) = episode_number(&stem) else {
            return meta;
        };
        let mut dir = path.parent();
        while let Some(d) = dir {
            let problems = &mut self.problems;
            let table = self
                .by_dir
                .entry(d.to_path_buf())
                .or_insert_with(|| load_dir(d, problems));
            if let Some(found) = table.as_ref().and_then(|t| t.get(&num)) {
                meta.fill_from(found);
                break;
            }
            if d == root || !d.starts_with(root) {
                break;
            }
            dir = d.parent();
        }
        meta
    }

    /// Metadata files found broken since the last call, each with what is
    /// wrong (`metadata file ignored: ...`): read once, reported once.
    pub fn take_problems(&mut self) -> Vec<(PathBuf, String)> {
        std::mem::take(&mut self.problems)
    }
}

/// A metadata file that is there but unusable.
fn unusable(path: &Path, why: impl std::fmt::Display) -> (PathBuf, String) {
    (path.to_path_buf(), format!("metadata file ignored: {why}"))
}

/// The sidecar of the transcript at `path`: none when there is no such
/// file, an error when it is there but cannot be read or parsed.
fn sidecar(path: &Path) -> Result<Option<EpisodeMeta>, (PathBuf, String)> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(None);
    };
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let side = path.with_file_name(format!("{stem}.meta.json"));
    let bytes = match super::read_capped(&side) {
        Ok(b) => b,
        Err(crate::error::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(None)
        }
        Err(e) => return Err(unusable(&side, e)),
    };
    let s: Sidecar = serde_json::from_slice(&bytes).map_err(|e| unusable(&side, e))?;
    let mut chapters: Vec<crate::transcript::Chapter> = s
        .chapters
        .into_iter()
        .filter_map(|c| {
            Some(crate::transcript::Chapter {
                start_ms: super::timestamp::from_seconds(c.start_s)?,
                title: super::clean::collapse(&c.title),
            })
        })
        .filter(|c| !c.title.is_empty())
        .collect();
    chapters.sort_by_key(|c| c.start_ms);
    Ok(Some(EpisodeMeta {
        title: s.title,
        date: s.date.as_deref().and_then(super::normalise_date),
        url: s.url,
        guests: s.guests,
        hosts: s.hosts,
        chapters,
    }))
}

/// Parse the metadata files in one folder into a number -> meta table; the
/// ones that cannot be read or parsed go to `problems`.
fn load_dir(
    dir: &Path,
    problems: &mut Vec<(PathBuf, String)>,
) -> Option<HashMap<u64, EpisodeMeta>> {
    let mut table = HashMap::new();
    let entries = std::fs::read_dir(dir).ok()?;
    let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    for p in names {
        let Some(name) = p
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_ascii_lowercase)
        else {
            continue;
        };
        if name == "metadata.json" {
            let entries = super::read_capped(&p)
                .map_err(|e| unusable(&p, e))
                .and_then(|b| {
                    serde_json::from_slice::<Vec<JsonEntry>>(&b).map_err(|e| unusable(&p, e))
                });
            let entries = match entries {
                Ok(entries) => entries,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            for e in entries {
                if let Some(n) = e.epnum {
                    table.entry(n).or_insert(EpisodeMeta {
                        title: e.title.map(|t| super::clean::collapse(&t)),
                        date: e.date_published.as_deref().and_then(super::normalise_date),
                        url: e.url,
                        guests: Vec::new(),
                        hosts: Vec::new(),
                        chapters: Vec::new(),
                    });
                }
            }
        } else if name.contains("playlist") && name.ends_with(".txt") {
            let bytes = match super::read_capped(&p) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(unusable(&p, e));
                    continue;
                }
            };
            let text = String::from_utf8_lossy(&bytes);
            for line in text.lines() {
                let mut parts = line.trim_end_matches('\r').splitn(3, '|');
                let (Some(n), Some(title)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let Ok(n) = n.trim().parse::<u64>() else {
                    continue;
                };
                table.entry(n).or_insert(EpisodeMeta {
                    title: Some(super::clean::collapse(title)),
                    date: None,
                    url: parts
                        .next()
                        .map(|u| u.trim().to_string())
                        .filter(|u| !u.is_empty()),
                    guests: Vec::new(),
                    hosts: Vec::new(),
                    chapters: Vec::new(),
                });
            }
        }
    }
    (!table.is_empty()).then_some(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names() {
        assert!(is_metadata_file(Path::new("x/metadata.json")));
        assert!(is_metadata_file(Path::new("x/twiml-playlist.txt")));
        assert!(is_metadata_file(Path::new("x/ep.meta.json")));
        assert!(!is_metadata_file(Path::new("x/E01.json")));
    }

    #[test]
    fn joins_playlist_and_json() {
        let dir = tempfile::tempdir().unwrap();
        let show = dir.path().join("show");
        std::fs::create_dir_all(show.join("vtt")).unwrap();
        std::fs::write(
            show.join("list-playlist.txt"),
            "1|First|https://a\r\n2|Second|https://b",
        )
        .unwrap();
        std::fs::write(
            show.join("vtt/metadata.json"),
            r#"[{"epnum": 3, "title": "Third \u00e9", "url": "u3", "date_published": "16 Jan 2017"}]"#,
        )
        .unwrap();
        let mut sm = ShowMeta::default();
        let m = sm.lookup(dir.path(), &show.join("vtt/E03.mp3.vtt"));
        assert_eq!(m.title.as_deref(), Some("Third é"));
        assert_eq!(m.date.as_deref(), Some("2017-01-16"));
        let m = sm.lookup(dir.path(), &show.join("vtt/2_Guest.mp3.srt"));
        assert_eq!(m.title.as_deref(), Some("Second"));
        assert_eq!(m.url.as_deref(), Some("https://b"));
        assert_eq!(
            sm.lookup(dir.path(), &show.join("vtt/9_x.srt")),
            EpisodeMeta::default()
        );
        assert!(sm.take_problems().is_empty());
    }

    #[test]
    fn broken_metadata_files_are_reported_not_taken_for_none() {
        let dir = tempfile::tempdir().unwrap();
        let show = dir.path().join("show");
        std::fs::create_dir_all(&show).unwrap();
        std::fs::write(show.join("metadata.json"), "[{\"epnum\": 1, oops").unwrap();
        std::fs::write(show.join("E01.meta.json"), "{\"title\": 5}").unwrap();
        let mut sm = ShowMeta::default();
        assert_eq!(
            sm.lookup(dir.path(), &show.join("E01.vtt")),
            EpisodeMeta::default()
        );
        let problems = sm.take_problems();
        let names: Vec<String> = problems
            .iter()
            .map(|(p, m)| {
                assert!(m.starts_with("metadata file ignored: "), "{m}");
                p.file_name().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(names, ["E01.meta.json", "metadata.json"]);
        // Once each: the folder's table is cached, the sidecar read again.
        sm.lookup(dir.path(), &show.join("E02.vtt"));
        assert!(sm.take_problems().is_empty());
    }
}
