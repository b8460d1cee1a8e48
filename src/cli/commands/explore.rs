//! `podsift explore [QUERY]`: the terminal front end of
//! [`podsift::explore`]. It owns everything the library must not touch:
//!
//! - the terminal: raw mode, the alternate screen and bracketed paste, put
//!   back by a drop guard on every way out and by a panic hook (Ctrl-C
//!   arrives as a key in raw mode and quits like `q`);
//! - three threads: one reads terminal events, one answers the state
//!   machine's tasks from the store ([`StoreBackend`]), and one loads the
//!   model after the first screen, so a keyword search never waits for it;
//! - opening links (`xdg-open` with a display, `open` on macOS; otherwise
//!   the link is shown) and copying them (OSC 52 to the terminal).
//!
//! The UI thread only applies actions and draws: it never waits on the disk
//! or the model, so moving a selection redraws at once from cached
//! neighbours and related passages, and what is missing arrives when the
//! worker has it. The worker answers a newer search first, drops searches a
//! newer one replaced, and skips related-passage requests for passages the
//! selection has already left.
//!
//! `--bench-first-screen` and `--bench-moves N` (hidden) draw into an
//! off-screen `TestBackend` instead and print timings as JSON, for
//! `scripts/bench-explore`.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, queue, terminal};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::Terminal;

use super::Exit;
use crate::cli::config::{self, Config};
use crate::cli::{ExploreArgs, ModeArg};
use podsift::embed::{device, Embedder};
use podsift::error::Error;
use podsift::explore::backend::{self, stale_related};
use podsift::explore::text::osc52;
use podsift::explore::{view, Action, Key, ModelStatus, Settings, State, StoreBackend, Task};
use podsift::rank::Mode;
use podsift::store::Store;

/// What the UI thread waits for.
enum Msg {
    /// A terminal event.
    Input(Event),
    /// An answer from the worker or the model loader.
    Action(Action),
}

/// What the worker is sent.
enum Job {
    Task(Box<Task>),
    Model(Box<Embedder>),
}

/// Run `explore`.
pub fn run(config: &Config, args: &ExploreArgs) -> Result<Exit> {
    let t0 = Instant::now();
    let store = Arc::new(
        Store::open(&config.index)
            .with_context(|| format!("opening index {}", config.index.display()))?,
    );
    let open_ms = ms(t0);
    let mode = match args.mode {
        ModeArg::Hybrid => Mode::Hybrid,
        ModeArg::Keyword => Mode::Keyword,
        ModeArg::Semantic => Mode::Semantic,
    };
    let episodes: Vec<&str> = store.episodes().map(|(id, _)| id.as_str()).collect();
    let filters = config::filters(&args.filters, &episodes)?;
    let bench = args.bench_first_screen || args.bench_moves.is_some();
    let settings = Settings {
        limit: args.limit.max(1),
        context: args.context,
        related: args.related,
        // On a terminal `config.color` already follows --color and NO_COLOR.
        color: if bench {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        } else {
            config.color
        },
        today: Some(chrono::Local::now().date_naive()),
        shows: backend::shows(&store),
    };
    let query = args.query.join(" ");
    let state = State::new(settings, &query, mode, filters, ModelStatus::Loading);
    if bench {
        return self::bench(config, args, &store, state, t0, open_ms);
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("explore needs a terminal (for scripts, use podsift search or related)");
    }
    ui(config, args, store, state)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Put the terminal back: cooked mode, the main screen, a visible cursor.
/// Safe to call more than once.
fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

/// Restores the terminal when dropped, whatever the way out.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn ui(config: &Config, args: &ExploreArgs, store: Arc<Store>, mut state: State) -> Result<Exit> {
    // A panic must not leave the shell in raw mode on the alternate screen:
    // restore first, then let the usual message print. A panic on any of
    // our threads ends the program: the UI thread would otherwise keep
    // drawing onto the restored screen, or wait for a worker that is gone.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
        std::process::exit(101);
    }));
    terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
    let _guard = TerminalGuard;
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        event::EnableBracketedPaste
    )?;
    // One buffer for a whole frame, so it leaves in one write rather than
    // in stdout's 1 KiB pieces.
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let mut term = Terminal::new(CrosstermBackend::new(out))?;
    term.clear()?;

    let (tx, rx) = mpsc::channel::<Msg>();
    let (jobs, jobs_rx) = mpsc::channel::<Job>();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (store, tx) = (store.clone(), tx.clone());
        let related = args.related;
        std::thread::spawn(move || worker(&store, related, jobs_rx, tx));
    }
    {
        let (tx, stop) = (tx.clone(), stop.clone());
        std::thread::spawn(move || read_input(tx, stop));
    }
    let mut loader = Some({
        let (config, store, tx, jobs) = (config.clone(), store.clone(), tx.clone(), jobs.clone());
        move || load_model(&config, &store, &jobs, &tx)
    });
    drop(tx);

    let tasks = state.start();
    dispatch(&mut state, tasks, &jobs);
    draw(&mut term, &state)?;
    let result = (|| -> Result<()> {
        loop {
            // The model loads once the first screen is up (with results, if
            // a query was given), so it never slows the first search.
            if loader.is_some() && (!state.searching() || state.results.is_some()) {
                if let Some(l) = loader.take() {
                    std::thread::spawn(l);
                }
            }
            let msg = rx.recv().context("the input thread stopped")?;
            handle(&mut state, msg, &jobs);
            // Apply everything already waiting, then draw once.
            while let Ok(msg) = rx.try_recv() {
                handle(&mut state, msg, &jobs);
            }
            if state.should_quit() {
                return Ok(());
            }
            draw(&mut term, &state)?;
        }
    })();
    stop.store(true, Ordering::Relaxed);
    result?;
    Ok(Exit::Success)
}

