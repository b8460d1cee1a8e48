//! The explorer's state machine: [`State::update`] takes an [`Action`] (a
//! key, or a result the driver computed) and returns the [`Task`]s it needs
//! done (a search, a passage's neighbours, its related passages, an episode
//! list, opening or copying a link). It never touches the store, the model
//! or the terminal, so every screen of the explorer can be reached in a test
//! by feeding it actions.
//!
//! Invariants:
//! - Moving a selection is pure bookkeeping: it asks for the new centre's
//!   neighbours and related passages once (results are cached by chunk id
//!   and never asked for twice while pending), and draws from what is
//!   cached meanwhile.
//! - A search result or related list that arrives late (a newer search was
//!   started; a related request the driver dropped as stale) never replaces
//!   newer state.
//! - The *centre* is the passage in the reading pane: the selected search
//!   result, or the last hop of the trail. The related pane always shows the
//!   centre's related passages.
//!
//! Semantic and hybrid searches need the model, which loads in the
//! background: until [`Action::ModelReady`] arrives they run as keyword
//! searches (labelled so), and are run again in the asked-for mode when the
//! model is ready.

mod filters;
mod line_edit;

pub use filters::{format_filters, parse_filters};
use line_edit::Edit;
pub use line_edit::LineEdit;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::text::Analysed;
use crate::chunk::ChunkId;
use crate::output::deep_link;
use crate::output::human::{analysed_terms, snippet};
use crate::rank::{Filters, Hit, Mode, SearchOptions};
use crate::store::text::StoredChunk;

/// Characters of a result's snippet.
const SNIPPET_CHARS: usize = 240;

/// A key press, as the state machine sees it (the terminal code translates
/// its events into these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// A character with Ctrl held.
    Ctrl(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
}

/// Something that happened: a key, or the result of a [`Task`].
#[derive(Debug, Clone)]
pub enum Action {
    /// A key press.
    Key(Key),
    /// Pasted text (goes to the line being edited).
    Paste(String),
    /// The result of [`Task::Search`].
    Searched {
        /// The task's sequence number.
        seq: u64,
        /// Hits, or the error.
        result: Result<Vec<Hit>, String>,
        /// Milliseconds the search took.
        ms: f64,
    },
    /// The result of [`Task::Context`]: the passage and its neighbours, in
    /// order.
    Context {
        /// The centre passage's id.
        id: ChunkId,
        /// Passages, or the error.
        result: Result<Vec<StoredChunk>, String>,
    },
    /// The result of [`Task::Related`].
    Related {
        /// The seed passage's id.
        id: ChunkId,
        /// Related passages, or the error.
        result: Result<Vec<Hit>, String>,
    },
    /// The driver skipped a [`Task::Related`] that a newer centre made
    /// stale; it will be asked for again if that passage is centred again.
    Dropped {
        /// The seed passage's id.
        id: ChunkId,
    },
    /// The result of [`Task::Episodes`].
    Episodes {
        /// The show.
        show: String,
        /// Its episodes, or the error.
        result: Result<Vec<EpisodeInfo>, String>,
    },
    /// The result of [`Task::EpisodeStart`]: the episode's first passage.
    EpisodeStart {
        /// The episode id.
        episode: String,
        /// The passage, or the error.
        result: Result<Box<StoredChunk>, String>,
    },
    /// The model finished loading: semantic search is available.
    ModelReady,
    /// The model could not be loaded: keyword search only.
    ModelFailed(String),
    /// What the driver did with [`Task::Open`] or [`Task::Copy`], for the
    /// status line (`Err` for a failure).
    Done(Result<String, String>),
}

