//! `podsift transcribe` and `scan --transcribe` on real speech: paragraphs
//! from `tests/fixtures/speech/` voiced by espeak-ng, encoded to MP3 by
//! lame, transcribed by the real Whisper tiny.en (models/whisper-tiny.en,
//! filled by scripts/fetch-whisper). A test whose tools or weights are
//! absent says so on stderr and checks nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{json_lines, run, stdout_ok, Model, TestDir};

/// The highest word error rate accepted on espeak voices (tiny.en reaches
/// about 0.05-0.10 on them; see BENCHMARKS.md).
const MAX_WER: f64 = 0.25;

pub fn whisper_model() -> Option<PathBuf> {
    let p = crate::util::repo().join("models/whisper-tiny.en");
    if p.join("model.safetensors").is_file() {
        Some(p)
    } else {
        eprintln!(
            "note: {} is missing (run scripts/fetch-whisper); skipping the transcription test",
            p.display()
        );
        None
    }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    if !ok {
        eprintln!("note: {tool} is not installed (apt-get install espeak-ng lame); skipping");
    }
    ok
}

pub fn paragraph(name: &str) -> String {
    std::fs::read_to_string(crate::util::fixtures().join("speech").join(name)).unwrap()
}

/// Voice `text` to `<name>.wav` (22.05 kHz mono) in `dir`; its length in s.
pub fn speak(dir: &Path, name: &str, text: &str, voice: &str) -> (PathBuf, f64) {
    let wav = dir.join(format!("{name}.wav"));
    let st = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .unwrap();
    assert!(st.success());
    let secs = (std::fs::metadata(&wav).unwrap().len() - 44) as f64 / (22_050.0 * 2.0);
    (wav, secs)
}

pub fn mp3(wav: &Path) -> PathBuf {
    let out = wav.with_extension("mp3");
    let st = Command::new("lame")
        .args(["--quiet", "-b", "64"])
        .arg(wav)
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// Lower-case words, punctuation dropped.
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == '-')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate: edit distance over reference words.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len().max(1) as f64
}

/// (start s, end s, text) of each cue of a WebVTT file.
pub fn cues(vtt: &str) -> Vec<(f64, f64, String)> {
    let secs = |t: &str| -> f64 {
        let p: Vec<f64> = t.trim().split(':').map(|x| x.parse().unwrap()).collect();
        p.iter().fold(0.0, |a, x| a * 60.0 + x)
    };
    let mut out = Vec::new();
    let mut lines = vtt.lines();
    while let Some(l) = lines.next() {
        if let Some((a, b)) = l.split_once(" --> ") {
            let text = lines.next().unwrap_or("").to_string();
            out.push((secs(a), secs(b), text));
        }
    }
    out
}

fn transcribe_cmd(t: &TestDir, model: &Path) -> Command {
    let mut cmd = t.command(Model::None);
    cmd.arg("transcribe").arg("--whisper").arg(model);
    cmd
}

