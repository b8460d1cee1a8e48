//! `podsift explore` in a real pseudo-terminal: tmux runs the binary on the
//! demo corpus, `send-keys` types, `capture-pane` reads the screen. Each
//! test has its own tmux server (a socket in its temporary folder), and is
//! skipped, with a note, where tmux is not installed.
//!
//! After `q` (or Ctrl-C) the shell that ran podsift prints its exit code and
//! `stty -a`, so the tests can check the terminal was put back: the main
//! screen, and canonical mode with echo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{real_model, run, tiny_model, Model, TestDir};

/// A tmux server with one session running a command.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Start `command` in a `width`x`height` session.
    fn start(dir: &Path, width: u16, height: u16, command: &str) -> Tmux {
        let t = Tmux {
            socket: dir.join("tmux.sock"),
        };
        t.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-s",
            "t",
            command,
        ]);
        // Applications may set tmux's clipboard (OSC 52).
        t.tmux(&["set-option", "-g", "set-clipboard", "on"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "t", k]);
        }
    }

    fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// The screen with its attributes as escape sequences.
    fn styled_screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", "t"])
    }

    /// Wait until the screen satisfies `ok` and has settled (30 s at
    /// most); returns it.
    ///
    /// Settled means two captures 50 ms apart are the same: tmux may show
    /// a frame half drawn (podsift writes a frame as a run of cell
    /// updates, and the pane is captured whenever we ask), and a half-drawn
    /// frame can satisfy `ok` while its other half is still the last one.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut last = String::new();
        loop {
            let s = self.screen();
            if ok(&s) && s == last {
                return s;
            }
            last = s;
            if start.elapsed() > Duration::from_secs(30) {
                panic!("timed out waiting for {what}; the screen:\n{last}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn format(&self, fmt: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "t", fmt])
            .trim()
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Whether tmux can be run here; says so when not.
fn have_tmux() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: tmux is not installed; skipping the explore terminal test");
    }
    ok
}

/// The demo corpus indexed with the tiny model.
fn demo(t: &TestDir) {
    demo_with(t, Model::Tiny);
}

/// [`demo`] indexed with `model`.
fn demo_with(t: &TestDir, model: Model) {
    crate::util::copy_tree(
        &crate::util::repo().join("tests/demo"),
        &t.path().join("pods"),
    );
    let (code, _, err) = run(t.command(model).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
}

/// A shell line that runs `explore ARGS` on `t`'s index, then prints one
/// line with the exit code and the terminal's modes (`EXIT=0 MODES: icanon
/// echo ...`, a `-` before a mode that is off), then waits.
fn explore_line(t: &TestDir, env: &str, args: &str) -> String {
    explore_line_with(t, env, args, tiny_model())
}

/// [`explore_line`] with another model.
fn explore_line_with(t: &TestDir, env: &str, args: &str, model: &Path) -> String {
    format!(
        "env -u DISPLAY -u WAYLAND_DISPLAY -u NO_COLOR {env} '{bin}' --index '{index}' --model '{model}' explore {args}; \
         code=$?; modes=$(stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo|isig|icrnl|opost)$' | tr '\\n' ' '); \
         echo \"EXIT=$code MODES: $modes\"; sleep 120",
        bin = env!("CARGO_BIN_EXE_podsift"),
        index = t.index().display(),
        model = model.display(),
    )
}

/// The terminal after podsift exited: main screen, sane modes.
fn assert_restored(tmux: &Tmux) {
    let s = tmux.wait("the exit", |s| s.contains("EXIT="));
    let exit = s.lines().find(|l| l.starts_with("EXIT=")).unwrap();
    assert!(exit.starts_with("EXIT=0 "), "{s}");
    assert_eq!(
        tmux.format("#{alternate_on}"),
        "0",
        "left the alternate screen"
    );
    let modes = exit.split_once("MODES:").unwrap().1;
    for m in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(
            modes.split_whitespace().any(|w| w == m),
            "{m} is not set again: {modes}"
        );
    }
}

/// Whether a `capture-pane -e` screen sets a foreground or background
/// colour anywhere (SGR 30-38, 40-48, 90-107; 39 and 49 are the defaults).
fn has_colour(styled: &str) -> bool {
    styled.split("\x1b[").skip(1).any(|seq| {
        let params = seq.split('m').next().unwrap_or("");
        params.split(';').any(|p| {
            p.parse::<u32>()
                .is_ok_and(|n| matches!(n, 30..=38 | 40..=48 | 90..=107))
        })
    })
}

fn line(screen: &str, n: usize) -> &str {
    screen.lines().nth(n).unwrap_or("")
}

#[test]
fn search_read_hop_back_and_quit_in_a_terminal() {
    if !have_tmux() {
        return;
    }
    // The real model: related passages are chosen by meaning, which a
    // tiny random model does not have.
    let t = TestDir::new();
    demo_with(&t, Model::Real);
    let tmux = Tmux::start(
        t.path(),
        100,
        30,
        &explore_line_with(&t, "", "marathon training", &real_model()),
    );
    // Keyword results first, then hybrid once the model is in.
    let s = tmux.wait("hybrid results", |s| s.contains("results · hybrid"));
    assert!(line(&s, 0).starts_with(" hybrid  marathon training"), "{s}");
    assert!(line(&s, 3).contains("the-long-run"), "{s}");
    assert!(s.contains("▶ 00:"), "the centre passage is marked:\n{s}");
    let s = tmux.wait("related passages", |s| s.contains("from other episodes"));
    assert!(s.contains("┌ Related ·"), "{s}");
    assert!(
        has_colour(&tmux.styled_screen()),
        "colours without NO_COLOR"
    );

    // o shows the deep link (no display here), y copies it with OSC 52.
    tmux.keys(&["o"]);
    let s = tmux.wait("the link", |s| s.contains("nothing here opens links"));
    let status = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        status.starts_with("https://www.youtube.com/watch?v=PODSIFTDEMO#t="),
        "{s}"
    );
    tmux.keys(&["y"]);
    tmux.wait("copied", |s| s.contains("copied https://"));
    let buffer = tmux.tmux(&["show-buffer"]);
    assert!(
        buffer.starts_with("https://www.youtube.com/watch?v=PODSIFTDEMO#t="),
        "{buffer:?}"
    );

    // Nothing in the other demo shows is about running: no related
    // passage is shown rather than a padded list.
    assert!(s.contains("nothing related outside this episode"), "{s}");

    // Another search, for a moment whose idea another episode shares (the
    // dead-letter rule of build-log-12, told again in build-log-13).
    tmux.keys(&["/", "C-u"]);
    tmux.text("bad input straight to a dead-letter state");
    tmux.keys(&["Enter"]);
    let s = tmux.wait("the second search", |s| {
        line(s, 0).starts_with(" hybrid  bad input")
            && line(s, 3).contains("build-log · build-log-12")
            && s.contains("from other episodes")
    });
    assert!(line(&s, 2).contains("┌ build-log · build-log-12"), "{s}");
    // Enter: to the related pane; Enter again: hop to the first related
    // passage, which becomes the centre; the breadcrumb shows the trail.
    tmux.keys(&["Enter"]);
    let s = tmux.wait("focus on related", |s| s.contains("┌▸ Related"));
    let row = s
        .lines()
        .skip_while(|l| !l.contains("┌▸ Related"))
        .nth(1)
        .unwrap();
    let pane = row.rsplit("││").next().unwrap();
    assert!(
        pane.trim_start_matches('▌')
            .trim()
            .starts_with("build-log · build-log-13"),
        "{s}"
    );
    tmux.keys(&["Enter"]);
    let s = tmux.wait("the hop", |s| line(s, 1).contains(" › "));
    assert!(line(&s, 1).contains(" › build-log "), "{s}");
    assert!(line(&s, 2).contains("┌ build-log · build-log-13"), "{s}");

    // Backspace: back to the search result.
    tmux.keys(&["BSpace"]);
    let s = tmux.wait("back", |s| !line(s, 1).contains('›'));
    assert!(line(&s, 2).contains("┌ build-log · build-log-12"), "{s}");

    // ? lists the keys; any key closes it.
    tmux.keys(&["?"]);
    tmux.wait("help", |s| s.contains("Keys (any key closes)"));
    tmux.keys(&["Escape"]);
    tmux.wait("help closed", |s| !s.contains("Keys (any key closes)"));

    // A filter from the prompt: only one show.
    tmux.keys(&["f"]);
    tmux.wait("the filter prompt", |s| {
        s.contains("Filter · Enter applies")
    });
    tmux.text("show:money-talk");
    tmux.keys(&["Enter"]);
    let s = tmux.wait("filtered results", |s| {
        s.contains("filter: show:money-talk") && s.contains("results · hybrid")
    });
    // The result list is the left 42 columns; its first line per result
    // is "│▌ 1 show · title   HH:MM:SS│".
    let heads: Vec<String> = s
        .lines()
        .map(|l| l.chars().take(42).collect::<String>())
        .filter(|l| {
            l.trim_start_matches(['│', '▌', ' '])
                .starts_with(|c: char| c.is_ascii_digit())
        })
        .collect();
    assert!(heads.len() >= 2, "{s}");
    assert!(heads.iter().all(|l| l.contains(" money-talk · ")), "{s}");

    // The episode list of the show.
    tmux.keys(&["e"]);
    tmux.wait("episodes", |s| s.contains("Episodes · money-talk · 1"));
    tmux.keys(&["Escape"]);

    // Narrow: the panes stack and the related pane shows when focused.
    tmux.tmux(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    let s = tmux.wait("the narrow layout", |s| {
        s.lines().count() <= 24 && !s.contains("Related ·")
    });
    assert!(s.lines().all(|l| l.chars().count() <= 80), "{s}");
    tmux.keys(&["Tab", "Tab"]);
    tmux.wait("the related pane", |s| s.contains("┌▸ Related"));

    tmux.keys(&["q"]);
    assert_restored(&tmux);
}

#[test]
fn ctrl_c_quits_from_the_query_line_and_restores_the_terminal_no_color() {
    if !have_tmux() {
        return;
    }
    let t = TestDir::new();
    demo(&t);
    let tmux = Tmux::start(t.path(), 80, 24, &explore_line(&t, "NO_COLOR=1", ""));
    tmux.wait("the empty explorer", |s| {
        s.contains("type a query and press Enter")
    });
    tmux.text("roman roads");
    tmux.keys(&["Enter"]);
    tmux.wait("results", |s| s.contains("history-bites"));
    let styled = tmux.styled_screen();
    assert!(!has_colour(&styled), "NO_COLOR is set:\n{styled:?}");
    // Marks stay, as bold, underline and reverse.
    assert!(styled.contains("\x1b[7m"), "{styled:?}");
    tmux.keys(&["/"]);
    tmux.text("half typed");
    tmux.keys(&["C-c"]);
    assert_restored(&tmux);
}