/// Work the state machine asks its driver to do; each answer comes back as
/// an [`Action`].
#[derive(Debug, Clone)]
pub enum Task {
    /// Run a search; answered by [`Action::Searched`].
    Search {
        /// Sequence number (answers to older ones are ignored).
        seq: u64,
        /// The query.
        query: String,
        /// Mode, filters and limit.
        options: SearchOptions,
    },
    /// Read passages `from..=to` of `episode`; answered by
    /// [`Action::Context`].
    Context {
        /// The centre passage.
        id: ChunkId,
        /// Its episode.
        episode: String,
        /// First position.
        from: u64,
        /// Last position.
        to: u64,
    },
    /// Find passages related to `id`; answered by [`Action::Related`] or,
    /// when the driver finds a request of a newer `generation` queued behind
    /// it, [`Action::Dropped`].
    Related {
        /// The seed passage.
        id: ChunkId,
        /// Increases each time the centre changes.
        generation: u64,
    },
    /// List the episodes of a show; answered by [`Action::Episodes`].
    Episodes {
        /// The show.
        show: String,
    },
    /// Read an episode's first passage; answered by
    /// [`Action::EpisodeStart`].
    EpisodeStart {
        /// The episode id.
        episode: String,
    },
    /// Open a link in the browser (or show it when nothing can open it).
    Open {
        /// `url#t=SECONDS`.
        link: String,
    },
    /// Copy a link to the clipboard (OSC 52).
    Copy {
        /// `url#t=SECONDS`.
        link: String,
    },
}

/// An episode, for the episode list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EpisodeInfo {
    /// Episode id.
    pub id: String,
    /// Show.
    pub show: String,
    /// Title.
    pub title: String,
    /// Date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Passages indexed.
    pub passages: u64,
    /// Duration, ms (0 when untimed).
    pub duration_ms: u64,
}

/// Whether the model is there for semantic search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// Loading in the background.
    Loading,
    /// Loaded.
    Ready,
    /// Not available (the reason): keyword search only.
    Unavailable(String),
}

/// Something asked for, on its way, or failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    /// Asked for.
    Pending,
    /// Here.
    Ready(T),
    /// Failed (why).
    Failed(String),
}

/// Which pane keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The query line (typing edits the query).
    Query,
    /// The result list.
    Results,
    /// The reading pane (keys scroll).
    Reading,
    /// The related pane (Enter hops).
    Related,
}

/// A search result, with its snippet analysed for highlighting.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// The hit.
    pub hit: Hit,
    /// The part of the passage worth showing.
    pub snippet: Analysed,
}

/// The results of the last search.
#[derive(Debug, Clone)]
pub struct Results {
    /// The query.
    pub query: String,
    /// The mode the results came from.
    pub mode: Mode,
    /// Keyword results standing in for a semantic or hybrid search while the
    /// model loads (or when it is unavailable).
    pub fallback: bool,
    /// Results, best first.
    pub rows: Vec<ResultRow>,
    /// Milliseconds the search took.
    pub ms: f64,
}

/// A passage of the reading pane.
#[derive(Debug, Clone)]
pub struct Passage {
    /// The passage.
    pub chunk: StoredChunk,
    /// Its text, analysed for highlighting.
    pub text: Analysed,
}

/// A related passage, with what to show of it.
#[derive(Debug, Clone)]
pub struct RelatedRow {
    /// The passage and why it is related.
    pub rel: Hit,
    /// The part of it around the shared terms.
    pub snippet: Analysed,
    /// Analysed forms of the shared terms (to highlight).
    pub terms: HashSet<String>,
}

/// How one got to a passage of the trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Hopped from the related pane.
    Related,
    /// Opened from the episode list.
    Episode,
}

/// A step of the trail: a passage made the centre.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The passage.
    pub chunk: StoredChunk,
    /// How.
    pub via: Via,
    saved_related: usize,
    saved_scroll: Scroll,
}

/// Where the reading pane is scrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    /// So that the centre passage is in view, near the top.
    Centre,
    /// This many lines down.
    At(usize),
}

/// The episode list overlay.
#[derive(Debug, Clone)]
pub struct EpisodesView {
    /// The show.
    pub show: String,
    /// Its episodes.
    pub list: Load<Vec<EpisodeInfo>>,
    /// Selected row.
    pub selected: usize,
    /// First visible row (kept by the renderer).
    pub offset: Cell<usize>,
}

/// A window over the main screen.
#[derive(Debug, Clone)]
pub enum Overlay {
    /// The keys.
    Help,
    /// The filter prompt.
    Filter(LineEdit),
    /// The episodes of a show.
    Episodes(EpisodesView),
}

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The message.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// Fixed settings of a session.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Results per search.
    pub limit: usize,
    /// Neighbouring passages read on each side of the centre.
    pub context: u64,
    /// Related passages per centre.
    pub related: usize,
    /// Use colour (else only bold, underline and reverse: `NO_COLOR`).
    pub color: bool,
    /// Today, for relative dates in filters (`7d`); `None` accepts only
    /// `YYYY-MM-DD`.
    pub today: Option<NaiveDate>,
    /// The shows in the index (for checking filters and the episode list).
    pub shows: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limit: 30,
            context: 3,
            related: 6,
            color: true,
            today: None,
            shows: Vec::new(),
        }
    }
}