type Screen = Terminal<CrosstermBackend<std::io::BufWriter<std::io::Stdout>>>;

/// Draw a frame as one synchronized update: terminals that know the mode
/// (DEC 2026) show it whole, never half old and half new; others ignore it.
/// See: https://gist.github.com/christianparpart/d8a62cc1ab659194337d73e399004036
fn draw(term: &mut Screen, state: &State) -> Result<()> {
    queue!(term.backend_mut(), terminal::BeginSynchronizedUpdate)?;
    term.draw(|f| view::draw(f, state))?;
    execute!(term.backend_mut(), terminal::EndSynchronizedUpdate)?;
    Ok(())
}

fn handle(state: &mut State, msg: Msg, jobs: &Sender<Job>) {
    let action = match msg {
        Msg::Action(a) => a,
        Msg::Input(Event::Key(k)) => match key(k) {
            Some(k) => Action::Key(k),
            None => return,
        },
        Msg::Input(Event::Paste(s)) => Action::Paste(s),
        // A resize only needs the redraw that follows.
        Msg::Input(_) => return,
    };
    let tasks = state.update(action);
    dispatch(state, tasks, jobs);
}

/// Send tasks to the worker; open and copy links here.
fn dispatch(state: &mut State, tasks: Vec<Task>, jobs: &Sender<Job>) {
    let mut queue = VecDeque::from(tasks);
    while let Some(t) = queue.pop_front() {
        let done = match t {
            Task::Open { link } => open_link(&link),
            Task::Copy { link } => copy_link(&link),
            t => {
                // The worker only stops when this thread has gone.
                let _ = jobs.send(Job::Task(Box::new(t)));
                continue;
            }
        };
        queue.extend(state.update(Action::Done(done)));
    }
}

/// A crossterm key as the state machine's [`Key`].
fn key(k: KeyEvent) -> Option<Key> {
    if k.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if k.modifiers.contains(KeyModifiers::ALT) {
        return None;
    }
    Some(match k.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        _ => return None,
    })
}

