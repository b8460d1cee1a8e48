//! Finding transcripts: walk the folders given to `index`, decide each file's
//! show and episode id, and skip what is not a transcript.
//!
//! - **Show**: the first folder below the root (`~/podcasts/<show>/...`); a
//!   file directly in the root belongs to a show named after the root.
//! - **Episode id**: `<show>/<path below the show>` without extensions (an
//!   audio extension before the transcript one goes too: `x.mp3.vtt` is `x`), a
//!   final `transcript` component dropped (`episodes/<slug>/transcript.md` is
//!   `episodes/<slug>`), NFC-normalised so that NFD file names match.
//!   Files of one episode id are the same episode in several formats.
//! - **Skipped quietly**: hidden files and folders, files of other types,
//!   metadata files ([`super::showmeta`]), READMEs and licences.
//! - **Symlinks** are followed; a folder seen twice (a loop) is visited once.
//!   Unreadable folders are reported, not fatal.
//!
//! Entries are sorted by name, so the walk order, and all that follows from
//! it, is deterministic.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::{showmeta, Format};
use crate::error::Error;

/// A transcript file found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The file as the user named it: root joined with the relative path.
    pub path: PathBuf,
    /// The root it was found under.
    pub root: PathBuf,
    /// Show slug.
    pub show: String,
    /// Episode id (see the module doc).
    pub episode_id: String,
    /// Format by extension.
    pub format: Format,
    /// File size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (0 if unknown).
    pub mtime_ns: i64,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Found {
    /// Transcript files, in walk order.
    pub candidates: Vec<Candidate>,
    /// Files that are not transcripts (metadata, READMEs), for `-v`.
    pub ignored: Vec<PathBuf>,
    /// Folders or files that could not be read.
    pub errors: Vec<Error>,
}

const AUDIO_EXTS: &[&str] = &[
    "mp3", "m4a", "wav", "ogg", "opus", "aac", "flac", "mp4", "webm",
];

fn is_boilerplate(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let stem = upper.split('.').next().unwrap_or("");
    matches!(
        stem,
        "README"
            | "LICENSE"
            | "LICENCE"
            | "COPYING"
            | "SOURCES"
            | "CONTRIBUTING"
            | "CHANGES"
            | "NOTICE"
    )
}

/// Walk `roots` (folders or single files).
pub fn walk(roots: &[PathBuf]) -> Found {
    let mut found = Found::default();
    let mut seen_dirs: HashSet<(u64, u64)> = HashSet::new();
    let mut seen_files: HashSet<PathBuf> = HashSet::new();
    for root in roots {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                found.errors.push(Error::io(root, e));
                continue;
            }
        };
        if meta.is_file() {
            let show = root
                .parent()
                .and_then(dir_name)
                .unwrap_or_else(|| "podcasts".to_string());
            let rel = PathBuf::from(root.file_name().unwrap_or_default());
            let base = root.parent().unwrap_or(Path::new("")).to_path_buf();
            consider(&base, &rel, &rel, &show, &meta, &mut found, &mut seen_files);
            continue;
        }
        let root_show = dir_name(root).unwrap_or_else(|| "podcasts".to_string());
        let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
        while let Some(rel_dir) = stack.pop() {
            let dir = root.join(&rel_dir);
            let Ok(dmeta) = std::fs::metadata(&dir) else {
                continue;
            };
            if !seen_dirs.insert(dev_ino(&dmeta)) {
                continue;
            }
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    found.errors.push(Error::io(&dir, e));
                    continue;
                }
            };
            let mut names: Vec<std::ffi::OsString> =
                entries.flatten().map(|e| e.file_name()).collect();
            names.sort();
            let mut subdirs = Vec::new();
            for name in names {
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                let rel = rel_dir.join(&name);
                let full = root.join(&rel);
                let m = match std::fs::metadata(&full) {
                    Ok(m) => m,
                    Err(e) => {
                        // A dangling symlink or a permission problem.
                        found.errors.push(Error::io(&full, e));
                        continue;
                    }
                };
                if m.is_dir() {
                    subdirs.push(rel);
                } else if m.is_file() {
                    let (show, in_show): (String, PathBuf) = match rel.components().count() {
                        1 => (root_show.clone(), rel.clone()),
                        _ => (
                            rel.components()
                                .next()
                                .map(|c| nfc(&c.as_os_str().to_string_lossy()))
                                .unwrap_or_default(),
                            rel.components().skip(1).collect(),
                        ),
                    };
                    consider(root, &rel, &in_show, &show, &m, &mut found, &mut seen_files);
                }
            }
            // Reverse so that the stack pops in name order.
            stack.extend(subdirs.into_iter().rev());
        }
    }
    found
}

