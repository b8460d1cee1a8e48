//! Doing the explorer's [`Task`]s against a store: [`StoreBackend`] answers
//! each task with the [`Action`] that carries its result, and [`drive`]
//! runs a state machine to rest synchronously with any function from tasks
//! to actions (a store, or canned answers in tests).
//!
//! The terminal front end runs a `StoreBackend` on a worker thread instead,
//! with [`stale_related`] deciding which queued related-passage requests a
//! newer centre made pointless.

use std::collections::VecDeque;
use std::time::Instant;

use super::state::{Action, EpisodeInfo, State, Task};
use crate::embed::Embedder;
use crate::insight::related::{related, RelatedOptions};
use crate::rank;
use crate::store::Store;

/// Answers tasks from a store (and the model, once it is there).
pub struct StoreBackend<'a> {
    /// The index.
    pub store: &'a Store,
    /// The model, when loaded (semantic and hybrid search need it).
    pub embedder: Option<Embedder>,
    /// How related passages are found.
    pub related: RelatedOptions,
}

impl<'a> StoreBackend<'a> {
    /// A backend over `store` finding `related` passages per centre.
    pub fn new(store: &'a Store, embedder: Option<Embedder>, related: usize) -> StoreBackend<'a> {
        StoreBackend {
            store,
            embedder,
            related: RelatedOptions {
                limit: related,
                ..RelatedOptions::default()
            },
        }
    }

    /// Do `task`; `None` for tasks the front end does itself (opening and
    /// copying links).
    pub fn run(&self, task: Task) -> Option<Action> {
        let err = |e: crate::error::Error| e.to_string();
        Some(match task {
            Task::Search {
                seq,
                query,
                options,
            } => {
                let t = Instant::now();
                let embedder = if options.mode.needs_model() {
                    self.embedder.as_ref()
                } else {
                    None
                };
                let result = rank::search(self.store, embedder, &query, &options)
                    .map(|(hits, _)| hits)
                    .map_err(err);
                Action::Searched {
                    seq,
                    result,
                    ms: t.elapsed().as_secs_f64() * 1000.0,
                }
            }
            Task::Context {
                id,
                episode,
                from,
                to,
            } => Action::Context {
                id,
                result: self.store.episode_range(&episode, from, to).map_err(err),
            },
            Task::Related { id, .. } => Action::Related {
                id,
                result: related(self.store, id, &self.related)
                    .map(|(_, list)| list)
                    .map_err(err),
            },
            Task::Episodes { show } => Action::Episodes {
                result: Ok(episodes(self.store, &show)),
                show,
            },
            Task::EpisodeStart { episode } => Action::EpisodeStart {
                result: self
                    .store
                    .episode_range(&episode, 0, 50)
                    .map_err(err)
                    .and_then(|l| {
                        l.into_iter()
                            .next()
                            .map(Box::new)
                            .ok_or_else(|| "no passages".to_string())
                    }),
                episode,
            },
            Task::Open { .. } | Task::Copy { .. } => return None,
        })
    }
}

/// The episodes of `show` in the index, newest first (undated last, by
/// title).
pub fn episodes(store: &Store, show: &str) -> Vec<EpisodeInfo> {
    let mut out: Vec<EpisodeInfo> = store
        .episodes()
        .filter(|(_, e)| e.show == show)
        .map(|(id, e)| EpisodeInfo {
            id: id.clone(),
            show: e.show.clone(),
            title: e.title.clone(),
            date: e.date.clone(),
            passages: e.chunks,
            duration_ms: e.duration_ms,
        })
        .collect();
    out.sort_by(|a, b| {
        b.date
            .is_some()
            .cmp(&a.date.is_some())
            .then(b.date.cmp(&a.date))
            .then(a.title.cmp(&b.title))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// The shows of the index, sorted.
pub fn shows(store: &Store) -> Vec<String> {
    let mut s: Vec<String> = store.episodes().map(|(_, e)| e.show.clone()).collect();
    s.sort();
    s.dedup();
    s
}

/// Apply `action`, then do every task it leads to with `exec` and apply the
/// answers, until nothing is left to do. Tasks `exec` answers with `None`
/// are dropped (tests collect them in the closure).
pub fn drive(state: &mut State, action: Action, exec: &mut dyn FnMut(Task) -> Option<Action>) {
    let mut queue = VecDeque::from([action]);
    while let Some(a) = queue.pop_front() {
        for t in state.update(a) {
            if let Some(answer) = exec(t) {
                queue.push_back(answer);
            }
        }
    }
}

/// Run `tasks` (from [`State::start`]) to rest, as [`drive`] does.
pub fn drive_tasks(
    state: &mut State,
    tasks: Vec<Task>,
    exec: &mut dyn FnMut(Task) -> Option<Action>,
) {
    for t in tasks {
        if let Some(a) = exec(t) {
            drive(state, a, exec);
        }
    }
}

/// Whether a queued [`Task::Related`] is stale: a request for a newer
/// centre (a higher generation) is queued too. Answer stale ones with
/// [`Action::Dropped`].
pub fn stale_related(task: &Task, newest_generation: u64) -> bool {
    matches!(task, Task::Related { generation, .. } if *generation < newest_generation)
}
