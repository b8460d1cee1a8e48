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

/// An episode's words, written for this test: a host and a guest on a
/// fictional bakery cooperative.
const BAKERY: &[(&str, &str)] = &[
    ("Host", "Welcome back. My guest today runs a bakery cooperative in a small river town, and she has opinions about flour."),
    ("Guest", "Thanks. We started with four bakers sharing one oven, because none of us could afford a deck oven alone."),
    ("Guest", "The first winter was hard. We baked through the night and sold everything by nine in the morning, which sounds good until you count the hours."),
    ("Host", "How did you decide who bakes when?"),
    ("Guest", "A paper calendar on the fridge, honestly. Every member takes two night shifts a week, and the newest member gets the weekend, which nobody minds for long."),
    ("Guest", "The real change came when the mill upstream agreed to sell us stone ground rye at cost, in exchange for bread for their workers on Fridays."),
    ("Host", "So the mill became a member of sorts."),
    ("Guest", "More or less. They have a vote on the flour budget and nothing else, and that single vote has kept our prices steady for three years."),
    ("Guest", "If I had to name one lesson, it would be that shared ovens need shared rules written down before the first argument, not after it."),
];

/// A different episode of the same show.
const ORCHARD: &[(&str, &str)] = &[
    ("Host", "Today we visit an orchard that grafts forty old apple varieties onto young rootstock every spring."),
    ("Guest", "Grafting is patient work. You cut a scion from the old tree, match the green layer under the bark, and wrap it tight with tape."),
    ("Guest", "Half of them fail in a dry year, so we graft twice as many as we need and give the spare trees to schools."),
    ("Host", "Which variety surprised you the most?"),
    ("Guest", "A russet nobody could name. It tastes of pear and nuts, keeps until March in a cold cellar, and the tree shrugs off scab without any spraying at all."),
    ("Guest", "We sent leaves to a lab and it matched a variety recorded in a nursery catalogue from the eighteen nineties, thought to be lost."),
];

fn vtt(turns: &[(&str, &str)], words_per_cue: usize) -> String {
    let mut out = String::from("WEBVTT\n\n");
    let mut t = 0u64;
    let ts = |ms: u64| {
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    };
    for (speaker, text) in turns {
        let words: Vec<&str> = text.split_whitespace().collect();
        for cue in words.chunks(words_per_cue) {
            out.push_str(&format!(
                "{} --> {}\n[{speaker}]: {}\n\n",
                ts(t),
                ts(t + 2500),
                cue.join(" ")
            ));
            t += 2500;
        }
    }
    out
}

fn chat_json(turns: &[(&str, &str)]) -> String {
    let msgs: Vec<serde_json::Value> = turns
        .iter()
        .enumerate()
        .map(|(i, (speaker, text))| {
            serde_json::json!({
                "speaker": speaker,
                "time": format!("00:{:02}:{:02}.000", i * 20 / 60, i * 20 % 60),
                "message": text,
            })
        })
        .collect();
    serde_json::to_string_pretty(&msgs).unwrap()
}

