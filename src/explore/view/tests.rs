//! Rendering into ratatui's `TestBackend`: the main screens at 100x30 and
//! 80x24, a narrow terminal, overlays, loading states, `NO_COLOR`, and every
//! size from tiny to large without a panic.

use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

use super::*;
use crate::explore::state::{Action, Key, ModelStatus};
use crate::explore::testkit::{self, exec, searched};
use crate::explore::{drive, State};
use crate::rank::Mode;

fn terminal(s: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, s)).unwrap();
    term
}

fn screen(s: &State, w: u16, h: u16) -> Vec<String> {
    buffer_lines(terminal(s, w, h).backend().buffer())
}

fn has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

fn press(s: &mut State, k: Key) {
    let mut links = Vec::new();
    drive(s, Action::Key(k), &mut exec(&mut links));
}

fn plain(mut s: State) -> State {
    s.settings.color = false;
    s
}

#[test]
fn main_screen_at_100x30() {
    let s = searched();
    let l = screen(&s, 100, 30);
    let show = l.join("\n");
    assert!(l[0].starts_with(" hybrid  custom chips"), "{show}");
    assert_eq!(l[1], "\"custom chips\" 1/3");
    // Results on the left, reading and related on the right.
    assert!(l[2].starts_with("┌▸ 3 results · hybrid · 1 ms"), "{show}");
    assert!(l[3].starts_with("│▌ 1 silicon · ep1 title"), "{show}");
    assert!(l[3].contains("00:02:00│"), "{show}");
    assert!(
        l[4].starts_with("│▌   Priya: Passage 2 of silicon"),
        "{show}"
    );
    assert!(l[5].starts_with("│  2 silicon · ep2 title"), "{show}");
    let right = areas(Rect::new(0, 0, 100, 30), Focus::Results)
        .reading
        .unwrap()
        .x as usize;
    assert_eq!(right, 42);
    assert!(l[2][l[2].char_indices().nth(right).unwrap().0..]
        .starts_with("┌ silicon · ep1 title · 2024-03-01"));
    assert!(has(&l, "▶ 00:02:00-00:02:59 Priya"), "{show}");
    assert!(
        has(&l, "│▌ Passage 2 of silicon: we talked about custom"),
        "{show}"
    );
    assert!(has(&l, "  00:03:00-00:03:59 Owen"), "{show}");
    // With room, the end of the passage before shows above the centre.
    assert!(l[3].ends_with("about power per watt in the data centre.              │"));
    assert!(has(&l, "┌ Related · 2 from other episodes"), "{show}");
    assert!(has(&l, "garden · ep3 title"), "{show}");
    assert!(has(&l, "0.70 · both: \"chips\", \"inference\""), "{show}");
    assert!(
        l[29].starts_with("↑↓ move · Enter related · Tab pane"),
        "{show}"
    );
}

#[test]
fn main_screen_at_80x24_stacks_the_panes() {
    let mut s = plain(searched());
    let l = screen(&s, 80, 24);
    let expected = [
        " hybrid  custom chips",
        "\"custom chips\" 1/3",
        "┌▸ 3 results · hybrid · 1 ms ──────────────────────────────────────────────────┐",
        "│▌ 1 silicon · ep1 title                                               00:02:00│",
        "│▌   Priya: Passage 2 of silicon: we talked about custom chips and inference c…│",
        "│  2 silicon · ep2 title                                               00:05:00│",
        "│    Owen: Passage 5 of silicon: we talked about custom chips and inference co…│",
        "│  3 money · ep7 title                                                 00:01:00│",
        "│    Owen: Passage 1 of money: we talked about custom chips and inference cost…│",
        "└──────────────────────────────────────────────────────────────────────────────┘",
        "┌ silicon · ep1 title · 2024-03-01 ────────────────────────────────────────────┐",
        "│▶ 00:02:00-00:02:59 Priya                                                     │",
        "│▌ Passage 2 of silicon: we talked about custom chips and inference cost, and  │",
        "│▌ why the accelerator team cares about power per watt in the data centre.     │",
        "│                                                                              │",
        "│  00:03:00-00:03:59 Owen                                                      │",
        "│  Passage 3 of silicon: we talked about custom chips and inference cost, and  │",
        "│  why the accelerator team cares about power per watt in the data centre.     │",
        "│                                                                              │",
        "│  00:04:00-00:04:59 Priya                                                     │",
        "│  Passage 4 of silicon: we talked about custom chips and inference cost, and  │",
        "│  why the accelerator team cares about power per watt in the data centre.     │",
        "└───────────────────────────────────────────────────────────────────────── 79% ┘",
        "↑↓ move · Enter related · Tab pane · / search · m mode · f filter · e episodes …",
    ];
    assert_eq!(l, expected, "\n{}", l.join("\n"));
    // The related pane takes the lower pane when it has focus.
    press(&mut s, Key::Enter);
    let l = screen(&s, 80, 24);
    assert!(
        has(&l, "┌▸ Related · 2 from other episodes"),
        "{}",
        l.join("\n")
    );
    assert!(!has(&l, "┌ silicon · ep1 title · 2024-03-01"));
    assert!(l[23].starts_with("↑↓ move · Enter hop · ⌫ back"));
}

