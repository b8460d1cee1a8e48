//! Hostile text never reaches the terminal: a corpus and a loopback feed
//! (127.0.0.1, a thread of this process) carry ESC, OSC 52 (clipboard),
//! OSC 8 (hyperlink), CSI (clear screen), C1 CSI (U+009B), C1 OSC
//! (U+009D), ESC c (reset), DEL and BEL in every field podsift prints:
//! show folder, file name, sidecar title and URL, YAML front matter with a
//! tag, VTT speakers (`<v Name>` and `[Name]:`), passage text, feed and
//! item titles, and a remote XML error. Every command's stdout and stderr
//! must hold no control character but newline (and tab), and in colour
//! only podsift's own SGR codes. JSON keeps the data, escaped.

use std::path::Path;

use crate::util::{json_lines, run, Model, TestDir};

/// Every kind of sequence, with a visible word around each.
const H: &str = "A\u{1b}]52;c;aGk=\u{7}B\u{1b}]8;;http://evil.example/\u{1b}\\C\u{1b}[2JD\u{9b}31mE\u{9d}0;t\u{9c}F\u{1b}cG\u{7f}H";

/// Control characters in `s`, apart from newline and tab.
fn controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| {
            matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}') && c != '\n' && c != '\t'
        })
        .collect()
}

/// `s` without the colour codes podsift itself writes.
fn without_own_colours(s: &str) -> String {
    let mut out = s.to_string();
    for code in [
        "\u{1b}[1m",
        "\u{1b}[2m",
        "\u{1b}[1;33m",
        "\u{1b}[36m",
        "\u{1b}[0m",
    ] {
        out = out.replace(code, "");
    }
    out
}

fn assert_clean(what: &str, out: &str, err: &str) {
    assert!(
        controls(out).is_empty(),
        "{what}: control characters {:?} on stdout:\n{out:?}",
        controls(out)
    );
    assert!(
        controls(err).is_empty(),
        "{what}: control characters {:?} on stderr:\n{err:?}",
        controls(err)
    );
}

/// The corpus: one show whose every printed field is hostile.
fn corpus(t: &TestDir) -> String {
    let show = format!("pods/show{H}");
    t.create(
        &format!("{show}/ep{H}one.vtt"),
        format!(
            "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Alice{H}>Compost needs air {H} and water to break down.\n\n\
             00:00:05.000 --> 00:00:09.000\n[Bob{H}]: Turning the compost pile keeps it warm {H} all winter.\n"
        ),
    );
    let side = serde_json::json!({
        "title": format!("Title{H}"),
        "date": "2024-01-02",
        "url": format!("https://example.com/ep{H}"),
    });
    t.create(&format!("{show}/ep{H}one.meta.json"), side.to_string());
    // YAML escapes: \e is ESC, \x07 BEL, \u009b C1 CSI; the value is tagged.
    t.create(
        &format!("{show}/notes.md"),
        "---\ntitle: !x \"Notes \\e]52;c;aGk=\\x07 \\e[2J \\u009b31m compost\"\ndate: 2024-01-03\n---\n\n\
         Carol (00:00:01):\nCompost heaps and garden soil, said Carol.\n",
    );
    // A file that cannot be indexed: its error line names it.
    t.create(
        &format!("{show}/bad{H}.vtt"),
        [0u8, 1, 2, 0x1b, b'[', b'2', b'J', 0],
    );
    show
}

fn ok_or_no_results(what: &str, code: i32, err: &str) {
    assert!(code == 0 || code == 1, "{what}: exit {code}: {err:?}");
}

