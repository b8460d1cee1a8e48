//! The state machine without a terminal: query → results → select →
//! related → hop → back, and the keys around it.

use super::*;
use crate::explore::testkit::{self, exec, searched};
use crate::explore::{drive, drive_tasks};

fn key(s: &mut State, k: Key) -> Vec<Task> {
    s.update(Action::Key(k))
}

/// Apply `k` and answer every task with the fake backend; returns the tasks
/// the backend left to the front end (open, copy).
fn press(s: &mut State, k: Key) -> Vec<Task> {
    let mut links = Vec::new();
    drive(s, Action::Key(k), &mut exec(&mut links));
    links
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        key(s, Key::Char(c));
    }
}

#[test]
fn a_query_searches_in_keyword_mode_until_the_model_is_ready() {
    let mut s = State::new(
        testkit::settings(),
        "custom chips",
        Mode::Hybrid,
        Filters::default(),
        ModelStatus::Loading,
    );
    let tasks = s.start();
    let [Task::Search {
        seq,
        query,
        options,
    }] = tasks.as_slice()
    else {
        panic!("{tasks:?}");
    };
    assert_eq!(query, "custom chips");
    assert_eq!(options.mode, Mode::Keyword);
    assert_eq!(s.pending_mode(), Some((Mode::Keyword, true)));
    // The answer comes: results, then the centre's neighbours and related
    // passages, and the other results' neighbours ahead of time.
    let tasks = s.update(Action::Searched {
        seq: *seq,
        result: Ok(testkit::hits()),
        ms: 2.0,
    });
    let r = s.results.as_ref().unwrap();
    assert!(r.fallback);
    assert_eq!(r.mode, Mode::Keyword);
    assert_eq!(r.rows.len(), 3);
    assert_eq!(s.focus, Focus::Results);
    let centre = testkit::hits()[0].chunk.id;
    assert!(matches!(&tasks[0], Task::Context { id, from: 0, to: 5, .. } if *id == centre));
    assert!(matches!(&tasks[1], Task::Related { id, .. } if *id == centre));
    assert_eq!(
        tasks
            .iter()
            .filter(|t| matches!(t, Task::Context { .. }))
            .count(),
        3
    );
    // The model arrives: the same query again, in hybrid mode, keeping the
    // selection.
    key(&mut s, Key::Down);
    let tasks = s.update(Action::ModelReady);
    let [Task::Search { seq, options, .. }] = tasks.as_slice() else {
        panic!("{tasks:?}");
    };
    assert_eq!(options.mode, Mode::Hybrid);
    let mut hits = testkit::hits();
    hits.swap(0, 1);
    s.update(Action::Searched {
        seq: *seq,
        result: Ok(hits.clone()),
        ms: 3.0,
    });
    let r = s.results.as_ref().unwrap();
    assert!(!r.fallback);
    assert_eq!(r.mode, Mode::Hybrid);
    assert_eq!(s.selected, 0, "the passage selected before stays selected");
    assert_eq!(s.centre().unwrap().id, hits[0].chunk.id);
    assert_eq!(
        s.status.as_ref().unwrap().text,
        "model ready: hybrid results"
    );
}

#[test]
fn without_a_move_the_upgraded_search_selects_its_best_result() {
    let mut s = State::new(
        testkit::settings(),
        "custom chips",
        Mode::Semantic,
        Filters::default(),
        ModelStatus::Loading,
    );
    let mut links = Vec::new();
    let tasks = s.start();
    drive_tasks(&mut s, tasks, &mut exec(&mut links));
    let tasks = s.update(Action::ModelReady);
    let [Task::Search { seq, options, .. }] = &tasks[..] else {
        panic!("{tasks:?}");
    };
    assert_eq!(options.mode, Mode::Semantic);
    let mut hits = testkit::hits();
    hits.reverse();
    s.update(Action::Searched {
        seq: *seq,
        result: Ok(hits.clone()),
        ms: 1.0,
    });
    assert_eq!(s.selected, 0);
    assert_eq!(s.centre().unwrap().id, hits[0].chunk.id);
}