// See: issue 19, "Duplicates across formats". The same episode as a VTT of
// short cues and a chat JSON of whole turns, in sibling folders (which the
// walk takes for two shows when the show's own folder is indexed), with a
// few words transcribed differently, was two episodes.
#[test]
fn similar_words_fold_across_formats_and_names() {
    let t = TestDir::new();
    t.create("bakes/transcripts_vtt/E7.mp3.vtt", vtt(BAKERY, 6));
    // The chat twin: whole turns, two phrases heard differently.
    let edited: Vec<(&str, String)> = BAKERY
        .iter()
        .map(|(s, text)| {
            let text = text
                .replace("small river town", "small riverside town")
                .replace("honestly", "to be honest");
            (*s, text)
        })
        .collect();
    let edited: Vec<(&str, &str)> = edited.iter().map(|(s, x)| (*s, x.as_str())).collect();
    t.create("bakes/transcripts_chat/E7.json", chat_json(&edited));
    // A genuinely different episode.
    t.create("bakes/transcripts_vtt/E8.mp3.vtt", vtt(ORCHARD, 6));
    let (code, _, err) = index(&t, "bakes");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("indexed 2 episodes"), "{err}");
    assert!(err.contains("folded 1"), "{err}");
    let s = stats(&t);
    assert_eq!(s["episodes"], 2);
    assert_eq!(
        (s["folded_files"].as_u64(), s["folded_by_content"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(s["folded_by_name"], 0);
    let human = stdout_ok(t.command(Model::None).arg("stats"));
    assert!(
        human.contains("3 known, 1 folded as duplicates (0 by name, 1 by content)"),
        "{human}"
    );
    // The VTT (finer cues, end times) is kept; the chat JSON is folded into it.
    let state = latest_state(&t);
    let file = |suffix: &str| {
        state["files"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.ends_with(suffix))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let chat = file("transcripts_chat/E7.json");
    assert_eq!(chat["status"], "folded");
    assert_eq!(chat["by"], "similar_words");
    assert!(chat["into"].as_str().unwrap().ends_with("E7.mp3.vtt"));
    assert_eq!(file("E7.mp3.vtt")["status"], "indexed");
    assert_eq!(file("E8.mp3.vtt")["status"], "indexed");
    // A second run reads nothing again and changes nothing.
    let (code, _, err) = index(&t, "bakes");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing changed"), "{err}");
}

// See: issue 19. Indexes written before the fingerprint existed have no
// signatures in their file table: the next run reads the files again to
// compute them (without re-indexing), then folds.
#[test]
fn file_tables_without_fingerprints_get_them_on_the_next_run() {
    let t = TestDir::new();
    t.create("pods/bakes/a/E7.mp3.vtt", vtt(BAKERY, 6));
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    // Strip the signatures, as an old state file would have none.
    let path = latest_state_path(&t);
    let mut state = latest_state(&t);
    for f in state["files"].as_object_mut().unwrap().values_mut() {
        f.as_object_mut().unwrap().remove("minhash_v1").unwrap();
    }
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    t.create("pods/bakes/b/E7.json", chat_json(BAKERY));
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("folded 1"), "{err}");
    let s = stats(&t);
    assert_eq!(
        (s["episodes"].as_u64(), s["folded_by_content"].as_u64()),
        (Some(1), Some(1))
    );
    let state = latest_state(&t);
    assert!(state["files"]
        .as_object()
        .unwrap()
        .values()
        .all(|f| f["minhash_v1"].as_str().is_some_and(|h| h.len() == 1024)));
}

fn latest_state_path(t: &TestDir) -> std::path::PathBuf {
    let mut states: Vec<std::path::PathBuf> = walk_files(&t.index())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("state-"))
        })
        .collect();
    states.sort_by_key(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        n.trim_start_matches("state-")
            .trim_end_matches(".json")
            .parse::<u64>()
            .unwrap_or(0)
    });
    states.pop().expect("a state file")
}

fn latest_state(t: &TestDir) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(latest_state_path(t)).unwrap()).unwrap()
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// See: issue 19. Real cross-format twins (seen-and-unseen's chat JSON and
// VTT of the same episodes) have signatures that fold, and different
// episodes' do not. Parses only; no model.
#[test]
fn real_seen_and_unseen_twins_fold_by_content() {
    use podsift::ingest::fingerprint::Signature;
    use podsift::ingest::{self, Format};
    let Some(corpus) = crate::util::corpus() else {
        return;
    };
    let root = corpus.join("seen-and-unseen");
    let sig = |rel: &str| {
        let path = root.join(rel);
        let bytes = std::fs::read(&path).unwrap();
        let (text, _) = ingest::decode(&bytes).unwrap();
        let head: String = text.chars().take(64).collect();
        let parsed = Format::detect(&path, &head).unwrap().parse(&text).unwrap();
        Signature::of_texts(parsed.cues.iter().map(|c| c.text.as_str()))
    };
    let eps = ["E01", "E37", "E116", "E140"];
    let chat: Vec<Signature> = eps
        .iter()
        .map(|e| sig(&format!("transcripts_chat/{e}.json")))
        .collect();
    let vtt: Vec<Signature> = eps
        .iter()
        .map(|e| sig(&format!("transcripts_vtt/{e}.mp3.vtt")))
        .collect();
    // Twins fold; no two different episodes do.
    for (i, e) in eps.iter().enumerate() {
        assert!(
            chat[i].is_same_episode(&vtt[i]),
            "{e}: jaccard {:?}",
            chat[i].jaccard(&vtt[i])
        );
        for j in 0..eps.len() {
            if i != j {
                assert!(
                    !chat[i].is_same_episode(&vtt[j]),
                    "{e} vs {}: jaccard {:?}",
                    eps[j],
                    chat[i].jaccard(&vtt[j])
                );
            }
        }
    }
}

