//! Every parser on the fixtures in `tests/fixtures/`, one test per quirk
//! group of `shared/corpus/SOURCES.md` (see `tests/fixtures/README.md`).

use podsift::error::ParseErrorKind;
use podsift::ingest::{self, Format};
use podsift::transcript::Parsed;

use crate::util::fixtures;

fn parse(rel: &str) -> Parsed {
    try_parse(rel).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn try_parse(rel: &str) -> Result<Parsed, podsift::error::ParseError> {
    let path = fixtures().join(rel);
    let bytes = std::fs::read(&path).unwrap();
    let (text, _) = ingest::decode(&bytes)?;
    let head: String = text.chars().take(64).collect();
    Format::detect(&path, &head).unwrap().parse(&text)
}

fn speakers(p: &Parsed) -> Vec<&str> {
    p.cues
        .iter()
        .map(|c| c.speaker.as_deref().unwrap_or("-"))
        .collect()
}

#[test]
fn vtt_bom_notes_style_settings() {
    let p = parse("vtt/bom-note-style.vtt");
    assert_eq!(p.cues.len(), 4);
    assert_eq!(
        p.cues[0].text,
        "Morning, and welcome to the tide pool report."
    );
    assert_eq!(p.cues[0].start_ms, Some(500));
    assert_eq!(
        p.cues[2].text,
        "The rocks are slippery, so mind your footing near the kelp."
    );
    assert!(p.cues.iter().all(|c| !c.text.contains("NOTE")
        && !c.text.contains("::cue")
        && !c.text.contains("align")));
}

#[test]
fn vtt_hours_appear_past_the_hour() {
    let p = parse("vtt/mixed-hours.vtt");
    assert_eq!(p.cues.len(), 7);
    let crossing = p
        .cues
        .iter()
        .find(|c| c.start_ms == Some(3_598_000))
        .expect("the 59:58 cue");
    assert_eq!(crossing.end_ms, Some(3_603_500));
    assert_eq!(p.cues.last().unwrap().end_ms, Some(3_607_250));
}

#[test]
fn vtt_voice_tags_entities_crlf() {
    let p = parse("vtt/voice-tags-crlf.vtt");
    assert_eq!(p.cues.len(), 6);
    assert!(
        p.cues[1].text.contains("<hot enough>"),
        "{}",
        p.cues[1].text
    );
    assert!(p
        .cues
        .iter()
        .all(|c| !c.text.contains('<') || c.text.contains("<hot")));
    assert!(p
        .cues
        .iter()
        .all(|c| !c.text.contains("&amp;") && !c.text.contains("&nbsp;")));
    let sp = speakers(&p);
    assert!(sp.contains(&"Marcus"), "{sp:?}");
    // `Ana` is the short form of `Ana Lucía Pereira` in the same episode.
    assert!(
        sp.contains(&"Ana Lucía Pereira") || sp.contains(&"Ana"),
        "{sp:?}"
    );
}

#[test]
fn vtt_bracket_speakers_and_timing_faults() {
    let p = parse("vtt/bracket-speaker.vtt");
    let sp = speakers(&p);
    assert_eq!(sp[0], "Guest 2");
    assert_eq!(sp[1], "Nadia Brooks");
    // Six identical boilerplate cues: at most three survive.
    let loops = p
        .cues
        .iter()
        .filter(|c| c.text.contains("Transcribed by"))
        .count();
    assert_eq!(loops, 3);
    // Times never run backwards after repair, and ends are never before starts.
    assert!(p.cues.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    assert!(p.cues.iter().all(|c| c.end_ms >= c.start_ms));
    let msgs: Vec<&str> = p.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("end before they start")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("out of order")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("repeated")), "{msgs:?}");
}

#[test]
fn vtt_colon_speakers_without_false_positives() {
    let p = parse("vtt/colon-speaker.vtt");
    let sp = speakers(&p);
    assert_eq!(
        sp,
        vec![
            "Priyanka",
            "Jonah",
            "Jonah",
            "Priyanka",
            "Jonah",
            "Jonah",
            "Dr. Okafor-Hale",
            "Jonah"
        ]
    );
    assert!(p.cues[2].text.starts_with("Here is the thing:"));
    assert!(p.cues[5].text.starts_with("Step one:"));
}

#[test]
fn srt_speaker_carried_forward_and_aliases() {
    let p = parse("srt/carry-speaker.srt");
    assert_eq!(p.cues.len(), 10);
    let sp = speakers(&p);
    assert_eq!(&sp[..3], &["Rosa Delgado-Finch"; 3]);
    assert_eq!(&sp[3..5], &["Theo Marchetti"; 2]);
    // `Rosa` and `Theo` are the same people as their full names.
    assert_eq!(sp[5], "Rosa Delgado-Finch");
    assert_eq!(sp[6], "Theo Marchetti");
    assert!(p.cues[7].text.starts_with("That's the whole trick:"));
    assert_eq!(
        p.cues[0].text,
        "Hi, and welcome to Loose Threads, a podcast about"
    );
}

#[test]
fn srt_gaps_and_no_final_newline() {
    let p = parse("srt/gaps-no-final-newline.srt");
    assert_eq!(p.cues.len(), 4);
    assert!(!p.cues[3].text.is_empty());
}

