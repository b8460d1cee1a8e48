//! Regression tests, named after what broke, each with a `// See:` line.

use crate::util::{json_lines, run, stdout_ok, Model, TestDir};

fn stats(t: &TestDir) -> serde_json::Value {
    let out = stdout_ok(t.command(Model::None).args(["--json", "stats"]));
    json_lines(&out).pop().unwrap()
}

// See: issue 6, scripts/faults item 4. One long episode was embedded and
// staged whole: every passage's tokenizer encoding, text and context at once,
// so peak memory grew with the episode (an 8 MB single-line transcript took
// 400 MB, a 64 MB one would pass 1 GB). It is now handled in slices of 1024
// passages; an episode of more than one slice must index whole.
#[test]
fn a_file_over_two_mib_is_indexed_and_committed_in_parts() {
    let t = TestDir::new();
    let mut text = String::new();
    let mut i = 0;
    while text.len() < (5 << 20) / 2 {
        text.push_str(&format!("Paragraph {i} talks about compost and soil.\n\n"));
        i += 1;
    }
    t.create("pods/show/huge.txt", &text);
    let (code, _, err) = run(t.command(Model::Tiny).args(["-v", "index", "pods"]));
    assert_eq!(code, 0, "{err}");
    // One commit per part (1 MiB of text each), then the non-content pass's.
    let commits = err.matches("committed generation").count();
    assert!(commits >= 4, "{commits} commits:\n{err}");
    let s = stats(&t);
    assert_eq!(s["episodes"], 1);
    let chunks = s["chunks"].as_u64().unwrap();
    // Every paragraph is searchable, the last one too.
    let last = format!("Paragraph {}", i - 1);
    let out = stdout_ok(
        t.command(Model::None)
            .args(["--json", "search", "--mode", "keyword", "-n", "1", &last]),
    );
    let hit = json_lines(&out)
        .into_iter()
        .find(|h| h["type"] == "hit")
        .expect("a hit");
    assert!(hit["text"].as_str().unwrap().contains(&last), "{hit}");
    // Passages are numbered on across the parts: `show` reads the last one's
    // neighbours, and they end where the episode does.
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "show",
        "--context",
        "3",
        hit["id"].as_str().unwrap(),
    ]));
    let seqs: Vec<u64> = json_lines(&out)
        .iter()
        .map(|p| p["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.last().copied(), Some(chunks - 1), "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    // Complete: nothing left to go on with.
    let (code, _, err) = run(t.command(Model::Tiny).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing changed"), "{err}");
}

#[test]
fn an_episode_longer_than_one_slice_indexes_whole() {
    let t = TestDir::new();
    let mut text = String::new();
    for i in 0..1500 {
        text.push_str(&format!("Paragraph {i} talks about compost and soil.\n\n"));
    }
    t.create("pods/show/long.txt", &text);
    let (code, _, err) = run(t.command(Model::Tiny).args([
        "index",
        "--max-tokens",
        "12",
        "--overlap-tokens",
        "0",
        "pods",
    ]));
    assert_eq!(code, 0, "{err}");
    let s = stats(&t);
    assert_eq!(s["episodes"], 1);
    let chunks = s["chunks"].as_u64().unwrap();
    assert!(chunks > 1024, "{chunks} passages: not more than one slice");
    // Every passage is there, in order: the last one opens with `show`.
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "search",
        "--mode",
        "keyword",
        "-n",
        "1",
        "Paragraph 1499",
    ]));
    let hit = json_lines(&out)
        .into_iter()
        .find(|h| h["type"] == "hit")
        .expect("a hit");
    assert!(hit["text"].as_str().unwrap().contains("1499"), "{hit}");
    // Unchanged on a second run.
    let (code, _, err) = run(t.command(Model::Tiny).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing changed"), "{err}");
    assert_eq!(stats(&t)["chunks"].as_u64().unwrap(), chunks);
}