#[test]
fn an_unavailable_model_leaves_keyword_search() {
    let mut s = State::new(
        testkit::settings(),
        "chips",
        Mode::Semantic,
        Filters::default(),
        ModelStatus::Loading,
    );
    let mut links = Vec::new();
    let tasks = s.start();
    drive_tasks(&mut s, tasks, &mut exec(&mut links));
    drive(
        &mut s,
        Action::ModelFailed("no model here".into()),
        &mut exec(&mut links),
    );
    assert!(s.status.as_ref().unwrap().error);
    assert!(s.status.as_ref().unwrap().text.contains("no model here"));
    let tasks = key(&mut s, Key::Char('/'));
    assert!(tasks.is_empty());
    let tasks = key(&mut s, Key::Enter);
    assert!(matches!(&tasks[..], [Task::Search { options, .. }] if options.mode == Mode::Keyword));
}

#[test]
fn late_answers_never_replace_newer_state() {
    let mut s = searched();
    key(&mut s, Key::Char('/'));
    typed(&mut s, " again");
    let first = key(&mut s, Key::Enter);
    key(&mut s, Key::Char('/'));
    typed(&mut s, " more");
    let second = key(&mut s, Key::Enter);
    let seq = |t: &[Task]| match t {
        [Task::Search { seq, .. }] => *seq,
        _ => panic!("{t:?}"),
    };
    // The first search answers after the second was asked for: ignored.
    s.update(Action::Searched {
        seq: seq(&first),
        result: Ok(Vec::new()),
        ms: 1.0,
    });
    assert_eq!(s.results.as_ref().unwrap().rows.len(), 3);
    assert!(s.searching());
    s.update(Action::Searched {
        seq: seq(&second),
        result: Ok(testkit::hits()[..1].to_vec()),
        ms: 1.0,
    });
    assert_eq!(s.results.as_ref().unwrap().query, "custom chips again more");
    assert_eq!(s.results.as_ref().unwrap().rows.len(), 1);
    assert!(!s.searching());
}

#[test]
fn select_related_hop_and_back() {
    let mut s = searched();
    let hits = testkit::hits();
    assert_eq!(s.centre().unwrap().id, hits[0].chunk.id);
    assert!(matches!(s.centre_context(), Some(Load::Ready(p)) if p.len() == 6));
    assert!(matches!(s.centre_related(), Some(Load::Ready(r)) if r.len() == 2));

    // Select: the next result becomes the centre (its related passages were
    // fetched ahead, so nothing is asked for).
    let tasks = key(&mut s, Key::Down);
    assert!(tasks.is_empty(), "{tasks:?}");
    assert_eq!(s.centre().unwrap().id, hits[1].chunk.id);
    assert!(matches!(s.centre_related(), Some(Load::Ready(_))));

    // Enter goes to the related pane; Down selects the second; Enter hops.
    key(&mut s, Key::Enter);
    assert_eq!(s.focus, Focus::Related);
    key(&mut s, Key::Down);
    assert_eq!(s.related_sel, 1);
    let target = testkit::related(hits[1].chunk.id)[1].chunk.clone();
    let tasks = key(&mut s, Key::Enter);
    assert_eq!(s.trail.len(), 1);
    assert_eq!(s.trail[0].via, Via::Related);
    assert_eq!(s.centre().unwrap().id, target.id);
    assert_eq!(s.related_sel, 0);
    assert_eq!(s.scroll, Scroll::Centre);
    assert!(
        matches!(&tasks[..], [Task::Context { id, .. }, Task::Related { id: r, .. }] if *id == target.id && *r == target.id),
        "{tasks:?}"
    );
    let mut links = Vec::new();
    drive_tasks(&mut s, tasks, &mut exec(&mut links));

    // A second hop, into the garden.
    press(&mut s, Key::Up);
    let garden = testkit::related(target.id)[0].chunk.clone();
    assert_eq!(garden.show, "garden");
    press(&mut s, Key::Enter);
    assert_eq!(s.trail.len(), 2);
    assert_eq!(s.centre().unwrap().id, garden.id);

    // Back, back: the trail unwinds and each level's selection returns.
    press(&mut s, Key::Backspace);
    assert_eq!(s.centre().unwrap().id, target.id);
    assert_eq!(s.related_sel, 0);
    press(&mut s, Key::Backspace);
    assert!(s.trail.is_empty());
    assert_eq!(s.centre().unwrap().id, hits[1].chunk.id);
    assert_eq!(s.related_sel, 1, "the related selection we hopped from");
    press(&mut s, Key::Backspace);
    assert_eq!(s.status.as_ref().unwrap().text, "at the start of the trail");
}