#[test]
fn srt_timing_faults_repaired() {
    let p = parse("srt/timing-faults.srt");
    assert_eq!(p.cues.len(), 6);
    assert!(p.cues.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    assert!(p
        .cues
        .windows(2)
        .all(|w| w[0].end_ms <= w[1].start_ms.max(w[0].start_ms)));
    assert!(p.cues.iter().all(|c| c.end_ms >= c.start_ms));
    assert!(!p.warnings.is_empty());
}

#[test]
fn srt_crlf_twin_and_three_formats_agree() {
    let lf = parse("srt/whisper.srt");
    let crlf = parse("srt/crlf.srt");
    assert_eq!(lf.cues, crlf.cues);
    let txt = parse("text/whisper-lines.txt");
    let words = |p: &Parsed| {
        p.cues
            .iter()
            .map(|c| c.text.clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(words(&lf), words(&txt));
}

#[test]
fn json_podcasting20_words_merge_into_phrases() {
    let p = parse("json/podcasting20-words.json");
    let texts: Vec<&str> = p.cues.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, vec!["Is the kettle on?", "It just boiled."]);
    assert_eq!(speakers(&p), vec!["Mina", "Jorge"]);
    assert_eq!(p.cues[0].start_ms, Some(500));
}

#[test]
fn json_phrases_whisper_chat() {
    let p = parse("json/podcasting20-phrases.json");
    assert!(speakers(&p).contains(&"Harriet Osei"));
    let w = parse("json/whisper.json");
    assert_eq!(w.cues.len(), 4);
    assert!(w.cues.iter().any(|c| c.text.contains("café")));
    assert!(w.cues.iter().all(|c| !c.text.starts_with(' ')));
    let c = parse("json/chat-array.json");
    assert_eq!(c.cues.len(), 6);
    assert!(c.cues.iter().any(|c| c.text.len() >= 3_000));
    assert!(c.cues.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    assert!(c.cues.iter().all(|c| c.end_ms.is_some()));
}

#[test]
fn json_wrong_shapes_are_errors() {
    assert_eq!(
        try_parse("json/unknown-shape.json").unwrap_err().kind,
        ParseErrorKind::UnknownJsonShape
    );
    assert!(matches!(
        try_parse("json/broken.json").unwrap_err().kind,
        ParseErrorKind::Json(_)
    ));
}

#[test]
fn markdown_lenny_front_matter_and_turns() {
    let p = parse("markdown/lenny-style.md");
    assert_eq!(
        p.meta.title.as_deref(),
        Some("Why the best product teams write things down, from decision logs to the memo that replaced a weekly meeting")
    );
    assert_eq!(p.meta.date.as_deref(), Some("2023-11-19"));
    assert_eq!(p.meta.guests, vec!["Mara Quint"]);
    let sp = speakers(&p);
    assert!(
        !sp.contains(&"SAM LINDQVIST"),
        "upper-case alias is normalised: {sp:?}"
    );
    assert!(sp.iter().all(|s| *s != "-"));
    let cont = p
        .cues
        .iter()
        .find(|c| c.text.starts_with("The test I use"))
        .unwrap();
    assert_eq!(cont.speaker.as_deref(), Some("Mara Quint"));
    assert_eq!(cont.start_ms, Some(100_000));
    assert!(p
        .cues
        .iter()
        .all(|c| !c.text.contains("inaudible") && !c.text.contains("crosstalk")));
    assert!(p.cues.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
}

#[test]
fn markdown_lenny_inline_and_untimed() {
    let p = parse("markdown/lenny-inline.md");
    assert_eq!(p.cues.len(), 7);
    assert!(speakers(&p).contains(&"Hana"));
    let p = parse("markdown/lenny-no-times.md");
    assert_eq!(p.cues.len(), 5);
    assert!(p.cues.iter().all(|c| c.start_ms.is_none()));
    assert!(speakers(&p).contains(&"Dana Ilves"));
}

#[test]
fn markdown_changelog_labels_and_stamps() {
    let p = parse("markdown/changelog-style.md");
    let sp = speakers(&p);
    assert!(sp.contains(&"Gus Ferreira"), "{sp:?}");
    assert!(sp.contains(&"Renata Szabo"));
    assert!(!sp.iter().any(|s| ["Break", "Outro", "Song"].contains(s)));
    let she = p
        .cues
        .iter()
        .find(|c| c.text.starts_with("She points to the eighth issue"))
        .unwrap();
    assert_eq!(she.speaker.as_deref(), Some("Renata Szabo"));
    let all: String = p
        .cues
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for gone in [
        "\\[", "laughs", "laughter", "https://", "<sup>", "**", "\u{AD}", "\u{A0}",
    ] {
        assert!(!all.contains(gone), "{gone:?} left in the text");
    }
    assert!(all.contains("NON-GOALS.md"));
    let starts: Vec<u64> = p.cues.iter().filter_map(|c| c.start_ms).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert!(starts.contains(&4_841_000), "80:41 is 1:20:41: {starts:?}");
    assert!(starts.contains(&3_729_270));
    assert!(starts.contains(&3_900_100), "unescaped [01:05:00.10]");
}

#[test]
fn markdown_topic_index_is_not_a_transcript() {
    assert_eq!(
        try_parse("markdown/not-a-transcript.md").unwrap_err().kind,
        ParseErrorKind::NotTranscript
    );
}

#[test]
fn text_paragraphs_and_invalid_utf8() {
    let p = parse("text/paragraphs-crlf.txt");
    assert_eq!(p.cues.len(), 3);
    assert!(p.cues.iter().all(|c| !c.text.contains('\r')));
    let bytes = std::fs::read(fixtures().join("text/latin1.txt")).unwrap();
    let (text, warning) = ingest::decode(&bytes).unwrap();
    assert!(text.contains('\u{FFFD}'));
    assert!(warning.unwrap().message.contains("invalid UTF-8"));
}

#[test]
fn html_cite_time_paragraphs() {
    let p = parse("html/podcasting20.html");
    assert_eq!(p.cues.len(), 5);
    assert_eq!(speakers(&p)[0], "Wren");
    assert!(p.cues.iter().any(|c| c.start_ms == Some(604_000)), "10:04");
    assert!(p.cues.iter().all(|c| !c.text.contains("&#39;")));
}
