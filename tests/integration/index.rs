//! Indexing through the binary: formats, duplicates, incremental updates,
//! bad input, rebuilds and model checks (tiny model: mechanics only).

use crate::util::{json_lines, run, stdout_ok, Model, TestDir};

fn stats(t: &TestDir) -> serde_json::Value {
    let out = stdout_ok(t.command(Model::None).args(["--json", "stats"]));
    json_lines(&out).pop().unwrap()
}

fn index(t: &TestDir, path: &str) -> (i32, String, String) {
    run(t.command(Model::Tiny).args(["index", path]))
}

#[test]
fn every_format_indexes_and_stats_reports_it() {
    let t = TestDir::new();
    for f in [
        "vtt/voice-tags-crlf.vtt",
        "srt/carry-speaker.srt",
        "json/podcasting20-phrases.json",
        "json/whisper.json",
        "json/chat-array.json",
        "markdown/lenny-style.md",
        "markdown/changelog-style.md",
        "text/paragraphs-crlf.txt",
        "html/podcasting20.html",
    ] {
        let name = f.split('/').nth(1).unwrap();
        t.copy_fixture(
            f,
            &format!("pods/show-{}/{name}", &f[..f.find('/').unwrap()]),
        );
    }
    t.copy_fixture(
        "markdown/not-a-transcript.md",
        "pods/show-markdown/topics.md",
    );
    t.create("pods/README.md", "# my podcasts\n");
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("indexed 9 episodes"), "{err}");
    let s = stats(&t);
    assert_eq!(s["episodes"], 9);
    assert_eq!(s["shows"], 6);
    assert!(s["chunks"].as_u64().unwrap() >= 9);
    assert!(
        s["hours"].as_f64().unwrap() > 1.0,
        "lenny-style runs past 00:12, changelog to 01:20"
    );
    assert!(s["model"].as_str().unwrap().contains("tiny-bert"));
}

#[test]
fn bad_files_are_reported_skipped_and_the_rest_indexed() {
    let t = TestDir::new();
    t.copy_fixture("json/broken.json", "pods/show/broken.json");
    t.copy_fixture("json/unknown-shape.json", "pods/show/shape.json");
    t.copy_fixture("srt/whisper.srt", "pods/show/good.srt");
    t.create("pods/show/binary.vtt", [0u8, 159, 146, 150, 0, 1, 2, 3]);
    t.create("pods/show/empty.vtt", "");
    t.copy_fixture("text/latin1.txt", "pods/show/latin1.txt");
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("broken.json:") && err.contains("invalid JSON"),
        "{err}"
    );
    assert!(
        err.contains("shape.json:1: JSON is not a transcript"),
        "{err}"
    );
    assert!(err.contains("binary.vtt:1: binary data"), "{err}");
    assert!(err.contains("empty.vtt:1:"), "{err}");
    assert!(
        err.contains("latin1.txt:1: warning: invalid UTF-8"),
        "{err}"
    );
    assert!(err.contains("skipped 4"), "{err}");
    assert_eq!(stats(&t)["episodes"], 2);
}

#[test]
fn duplicates_fold_to_the_richest_file() {
    let t = TestDir::new();
    t.copy_fixture("dupes", "pods");
    t.copy_fixture("show-meta", "pods/seen");
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    // twiml-like: 3 formats -> 1; lenny-like: 2 slugs -> 1; seen: vtt + chat -> 1.
    assert!(err.contains("indexed 3 episodes"), "{err}");
    assert!(err.contains("folded 4"), "{err}");
    let s = stats(&t);
    assert_eq!(s["episodes"], 3);
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "search",
        "--mode",
        "semantic",
        "-n",
        "50",
        "anything at all",
    ]));
    let paths: Vec<String> = json_lines(&out)
        .iter()
        .filter(|v| v["type"] == "hit")
        .map(|v| v["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with(".mp3.vtt") && p.contains("twiml-like")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("E01.mp3.vtt")),
        "VTT beats chat JSON: {paths:?}"
    );
    assert!(!paths
        .iter()
        .any(|p| p.ends_with(".txt") || p.ends_with("E01.json")));
}