#[test]
fn moving_the_result_selection_starts_a_new_trail() {
    let mut s = searched();
    press(&mut s, Key::Enter);
    press(&mut s, Key::Enter);
    assert_eq!(s.trail.len(), 1);
    press(&mut s, Key::BackTab);
    press(&mut s, Key::BackTab);
    assert_eq!(s.focus, Focus::Results);
    press(&mut s, Key::Down);
    assert!(s.trail.is_empty());
    assert_eq!(s.selected, 1);
}

#[test]
fn selection_moves_over_cached_results_ask_for_nothing() {
    let mut s = searched();
    // Visit every result once so that all are cached.
    press(&mut s, Key::End);
    press(&mut s, Key::Home);
    for k in [
        Key::Down,
        Key::Down,
        Key::Up,
        Key::Char('j'),
        Key::Char('k'),
    ] {
        let tasks = key(&mut s, k);
        assert!(tasks.is_empty(), "{k:?}: {tasks:?}");
    }
    assert_eq!(s.selected, 1);
    // The ends clamp; a page is what the last draw showed.
    s.viewport.results_rows.set(5);
    key(&mut s, Key::PageDown);
    assert_eq!(s.selected, 2);
    key(&mut s, Key::Down);
    assert_eq!(s.selected, 2);
    key(&mut s, Key::PageUp);
    assert_eq!(s.selected, 0);
}

#[test]
fn stale_related_requests_are_asked_again_when_centred() {
    let mut s = searched();
    let hits = testkit::hits();
    // Forget everything about the third result, then select it and move on
    // before its related passages come.
    s.related.remove(&hits[2].chunk.id);
    key(&mut s, Key::Down);
    let tasks = key(&mut s, Key::Down);
    let generation = match &tasks[..] {
        [Task::Related { id, generation }] if *id == hits[2].chunk.id => *generation,
        t => panic!("{t:?}"),
    };
    key(&mut s, Key::Up);
    // The driver dropped it as stale: it is forgotten, not left pending.
    let tasks = s.update(Action::Dropped {
        id: hits[2].chunk.id,
    });
    assert!(tasks.is_empty());
    assert!(!s.related.contains_key(&hits[2].chunk.id));
    let tasks = key(&mut s, Key::Down);
    assert!(
        matches!(&tasks[..], [Task::Related { generation: g, .. }] if *g > generation),
        "{tasks:?}"
    );
}

#[test]
fn the_query_line_edits_and_cycles_modes() {
    let mut s = State::new(
        testkit::settings(),
        "",
        Mode::Hybrid,
        Filters::default(),
        ModelStatus::Ready,
    );
    assert!(s.start().is_empty());
    assert_eq!(s.focus, Focus::Query);
    // Enter on nothing says what to do.
    assert!(key(&mut s, Key::Enter).is_empty());
    assert!(s.status.as_ref().unwrap().error);
    typed(&mut s, "roman rods");
    key(&mut s, Key::Left);
    key(&mut s, Key::Backspace);
    typed(&mut s, "ad");
    assert_eq!(s.query.text, "roman roads");
    key(&mut s, Key::End);
    key(&mut s, Key::Ctrl('w'));
    assert_eq!(s.query.text, "roman ");
    s.update(Action::Paste("bridges\n".into()));
    assert_eq!(s.query.text, "roman bridges");
    key(&mut s, Key::Tab);
    assert_eq!(s.mode, Mode::Keyword);
    key(&mut s, Key::Home);
    key(&mut s, Key::Delete);
    assert_eq!(s.query.text, "oman bridges");
    key(&mut s, Key::End);
    key(&mut s, Key::Ctrl('u'));
    typed(&mut s, "roman roads");
    let tasks = key(&mut s, Key::Enter);
    assert!(
        matches!(&tasks[..], [Task::Search { query, options, .. }] if query == "roman roads" && options.mode == Mode::Keyword)
    );
    assert_eq!(s.focus, Focus::Results);
    let mut links = Vec::new();
    drive_tasks(&mut s, tasks, &mut exec(&mut links));
    // Esc while editing puts the old query back.
    key(&mut s, Key::Char('/'));
    typed(&mut s, " and aqueducts");
    key(&mut s, Key::Esc);
    assert_eq!(s.query.text, "roman roads");
    assert_eq!(s.focus, Focus::Results);
    // q is a letter while editing, a quit otherwise.
    key(&mut s, Key::Char('i'));
    key(&mut s, Key::Char('q'));
    assert!(!s.should_quit());
    assert_eq!(s.query.text, "roman roadsq");
    key(&mut s, Key::Esc);
    key(&mut s, Key::Char('q'));
    assert!(s.should_quit());
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    for setup in [
        |s: &mut State| {
            key(s, Key::Char('/'));
        },
        |s: &mut State| {
            key(s, Key::Char('f'));
        },
        |s: &mut State| {
            key(s, Key::Char('?'));
        },
    ] {
        let mut s = searched();
        setup(&mut s);
        key(&mut s, Key::Ctrl('c'));
        assert!(s.should_quit());
    }
}

