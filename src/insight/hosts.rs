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
//! episodes and in at least [`HOST_MIN_EPISODES`] of them; the signal is
//! that a host speaks in an episode with a guest (someone else speaks
//! too): in an episode of hosts alone, a co-hosted show's, the hosts are
//! the content. Role labels that
//! transcripts put in place of a name ("Guest", "Unknown", "Speaker 2")
//! are never hosts, however often they appear: "Guest" is in most episodes
//! of a show whose transcripts label speakers by role. Shows whose
//! transcripts name no speakers have no hosts, and nothing changes for them.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
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

/// For one show: the speakers each of its episodes names.
#[derive(Debug, Clone, Default)]
pub struct ShowSpeakers {
    /// Each episode's speakers, by name trimmed and lower-cased.
    episodes: HashMap<String, BTreeSet<String>>,
    /// Each speaker's spelling, the first seen.
    spelling: HashMap<String, String>,
}

impl ShowSpeakers {
    /// Count episode `id`, whose passages name `speakers` (repeats are
    /// counted once).
    pub fn add_episode<'a>(&mut self, id: &str, speakers: impl IntoIterator<Item = &'a str>) {
        let names = self.episodes.entry(id.to_string()).or_default();
        for s in speakers {
            let k = key(s);
            self.spelling
                .entry(k.clone())
                .or_insert_with(|| s.trim().to_string());
            names.insert(k);
        }
    }

    /// The show's hosts, trimmed and lower-cased.
    pub fn hosts(&self) -> BTreeSet<String> {
        let mut count: HashMap<&str, usize> = HashMap::new();
        for names in self.episodes.values() {
            for n in names {
                *count.entry(n).or_default() += 1;
            }
        }
        let need =
            ((self.episodes.len() as f64 * HOST_SHARE).ceil() as usize).max(HOST_MIN_EPISODES);
        count
            .into_iter()
            .filter(|(k, n)| *n >= need && !is_role_label(k))
            .map(|(k, _)| k.to_string())
            .collect()
    }

    /// The show's hosts as the transcripts spell them, sorted.
    pub fn host_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .hosts()
            .iter()
            .map(|k| self.spelling.get(k).cloned().unwrap_or_else(|| k.clone()))
            .collect();
        names.sort();
        names
    }

    /// The episodes in which someone other than the hosts speaks (a guest,
    /// named or by role): where a host mostly asks. In an episode of hosts
    /// alone (a co-hosted show, a news round-up) the hosts are the content.
    fn with_guests(&self, hosts: &BTreeSet<String>) -> HashSet<String> {
        self.episodes
            .iter()
            .filter(|(_, names)| names.iter().any(|n| !hosts.contains(n)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Count `show` in the local index: from its episode entries, or, in
    /// an index written before they recorded speakers, from the stored
    /// passages.
    pub fn of_local(store: &Store, show: &str) -> Result<ShowSpeakers> {
        let entries: Vec<(&String, &EpisodeEntry)> =
            store.episodes().filter(|(_, e)| e.show == show).collect();
        let mut counts = ShowSpeakers::default();
        for (id, e) in &entries {
            counts.add_episode(id, e.speakers.iter().flatten().map(String::as_str));
        }
        if entries.iter().all(|(_, e)| e.speakers.is_some()) {
            return Ok(counts);
        }
        for addr in store.show_addresses(show)? {
            let c = store.passage_at(addr)?;
            if let Some(name) = &c.speaker {
                counts.add_episode(&c.episode, [name.as_str()]);
            }
        }
        Ok(counts)
    }
}

/// A show's hosts and the episodes in which they talk with a guest.
#[derive(Debug, Default)]
struct ShowHosts {
    hosts: BTreeSet<String>,
    with_guests: HashSet<String>,
}

/// Hosts worked out show by show, the first time a show is asked about
/// (an archive keeps one: [`super::archive::Archive::is_host`]).
#[derive(Debug, Default)]
pub struct HostCache(Mutex<HashMap<String, ShowHosts>>);

impl HostCache {
    /// Whether `speaker` hosts `show` and `episode` has a guest besides;
    /// `count` counts the show's speakers when it was not asked about
    /// before. No speaker: no host, and nothing counted.
    pub fn is_host(
        &self,
        show: &str,
        episode: &str,
        speaker: Option<&str>,
        count: impl FnOnce(&str) -> Result<ShowSpeakers>,
    ) -> Result<bool> {
        let Some(speaker) = speaker else {
            return Ok(false);
        };
        let mut shows = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let known = match shows.entry(show.to_string()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let counts = count(show)?;
                let hosts = counts.hosts();
                let with_guests = counts.with_guests(&hosts);
                e.insert(ShowHosts { hosts, with_guests })
            }
        };
        Ok(known.hosts.contains(&key(speaker)) && known.with_guests.contains(episode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(episodes: &[&[&str]]) -> ShowSpeakers {
        let mut s = ShowSpeakers::default();
        for (i, e) in episodes.iter().enumerate() {
            s.add_episode(&format!("ep-{i}"), e.iter().copied());
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
            &["Ana Host"],
        ]);
        // A role label in every episode is no host; a guest who came twice
        // is not one either.
        assert_eq!(talk.hosts().into_iter().collect::<Vec<_>>(), ["ana host"]);
        assert_eq!(talk.host_names(), ["Ana Host"]);
        let cache = HostCache::default();
        let mut counted = 0;
        let mut ask = |episode: &str, speaker: Option<&str>| {
            cache
                .is_host("talk", episode, speaker, |_| {
                    counted += 1;
                    Ok(talk.clone())
                })
                .unwrap()
        };
        assert!(ask("ep-0", Some("Ana Host")));
        assert!(ask("ep-1", Some(" ANA HOST ")));
        assert!(!ask("ep-0", Some("Guest")));
        assert!(!ask("ep-0", Some("Bo One")));
        assert!(!ask("ep-0", None));
        // Alone, the host is the content.
        assert!(!ask("ep-5", Some("Ana Host")));
        assert_eq!(counted, 1, "a show is counted once");
    }

    #[test]
    fn co_hosts_without_guests_are_the_content() {
        let duo = show(&[&["Ben", "David"], &["Ben", "David"], &["Ben", "David"]]);
        assert_eq!(duo.hosts().len(), 2);
        let cache = HostCache::default();
        for ep in ["ep-0", "ep-1", "ep-2"] {
            assert!(!cache
                .is_host("duo", ep, Some("Ben"), |_| Ok(duo.clone()))
                .unwrap());
        }
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