/// What each "Talk Shop" guest says: different words, so that no two
/// episodes fold as duplicates of each other.
const TALK_SHOP: [&str; 6] = [
    "Raising prices scared us for a year. When we finally did it, we grandfathered every \
     existing customer, wrote to each of them personally, and lost two accounts out of four \
     hundred. Revenue per seat went up by a third within one quarter.",
    "Hiring our first engineer took five months because we kept interviewing for a résumé \
     instead of for the work. A paid trial week on a real ticket told us more than any \
     whiteboard puzzle ever did, and candidates preferred it too.",
    "We changed our licence from MIT to a source-available one after a cloud vendor started \
     reselling the project. Contributors were angry for a week; the sponsorships that followed \
     paid for two maintainers full time.",
    "On-call burned out our best people until we capped pages at two a night and made every \
     page produce a ticket. Alert volume fell by eighty percent once nobody could ignore the \
     noisy checks any longer.",
    "Support tickets are the cheapest product research there is. We tag every one by feature, \
     and the tag counts decide the roadmap each month more honestly than any survey.",
    "Documentation written by the person who just learned the system beats documentation written \
     by its author. New hires rewrite the onboarding guide in their first week, every time.",
];

/// An episode of "Talk Shop" in the Markdown the corpus's shows use: the
/// host opens and asks at length, the guest answers.
fn talk_shop(guest: &str, topic: &str, answer: &str) -> String {
    format!(
        "**Nadia Petrov:** Welcome back to Talk Shop, the show about the unglamorous parts of \
         running a small software company. I am your host, and today {guest} is here to talk \
         about {topic}, which listeners have asked about for months. Every episode has notes \
         and a transcript on our site.\n\n**{guest}:** {answer}\n\n**Nadia Petrov:** Before \
         we go, what would you tell someone facing {topic} for the first time next week?\n\n\
         **{guest}:** Start small, measure what happens, and write down why you chose it.\n"
    )
}

// See: issue 19, "Insight-worthiness". A show's host (a speaker named in at
// least a quarter of its episodes, three or more) mostly asks and
// introduces; `stats` names the hosts, a role label is never one, and an
// index written before episodes recorded their speakers gets them on the
// next run (and names the same hosts meanwhile, from the passages).
#[test]
fn stats_names_a_shows_hosts_and_an_old_index_learns_them() {
    let t = TestDir::new();
    let guests = [
        "Callum Reyes",
        "Guest",
        "Ines Duarte",
        "Callum Reyes",
        "Guest",
        "Guest",
    ];
    let topics = [
        "pricing", "hiring", "licences", "on-call", "support", "docs",
    ];
    for (i, (g, topic)) in guests.iter().zip(topics).enumerate() {
        let episode = talk_shop(g, topic, TALK_SHOP[i]);
        t.create(&format!("pods/talk-shop/ep-{i}.md"), episode);
    }
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    let hosts = |t: &TestDir| stats(t)["per_show"]["talk-shop"]["hosts"].clone();
    // Callum came twice (fewer than three episodes); "Guest", in three of
    // six, is a role.
    assert_eq!(hosts(&t), serde_json::json!(["Nadia Petrov"]));
    let human = stdout_ok(t.command(Model::None).arg("stats"));
    assert!(human.contains("hosts: Nadia Petrov"), "{human}");
    let state = latest_state(&t);
    let speakers: Vec<&serde_json::Value> = state["episodes"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| &e["speakers"])
        .collect();
    // Each episode lists the speakers its passages name.
    assert_eq!(speakers.len(), 6);
    let named = |name: &str| {
        speakers
            .iter()
            .filter(|s| s.as_array().is_some_and(|a| a.iter().any(|n| n == name)))
            .count()
    };
    assert_eq!(
        (named("Nadia Petrov"), named("Guest")),
        (6, 3),
        "{speakers:?}"
    );
    // The same index as an older podsift wrote it: no speakers recorded.
    let path = latest_state_path(&t);
    let mut old = state.clone();
    for e in old["episodes"].as_object_mut().unwrap().values_mut() {
        e.as_object_mut().unwrap().remove("speakers");
    }
    std::fs::write(&path, serde_json::to_string(&old).unwrap()).unwrap();
    assert_eq!(hosts(&t), serde_json::json!(["Nadia Petrov"]));
    let (code, _, err) = index(&t, "pods");
    assert_eq!(code, 0, "{err}");
    let again = latest_state(&t);
    assert!(
        again["episodes"]
            .as_object()
            .unwrap()
            .values()
            .all(|e| e["speakers"].is_array()),
        "{again}"
    );
    assert_eq!(hosts(&t), serde_json::json!(["Nadia Petrov"]));
}