#[test]
fn narrow_terminals_degrade() {
    let s = searched();
    // 60 columns: stacked, cut with an ellipsis, nothing spills.
    let l = screen(&s, 60, 20);
    assert!(l.iter().all(|x| x.chars().count() <= 60));
    assert!(has(&l, "3 results"));
    assert!(has(&l, "…"));
    // The smallest usable size still shows results.
    let l = screen(&s, MIN_WIDTH, MIN_HEIGHT);
    assert!(has(&l, "silicon"), "{}", l.join("\n"));
    // Below it, a message says so.
    let l = screen(&s, 30, 8);
    assert!(l.join(" ").contains("needs 40x10"), "{}", l.join("\n"));
}

#[test]
fn every_size_renders_without_panicking() {
    let mut states = vec![searched()];
    let mut s = searched();
    press(&mut s, Key::Enter);
    press(&mut s, Key::Enter);
    states.push(s);
    for k in ['?', 'f', 'e', '/'] {
        let mut s = searched();
        press(&mut s, Key::Char(k));
        states.push(s);
    }
    let mut fresh = State::new(
        testkit::settings(),
        "a very long query that goes on and on and on past any sensible width",
        Mode::Semantic,
        Default::default(),
        ModelStatus::Loading,
    );
    fresh.start();
    states.push(fresh);
    for s in &states {
        for w in [1, 2, 10, 39, 40, 41, 59, 60, 79, 80, 99, 100, 101, 160] {
            for h in [1, 3, 9, 10, 11, 15, 24, 30, 50] {
                terminal(s, w, h);
            }
        }
    }
}

#[test]
fn trail_shows_in_the_breadcrumb() {
    let mut s = searched();
    press(&mut s, Key::Down);
    press(&mut s, Key::Enter);
    press(&mut s, Key::Enter);
    let l = screen(&s, 100, 30);
    assert_eq!(l[1], "\"custom chips\" 2/3 › garden 00:04:00");
    assert!(has(&l, "┌ garden · ep3 title"));
    press(&mut s, Key::Enter);
    let l = screen(&s, 100, 30);
    assert_eq!(
        l[1],
        "\"custom chips\" 2/3 › garden 00:04:00 › no-url 00:03:00"
    );
    // Long trails keep their end.
    for _ in 0..12 {
        let c = s.centre().unwrap().clone();
        s.trail.push(s.trail.last().unwrap().clone());
        s.trail.last_mut().unwrap().chunk = c;
    }
    let l = screen(&s, 80, 24);
    assert!(
        l[1].starts_with('…') && l[1].ends_with("no-url 00:03:00"),
        "{}",
        l[1]
    );
    press(&mut s, Key::Backspace);
    assert_eq!(s.trail.len(), 13);
}