#[test]
fn show_metadata_file_gives_titles_and_dates() {
    let t = TestDir::new();
    t.copy_fixture("show-meta", "pods/seen");
    stdout_ok(t.command(Model::Tiny).args(["index", "pods"]));
    let out = stdout_ok(t.command(Model::None).args([
        "--json",
        "search",
        "--mode",
        "semantic",
        "anything at all",
    ]));
    let hit = &json_lines(&out)[0];
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(crate::util::fixtures().join("show-meta/metadata.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(hit["title"], meta[0]["title"]);
    assert_eq!(hit["url"], meta[0]["url"]);
    assert!(hit["date"].as_str().unwrap().starts_with("2017-"));
    assert!(hit["link"].as_str().unwrap().contains("#t="));
}

#[test]
fn incremental_updates_add_change_and_remove() {
    let t = TestDir::new();
    t.copy_fixture("srt/whisper.srt", "pods/a/one.srt");
    t.copy_fixture("vtt/colon-speaker.vtt", "pods/a/two.vtt");
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("indexed 2 episodes"), "{err}");
    // Same folder again: nothing changes, and it says so.
    let gen = stats(&t)["generation"].clone();
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0);
    assert!(
        err.contains("nothing changed") && err.contains("2 episodes up to date"),
        "{err}"
    );
    assert_eq!(
        stats(&t)["generation"],
        gen,
        "no commit when nothing changed"
    );
    // Touching a file without changing it re-reads but does not re-index it.
    let p = t.path().join("pods/a/one.srt");
    let bytes = std::fs::read(&p).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&p, &bytes).unwrap();
    let (_, _, err) = index(&t, "pods");
    assert!(err.contains("nothing changed"), "{err}");
    // A changed file is replaced, a new one added, a deleted one removed.
    t.copy_fixture("srt/gaps-no-final-newline.srt", "pods/a/one.srt");
    t.copy_fixture("html/podcasting20.html", "pods/a/three.html");
    std::fs::remove_file(t.path().join("pods/a/two.vtt")).unwrap();
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("indexed 2 episodes") && err.contains("removed 1"),
        "{err}"
    );
    assert_eq!(stats(&t)["episodes"], 2);
}

#[test]
fn a_file_that_breaks_keeps_its_last_good_version() {
    let t = TestDir::new();
    t.copy_fixture("json/whisper.json", "pods/a/ep.json");
    stdout_ok(t.command(Model::Tiny).args(["index", "pods"]));
    let before = stats(&t)["chunks"].clone();
    t.copy_fixture("json/broken.json", "pods/a/ep.json");
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 2);
    assert!(err.contains("ep.json:"), "{err}");
    assert_eq!(
        stats(&t)["chunks"],
        before,
        "nothing already in the index is lost"
    );
}

#[test]
fn rebuild_starts_over_and_switches_when_done() {
    let t = TestDir::new();
    t.copy_fixture("srt/whisper.srt", "pods/a/one.srt");
    stdout_ok(t.command(Model::Tiny).args(["index", "pods"]));
    std::fs::remove_dir_all(t.path().join("pods/a")).unwrap();
    t.copy_fixture("html/podcasting20.html", "other/b/x.html");
    let (code, _, err) = run(t.command(Model::Tiny).args(["index", "--rebuild", "other"]));
    assert_eq!(code, 0, "{err}");
    let s = stats(&t);
    assert_eq!(s["episodes"], 1, "the old episode is gone after a rebuild");
    let data: Vec<_> = std::fs::read_dir(t.index())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("data-"))
        .collect();
    assert_eq!(data.len(), 1, "the old data folder is removed");
}

#[test]
fn another_model_is_refused_with_the_fix() {
    let t = TestDir::new();
    t.copy_fixture("srt/whisper.srt", "pods/a/one.srt");
    stdout_ok(t.command(Model::Tiny).args(["index", "pods"]));
    let (code, _, err) = run(t.command(Model::TinyOther).args(["search", "hello"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("was built with model 'tiny-bert'") && err.contains("--rebuild"),
        "{err}"
    );
    let (code, _, err) = run(t.command(Model::TinyOther).args(["index", "pods"]));
    assert_eq!(code, 2);
    assert!(err.contains("--rebuild"), "{err}");
    // Without --model, search uses the index's own model.
    let (code, _, err) = run(t.command(Model::None).args(["search", "hello"]));
    assert!(code == 0 || code == 1, "{err}");
}

#[test]
fn second_writer_is_refused_while_one_holds_the_lock() {
    let t = TestDir::new();
    t.copy_fixture("srt/whisper.srt", "pods/a/one.srt");
    stdout_ok(t.command(Model::Tiny).args(["index", "pods"]));
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(t.index().join("LOCK"))
        .unwrap();
    lock.try_lock().unwrap();
    let (code, _, err) = run(t.command(Model::Tiny).args(["index", "pods"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("being written by another podsift process"),
        "{err}"
    );
    // Readers are not blocked.
    stdout_ok(t.command(Model::None).args(["stats"]));
    drop(lock);
}

#[test]
fn missing_model_says_what_to_run() {
    let t = TestDir::new();
    t.copy_fixture("srt/whisper.srt", "pods/a/one.srt");
    let (code, _, err) =
        run(t
            .command(Model::None)
            .args(["--model", "nobody/no-such-model", "index", "pods"]));
    assert_eq!(code, 2);
    assert!(err.contains("scripts/fetch-model"), "{err}");
}
