//! related, top, brief and the non-content detector, through the binary.

use std::sync::OnceLock;

use crate::util::{json_lines, run, stdout_ok, Model, TestDir};

const SPONSORED: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:20.000\n<v Host>This episode is brought to you by Northwind. Go to northwind.com/pods and use promo code PODS for twenty percent off your first order.\n\n00:00:20.000 --> 00:01:00.000\n<v Guest>Let me tell you how we rebuilt our compost sifter from an old bicycle wheel and a window screen. It took two weekends and cost eleven dollars.\n";

const HOSTILE: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:30.000\n<v Mallory &amp; Co>We tested &lt;script&gt;alert(1)&lt;/script&gt; and \"quotes\" and 'single' &amp; ampersands in our compost heap temperature logs, which peaked at 68 degrees on day four.\n";

/// The demo corpus plus an ad and a hostile show, indexed with the real
/// model once per test run (indexing is most of these tests' time); each
/// test gets its own copy of the index, which names the shared corpus.
fn demo(t: &TestDir) {
    static BUILT: OnceLock<TestDir> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let b = TestDir::new();
        crate::util::copy_tree(
            &crate::util::repo().join("tests/demo"),
            &b.path().join("pods"),
        );
        b.create("pods/ads-show/sponsored.vtt", SPONSORED);
        b.create("pods/ads-show/hostile.vtt", HOSTILE);
        let (code, _, err) = run(b.command(Model::Real).args(["index", "pods"]));
        assert_eq!(code, 0, "{err}");
        b
    });
    crate::util::copy_tree(&built.index(), &t.index());
}

fn lines_of(out: &str, kind: &str) -> Vec<serde_json::Value> {
    json_lines(out)
        .into_iter()
        .filter(|v| v["type"] == kind)
        .collect()
}

#[test]
fn sponsor_reads_are_kept_out_of_search_unless_asked() {
    let t = TestDir::new();
    demo(&t);
    let q = [
        "--json",
        "search",
        "--mode",
        "keyword",
        "Northwind promo code",
    ];
    let hits = lines_of(&stdout_ok(t.command(Model::None).args(q)), "hit");
    assert!(
        hits.iter()
            .all(|h| !h["text"].as_str().unwrap().contains("brought to you by")),
        "{hits:?}"
    );
    let hits = lines_of(
        &stdout_ok(t.command(Model::None).args(q).arg("--include-ads")),
        "hit",
    );
    assert!(
        hits.iter()
            .any(|h| h["text"].as_str().unwrap().contains("brought to you by")),
        "{hits:?}"
    );
}

#[test]
fn related_comes_from_other_episodes_with_reasons() {
    let t = TestDir::new();
    demo(&t);
    let out = stdout_ok(
        t.command(Model::None)
            .args(["--json", "search", "--mode", "keyword", "-n", "1", "Tern"]),
    );
    let seed = &lines_of(&out, "hit")[0];
    let id = seed["id"].as_str().unwrap();
    let out = stdout_ok(
        t.command(Model::None)
            .args(["--json", "related", id, "-n", "4"]),
    );
    let rel = lines_of(&out, "related");
    assert!((1..=4).contains(&rel.len()), "{rel:?}");
    let mut episodes = std::collections::HashSet::new();
    for r in &rel {
        // On the same idea, never padding: close in meaning or naming one
        // of the seed's key phrases; the demo's gardening, running and
        // history shows share nothing with a custom AI chip.
        assert!(
            r["score"].as_f64().unwrap() >= 0.35
                || !r["shared_terms"].as_array().unwrap().is_empty(),
            "{r:?}"
        );
        for far in ["garden-hour", "the-long-run", "history-bites"] {
            assert_ne!(r["show"], far, "{r:?}");
        }
        assert_eq!(r["of"], id);
        assert_ne!(
            r["episode_id"], seed["episode_id"],
            "never the seed's episode"
        );
        assert!(
            episodes.insert(r["episode_id"].as_str().unwrap().to_string()),
            "one per episode"
        );
        assert!(r["shared_terms"].is_array());
        assert!(r["score"].as_f64().unwrap() <= 1.0001);
        assert!(
            !r["text"].as_str().unwrap().contains("brought to you by"),
            "no ads"
        );
    }
    // --per-episode 2 may take two from one episode.
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "related",
        id,
        "-n",
        "8",
        "--per-episode",
        "2",
    ]));
    let rel = lines_of(&out, "related");
    assert!(!rel.is_empty());
    let mut per_episode = std::collections::HashMap::new();
    for r in &rel {
        *per_episode
            .entry(r["episode_id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert!(per_episode.values().all(|&n| n <= 2), "{per_episode:?}");
    // Seed by file and time.
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "related",
        "--file",
        "pods/silicon-weekly/ep-041-custom-ai-chips.vtt",
        "--at",
        "00:02:50",
        "-n",
        "2",
    ]));
    let rel = lines_of(&out, "related");
    assert!((1..=2).contains(&rel.len()), "{rel:?}");
    assert!(rel
        .iter()
        .all(|r| r["show"] != "silicon-weekly" || r["episode_id"] != seed["episode_id"]));
    let human = stdout_ok(t.command(Model::None).args(["related", id, "-n", "1"]));
    assert!(human.contains("similar meaning"), "{human}");
}