fn consider(
    root: &Path,
    rel: &Path,
    in_show: &Path,
    show: &str,
    meta: &std::fs::Metadata,
    found: &mut Found,
    seen: &mut HashSet<PathBuf>,
) {
    let path = root.join(rel);
    let Some(format) = Format::from_path(&path) else {
        return;
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if showmeta::is_metadata_file(&path) || is_boilerplate(&name) {
        found.ignored.push(path);
        return;
    }
    if let Ok(canon) = std::fs::canonicalize(&path) {
        if !seen.insert(canon) {
            return;
        }
    }
    found.candidates.push(Candidate {
        episode_id: episode_id(show, in_show),
        path,
        root: root.to_path_buf(),
        show: show.to_string(),
        format,
        size: meta.len(),
        mtime_ns: mtime_ns(meta),
    });
}

/// The episode id for a file at `rel` below its show folder.
///
/// ```
/// use std::path::Path;
/// use podsift::ingest::walk::episode_id;
/// assert_eq!(episode_id("twiml", Path::new("t/5_Guest.mp3.vtt")), "twiml/t/5_Guest");
/// assert_eq!(episode_id("lenny", Path::new("episodes/ann/transcript.md")), "lenny/episodes/ann");
/// ```
pub fn episode_id(show: &str, rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| nfc(&c.as_os_str().to_string_lossy()))
        .collect();
    if let Some(last) = parts.last_mut() {
        if let Some((stem, _)) = last.rsplit_once('.') {
            let mut stem = stem.to_string();
            if let Some((s, ext)) = stem.rsplit_once('.') {
                if AUDIO_EXTS.contains(&ext.to_ascii_lowercase().as_str()) {
                    stem = s.to_string();
                }
            }
            *last = stem;
        }
    }
    if parts.len() > 1
        && parts
            .last()
            .is_some_and(|l| l.eq_ignore_ascii_case("transcript"))
    {
        parts.pop();
    }
    format!("{show}/{}", parts.join("/"))
}

fn nfc(s: &str) -> String {
    s.nfc().collect()
}

fn dir_name(p: &Path) -> Option<String> {
    let canon = std::fs::canonicalize(p).ok()?;
    canon.file_name().map(|n| nfc(&n.to_string_lossy()))
}

#[cfg(unix)]
fn dev_ino(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dev_ino(m: &std::fs::Metadata) -> (u64, u64) {
    (m.len(), mtime_ns(m) as u64)
}

/// Modification time in nanoseconds since the epoch.
pub fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_ids_and_skips() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path().join("pods");
        let w = |p: &str| {
            let full = r.join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, "x").unwrap();
        };
        w("showa/ep1.vtt");
        w("showa/ep1.srt");
        w("showa/README.md");
        w("showa/cover.jpg");
        w("showa/.hidden.vtt");
        w("showb/episodes/ann/transcript.md");
        w("showb/metadata.json");
        w("loose.txt");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&r, r.join("showa/loop")).unwrap();
        let found = walk(std::slice::from_ref(&r));
        let ids: Vec<_> = found
            .candidates
            .iter()
            .map(|c| (c.show.as_str(), c.episode_id.as_str(), c.format))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("pods", "pods/loose", Format::Text),
                ("showa", "showa/ep1", Format::Srt),
                ("showa", "showa/ep1", Format::Vtt),
                ("showb", "showb/episodes/ann", Format::Markdown),
            ]
        );
        assert_eq!(found.ignored.len(), 2);
    }
}