#[test]
fn highlights_and_colours_follow_no_color() {
    let s = searched();
    let term = terminal(&s, 100, 30);
    let buf = term.backend().buffer();
    // "chips" in the centre passage is marked in yellow.
    let chips = |buf: &Buffer| {
        let lines = buffer_lines(buf);
        let y = lines
            .iter()
            .position(|l| l.contains("▌ Passage 2 of silicon"))
            .unwrap();
        let x = lines[y][..lines[y].find("chips").unwrap()].chars().count();
        (x as u16, y as u16)
    };
    let at = chips(buf);
    assert_eq!(buf[at].fg, Color::Yellow);
    assert!(buf[at].modifier.contains(Modifier::BOLD));

    let s = plain(searched());
    let term = terminal(&s, 100, 30);
    let buf = term.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "no colour under NO_COLOR");
        assert_eq!(cell.bg, Color::Reset, "no colour under NO_COLOR");
    }
    assert!(buf[chips(buf)]
        .modifier
        .contains(Modifier::BOLD | Modifier::UNDERLINED));
    // The focused list's selection is reversed.
    assert!(buf[(3, 3)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn overlays() {
    let mut s = searched();
    press(&mut s, Key::Char('?'));
    let l = screen(&s, 100, 30);
    assert!(has(&l, "Keys (any key closes)"));
    assert!(has(&l, "back along the trail"));

    let mut s = searched();
    press(&mut s, Key::Char('e'));
    let l = screen(&s, 100, 30);
    assert!(
        has(&l, "Episodes · silicon · 2 · ←→ show · Enter reads"),
        "{}",
        l.join("\n")
    );
    let row = l
        .iter()
        .find(|x| x.contains("2024-04-01  ep2 title"))
        .unwrap();
    assert!(row.contains("10 passages · 00:10:00"), "{row}");

    let mut s = searched();
    press(&mut s, Key::Char('f'));
    for c in "show:silicon".chars() {
        press(&mut s, Key::Char(c));
    }
    let mut term = terminal(&s, 100, 30);
    let l = buffer_lines(term.backend().buffer());
    assert!(has(&l, "Filter · Enter applies"));
    assert!(has(&l, "> show:silicon"));
    assert!(has(&l, "shows: garden, money, no-url, silicon"));
    let y = l.iter().position(|x| x.contains("> show:silicon")).unwrap() as u16;
    term.backend_mut()
        .assert_cursor_position((1 + 2 + "show:silicon".len() as u16, y));
}

#[test]
fn editing_the_query_places_the_cursor() {
    let mut s = searched();
    press(&mut s, Key::Char('/'));
    press(&mut s, Key::Left);
    let mut term = terminal(&s, 100, 30);
    // " hybrid " + " " + 11 characters of "custom chips".
    term.backend_mut().assert_cursor_position((9 + 11, 0));
    let l = buffer_lines(term.backend().buffer());
    assert!(l[29].starts_with("Enter search · Tab mode"));
}

#[test]
fn loading_states() {
    let mut s = State::new(
        testkit::settings(),
        "custom chips",
        Mode::Hybrid,
        Default::default(),
        ModelStatus::Loading,
    );
    let tasks = s.start();
    let l = screen(&s, 100, 30);
    assert!(l[0].ends_with("loading model…"), "{}", l[0]);
    assert!(has(&l, "Results · searching (keyword"), "{}", l.join("\n"));
    let Some(crate::explore::Task::Search { seq, .. }) = tasks.first().cloned() else {
        panic!()
    };
    // Results in; neighbours and related passages not yet.
    s.update(Action::Searched {
        seq,
        result: Ok(testkit::hits()),
        ms: 1.0,
    });
    let l = screen(&s, 100, 30);
    assert!(
        has(&l, "3 results · keyword (model loading)"),
        "{}",
        l.join("\n")
    );
    assert!(has(&l, "reading neighbours…"));
    assert!(
        has(&l, "▌ Passage 2 of silicon"),
        "the hit's own text shows at once"
    );
    assert!(has(&l, "Related · finding…"));
    assert!(has(&l, "keyword results while the model loads"));
    s.update(Action::ModelReady);
    let l = screen(&s, 100, 30);
    assert!(!l[0].contains("loading model"));
}

#[test]
fn no_results_and_empty_start() {
    let mut s = State::new(
        testkit::settings(),
        "",
        Mode::Keyword,
        Default::default(),
        ModelStatus::Ready,
    );
    s.start();
    let l = screen(&s, 80, 24);
    assert!(has(&l, "type a query and press Enter"));
    let tasks = {
        for c in "zzz".chars() {
            s.update(Action::Key(Key::Char(c)));
        }
        s.update(Action::Key(Key::Enter))
    };
    let Some(crate::explore::Task::Search { seq, .. }) = tasks.first().cloned() else {
        panic!()
    };
    s.update(Action::Searched {
        seq,
        result: Ok(Vec::new()),
        ms: 1.0,
    });
    let l = screen(&s, 80, 24);
    assert!(has(&l, "no results for \"zzz\""));
}

#[test]
fn reading_pane_leads_with_the_statement_then_the_whole_passage() {
    let mut s = State::new(
        testkit::settings(),
        "custom chips",
        Mode::Hybrid,
        Default::default(),
        ModelStatus::Ready,
    );
    let tasks = s.start();
    let Some(crate::explore::Task::Search { seq, .. }) = tasks.first().cloned() else {
        panic!()
    };
    let mut hits = testkit::hits();
    hits[0].chunk.text = "Thanks for having me. So, um, the the chips cost 40 percent less \
        because we, you know, designed them for inference only. Anyway, yeah."
        .into();
    s.update(Action::Searched {
        seq,
        result: Ok(hits),
        ms: 1.0,
    });
    let l = screen(&plain(s), 100, 30);
    let show = l.join("\n");
    let header = l
        .iter()
        .position(|l| l.contains("▶ 00:02:00-00:02:59 Priya"));
    let quote = l
        .iter()
        .position(|l| l.contains("▌ “The chips cost 40 percent less"));
    let passage = l
        .iter()
        .position(|l| l.contains("▌ Thanks for having me. So, um,"));
    assert!(
        header.is_some() && quote.is_some() && passage.is_some(),
        "{show}"
    );
    assert!(header < quote && quote < passage, "{show}");
    assert!(has(&l, "them for inference only.”"), "{show}");
}