/// A search asked for and not answered yet.
#[derive(Debug, Clone)]
struct PendingSearch {
    seq: u64,
    query: String,
    mode: Mode,
    fallback: bool,
    /// Keep this passage selected if it is among the new results.
    keep: Option<ChunkId>,
}

/// Layout facts the renderer leaves for the next key (page sizes, how far
/// the reading pane can scroll). Before the first draw they hold defaults.
#[derive(Debug, Default)]
pub struct Viewport {
    /// Result rows visible.
    pub results_rows: Cell<usize>,
    /// Related rows visible.
    pub related_rows: Cell<usize>,
    /// Reading lines visible.
    pub reading_rows: Cell<usize>,
    /// The reading pane's top line as last drawn.
    pub reading_top: Cell<usize>,
    /// The largest useful reading scroll as last drawn.
    pub reading_max: Cell<usize>,
    /// First visible result (kept by the renderer).
    pub results_offset: Cell<usize>,
    /// First visible related row (kept by the renderer).
    pub related_offset: Cell<usize>,
}

/// Everything the explorer shows, and how keys change it.
#[derive(Debug)]
pub struct State {
    /// Settings.
    pub settings: Settings,
    /// The query line.
    pub query: LineEdit,
    /// The query before editing began (Esc restores it).
    query_before: Option<String>,
    /// The asked-for mode.
    pub mode: Mode,
    /// Search filters.
    pub filters: Filters,
    /// The model.
    pub model: ModelStatus,
    /// Where keys go.
    pub focus: Focus,
    /// An overlay, if one is open.
    pub overlay: Option<Overlay>,
    /// The last search's results.
    pub results: Option<Results>,
    /// Selected result.
    pub selected: usize,
    /// Analysed terms of the results' query (highlighted everywhere).
    pub terms: HashSet<String>,
    /// Hops from the selected result, oldest first.
    pub trail: Vec<Hop>,
    /// Selected related passage of the centre.
    pub related_sel: usize,
    /// Reading pane scroll.
    pub scroll: Scroll,
    /// Neighbourhoods, by centre id.
    pub contexts: HashMap<ChunkId, Load<Vec<Passage>>>,
    /// Related passages, by seed id.
    pub related: HashMap<ChunkId, Load<Vec<RelatedRow>>>,
    /// The status line.
    pub status: Option<Status>,
    /// Layout facts from the last draw.
    pub viewport: Viewport,
    pending: Option<PendingSearch>,
    /// The pending search re-runs a stand-in keyword search now that the
    /// model is here.
    upgrading: bool,
    seq: u64,
    generation: u64,
    last_centre: Option<ChunkId>,
    quit: bool,
}

impl State {
    /// A session that will search `query` (if not empty) in `mode`.
    pub fn new(
        settings: Settings,
        query: &str,
        mode: Mode,
        filters: Filters,
        model: ModelStatus,
    ) -> State {
        State {
            settings,
            query: LineEdit::new(query),
            query_before: None,
            mode,
            filters,
            model,
            focus: Focus::Results,
            overlay: None,
            results: None,
            selected: 0,
            terms: HashSet::new(),
            trail: Vec::new(),
            related_sel: 0,
            scroll: Scroll::Centre,
            contexts: HashMap::new(),
            related: HashMap::new(),
            status: None,
            viewport: Viewport::default(),
            pending: None,
            upgrading: false,
            seq: 0,
            generation: 0,
            last_centre: None,
            quit: false,
        }
    }