#[test]
fn no_command_prints_a_control_character_from_a_hostile_corpus() {
    let t = TestDir::new();
    let show = corpus(&t);
    let (code, out, err) = run(t
        .command(Model::Tiny)
        .args(["--color", "never", "index", "pods"]));
    assert_eq!(code, 2, "one file is bad: {err}");
    assert_clean("index", &out, &err);
    assert!(err.contains("binary data"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // The stored data keeps what came in: JSON escapes it.
    let (code, out, err) = run(t.command(Model::Tiny).args(["--json", "search", "compost"]));
    assert_eq!(code, 0, "{err}");
    assert_clean("search --json", &out, &err);
    let hits: Vec<serde_json::Value> = json_lines(&out)
        .into_iter()
        .filter(|l| l["type"] == "hit")
        .collect();
    assert!(hits.len() >= 2, "{out}");
    assert!(
        hits.iter().any(|h| h["title"] == format!("Title{H}")),
        "the title is stored as it came: {out}"
    );
    let id = hits[0]["id"].as_str().unwrap().to_string();

    for color in ["never", "always"] {
        let (code, out, err) =
            run(t
                .command(Model::Tiny)
                .args(["--color", color, "search", "--explain", "compost"]));
        assert_eq!(code, 0, "{err}");
        let out = if color == "always" {
            assert!(out.contains("\u{1b}[1m"), "colour asked for: {out:?}");
            without_own_colours(&out)
        } else {
            out
        };
        assert_clean(&format!("search --color {color}"), &out, &err);
        // The visible words around the sequences are kept.
        assert!(out.contains("Title") && out.contains("52;c;aGk="), "{out}");
    }

    let profile = t.create(
        "profile.toml",
        "interests = [\"compost\"]\nsince = \"100y\"\n",
    );
    let commands: Vec<Vec<String>> = vec![
        vec!["show".into(), id.clone()],
        vec!["related".into(), id.clone()],
        vec![
            "--color".into(),
            "always".into(),
            "related".into(),
            id.clone(),
        ],
        vec!["top".into(), "--since".into(), "100y".into()],
        vec!["stats".into()],
        vec![
            "brief".into(),
            "--dry-run".into(),
            "--profile".into(),
            path(&profile),
        ],
        vec![
            "brief".into(),
            "--dry-run".into(),
            "--format".into(),
            "html".into(),
            "--profile".into(),
            path(&profile),
        ],
        vec![
            "--json".into(),
            "brief".into(),
            "--dry-run".into(),
            "--profile".into(),
            path(&profile),
        ],
        vec![
            "--json".into(),
            "top".into(),
            "--since".into(),
            "100y".into(),
        ],
        vec!["--json".into(), "show".into(), id.clone()],
        vec!["--json".into(), "stats".into()],
        vec!["search".into(), format!("nothing like {H}")],
        vec![
            "search".into(),
            "--show".into(),
            show.trim_start_matches("pods/").to_string(),
            "compost".into(),
        ],
    ];
    for args in commands {
        let (code, out, err) = run(t.command(Model::Tiny).args(&args));
        ok_or_no_results(&args.join(" "), code, &err);
        let out = without_own_colours(&out);
        assert_clean(&args.join(" "), &out, &err);
        assert!(
            !out.trim().is_empty() || code == 1,
            "{args:?}: nothing printed"
        );
    }
    // Errors that quote what came from outside are clean too.
    for args in [
        vec!["show".to_string(), format!("zz{H}")],
        vec![
            "search".into(),
            "--since".into(),
            format!("7{H}"),
            "x".into(),
        ],
    ] {
        let (code, out, err) = run(t.command(Model::Tiny).args(&args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_clean(&format!("{args:?}"), &out, &err);
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A feed whose titles are hostile, its transcript with hostile speakers,
/// and a feed whose XML error message quotes control characters.
fn serve() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = server.server_addr().to_ip().expect("an IP address").port();
    let base = format!("http://127.0.0.1:{port}");
    let b = base.clone();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let body = match req.url() {
                "/hostile.xml" => format!(
                    "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\">\
                     <channel><title>Feed {H} Radio</title><language>en</language>\
                     <item><title>Episode {H} one</title><guid>h-1</guid>\
                     <pubDate>Fri, 12 Apr 2024 08:00:00 GMT</pubDate>\
                     <link>https://example.com/{H}</link>\
                     <podcast:transcript url=\"{b}/hostile.vtt\" type=\"text/vtt\"/></item>\
                     <item><title>Gone {H}</title><guid>h-2</guid>\
                     <pubDate>Thu, 11 Apr 2024 08:00:00 GMT</pubDate>\
                     <podcast:transcript url=\"{b}/missing{H}.vtt\" type=\"text/vtt\"/></item>\
                     </channel></rss>"
                ),
                "/hostile.vtt" => format!(
                    "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Dana{H}>Seaweed compost {H} for the garden.\n"
                ),
                "/broken.xml" => format!("<?xml version=\"1.0\"?>\n<rss><channel><title>x</titl{H}e></channel></rss>"),
                _ => {
                    let _ = req.respond(tiny_http::Response::empty(404));
                    continue;
                }
            };
            let _ = req.respond(tiny_http::Response::from_string(body));
        }
    });
    base
}

#[test]
fn no_feed_command_prints_a_control_character_from_a_hostile_server() {
    let base = serve();
    let t = TestDir::new();
    let (code, out, err) =
        run(t
            .command(Model::None)
            .args(["feed", "add", &format!("{base}/hostile.xml")]));
    assert_eq!(code, 0, "{err}");
    assert_clean("feed add", &out, &err);
    let (code, out, err) = run(t.command(Model::None).args([
        "feed",
        "add",
        "--name",
        "broken",
        &format!("{base}/broken.xml"),
    ]));
    assert_eq!(code, 0, "{err}");
    assert_clean("feed add --name", &out, &err);
    for json in [false, true] {
        let mut cmd = t.command(Model::Tiny);
        if json {
            cmd.arg("--json");
        }
        let (code, out, err) = run(cmd.args(["scan", "--timeout", "5", "--retries", "0"]));
        assert_eq!(code, 2, "the broken feed fails: {err}");
        assert_clean(&format!("scan (json {json})"), &out, &err);
        assert!(err.contains("broken") || out.contains("broken"), "{err}");
    }
    // The XML error is remembered as the feed's status and printed by every
    // `feed list`, cleaned.
    let (code, out, err) = run(t.command(Model::None).args(["feed", "list"]));
    assert_eq!(code, 0, "{err}");
    assert_clean("feed list", &out, &err);
    assert!(out.contains("failed:"), "{out}");
    let (code, out, err) = run(t.command(Model::None).args(["--json", "feed", "list"]));
    assert_eq!(code, 0, "{err}");
    assert_clean("feed list --json", &out, &err);
    let (code, out, err) = run(t.command(Model::Tiny).args(["search", "seaweed"]));
    assert_eq!(code, 0, "{err}");
    assert_clean("search", &out, &err);
    assert!(out.contains("Episode") && out.contains("aGk="), "{out}");
}
