//! Search mechanics through the binary (tiny model): modes, filters, exit
//! codes, `show`, and queries that must never break the parser.

use crate::util::{json_lines, run, stdout_ok, Model, TestDir};

fn demo_index(t: &TestDir) {
    crate::util::copy_tree(
        &crate::util::repo().join("tests/demo"),
        &t.path().join("demo"),
    );
    let (code, _, err) = run(t.command(Model::Tiny).args(["index", "demo"]));
    assert_eq!(code, 0, "{err}");
}

fn hits(out: &str) -> Vec<serde_json::Value> {
    json_lines(out)
        .into_iter()
        .filter(|v| v["type"] == "hit")
        .collect()
}

#[test]
fn keyword_finds_a_name_and_exit_codes_follow_results() {
    let t = TestDir::new();
    demo_index(&t);
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "search",
        "--mode",
        "keyword",
        "Vandermolen",
    ]));
    let h = hits(&out);
    assert!(!h.is_empty());
    assert_eq!(h[0]["show"], "garden-hour");
    assert!(h[0]["text"].as_str().unwrap().contains("Vandermolen"));
    let (code, out, _) =
        run(t
            .command(Model::None)
            .args(["search", "--mode", "keyword", "zzzqqqxxx"]));
    assert_eq!(code, 1, "no hits exits 1");
    assert!(out.contains("no results"));
}

#[test]
fn filters_restrict_results() {
    let t = TestDir::new();
    demo_index(&t);
    let q = [
        "--json",
        "search",
        "--mode",
        "semantic",
        "-n",
        "50",
        "anything at all",
    ];
    let all = hits(&stdout_ok(t.command(Model::None).args(q)));
    let shows: std::collections::HashSet<_> = all
        .iter()
        .map(|h| h["show"].as_str().unwrap().to_string())
        .collect();
    assert!(shows.len() >= 4, "{shows:?}");
    let only = hits(&stdout_ok(
        t.command(Model::None)
            .args(q)
            .args(["--show", "money-talk"]),
    ));
    assert!(!only.is_empty() && only.iter().all(|h| h["show"] == "money-talk"));
    let sp = hits(&stdout_ok(
        t.command(Model::None).args(q).args(["--speaker", "priya"]),
    ));
    assert!(!sp.is_empty());
    assert!(sp
        .iter()
        .all(|h| h["speaker"].as_str().unwrap().contains("Priya")));
    let dated = hits(&stdout_ok(t.command(Model::None).args(q).args([
        "--since",
        "2024-05-01",
        "--until",
        "2024-05-31",
    ])));
    assert!(
        !dated.is_empty() && dated.iter().all(|h| h["date"] == "2024-05-02"),
        "{dated:?}"
    );
    let ep = hits(&stdout_ok(
        t.command(Model::None)
            .args(q)
            .args(["--episode", "marathon-training"]),
    ));
    assert!(
        !ep.is_empty()
            && ep
                .iter()
                .all(|h| h["episode_id"] == "the-long-run/marathon-training")
    );
    let (code, _, err) = run(t.command(Model::None).args(q).args(["--episode", "nope"]));
    assert_eq!(code, 2);
    assert!(err.contains("no such episode"), "{err}");
}

#[test]
fn semantic_and_hybrid_run_with_the_tiny_model() {
    let t = TestDir::new();
    demo_index(&t);
    for mode in ["semantic", "hybrid"] {
        let out = stdout_ok(t.command(Model::None).args([
            "--json",
            "search",
            "--mode",
            mode,
            "-n",
            "3",
            "soil compost",
        ]));
        let h = hits(&out);
        assert_eq!(h.len(), 3, "{mode}");
        assert!(h[0]["signals"]["dense_rank"].is_number(), "{mode}");
    }
}

#[test]
fn overlapping_passages_merge_into_one_moment() {
    let t = TestDir::new();
    demo_index(&t);
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "search",
        "--mode",
        "semantic",
        "-n",
        "50",
        "anything at all",
    ]));
    let h = hits(&out);
    for (i, a) in h.iter().enumerate() {
        for b in &h[i + 1..] {
            if a["episode_id"] != b["episode_id"] {
                continue;
            }
            let (Some(as_), Some(ae), Some(bs), Some(be)) = (
                a["start_ms"].as_u64(),
                a["end_ms"].as_u64(),
                b["start_ms"].as_u64(),
                b["end_ms"].as_u64(),
            ) else {
                continue;
            };
            assert!(
                !(bs < ae && as_ < be),
                "overlapping moments not merged: {a} {b}"
            );
        }
    }
}

#[test]
fn show_prints_the_passage_with_its_neighbours() {
    let t = TestDir::new();
    demo_index(&t);
    let out = stdout_ok(
        t.command(Model::None)
            .args(["--json", "search", "--mode", "keyword", "Tern"]),
    );
    let id = hits(&out)[0]["id"].as_str().unwrap().to_string();
    let out = stdout_ok(
        t.command(Model::None)
            .args(["--json", "show", &id, "--context", "1"]),
    );
    let lines = json_lines(&out);
    assert!((2..=3).contains(&lines.len()), "{out}");
    let target: Vec<_> = lines.iter().filter(|l| l["is_target"] == true).collect();
    assert_eq!(target.len(), 1);
    assert_eq!(target[0]["id"], id.as_str());
    let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let human = stdout_ok(t.command(Model::None).args(["show", &id]));
    assert!(human.contains(">>"));
    let (code, _, err) = run(t.command(Model::None).args(["show", "ffffffffffffffff"]));
    assert_eq!(code, 2);
    assert!(err.contains("no passage with id"), "{err}");
}

#[test]
fn hostile_queries_never_break() {
    let t = TestDir::new();
    demo_index(&t);
    let long = "word ".repeat(10_000);
    let queries = [
        "",
        "   ",
        "!!! ??? ...",
        "\"unbalanced quote",
        "text:chips AND OR NOT (",
        "title:* show:money-talk",
        "control\u{1}\u{7}chars\u{1b}[31m",
        "emoji 🎙️🔥 chips",
        "((((((((((",
        long.as_str(),
    ];
    for q in queries {
        for mode in ["keyword", "semantic", "hybrid"] {
            let (code, _, err) = run(t
                .command(Model::None)
                .args(["search", "--mode", mode, "--", q]));
            assert!(
                code == 0 || code == 1,
                "query {:?} mode {mode}: exit {code}\n{err}",
                &q[..q.len().min(40)]
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn closed_pipe_is_not_an_error() {
    let t = TestDir::new();
    demo_index(&t);
    let mut child = t
        .command(Model::None)
        .args([
            "search",
            "--mode",
            "semantic",
            "-n",
            "50",
            "anything at all",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.code() == Some(0),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn queries_from_stdin_share_one_process() {
    let t = TestDir::new();
    demo_index(&t);
    let mut child = t
        .command(Model::None)
        .args([
            "--json", "search", "--stdin", "--mode", "keyword", "-n", "1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Vandermolen\nTern\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    let summaries = lines.iter().filter(|l| l["type"] == "summary").count();
    assert_eq!(summaries, 2);
}
