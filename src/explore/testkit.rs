//! Canned passages and a fake backend for the explorer's unit tests: three
//! shows, a few episodes each, answers computed from that data alone.

use super::state::{Action, EpisodeInfo, ModelStatus, Settings, State, Task};
use crate::chunk::ChunkId;
use crate::insight::related_hit;
use crate::rank::{Hit, Mode, Signals};
use crate::store::text::StoredChunk;

/// Passage `seq` of `episode` (`show/ep`), timed 60 s apart.
pub fn chunk(show: &str, ep: &str, seq: u64, text: &str) -> StoredChunk {
    let episode = format!("{show}/{ep}");
    StoredChunk {
        id: ChunkId(id_of(&episode, seq)),
        episode,
        show: show.into(),
        title: format!("{ep} title"),
        speaker: Some(
            if seq.is_multiple_of(2) {
                "Priya"
            } else {
                "Owen"
            }
            .into(),
        ),
        text: text.into(),
        start_ms: Some(seq * 60_000),
        end_ms: Some(seq * 60_000 + 59_000),
        seq,
        date: Some("2024-03-01".into()),
        url: (show != "no-url").then(|| format!("https://example.com/{ep}.mp3")),
        path: format!("{show}/{ep}.vtt"),
        ..StoredChunk::default()
    }
}

/// A stable id per (episode, seq).
pub fn id_of(episode: &str, seq: u64) -> u64 {
    let h = episode.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    });
    (h >> 8) + seq
}

/// The text of passage `seq` of an episode.
pub fn text(show: &str, seq: u64) -> String {
    format!(
        "Passage {seq} of {show}: we talked about custom chips and inference cost, \
         and why the accelerator team cares about power per watt in the data centre."
    )
}

/// Hits for any query: passage 2 of `silicon/ep1`, 5 of `silicon/ep2`, 1 of
/// `money/ep7`.
pub fn hits() -> Vec<Hit> {
    [
        ("silicon", "ep1", 2),
        ("silicon", "ep2", 5),
        ("money", "ep7", 1),
    ]
    .iter()
    .enumerate()
    .map(|(i, (s, e, q))| {
        let c = chunk(s, e, *q, &text(s, *q));
        Hit {
            rank: i + 1,
            score: 1.0 / (i + 1) as f32,
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            chunk: c,
            merged: Vec::new(),
            shared_terms: Vec::new(),
            signals: Signals::default(),
        }
    })
    .collect()
}

/// Every passage the fake index knows, by id.
pub fn find(id: ChunkId) -> Option<StoredChunk> {
    for (s, e) in [
        ("silicon", "ep1"),
        ("silicon", "ep2"),
        ("money", "ep7"),
        ("garden", "ep3"),
        ("no-url", "ep9"),
    ] {
        for q in 0..10 {
            let c = chunk(s, e, q, &text(s, q));
            if c.id == id {
                return Some(c);
            }
        }
    }
    None
}

/// Related passages of `id`: passage 4 of `garden/ep3` and 7 of
/// `money/ep7`, or, from the garden, 3 of `no-url/ep9`.
pub fn related(id: ChunkId) -> Vec<Hit> {
    let seed = find(id).expect("known passage");
    let picks: &[(&str, &str, u64)] = if seed.show == "garden" {
        &[("no-url", "ep9", 3)]
    } else {
        &[("garden", "ep3", 4), ("money", "ep7", 7)]
    };
    picks
        .iter()
        .map(|(s, e, q)| {
            related_hit(
                1,
                chunk(s, e, *q, &text(s, *q)),
                0.7,
                vec!["chips".into(), "inference".into()],
            )
        })
        .collect()
}

/// A fake backend: answers every task from the data above; links go to
/// `links`.
pub fn exec(links: &mut Vec<Task>) -> impl FnMut(Task) -> Option<Action> + '_ {
    move |t| match t {
        Task::Search { seq, .. } => Some(Action::Searched {
            seq,
            result: Ok(hits()),
            ms: 1.0,
        }),
        Task::Context { id, from, to, .. } => {
            let c = find(id)?;
            let ep = c.episode.split('/').nth(1).unwrap().to_string();
            Some(Action::Context {
                id,
                result: Ok((from..=to.min(9))
                    .map(|q| chunk(&c.show, &ep, q, &text(&c.show, q)))
                    .collect()),
            })
        }
        Task::Related { id, .. } => Some(Action::Related {
            id,
            result: Ok(related(id)),
        }),
        Task::Episodes { show } => Some(Action::Episodes {
            result: Ok(vec![
                EpisodeInfo {
                    id: format!("{show}/ep2"),
                    show: show.clone(),
                    title: "ep2 title".into(),
                    date: Some("2024-04-01".into()),
                    passages: 10,
                    duration_ms: 600_000,
                },
                EpisodeInfo {
                    id: format!("{show}/ep1"),
                    show: show.clone(),
                    title: "ep1 title".into(),
                    date: Some("2024-03-01".into()),
                    passages: 10,
                    duration_ms: 600_000,
                },
            ]),
            show,
        }),
        Task::EpisodeStart { episode } => {
            let (s, e) = episode.split_once('/').unwrap();
            Some(Action::EpisodeStart {
                result: Ok(Box::new(chunk(s, e, 0, &text(s, 0)))),
                episode,
            })
        }
        other => {
            links.push(other);
            None
        }
    }
}

/// Settings with the three shows.
pub fn settings() -> Settings {
    Settings {
        shows: vec![
            "garden".into(),
            "money".into(),
            "no-url".into(),
            "silicon".into(),
        ],
        today: chrono::NaiveDate::from_ymd_opt(2024, 6, 30),
        ..Settings::default()
    }
}

/// A state that searched "custom chips" with the model loaded, everything
/// answered.
pub fn searched() -> State {
    let mut s = State::new(
        settings(),
        "custom chips",
        Mode::Hybrid,
        Default::default(),
        ModelStatus::Ready,
    );
    let mut links = Vec::new();
    let tasks = s.start();
    super::drive_tasks(&mut s, tasks, &mut exec(&mut links));
    s
}