#[test]
fn m_cycles_the_mode_and_searches_again() {
    let mut s = searched();
    let tasks = key(&mut s, Key::Char('m'));
    assert!(matches!(&tasks[..], [Task::Search { options, .. }] if options.mode == Mode::Keyword));
    key(&mut s, Key::Char('m'));
    assert_eq!(s.mode, Mode::Semantic);
    key(&mut s, Key::Char('m'));
    assert_eq!(s.mode, Mode::Hybrid);
}

#[test]
fn filters_from_the_prompt() {
    let mut s = searched();
    // From the related pane: new results bring the keys back to the list.
    key(&mut s, Key::Enter);
    assert_eq!(s.focus, Focus::Related);
    key(&mut s, Key::Char('f'));
    assert!(matches!(&s.overlay, Some(Overlay::Filter(e)) if e.text.is_empty()));
    typed(&mut s, "show:nope");
    let tasks = key(&mut s, Key::Enter);
    assert!(tasks.is_empty());
    assert!(s.status.as_ref().unwrap().text.contains("no show 'nope'"));
    assert!(matches!(s.overlay, Some(Overlay::Filter(_))), "stays open");
    key(&mut s, Key::Ctrl('u'));
    typed(&mut s, "show:silicon speaker:\"Priya R\" since:30d");
    let tasks = key(&mut s, Key::Enter);
    assert!(s.overlay.is_none());
    assert_eq!(s.focus, Focus::Results);
    let [Task::Search { options, .. }] = &tasks[..] else {
        panic!("{tasks:?}");
    };
    assert_eq!(options.filters.shows, ["silicon"]);
    assert_eq!(options.filters.speaker.as_deref(), Some("Priya R"));
    assert_eq!(options.filters.since.as_deref(), Some("2024-05-31"));
    // The prompt opens with what is set, and Esc leaves it unchanged.
    key(&mut s, Key::Char('f'));
    assert!(
        matches!(&s.overlay, Some(Overlay::Filter(e)) if e.text == "show:silicon speaker:\"Priya R\" since:2024-05-31")
    );
    typed(&mut s, " until:2024-06-01");
    key(&mut s, Key::Esc);
    assert!(s.overlay.is_none());
    assert_eq!(s.filters.until, None);
    // Empty clears.
    key(&mut s, Key::Char('f'));
    key(&mut s, Key::Ctrl('u'));
    key(&mut s, Key::Enter);
    assert!(s.filters.shows.is_empty() && s.filters.speaker.is_none());
    assert_eq!(s.status.as_ref().unwrap().text, "filters cleared");
}