#[test]
fn espeak_speech_is_transcribed_with_a_low_word_error_rate() {
    let Some(model) = whisper_model() else { return };
    if !have("espeak-ng") || !have("lame") {
        return;
    }
    let t = TestDir::new();
    let text = [paragraph("01-tides.txt"), paragraph("04-lighthouse.txt")].join(" ");
    let (wav, secs) = speak(t.path(), "talk", &text, "en-us");
    let audio = mp3(&wav);
    let out = t.path().join("talk.vtt");
    let stdout = stdout_ok(
        transcribe_cmd(&t, &model)
            .arg("--json")
            .arg(&audio)
            .arg("-o")
            .arg(&out),
    );
    let line = &json_lines(&stdout)[0];
    assert_eq!(line["type"], "transcribed");
    let vtt = std::fs::read_to_string(&out).unwrap();
    assert!(vtt.starts_with("WEBVTT"));
    let cues = cues(&vtt);
    assert!(cues.len() >= 3, "{vtt}");
    let hyp: Vec<&str> = cues.iter().map(|c| c.2.as_str()).collect();
    let w = wer(&text, &hyp.join(" "));
    eprintln!(
        "WER {w:.3} over {} words, {secs:.1} s of audio",
        words(&text).len()
    );
    assert!(w <= MAX_WER, "WER {w:.3}\n{vtt}");
    // Times inside the audio, in order.
    let mut last = 0.0;
    for (a, b, _) in &cues {
        assert!(
            *a >= last - 1e-9 && b >= a && *b <= secs + 0.5,
            "{a}-{b} in {secs} s\n{vtt}"
        );
        last = *b;
    }
    let dur = line["duration_s"].as_f64().unwrap();
    assert!((dur - secs).abs() < 0.2, "decoded {dur} s of {secs} s");
    // The sidecar, like a downloaded transcript's.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.path().join("talk.meta.json")).unwrap()).unwrap();
    assert_eq!(meta["title"], "talk");
    assert_eq!(meta["transcribed_by"], "whisper-tiny.en");
    assert!(meta["url"].as_str().unwrap().ends_with("talk.mp3"));
}

#[test]
fn bad_audio_files_are_one_line_each_and_the_rest_goes_on() {
    let Some(model) = whisper_model() else { return };
    if !have("espeak-ng") || !have("lame") {
        return;
    }
    let t = TestDir::new();
    let (wav, _) = speak(t.path(), "good", &paragraph("02-bread.txt"), "en-us");
    let good = mp3(&wav);
    let bytes = std::fs::read(&good).unwrap();
    // Truncated: the first 40% of the MP3 (transcribed as far as it goes).
    let truncated = t.create("truncated.mp3", &bytes[..bytes.len() * 2 / 5]);
    // Corrupt: a run of garbage over the middle third.
    let mut corrupt = bytes.clone();
    let n = corrupt.len();
    for (i, b) in corrupt[n / 3..2 * n / 3].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0x5a;
    }
    let corrupt = t.create("corrupt.mp3", corrupt);
    let text = t.create("notes.mp3", "Show notes: this is a text file.\n".repeat(40));
    let empty = t.create("empty.mp3", b"");
    // A 0-second MP3: lame's encoding of a WAV with no samples (its header
    // frames alone).
    let zero_wav = t.path().join("zero.wav");
    join_wavs(&[], &zero_wav);
    let zero = mp3(&zero_wav);
    // A WAV that declares ten hours but holds one second.
    let mut ten_hours = Vec::new();
    let data_len: u32 = 36_000 * 16_000 * 2;
    ten_hours.extend_from_slice(b"RIFF");
    ten_hours.extend_from_slice(&(36 + data_len).to_le_bytes());
    ten_hours.extend_from_slice(b"WAVEfmt ");
    ten_hours.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 1] {
        ten_hours.extend_from_slice(&v.to_le_bytes());
    }
    for v in [16_000u32, 32_000] {
        ten_hours.extend_from_slice(&v.to_le_bytes());
    }
    for v in [2u16, 16] {
        ten_hours.extend_from_slice(&v.to_le_bytes());
    }
    ten_hours.extend_from_slice(b"data");
    ten_hours.extend_from_slice(&data_len.to_le_bytes());
    ten_hours.extend(std::iter::repeat_n(0u8, 32_000));
    let long = t.create("ten-hours.wav", ten_hours);
    let inputs = [&truncated, &corrupt, &text, &empty, &zero, &long, &good];
    let (code, _out, err) = run(transcribe_cmd(&t, &model).args(inputs));
    eprintln!("{err}");
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let failing: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains(" min of audio → "))
        .collect();
    assert_eq!(failing.len(), 4, "one line per bad file:\n{err}");
    assert!(failing[0].contains("notes.mp3") && failing[0].contains("not a readable audio file"));
    assert!(failing[1].contains("empty.mp3"));
    assert!(failing[2].contains("zero.mp3") && failing[2].contains("no audio"));
    assert!(failing[3].contains("ten-hours.wav") && failing[3].contains("10.0 hours"));
    for ok in ["good.vtt", "truncated.vtt", "corrupt.vtt"] {
        assert!(t.path().join(ok).is_file(), "{ok} missing:\n{err}");
    }
    let good_vtt = std::fs::read_to_string(t.path().join("good.vtt")).unwrap();
    let hyp: Vec<String> = cues(&good_vtt).into_iter().map(|c| c.2).collect();
    assert!(
        wer(&paragraph("02-bread.txt"), &hyp.join(" ")) <= MAX_WER,
        "{good_vtt}"
    );
}

