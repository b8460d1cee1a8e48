//! The feeds a user follows and what podsift remembers about each:
//! `<index>/feeds.json`.
//!
//! ```json
//! {"version": 1, "index_pending": false, "feeds": [
//!   {"name": "tide-pool-radio", "url": "https://example.com/feed.xml", "added": "...",
//!    "etag": "\"abc\"", "last_modified": "...", "last_scan": "...", "last_status": "ok",
//!    "saved": {"<guid>": "tide-pool-radio/2024-03-05-kelp.vtt"},
//!    "waiting": {"<guid>": 0}}]}
//! ```
//!
//! - `saved`: items whose transcript is in the library (never fetched again).
//! - `waiting`: items seen without a usable transcript, with the number of
//!   failed downloads. They are looked at again whenever the feed changes
//!   (publishers often add transcripts hours after the episode); an item
//!   whose downloads failed [`MAX_TRIES`] times is given up.
//! - `index_pending`: files were written that have not been indexed yet, so
//!   the next scan indexes even if nothing new arrives.
//!
//! The file is replaced atomically. Changes go through [`update`], which
//! holds `feeds.json.lock` while it reads, changes and writes, so a `feed
//! add` during a long scan is not lost when the scan saves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{FeedError, Result};
use super::http::Validators;

/// The feed list's file name in the index folder.
pub const FILE: &str = "feeds.json";
/// Failed downloads of one item before it is given up.
pub const MAX_TRIES: u32 = 3;

/// The feed list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedList {
    /// Format version (1).
    pub version: u32,
    /// Files were written to the library but not indexed yet.
    #[serde(default)]
    pub index_pending: bool,
    /// The feeds, in the order they were added.
    #[serde(default)]
    pub feeds: Vec<FeedEntry>,
}

/// One followed feed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The show name: the library folder and the index's show.
    pub name: String,
    /// The feed's URL (`file://` for a local file).
    pub url: String,
    /// When it was added (RFC 3339).
    #[serde(default)]
    pub added: String,
    /// Preferred transcript language (else the feed's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Validators of the last complete fetch.
    #[serde(flatten)]
    pub validators: Validators,
    /// When it was last scanned (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan: Option<String>,
    /// How the last scan went: `ok`, `not modified`, or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    /// guid → library path (relative to the library) of saved items.
    #[serde(default)]
    pub saved: BTreeMap<String, String>,
    /// guid → failed downloads, for items without a usable transcript yet.
    #[serde(default)]
    pub waiting: BTreeMap<String, u32>,
}

impl FeedList {
    /// The list at `index` (empty when there is none yet).
    pub fn load(index: &Path) -> Result<FeedList> {
        let path = index.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let list: FeedList =
                    serde_json::from_slice(&bytes).map_err(|e| FeedError::BadList {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                if list.version != 1 {
                    return Err(FeedError::BadList {
                        path,
                        message: format!("unknown version {}", list.version),
                    });
                }
                Ok(list)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FeedList {
                version: 1,
                ..FeedList::default()
            }),
            Err(e) => Err(FeedError::io(path, e)),
        }
    }

    /// Write the list to `index` atomically.
    pub fn save(&self, index: &Path) -> Result<()> {
        std::fs::create_dir_all(index).map_err(|e| FeedError::io(index, e))?;
        let path = index.join(FILE);
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| FeedError::BadList {
            path: path.clone(),
            message: e.to_string(),
        })?;
        json.push(b'\n');
        super::library::write_atomic(&path, &json)
    }

    /// The feed named `name`.
    pub fn get(&self, name: &str) -> Option<&FeedEntry> {
        self.feeds.iter().find(|f| f.name == name)
    }

    /// Add a feed: the name and the URL must both be new.
    pub fn add(&mut self, entry: FeedEntry) -> Result<()> {
        if let Some(f) = self.feeds.iter().find(|f| f.url == entry.url) {
            return Err(FeedError::AlreadyFollowed {
                name: f.name.clone(),
                url: f.url.clone(),
            });
        }
        if let Some(f) = self.get(&entry.name) {
            return Err(FeedError::NameTaken {
                name: f.name.clone(),
                url: f.url.clone(),
            });
        }
        self.feeds.push(entry);
        Ok(())
    }

    /// Remove the feed named `name`; returns it.
    pub fn remove(&mut self, name: &str) -> Result<FeedEntry> {
        let i = self
            .feeds
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| FeedError::NoSuchFeed(name.to_string()))?;
        Ok(self.feeds.remove(i))
    }

    /// A name based on `want` that no feed has: `want`, `want-2`, ...
    pub fn free_name(&self, want: &str) -> String {
        let mut n = 1;
        loop {
            let name = if n == 1 {
                want.to_string()
            } else {
                format!("{want}-{n}")
            };
            if self.get(&name).is_none() {
                return name;
            }
            n += 1;
        }
    }
}