/// Forward terminal events until told to stop (polling, so the thread
/// notices the stop within a tenth of a second).
fn read_input(tx: Sender<Msg>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match event::poll(Duration::from_millis(100)) {
            Ok(true) => match event::read() {
                Ok(ev) => {
                    if tx.send(Msg::Input(ev)).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            Ok(false) => {}
            Err(_) => return,
        }
    }
}

/// Answer tasks from the store. Searches go first and only the newest of
/// several queued runs; related-passage requests for passages the selection
/// has left are answered with [`Action::Dropped`] instead of being computed.
fn worker(store: &Store, related: usize, jobs: Receiver<Job>, tx: Sender<Msg>) {
    let mut backend = StoreBackend::new(store, None, related);
    let mut queue: VecDeque<Task> = VecDeque::new();
    loop {
        if queue.is_empty() {
            match jobs.recv() {
                Ok(j) => take(j, &mut backend, &mut queue),
                Err(_) => return,
            }
        }
        while let Ok(j) = jobs.try_recv() {
            take(j, &mut backend, &mut queue);
        }
        let Some(task) = next_task(&mut queue, &tx) else {
            continue;
        };
        if let Some(answer) = backend.run(task) {
            if tx.send(Msg::Action(answer)).is_err() {
                return;
            }
        }
    }
}

fn take(job: Job, backend: &mut StoreBackend<'_>, queue: &mut VecDeque<Task>) {
    match job {
        Job::Task(t) => queue.push_back(*t),
        Job::Model(e) => backend.embedder = Some(*e),
    }
}

/// The task to do next; stale ones are answered or dropped on the way.
fn next_task(queue: &mut VecDeque<Task>, tx: &Sender<Msg>) -> Option<Task> {
    let newest_search = queue
        .iter()
        .filter_map(|t| match t {
            Task::Search { seq, .. } => Some(*seq),
            _ => None,
        })
        .max();
    if let Some(newest) = newest_search {
        // Older searches were replaced: their answers would be ignored.
        queue.retain(|t| !matches!(t, Task::Search { seq, .. } if *seq < newest));
        let i = queue
            .iter()
            .position(|t| matches!(t, Task::Search { .. }))?;
        return queue.remove(i);
    }
    let newest_generation = queue
        .iter()
        .filter_map(|t| match t {
            Task::Related { generation, .. } => Some(*generation),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut kept = VecDeque::with_capacity(queue.len());
    for t in queue.drain(..) {
        if stale_related(&t, newest_generation) {
            if let Task::Related { id, .. } = t {
                let _ = tx.send(Msg::Action(Action::Dropped { id }));
            }
        } else {
            kept.push_back(t);
        }
    }
    *queue = kept;
    queue.pop_front()
}

/// Load the index's model; tell the worker first, then the UI.
fn load_model(config: &Config, store: &Store, jobs: &Sender<Job>, tx: &Sender<Msg>) {
    let loaded = (|| -> Result<Embedder> {
        let files = config.model_files(Some(store.manifest()))?;
        if files.fingerprint()? != store.manifest().model.fingerprint {
            return Err(Error::IndexMismatch {
                index: config.index.clone(),
                index_model: store.manifest().model.id.clone(),
                requested_model: files.id.clone(),
            }
            .into());
        }
        // A device fallback warning has nowhere to go on a full screen; the
        // device still works.
        let (dev, _warning) = device::open(config.device)?;
        Ok(Embedder::load_with(&files, &dev, config.engine_on(&dev))?)
    })();
    let action = match loaded {
        Ok(e) => {
            let _ = jobs.send(Job::Model(Box::new(e)));
            Action::ModelReady
        }
        Err(e) => Action::ModelFailed(format!("{e:#}")),
    };
    let _ = tx.send(Msg::Action(action));
}

/// The program that opens links, if this session can show a browser.
fn opener() -> Option<std::path::PathBuf> {
    let name = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        return None;
    } else {
        // Without a display xdg-open falls back to text browsers that would
        // fight us for the terminal.
        let display = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        if !display {
            return None;
        }
        "xdg-open"
    };
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn open_link(link: &str) -> Result<String, String> {
    let Some(program) = opener() else {
        return Ok(format!("{link}  (nothing here opens links; y copies it)"));
    };
    let child = std::process::Command::new(&program)
        .arg(link)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut c) => {
            // Reap it whenever it finishes.
            std::thread::spawn(move || c.wait());
            Ok(format!("opened {link}"))
        }
        Err(e) => Err(format!("{}: {e}; the link is {link}", program.display())),
    }
}

fn copy_link(link: &str) -> Result<String, String> {
    let mut out = std::io::stdout();
    out.write_all(osc52(link).as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot copy: {e}"))?;
    Ok(format!("copied {link}"))
}

/// `--bench-first-screen` / `--bench-moves`: the same state machine, store
/// backend and renderer, synchronously into a `TestBackend`.
fn bench(
    config: &Config,
    args: &ExploreArgs,
    store: &Store,
    mut state: State,
    t0: Instant,
    open_ms: f64,
) -> Result<Exit> {
    let (w, h) = args
        .bench_size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
        .context("--bench-size: expected WIDTHxHEIGHT")?;
    if state.query.text.trim().is_empty() {
        bail!("the benchmark needs a QUERY");
    }
    let backend = StoreBackend::new(store, None, args.related);
    let mut term = Terminal::new(TestBackend::new(w, h))?;
    // First screen: the search answered and drawn (neighbours and related
    // passages follow, as in the terminal, where the worker sends them).
    let tasks = state.start();
    let mut rest = Vec::new();
    let t = Instant::now();
    for task in tasks {
        if matches!(task, Task::Search { .. }) {
            if let Some(a) = backend.run(task) {
                rest.extend(state.update(a));
            }
        } else {
            rest.push(task);
        }
    }
    let search_ms = ms(t);
    let t = Instant::now();
    term.draw(|f| view::draw(f, &state))?;
    let draw_ms = ms(t);
    let first_screen_ms = ms(t0);
    let hits = state.results.as_ref().map_or(0, |r| r.rows.len());
    // The centre's neighbours and related passages, then the full screen.
    let t = Instant::now();
    backend::drive_tasks(&mut state, rest, &mut |t| backend.run(t));
    term.draw(|f| view::draw(f, &state))?;
    let full_screen_ms = first_screen_ms + ms(t);
    let mut out = serde_json::json!({
        "type": "explore_bench",
        "size": format!("{w}x{h}"),
        "passages": store.len(),
        "hits": hits,
        "open_ms": open_ms,
        "search_ms": search_ms,
        "draw_ms": draw_ms,
        "first_screen_ms": first_screen_ms,
        "full_screen_ms": full_screen_ms,
    });
    if let Some(n) = args.bench_moves.filter(|_| hits > 1) {
        // Fill every result's caches (timing each uncached fill), then time
        // moves that only read caches: down to the end, up to the top, ...
        let (mut ctx_ms, mut rel_ms) = (Vec::new(), Vec::new());
        for _ in 1..hits {
            let tasks = state.update(Action::Key(Key::Down));
            for task in tasks {
                let is_rel = matches!(task, Task::Related { .. });
                let t = Instant::now();
                let answer = backend.run(task);
                (if is_rel { &mut rel_ms } else { &mut ctx_ms }).push(ms(t));
                if let Some(a) = answer {
                    backend::drive(&mut state, a, &mut |t| backend.run(t));
                }
            }
        }
        let mut down = false;
        let mut move_us = Vec::with_capacity(n);
        let mut uncached = 0;
        for _ in 0..n {
            if state.selected == 0 || state.selected + 1 == hits {
                down = state.selected == 0;
            }
            let t = Instant::now();
            let tasks = state.update(Action::Key(if down { Key::Down } else { Key::Up }));
            term.draw(|f| view::draw(f, &state))?;
            move_us.push(t.elapsed().as_secs_f64() * 1e6);
            uncached += tasks.len();
            backend::drive_tasks(&mut state, tasks, &mut |t| backend.run(t));
        }
        move_us.sort_by(f64::total_cmp);
        let q = |p: f64| move_us[((move_us.len() - 1) as f64 * p).round() as usize];
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        out["moves"] = n.into();
        out["move_us_mean"] = mean(&move_us).into();
        out["move_us_p50"] = q(0.5).into();
        out["move_us_p99"] = q(0.99).into();
        out["move_us_max"] = q(1.0).into();
        out["moves_uncached"] = uncached.into();
        out["context_ms_mean"] = mean(&ctx_ms).into();
        out["related_ms_mean"] = mean(&rel_ms).into();
        out["related_ms_max"] = rel_ms.iter().copied().fold(0.0, f64::max).into();
    }
    writeln!(config.stdout(), "{out}")?;
    if config.verbose > 0 {
        for line in view::buffer_lines(term.backend().buffer()) {
            errln!("{line}");
        }
    }
    Ok(Exit::Success)
}