/// A 22.05 kHz mono 16-bit WAV of `parts` one after another.
fn join_wavs(parts: &[&Path], out: &Path) {
    let mut data = Vec::new();
    for p in parts {
        data.extend_from_slice(&std::fs::read(p).unwrap()[44..]);
    }
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&22_050u32.to_le_bytes());
    v.extend_from_slice(&44_100u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    std::fs::write(out, v).unwrap();
}

#[test]
fn scan_transcribes_an_audio_only_item_and_search_finds_the_moment() {
    let Some(model) = whisper_model() else { return };
    if !have("espeak-ng") || !have("lame") {
        return;
    }
    let t = TestDir::new();
    // 40 s of silence (one silent window skipped, then speech ten seconds
    // into the next), the volcano paragraph, then the compost paragraph: a
    // passage starts where the volcano paragraph does, so the search must
    // land at 40 s, and the compost paragraph's cue at 40 s plus the
    // volcano paragraph's length.
    let silence = t.path().join("silence.wav");
    join_wavs(&[], &silence);
    let mut quiet = std::fs::read(&silence).unwrap();
    quiet.extend(std::iter::repeat_n(0u8, 40 * 22_050 * 2));
    std::fs::write(&silence, quiet).unwrap();
    let lead = 40.0;
    let (b, b_secs) = speak(t.path(), "b", &paragraph("07-volcano.txt"), "en-gb");
    let (c, _) = speak(t.path(), "c", &paragraph("03-compost.txt"), "en-us");
    let wav = t.path().join("episode.wav");
    join_wavs(&[&silence, &b, &c], &wav);
    let audio = std::fs::read(mp3(&wav)).unwrap();
    // A loopback feed whose one item has only an MP3 enclosure.
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let base = format!("http://{}", server.server_addr().to_ip().unwrap());
    let feed = format!(
        r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Earth Notes</title><language>en</language>
<item><title>Gardens and volcanoes</title><guid>ep-1</guid>
<pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate>
<enclosure url="{base}/ep1.mp3" type="audio/mpeg" length="{}"/></item>
</channel></rss>"#,
        audio.len()
    );
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let body = if req.url().ends_with(".mp3") {
                audio.clone()
            } else {
                feed.clone().into_bytes()
            };
            let _ = req.respond(tiny_http::Response::from_data(body));
        }
    });
    stdout_ok(
        t.command(Model::None)
            .args(["feed", "add", &format!("{base}/feed.xml")]),
    );
    let mut cmd = t.command(Model::Real);
    cmd.args(["--json", "scan", "--transcribe", "--whisper"])
        .arg(&model);
    let out = stdout_ok(&mut cmd);
    let lines = json_lines(&out);
    let summary = lines.iter().find(|l| l["type"] == "summary").unwrap();
    assert_eq!(summary["transcribed"], 1, "{out}");
    assert_eq!(summary["without_transcript"], 0, "{out}");
    assert_eq!(summary["indexed"], 1, "{out}");
    // The VTT and its sidecar are in the library; the audio is gone.
    let show = t.path().join("library/earth-notes");
    let vtt = std::fs::read_to_string(show.join("2024-03-05-gardens-and-volcanoes.vtt")).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(show.join("2024-03-05-gardens-and-volcanoes.meta.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["transcribed_by"], "whisper-tiny.en");
    assert!(vtt.contains("lava"), "{vtt}");
    let compost = cues(&vtt)
        .into_iter()
        .find(|c| c.2.to_lowercase().contains("compost"))
        .unwrap_or_else(|| panic!("no compost cue\n{vtt}"));
    assert!(
        (compost.0 - (lead + b_secs)).abs() <= 5.0,
        "the compost paragraph starts at {:.1} s, its cue at {:.1} s\n{vtt}",
        lead + b_secs,
        compost.0
    );
    assert_eq!(
        std::fs::read_dir(t.index().join("audio")).unwrap().count(),
        0
    );
    // The volcano paragraph starts at `lead`: the search finds it there.
    let out = stdout_ok(t.command(Model::Real).args([
        "--json",
        "search",
        "rivers of lava crawl down the slopes and bury roads",
    ]));
    let hit = json_lines(&out)
        .into_iter()
        .find(|l| l["type"] == "hit")
        .expect("a hit");
    let start = hit["start_ms"].as_f64().unwrap() / 1000.0;
    assert!(
        (start - lead).abs() <= 5.0,
        "hit at {start:.1} s, the paragraph starts at {lead:.1} s\n{out}\n{vtt}"
    );
}

/// The full run (`scripts/test-transcribe`, not CI's): all eight paragraphs
/// in each of three espeak-ng voices, about ten minutes of speech, one file
/// per voice; every file under the threshold, its cues inside the audio.
#[test]
#[ignore = "ten minutes of speech: scripts/test-transcribe runs it"]
fn every_paragraph_in_three_voices_is_transcribed_under_the_threshold() {
    let Some(model) = whisper_model() else { return };
    if !have("espeak-ng") || !have("lame") {
        return;
    }
    let t = TestDir::new();
    let names: Vec<String> = (1..=8)
        .map(|i| {
            std::fs::read_dir(crate::util::fixtures().join("speech"))
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .find(|n| n.starts_with(&format!("{i:02}-")))
                .unwrap()
        })
        .collect();
    let text = names
        .iter()
        .map(|n| paragraph(n))
        .collect::<Vec<_>>()
        .join(" ");
    let mut files = Vec::new();
    for voice in ["en-us", "en-gb", "en-gb-x-rp"] {
        let parts: Vec<(PathBuf, f64)> = names
            .iter()
            .map(|n| speak(t.path(), &format!("{voice}-{n}"), &paragraph(n), voice))
            .collect();
        let wav = t.path().join(format!("{voice}.wav"));
        let refs: Vec<&Path> = parts.iter().map(|(p, _)| p.as_path()).collect();
        join_wavs(&refs, &wav);
        let secs: f64 = parts.iter().map(|(_, s)| s).sum();
        files.push((voice, mp3(&wav), secs));
    }
    let mut cmd = transcribe_cmd(&t, &model);
    cmd.arg("--json");
    for (_, f, _) in &files {
        cmd.arg(f);
    }
    stdout_ok(&mut cmd);
    for (voice, f, secs) in &files {
        let vtt = std::fs::read_to_string(f.with_extension("vtt")).unwrap();
        let cues = cues(&vtt);
        let hyp: Vec<&str> = cues.iter().map(|c| c.2.as_str()).collect();
        let w = wer(&text, &hyp.join(" "));
        eprintln!("{voice}: WER {w:.3} over {secs:.0} s of audio");
        assert!(w <= MAX_WER, "{voice}: WER {w:.3}\n{vtt}");
        let mut last = 0.0;
        for (a, b, _) in &cues {
            assert!(
                *a >= last - 1e-9 && b >= a && *b <= secs + 0.5,
                "{voice}: {a}-{b}"
            );
            last = *b;
        }
    }
}