/// Read the list at `index`, change it with `f`, write it back, all under
/// the list's lock; returns what `f` returned.
pub fn update<T>(index: &Path, f: impl FnOnce(&mut FeedList) -> Result<T>) -> Result<T> {
    std::fs::create_dir_all(index).map_err(|e| FeedError::io(index, e))?;
    let lock_path = index.join(format!("{FILE}.lock"));
    let lock = open_lock(&lock_path)?;
    lock.lock().map_err(|e| FeedError::io(&lock_path, e))?;
    let mut list = FeedList::load(index)?;
    let out = f(&mut list)?;
    list.save(index)?;
    drop(lock);
    Ok(out)
}

/// Open (creating) a lock file.
pub fn open_lock(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| FeedError::io(path, e))
}

/// The scan lock: held for a whole scan so that two scans (say a cron job
/// and a manual one) never fetch and write at once.
#[derive(Debug)]
pub struct ScanLock {
    _file: std::fs::File,
}

/// What [`ScanLock::acquire`] found.
#[derive(Debug)]
pub enum Acquired {
    /// The lock is ours.
    Held(ScanLock),
    /// Another scan held it for the whole wait; its pid as it wrote it.
    Busy(String),
}

impl ScanLock {
    /// The lock file of the index at `index`.
    pub fn path(index: &Path) -> PathBuf {
        index.join("SCAN.LOCK")
    }

    /// Take the scan lock, waiting up to `wait` for another scan to finish
    /// (polling, so the wait is bounded). The holder's pid is written in the
    /// file for the message the other process prints.
    pub fn acquire(index: &Path, wait: std::time::Duration) -> Result<Acquired> {
        use std::io::Write;
        std::fs::create_dir_all(index).map_err(|e| FeedError::io(index, e))?;
        let path = ScanLock::path(index);
        let mut file = open_lock(&path)?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if std::time::Instant::now() >= deadline {
                        let pid = std::fs::read_to_string(&path).unwrap_or_default();
                        let pid = pid.trim();
                        return Ok(Acquired::Busy(if pid.is_empty() {
                            "unknown".into()
                        } else {
                            pid.to_string()
                        }));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(FeedError::io(&path, e)),
            }
        }
        file.set_len(0).map_err(|e| FeedError::io(&path, e))?;
        write!(file, "{}", std::process::id()).map_err(|e| FeedError::io(&path, e))?;
        Ok(Acquired::Held(ScanLock { _file: file }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, url: &str) -> FeedEntry {
        FeedEntry {
            name: name.into(),
            url: url.into(),
            ..FeedEntry::default()
        }
    }

    #[test]
    fn add_refuses_duplicates_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        update(dir.path(), |l| l.add(entry("a", "https://x/a"))).unwrap();
        let err = update(dir.path(), |l| l.add(entry("b", "https://x/a"))).unwrap_err();
        assert!(matches!(err, FeedError::AlreadyFollowed { .. }));
        let err = update(dir.path(), |l| l.add(entry("a", "https://x/b"))).unwrap_err();
        assert!(matches!(err, FeedError::NameTaken { .. }));
        let list = FeedList::load(dir.path()).unwrap();
        assert_eq!(list.feeds.len(), 1);
        assert_eq!(list.free_name("a"), "a-2");
        assert_eq!(list.free_name("c"), "c");
        update(dir.path(), |l| l.remove("a").map(|_| ())).unwrap();
        assert!(FeedList::load(dir.path()).unwrap().feeds.is_empty());
        assert!(matches!(
            update(dir.path(), |l| l.remove("a").map(|_| ())),
            Err(FeedError::NoSuchFeed(_))
        ));
    }

    #[test]
    fn a_damaged_list_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        let err = FeedList::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("feeds.json"), "{err}");
    }

    #[test]
    fn a_second_scan_lock_is_busy_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let zero = std::time::Duration::ZERO;
        let Acquired::Held(first) = ScanLock::acquire(dir.path(), zero).unwrap() else {
            panic!("first lock");
        };
        match ScanLock::acquire(dir.path(), zero).unwrap() {
            Acquired::Busy(pid) => assert_eq!(pid, std::process::id().to_string()),
            Acquired::Held(_) => panic!("locked twice"),
        }
        drop(first);
        assert!(matches!(
            ScanLock::acquire(dir.path(), zero).unwrap(),
            Acquired::Held(_)
        ));
    }
}