#[test]
fn open_and_copy_act_on_the_focused_passage() {
    let mut s = searched();
    let links = press(&mut s, Key::Char('o'));
    assert!(
        matches!(&links[..], [Task::Open { link }] if link == "https://example.com/ep1.mp3#t=120"),
        "{links:?}"
    );
    // In the related pane: the selected related passage.
    press(&mut s, Key::Enter);
    let links = press(&mut s, Key::Char('y'));
    assert!(
        matches!(&links[..], [Task::Copy { link }] if link == "https://example.com/ep3.mp3#t=240"),
        "{links:?}"
    );
    s.update(Action::Done(Ok("copied it".into())));
    assert_eq!(s.status.as_ref().unwrap().text, "copied it");
    // A passage without a URL says so.
    press(&mut s, Key::Enter);
    press(&mut s, Key::Enter);
    assert_eq!(s.centre().unwrap().show, "no-url");
    press(&mut s, Key::BackTab);
    let links = press(&mut s, Key::Char('o'));
    assert!(links.is_empty());
    assert!(s.status.as_ref().unwrap().error);
}

#[test]
fn episode_list_opens_an_episode_at_its_start() {
    let mut s = searched();
    let tasks = key(&mut s, Key::Char('e'));
    assert!(matches!(&tasks[..], [Task::Episodes { show }] if show == "silicon"));
    let mut links = Vec::new();
    drive_tasks(&mut s, tasks, &mut exec(&mut links));
    let Some(Overlay::Episodes(v)) = &s.overlay else {
        panic!("{:?}", s.overlay);
    };
    assert!(matches!(&v.list, Load::Ready(l) if l.len() == 2));
    // Another show with ←/→.
    let tasks = key(&mut s, Key::Right);
    assert!(matches!(&tasks[..], [Task::Episodes { show }] if show == "garden"));
    let tasks = key(&mut s, Key::Left);
    drive_tasks(&mut s, tasks, &mut exec(&mut links));
    key(&mut s, Key::Down);
    let tasks = key(&mut s, Key::Enter);
    assert!(matches!(&tasks[..], [Task::EpisodeStart { episode }] if episode == "silicon/ep1"));
    assert!(s.overlay.is_none());
    drive_tasks(&mut s, tasks, &mut exec(&mut links));
    assert_eq!(s.trail.len(), 1);
    assert_eq!(s.trail[0].via, Via::Episode);
    assert_eq!(s.centre().unwrap().seq, 0);
    // Esc closes without doing anything.
    key(&mut s, Key::Char('e'));
    assert!(key(&mut s, Key::Esc).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn help_closes_on_any_key() {
    let mut s = searched();
    key(&mut s, Key::Char('?'));
    assert!(matches!(s.overlay, Some(Overlay::Help)));
    key(&mut s, Key::Char('j'));
    assert!(s.overlay.is_none());
    assert_eq!(s.selected, 0, "the key only closed the help");
}

#[test]
fn reading_pane_scrolls_within_what_was_drawn() {
    let mut s = searched();
    s.viewport.reading_max.set(10);
    s.viewport.reading_rows.set(5);
    key(&mut s, Key::Tab);
    assert_eq!(s.focus, Focus::Reading);
    key(&mut s, Key::Down);
    assert_eq!(s.scroll, Scroll::At(1));
    key(&mut s, Key::End);
    assert_eq!(s.scroll, Scroll::At(10));
    s.viewport.reading_top.set(10);
    key(&mut s, Key::PageDown);
    assert_eq!(s.scroll, Scroll::At(10));
    key(&mut s, Key::Char('c'));
    assert_eq!(s.scroll, Scroll::Centre);
}

#[test]
fn failures_show_in_the_status_line() {
    let mut s = searched();
    key(&mut s, Key::Char('/'));
    let tasks = key(&mut s, Key::Enter);
    let [Task::Search { seq, .. }] = &tasks[..] else {
        panic!()
    };
    s.update(Action::Searched {
        seq: *seq,
        result: Err("--speaker has no letters".into()),
        ms: 0.0,
    });
    assert!(s.status.as_ref().unwrap().text.contains("search failed"));
    assert_eq!(s.results.as_ref().unwrap().rows.len(), 3, "results stay");
    let id = s.centre().unwrap().id;
    s.related.insert(id, Load::Failed("boom".into()));
    assert!(matches!(s.centre_related(), Some(Load::Failed(_))));
    assert!(key(&mut s, Key::Tab).is_empty());
}
