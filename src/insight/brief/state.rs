//! The brief's state file (`brief-state.json`): what earlier briefs sent;
//! the format is in [`super`]'s doc.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::chunk::ChunkId;
use crate::error::{Error, Result};
use crate::insight::Insight;
use crate::store::text::StoredChunk;

/// What earlier briefs sent, so the next one never repeats itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BriefState {
    sent: BTreeSet<ChunkId>,
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
            sent: file.sent.into_iter().map(ChunkId).collect(),
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
            sent: self.sent.iter().map(|id| id.0).collect(),
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
    pub fn is_sent(&self, chunk_id: ChunkId) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::related_hit;
    use crate::insight::testkit::{chunk, insight};
    use crate::rank::Hit;

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
        assert!(
            back.is_sent(ChunkId(u64::MAX))
                && back.is_sent(ChunkId(7))
                && !back.is_sent(ChunkId(8))
        );
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
            .map(|c| c.id.0)
            .collect();
        assert_eq!(new, [3, 9]);
        st.record(
            &[insight(1, chunk(3, "b", "e9", "w"), vec![])],
            now("2026-11-28T07:00:00Z"),
        );
        assert!(candidates
            .iter()
            .filter(|c| st.is_new(c))
            .all(|c| c.id == ChunkId(9)));
        assert_eq!(st.sent_count(), 2);
        assert_eq!(st.last_brief(), Some(now("2026-11-28T07:00:00Z")));
    }

    fn insight_related(id: u64) -> Hit {
        related_hit(1, chunk(id, "c", "r", "r"), 0.5, vec![])
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
}
