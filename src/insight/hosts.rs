//! Who hosts a show: the speakers named in a large share of its episodes.
//!
//! A host's passages are mostly questions, introductions, hand-overs and
//! banter; the guest's are where the ideas are. On the tune half of
//! `tests/eval/insights.jsonl` (whole-corpus index), passages a host speaks
//! were labelled insights 3 times in 63, all others 100 times in 168. So
//! whether a host speaks is a signal of worth
//! ([`super::worth::Passage::host`]).
//!
//! A speaker hosts a show when named in at least [`HOST_SHARE`] of its
//! episodes and in at least [`HOST_MIN_EPISODES`] of them. Role labels that
//! transcripts put in place of a name ("Guest", "Unknown", "Speaker 2")
//! are never hosts, however often they appear: "Guest" is in most episodes
//! of a show whose transcripts label speakers by role. Shows whose
//! transcripts name no speakers have no hosts, and nothing changes for them.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use crate::error::Result;
use crate::store::state::EpisodeEntry;
use crate::store::Store;

/// Share of a show's episodes a speaker must be named in to host it.
pub const HOST_SHARE: f64 = 0.25;

/// Fewest episodes a host is named in (two episodes with the same guest
/// make no host).
pub const HOST_MIN_EPISODES: usize = 3;

/// Labels that stand for a role, not a person (compared lower-cased, with
/// digits and punctuation left out: "Speaker 2" is "speaker").
const ROLE_LABELS: &[&str] = &[
    "guest",
    "guests",
    "unknown",
    "speaker",
    "interviewee",
    "caller",
    "audience",
    "participant",
    "unidentified",
    "voice",
    "other",
];

/// Whether `name` is a role label rather than a person's name.
pub fn is_role_label(name: &str) -> bool {
    let key: String = name
        .chars()
        .filter(|c| c.is_alphabetic() || c.is_whitespace())
        .collect::<String>()
        .trim()
        .to_lowercase();
    key.is_empty() || ROLE_LABELS.contains(&key.as_str())
}

/// How a speaker is compared: trimmed, lower-cased.
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// For one show: how many episodes it has and, for each speaker, in how
/// many of them the speaker is named.
#[derive(Debug, Clone, Default)]
pub struct ShowSpeakers {
    /// Episodes of the show.
    pub episodes: usize,
    /// Episodes each speaker is named in, by name trimmed and lower-cased,
    /// with the spelling first seen.
    pub speakers: HashMap<String, (usize, String)>,
}

impl ShowSpeakers {
    /// Count one episode whose passages name `speakers` (repeats are
    /// counted once).
    pub fn add_episode<'a>(&mut self, speakers: impl IntoIterator<Item = &'a str>) {
        self.episodes += 1;
        let names: BTreeMap<String, &str> = speakers.into_iter().map(|s| (key(s), s)).collect();
        for (k, name) in names {
            self.speakers
                .entry(k)
                .or_insert_with(|| (0, name.trim().to_string()))
                .0 += 1;
        }
    }

    /// The show's hosts, trimmed and lower-cased.
    pub fn hosts(&self) -> BTreeSet<String> {
        self.host_entries().map(|(k, _)| k.clone()).collect()
    }

    /// The show's hosts as the transcripts spell them, sorted.
    pub fn host_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.host_entries().map(|(_, (_, n))| n.clone()).collect();
        names.sort();
        names
    }

    fn host_entries(&self) -> impl Iterator<Item = (&String, &(usize, String))> {
        let need = ((self.episodes as f64 * HOST_SHARE).ceil() as usize).max(HOST_MIN_EPISODES);
        self.speakers
            .iter()
            .filter(move |(k, (n, _))| *n >= need && !is_role_label(k))
    }

    /// Count `show` in the local index: from its episode entries, or, in
    /// an index written before they recorded speakers, from the stored
    /// passages.
    pub fn of_local(store: &Store, show: &str) -> Result<ShowSpeakers> {
        let entries: Vec<(&String, &EpisodeEntry)> =
            store.episodes().filter(|(_, e)| e.show == show).collect();
        let mut counts = ShowSpeakers::default();
        if entries.iter().all(|(_, e)| e.speakers.is_some()) {
            for (_, e) in entries {
                counts.add_episode(e.speakers.iter().flatten().map(String::as_str));
            }
            return Ok(counts);
        }
        let mut by_episode: HashMap<&str, HashSet<String>> = entries
            .iter()
            .map(|(id, _)| (id.as_str(), HashSet::new()))
            .collect();
        for addr in store.show_addresses(show)? {
            let c = store.passage_at(addr)?;
            if let (Some(names), Some(name)) = (by_episode.get_mut(c.episode.as_str()), c.speaker) {
                names.insert(name);
            }
        }
        for names in by_episode.values() {
            counts.add_episode(names.iter().map(String::as_str));
        }
        Ok(counts)
    }
}