    /// The first tasks: the initial search, or the query line to type in.
    pub fn start(&mut self) -> Vec<Task> {
        let mut tasks = Vec::new();
        if self.query.text.trim().is_empty() {
            self.edit_query();
        } else {
            self.search(&mut tasks, None);
        }
        tasks
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether a search is on its way.
    pub fn searching(&self) -> bool {
        self.pending.is_some()
    }

    /// The mode the pending search runs in, and whether it stands in for a
    /// semantic one.
    pub fn pending_mode(&self) -> Option<(Mode, bool)> {
        self.pending.as_ref().map(|p| (p.mode, p.fallback))
    }

    /// The passage in the reading pane.
    pub fn centre(&self) -> Option<&StoredChunk> {
        if let Some(h) = self.trail.last() {
            return Some(&h.chunk);
        }
        self.selected_hit().map(|h| &h.chunk)
    }

    /// The selected search result.
    pub fn selected_hit(&self) -> Option<&Hit> {
        self.results
            .as_ref()?
            .rows
            .get(self.selected)
            .map(|r| &r.hit)
    }

    /// The centre's neighbourhood, if asked for.
    pub fn centre_context(&self) -> Option<&Load<Vec<Passage>>> {
        self.contexts.get(&self.centre()?.id)
    }

    /// The centre's related passages, if asked for.
    pub fn centre_related(&self) -> Option<&Load<Vec<RelatedRow>>> {
        self.related.get(&self.centre()?.id)
    }

    /// The deep link of what keys act on: the selected related passage when
    /// the related pane has focus, else the centre.
    pub fn current_link(&self) -> Option<String> {
        if self.focus == Focus::Related {
            if let Some(Load::Ready(rows)) = self.centre_related() {
                if let Some(r) = rows.get(self.related_sel) {
                    let c = &r.rel.chunk;
                    return deep_link(c.url.as_deref(), c.start_ms);
                }
            }
        }
        if self.trail.is_empty() {
            let h = self.selected_hit()?;
            return deep_link(h.chunk.url.as_deref(), h.start_ms);
        }
        let c = self.centre()?;
        deep_link(c.url.as_deref(), c.start_ms)
    }

    /// Apply an action; return the work it needs done.
    pub fn update(&mut self, action: Action) -> Vec<Task> {
        let mut tasks = Vec::new();
        match action {
            Action::Key(k) => self.key(k, &mut tasks),
            Action::Paste(s) => match (&mut self.overlay, self.focus) {
                (Some(Overlay::Filter(e)), _) => e.insert(&s),
                (None, Focus::Query) => self.query.insert(&s),
                _ => {}
            },
            Action::Searched { seq, result, ms } => self.searched(seq, result, ms, &mut tasks),
            Action::Context { id, result } => {
                let v = match result {
                    Ok(chunks) => Load::Ready(
                        chunks
                            .into_iter()
                            .map(|c| Passage {
                                text: Analysed::new(&c.text),
                                chunk: c,
                            })
                            .collect(),
                    ),
                    Err(e) => Load::Failed(e),
                };
                self.contexts.insert(id, v);
            }
            Action::Related { id, result } => {
                let v = match result {
                    Ok(list) => Load::Ready(list.into_iter().map(related_row).collect()),
                    Err(e) => Load::Failed(e),
                };
                self.related.insert(id, v);
                if self.centre().map(|c| c.id) == Some(id) {
                    self.prefetch_next(&mut tasks);
                }
            }
            Action::Dropped { id } => {
                if matches!(self.related.get(&id), Some(Load::Pending)) {
                    self.related.remove(&id);
                }
                // The centre's own request is never stale; ask again.
                self.load_centre(&mut tasks);
            }
            Action::Episodes { show, result } => {
                if let Some(Overlay::Episodes(v)) = &mut self.overlay {
                    if v.show == show {
                        v.list = match result {
                            Ok(l) => Load::Ready(l),
                            Err(e) => Load::Failed(e),
                        };
                        v.selected = 0;
                        v.offset.set(0);
                    }
                }
            }
            Action::EpisodeStart { episode, result } => match result {
                Ok(chunk) => self.hop(*chunk, Via::Episode, &mut tasks),
                Err(e) => self.error(format!("cannot open episode {episode}: {e}")),
            },
            Action::ModelReady => {
                self.model = ModelStatus::Ready;
                if !self.mode.needs_model() {
                    return tasks;
                }
                // Run the stand-in keyword search again in the asked-for mode.
                match &self.pending {
                    Some(p) if p.fallback => {
                        let q = p.query.clone();
                        self.run_search(q, &mut tasks, None);
                        self.upgrading = true;
                    }
                    Some(_) => {}
                    None => {
                        if let Some(r) = self.results.as_ref().filter(|r| r.fallback) {
                            let q = r.query.clone();
                            // Someone who moved keeps their place; otherwise
                            // the new best result is selected.
                            let moved = self.selected > 0 || !self.trail.is_empty();
                            let keep = self.selected_hit().filter(|_| moved).map(|h| h.chunk.id);
                            self.run_search(q, &mut tasks, keep);
                            self.upgrading = true;
                        }
                    }
                }
            }
            Action::ModelFailed(why) => {
                self.model = ModelStatus::Unavailable(why.clone());
                if self.mode.needs_model() {
                    self.error(format!("model unavailable ({why}): keyword search only"));
                }
            }
            Action::Done(r) => match r {
                Ok(m) => self.info(m),
                Err(e) => self.error(e),
            },
        }
        tasks
    }

    fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: true,
        });
    }

    fn edit_query(&mut self) {
        self.query_before = Some(self.query.text.clone());
        self.query.cursor = self.query.text.chars().count();
        self.focus = Focus::Query;
    }

    fn key(&mut self, k: Key, tasks: &mut Vec<Task>) {
        if k == Key::Ctrl('c') {
            self.quit = true;
            return;
        }
        self.status = None;
        if let Some(overlay) = self.overlay.take() {
            self.overlay_key(overlay, k, tasks);
            return;
        }
        if self.focus == Focus::Query {
            self.query_key(k, tasks);
            return;
        }
        match k {
            Key::Char('q') => self.quit = true,
            Key::Char('?') => self.overlay = Some(Overlay::Help),
            Key::Char('/') | Key::Char('i') => self.edit_query(),
            Key::Char('m') => {
                self.mode = next_mode(self.mode);
                if !self.query.text.trim().is_empty() {
                    self.search(tasks, None);
                } else {
                    self.info(format!("mode: {}", self.mode.name()));
                }
            }
            Key::Char('f') => {
                self.overlay = Some(Overlay::Filter(LineEdit::new(&format_filters(
                    &self.filters,
                ))))
            }
            Key::Char('e') => {
                let show = self
                    .centre()
                    .map(|c| c.show.clone())
                    .or_else(|| self.settings.shows.first().cloned());
                match show {
                    Some(show) => self.open_episodes(show, tasks),
                    None => self.error("no shows in the index"),
                }
            }
            Key::Char('o') => match self.current_link() {
                Some(link) => tasks.push(Task::Open { link }),
                None => self.error("this episode has no URL to open"),
            },
            Key::Char('y') => match self.current_link() {
                Some(link) => tasks.push(Task::Copy { link }),
                None => self.error("this episode has no URL to copy"),
            },
            Key::Tab | Key::Right | Key::Char('l') => self.focus = next_focus(self.focus),
            Key::BackTab | Key::Left | Key::Char('h') => self.focus = prev_focus(self.focus),
            Key::Backspace => self.back(tasks),
            Key::Esc => {}
            Key::Enter => match self.focus {
                Focus::Related => self.hop_selected(tasks),
                _ => self.focus = Focus::Related,
            },
            _ => self.move_key(k, tasks),
        }
    }

    /// Selection and scrolling keys of the focused pane.
    fn move_key(&mut self, k: Key, tasks: &mut Vec<Task>) {
        let page = |rows: &Cell<usize>| rows.get().max(1);
        match self.focus {
            Focus::Results => {
                let n = self.results.as_ref().map_or(0, |r| r.rows.len());
                if n == 0 {
                    return;
                }
                let p = page(&self.viewport.results_rows);
                let to = match k {
                    Key::Up | Key::Char('k') => self.selected.saturating_sub(1),
                    Key::Down | Key::Char('j') => self.selected + 1,
                    Key::PageUp => self.selected.saturating_sub(p),
                    Key::PageDown => self.selected + p,
                    Key::Home | Key::Char('g') => 0,
                    Key::End | Key::Char('G') => n - 1,
                    _ => return,
                };
                self.select(to.min(n - 1), tasks);
            }
            Focus::Related => {
                let n = match self.centre_related() {
                    Some(Load::Ready(rows)) => rows.len(),
                    _ => 0,
                };
                if n == 0 {
                    return;
                }
                let p = page(&self.viewport.related_rows);
                let to = match k {
                    Key::Up | Key::Char('k') => self.related_sel.saturating_sub(1),
                    Key::Down | Key::Char('j') => self.related_sel + 1,
                    Key::PageUp => self.related_sel.saturating_sub(p),
                    Key::PageDown => self.related_sel + p,
                    Key::Home | Key::Char('g') => 0,
                    Key::End | Key::Char('G') => n - 1,
                    _ => return,
                };
                self.related_sel = to.min(n - 1);
            }
            Focus::Reading => {
                let top = self.viewport.reading_top.get();
                let max = self.viewport.reading_max.get();
                let p = page(&self.viewport.reading_rows).saturating_sub(1).max(1);
                let to = match k {
                    Key::Up | Key::Char('k') => top.saturating_sub(1),
                    Key::Down | Key::Char('j') => top + 1,
                    Key::PageUp => top.saturating_sub(p),
                    Key::PageDown | Key::Char(' ') => top + p,
                    Key::Home | Key::Char('g') => 0,
                    Key::End | Key::Char('G') => max,
                    Key::Char('c') => {
                        self.scroll = Scroll::Centre;
                        return;
                    }
                    _ => return,
                };
                self.scroll = Scroll::At(to.min(max));
            }
            Focus::Query => {}
        }
    }

    fn query_key(&mut self, k: Key, tasks: &mut Vec<Task>) {
        match k {
            Key::Tab => {
                self.mode = next_mode(self.mode);
            }
            Key::Down if self.results.is_some() => {
                self.query_before = None;
                self.focus = Focus::Results;
            }
            _ => match self.query.key(k) {
                Edit::Submit => {
                    if self.query.text.trim().is_empty() {
                        self.error("type what to look for, then Enter");
                        return;
                    }
                    self.query_before = None;
                    self.focus = Focus::Results;
                    self.search(tasks, None);
                }
                Edit::Cancel => {
                    if let Some(before) = self.query_before.take() {
                        self.query = LineEdit::new(&before);
                    }
                    if self.results.is_some() {
                        self.focus = Focus::Results;
                    } else {
                        self.edit_query();
                    }
                }
                Edit::Changed | Edit::Unhandled => {}
            },
        }
    }

    fn overlay_key(&mut self, overlay: Overlay, k: Key, tasks: &mut Vec<Task>) {
        match overlay {
            Overlay::Help => {}
            Overlay::Filter(mut edit) => match edit.key(k) {
                Edit::Submit => match parse_filters(&edit.text, &self.settings) {
                    Ok(f) => {
                        self.filters = f;
                        let summary = format_filters(&self.filters);
                        if summary.is_empty() {
                            self.info("filters cleared");
                        } else {
                            self.info(format!("filters: {summary}"));
                        }
                        if !self.query.text.trim().is_empty() {
                            self.search(tasks, None);
                        }
                    }
                    Err(e) => {
                        self.error(e);
                        self.overlay = Some(Overlay::Filter(edit));
                    }
                },
                Edit::Cancel => {}
                _ => self.overlay = Some(Overlay::Filter(edit)),
            },
            Overlay::Episodes(mut v) => {
                let n = match &v.list {
                    Load::Ready(l) => l.len(),
                    _ => 0,
                };
                match k {
                    Key::Esc | Key::Char('q') | Key::Char('e') => return,
                    Key::Up | Key::Char('k') => v.selected = v.selected.saturating_sub(1),
                    Key::Down | Key::Char('j') => v.selected = (v.selected + 1).min(n.max(1) - 1),
                    Key::PageUp => v.selected = v.selected.saturating_sub(10),
                    Key::PageDown => v.selected = (v.selected + 10).min(n.max(1) - 1),
                    Key::Home | Key::Char('g') => v.selected = 0,
                    Key::End | Key::Char('G') => v.selected = n.max(1) - 1,
                    Key::Left | Key::Right | Key::Char('h') | Key::Char('l') => {
                        let shows = &self.settings.shows;
                        if let Some(i) = shows.iter().position(|s| *s == v.show) {
                            let j = if matches!(k, Key::Left | Key::Char('h')) {
                                (i + shows.len() - 1) % shows.len()
                            } else {
                                (i + 1) % shows.len()
                            };
                            let show = shows[j].clone();
                            self.open_episodes(show, tasks);
                            return;
                        }
                    }
                    Key::Enter => {
                        if let Load::Ready(l) = &v.list {
                            if let Some(ep) = l.get(v.selected) {
                                tasks.push(Task::EpisodeStart {
                                    episode: ep.id.clone(),
                                });
                                return;
                            }
                        }
                    }
                    _ => {}
                }
                self.overlay = Some(Overlay::Episodes(v));
            }
        }
    }

    fn open_episodes(&mut self, show: String, tasks: &mut Vec<Task>) {
        tasks.push(Task::Episodes { show: show.clone() });
        self.overlay = Some(Overlay::Episodes(EpisodesView {
            show,
            list: Load::Pending,
            selected: 0,
            offset: Cell::new(0),
        }));
    }

    /// Search the query line in the asked-for mode. A new search (new
    /// words, filters or mode) replaces the trail, so the keys go back to
    /// the result list; in a narrow terminal that also brings the reading
    /// pane back under it.
    fn search(&mut self, tasks: &mut Vec<Task>, keep: Option<ChunkId>) {
        let q = self.query.text.trim().to_string();
        if q.is_empty() {
            return;
        }
        self.focus = Focus::Results;
        self.run_search(q, tasks, keep);
    }

    fn run_search(&mut self, query: String, tasks: &mut Vec<Task>, keep: Option<ChunkId>) {
        self.upgrading = false;
        let fallback = self.mode.needs_model() && self.model != ModelStatus::Ready;
        let mode = if fallback { Mode::Keyword } else { self.mode };
        self.seq += 1;
        self.pending = Some(PendingSearch {
            seq: self.seq,
            query: query.clone(),
            mode,
            fallback,
            keep,
        });
        tasks.push(Task::Search {
            seq: self.seq,
            query,
            options: SearchOptions {
                mode,
                limit: self.settings.limit,
                filters: self.filters.clone(),
                ..SearchOptions::default()
            },
        });
    }

    fn searched(
        &mut self,
        seq: u64,
        result: Result<Vec<Hit>, String>,
        ms: f64,
        tasks: &mut Vec<Task>,
    ) {
        let Some(p) = self.pending.take_if(|p| p.seq == seq) else {
            return;
        };
        let hits = match result {
            Ok(h) => h,
            Err(e) => {
                self.error(format!("search failed: {e}"));
                return;
            }
        };
        self.terms = analysed_terms(&p.query);
        let rows: Vec<ResultRow> = hits
            .into_iter()
            .map(|hit| ResultRow {
                snippet: Analysed::new(&snippet(&hit.chunk.text, &self.terms, SNIPPET_CHARS)),
                hit,
            })
            .collect();
        let keep_at = p
            .keep
            .and_then(|id| rows.iter().position(|r| r.hit.chunk.id == id));
        let upgraded = std::mem::take(&mut self.upgrading);
        if rows.is_empty() {
            self.error(format!("no results for \"{}\"", p.query));
        } else if upgraded {
            self.info(format!("model ready: {} results", p.mode.name()));
        } else if p.fallback {
            match &self.model {
                ModelStatus::Unavailable(_) => {
                    self.info("keyword results: the model is unavailable")
                }
                _ => self.info(format!(
                    "keyword results while the model loads; {} results follow",
                    self.mode.name()
                )),
            }
        }
        // A re-run (the model arrived) keeps the reader where they were.
        let keep_trail = keep_at.is_some();
        self.results = Some(Results {
            query: p.query,
            mode: p.mode,
            fallback: p.fallback,
            rows,
            ms,
        });
        self.selected = keep_at.unwrap_or(0);
        self.viewport.results_offset.set(0);
        if !keep_trail {
            self.trail.clear();
            self.related_sel = 0;
            self.scroll = Scroll::Centre;
        }
        self.load_centre(tasks);
        // The other results' neighbourhoods are cheap: read them ahead so
        // moving the selection shows them at once.
        let ahead: Vec<StoredChunk> = self
            .results
            .iter()
            .flat_map(|r| r.rows.iter())
            .map(|r| r.hit.chunk.clone())
            .collect();
        for c in ahead {
            self.ask_context(&c, tasks);
        }
    }

    /// Select result `i` (the trail starts again from it).
    fn select(&mut self, i: usize, tasks: &mut Vec<Task>) {
        if i == self.selected && self.trail.is_empty() {
            return;
        }
        self.selected = i;
        self.trail.clear();
        self.related_sel = 0;
        self.scroll = Scroll::Centre;
        self.load_centre(tasks);
    }

    fn hop_selected(&mut self, tasks: &mut Vec<Task>) {
        let chunk = match self.centre_related() {
            Some(Load::Ready(rows)) => rows.get(self.related_sel).map(|r| r.rel.chunk.clone()),
            Some(Load::Pending) => {
                self.info("still finding related passages…");
                return;
            }
            _ => None,
        };
        match chunk {
            Some(c) => self.hop(c, Via::Related, tasks),
            None => self.error("nothing related to hop to"),
        }
    }

    /// Make `chunk` the new centre, remembering how to come back.
    fn hop(&mut self, chunk: StoredChunk, via: Via, tasks: &mut Vec<Task>) {
        self.trail.push(Hop {
            chunk,
            via,
            saved_related: self.related_sel,
            saved_scroll: self.scroll,
        });
        self.related_sel = 0;
        self.scroll = Scroll::Centre;
        self.viewport.related_offset.set(0);
        self.load_centre(tasks);
    }

    /// One step back along the trail.
    fn back(&mut self, tasks: &mut Vec<Task>) {
        match self.trail.pop() {
            Some(h) => {
                self.related_sel = h.saved_related;
                self.scroll = h.saved_scroll;
                self.load_centre(tasks);
            }
            None => self.info("at the start of the trail"),
        }
    }

    /// Ask for what the centre needs and is not cached.
    fn load_centre(&mut self, tasks: &mut Vec<Task>) {
        let Some(c) = self.centre().cloned() else {
            return;
        };
        if self.last_centre != Some(c.id) {
            self.last_centre = Some(c.id);
            self.generation += 1;
        }
        self.ask_context(&c, tasks);
        if let std::collections::hash_map::Entry::Vacant(e) = self.related.entry(c.id) {
            e.insert(Load::Pending);
            tasks.push(Task::Related {
                id: c.id,
                generation: self.generation,
            });
        }
    }

    fn ask_context(&mut self, c: &StoredChunk, tasks: &mut Vec<Task>) {
        if self.contexts.contains_key(&c.id) {
            return;
        }
        self.contexts.insert(c.id, Load::Pending);
        tasks.push(Task::Context {
            id: c.id,
            episode: c.episode.clone(),
            from: c.seq.saturating_sub(self.settings.context),
            to: c.seq.saturating_add(self.settings.context),
        });
    }

    /// With the centre's related passages in, find the next result's, so
    /// that moving down shows them at once (dropped if the centre moves on
    /// first).
    fn prefetch_next(&mut self, tasks: &mut Vec<Task>) {
        if !self.trail.is_empty() {
            return;
        }
        let Some(next) = self
            .results
            .as_ref()
            .and_then(|r| r.rows.get(self.selected + 1))
            .map(|r| r.hit.chunk.id)
        else {
            return;
        };
        if let std::collections::hash_map::Entry::Vacant(e) = self.related.entry(next) {
            e.insert(Load::Pending);
            tasks.push(Task::Related {
                id: next,
                generation: self.generation,
            });
        }
    }
}

fn related_row(rel: Hit) -> RelatedRow {
    let terms: HashSet<String> = rel
        .shared_terms
        .iter()
        .flat_map(|t| analysed_terms(t))
        .collect();
    let snip = snippet(&rel.chunk.text, &terms, SNIPPET_CHARS);
    RelatedRow {
        snippet: Analysed::new(&snip),
        terms,
        rel,
    }
}

fn next_mode(m: Mode) -> Mode {
    match m {
        Mode::Hybrid => Mode::Keyword,
        Mode::Keyword => Mode::Semantic,
        Mode::Semantic => Mode::Hybrid,
    }
}

fn next_focus(f: Focus) -> Focus {
    match f {
        Focus::Results => Focus::Reading,
        Focus::Reading => Focus::Related,
        Focus::Related | Focus::Query => Focus::Results,
    }
}

fn prev_focus(f: Focus) -> Focus {
    match f {
        Focus::Results => Focus::Related,
        Focus::Reading => Focus::Results,
        Focus::Related | Focus::Query => Focus::Reading,
    }
}

#[cfg(test)]
mod tests;
