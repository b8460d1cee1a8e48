//! The `--json` schema, pinned: search output deserialises into these
//! test-side types with no missing and no unknown keys.

use serde::Deserialize;

use crate::util::{run, stdout_ok, Model, TestDir};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
#[allow(dead_code, clippy::large_enum_variant)]
enum Line {
    Hit {
        rank: usize,
        id: String,
        score: f64,
        show: String,
        episode_id: String,
        title: String,
        chapter: Option<String>,
        date: Option<String>,
        path: String,
        start_ms: Option<u64>,
        end_ms: Option<u64>,
        start: Option<String>,
        speaker: Option<String>,
        text: String,
        url: Option<String>,
        link: Option<String>,
        merged: Vec<String>,
        signals: Signals,
    },
    Summary {
        query: String,
        mode: String,
        hits: usize,
        bm25_candidates: usize,
        dense_candidates: usize,
        passages: usize,
        timings_ms: Timings,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Signals {
    bm25_rank: Option<usize>,
    bm25_score: Option<f64>,
    dense_rank: Option<usize>,
    dense_score: Option<f64>,
    fused: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Timings {
    embed: f64,
    bm25: f64,
    dense: f64,
    fuse: f64,
    total: f64,
}

#[test]
fn search_json_lines_match_the_schema() {
    let t = TestDir::new();
    crate::util::copy_tree(
        &crate::util::repo().join("tests/demo"),
        &t.path().join("demo"),
    );
    stdout_ok(t.command(Model::Tiny).args(["index", "demo"]));
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "search",
        "-n",
        "5",
        "compost soil microbes",
    ]));
    let lines: Vec<Line> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 6);
    let mut ranks = Vec::new();
    for l in &lines[..5] {
        match l {
            Line::Hit {
                rank,
                id,
                start_ms,
                end_ms,
                signals,
                path,
                ..
            } => {
                ranks.push(*rank);
                assert_eq!(id.len(), 16);
                assert!(start_ms <= end_ms);
                assert!(signals.fused.is_some());
                assert!(path.starts_with("demo/"), "path as given to index: {path}");
            }
            other => panic!("expected a hit, got {other:?}"),
        }
    }
    assert_eq!(ranks, vec![1, 2, 3, 4, 5]);
    match &lines[5] {
        Line::Summary { hits, mode, .. } => {
            assert_eq!(*hits, 5);
            assert_eq!(mode, "hybrid");
        }
        other => panic!("expected the summary last, got {other:?}"),
    }
}

#[test]
fn stats_json_has_the_documented_fields() {
    let t = TestDir::new();
    crate::util::copy_tree(
        &crate::util::repo().join("tests/demo"),
        &t.path().join("demo"),
    );
    stdout_ok(t.command(Model::Tiny).args(["index", "demo"]));
    let (code, out, _) = run(t.command(Model::None).args(["--json", "stats"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for key in ["shows", "episodes", "chunks", "hours", "model"] {
        assert!(!v[key].is_null(), "stats --json lacks {key}: {v}");
    }
    assert_eq!(v["episodes"], 7);
}