/// Hosts worked out show by show, the first time a show is asked about
/// (an archive keeps one: [`super::archive::Archive::is_host`]).
#[derive(Debug, Default)]
pub struct HostCache(Mutex<HashMap<String, BTreeSet<String>>>);

impl HostCache {
    /// Whether `speaker` hosts `show`; `count` counts the show's speakers
    /// when it was not asked about before. No speaker: no host, and
    /// nothing counted.
    pub fn is_host(
        &self,
        show: &str,
        speaker: Option<&str>,
        count: impl FnOnce(&str) -> Result<ShowSpeakers>,
    ) -> Result<bool> {
        let Some(speaker) = speaker else {
            return Ok(false);
        };
        let mut shows = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let hosts = match shows.entry(show.to_string()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(count(show)?.hosts()),
        };
        Ok(hosts.contains(&key(speaker)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(episodes: &[&[&str]]) -> ShowSpeakers {
        let mut s = ShowSpeakers::default();
        for e in episodes {
            s.add_episode(e.iter().copied());
        }
        s
    }

    #[test]
    fn the_speaker_of_most_episodes_hosts_and_guests_do_not() {
        let talk = show(&[
            &["Ana Host", "Guest", "Bo One"],
            &["ana host", "Guest", "Cy Two"],
            &["Ana Host", "Guest", "Bo One"],
            &["Ana Host", "Speaker 2", "Di Three"],
            &["Ana Host", "Guest", "Ed Four"],
            &["Ana Host", "Guest", "Fa Five"],
        ]);
        // A role label in every episode is no host; a guest who came twice
        // is not one either.
        assert_eq!(talk.hosts().into_iter().collect::<Vec<_>>(), ["ana host"]);
        assert_eq!(talk.host_names(), ["Ana Host"]);
        let cache = HostCache::default();
        let mut counted = 0;
        let mut ask = |speaker: Option<&str>| {
            cache
                .is_host("talk", speaker, |_| {
                    counted += 1;
                    Ok(talk.clone())
                })
                .unwrap()
        };
        assert!(ask(Some("Ana Host")));
        assert!(ask(Some(" ANA HOST ")));
        assert!(!ask(Some("Guest")));
        assert!(!ask(Some("Bo One")));
        assert!(!ask(None));
        assert_eq!(counted, 1, "a show is counted once");
    }

    #[test]
    fn a_small_show_needs_three_episodes_to_know_its_host() {
        assert!(show(&[&["Ana"], &["Ana"]]).hosts().is_empty());
        assert!(show(&[&["Ana"], &["Ana"], &["Ana"]])
            .hosts()
            .contains("ana"));
        assert!(show(&[]).hosts().is_empty());
    }

    #[test]
    fn role_labels() {
        for r in ["Guest", "Speaker 1", "SPEAKER_02", "Unknown", "", "  "] {
            assert!(is_role_label(r), "{r}");
        }
        for n in ["Amit Varma", "Lenny", "Guest Star Jones"] {
            assert!(!is_role_label(n), "{n}");
        }
    }
}