#[test]
fn top_gives_one_insight_per_episode_without_ads() {
    let t = TestDir::new();
    demo(&t);
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "top",
        "--since",
        "30d",
        "-n",
        "10",
        "--related",
        "2",
    ]));
    let insights = lines_of(&out, "insight");
    assert!(insights.len() >= 6, "{out}");
    let mut eps = std::collections::HashSet::new();
    for i in &insights {
        assert!(eps.insert(i["episode_id"].as_str().unwrap().to_string()));
        assert!(!i["text"].as_str().unwrap().contains("brought to you by"));
        assert!(i["related"].as_array().unwrap().len() <= 2);
        for k in [
            "relevance",
            "salience",
            "specificity",
            "noncontent",
            "score",
        ] {
            assert!(i["signals"][k].is_number(), "{k}");
        }
    }
    assert_eq!(json_lines(&out).last().unwrap()["type"], "summary");
    // Nothing in a window that ends before everything was added.
    let (code, _, _) = run(t
        .command(Model::None)
        .args(["top", "--since", "2999-01-01"]));
    assert_eq!(code, 1);
}

#[test]
fn brief_remembers_what_it_sent_and_escapes_html() {
    let t = TestDir::new();
    demo(&t);
    t.create("profile.toml", "interests = [\"composting at home\", \"computer chips\"]\nrelated = 2\nn = 3\nsince = \"30d\"\n");
    let first =
        stdout_ok(
            t.command(Model::None)
                .args(["--json", "brief", "--profile", "profile.toml"]),
        );
    let a: Vec<String> = lines_of(&first, "insight")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(a.len(), 3);
    assert!(t.index().join("brief-state.json").is_file());
    let second =
        stdout_ok(
            t.command(Model::None)
                .args(["--json", "brief", "--profile", "profile.toml"]),
        );
    let b: Vec<String> = lines_of(&second, "insight")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        b.iter().all(|id| !a.contains(id)),
        "the next brief never repeats an insight"
    );
    // --dry-run leaves the state alone.
    let state = std::fs::read(t.index().join("brief-state.json")).unwrap();
    stdout_ok(
        t.command(Model::None)
            .args(["brief", "--profile", "profile.toml", "--dry-run"]),
    );
    assert_eq!(
        std::fs::read(t.index().join("brief-state.json")).unwrap(),
        state
    );
    // HTML: the hostile transcript is escaped.
    t.create(
        "hostile.toml",
        "interests = [\"compost heap temperature <script>\"]\nn = 10\nsince = \"30d\"\n",
    );
    std::fs::remove_file(t.index().join("brief-state.json")).unwrap();
    let html = stdout_ok(t.command(Model::None).args([
        "brief",
        "--profile",
        "hostile.toml",
        "--format",
        "html",
        "--dry-run",
    ]));
    assert!(
        html.contains("Mallory"),
        "the hostile episode is in the brief"
    );
    assert!(!html.contains("<script"), "unescaped script tag");
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("&amp; Co") || html.contains("&amp;amp;"));
    // Markdown has no HTML: every `<` is escaped as `\<`.
    let md =
        stdout_ok(
            t.command(Model::None)
                .args(["brief", "--profile", "hostile.toml", "--dry-run"]),
        );
    assert!(md.contains("script"));
    assert!(
        md.match_indices('<')
            .all(|(i, _)| i > 0 && &md[i - 1..i] == "\\"),
        "{md}"
    );
}

#[test]
fn malformed_profile_names_the_line_and_key() {
    let t = TestDir::new();
    demo(&t);
    t.create("bad.toml", "interests = [\"x\"]\nrelated = \"three\"\n");
    let (code, _, err) = run(t
        .command(Model::None)
        .args(["brief", "--profile", "bad.toml"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml:2:") && err.contains("related"),
        "{err}"
    );
    t.create("none.toml", "follow = [\"x\"]\n");
    let (code, _, err) = run(t
        .command(Model::None)
        .args(["brief", "--profile", "none.toml"]));
    assert_eq!(code, 2);
    assert!(err.contains("interests"), "{err}");
}
