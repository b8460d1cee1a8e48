//! Text clean-up shared by every parser, and [`CueSink`], which repairs cue
//! timing as cues arrive and turns the repairs into warnings.
//!
//! Clean-up: markup tags removed, HTML entities decoded, NBSP/soft hyphens/
//! zero-width characters normalised, whitespace collapsed. Speaker labels:
//! `[Name]: text`, `Name: text` (with guards against `That's the thing:`),
//! and a closed list of non-person labels (`Break`, `Song`, ...) that are not
//! speakers.

use crate::transcript::{Cue, Parsed, Warning};

/// Labels that mark a part of the show, not a person.
const NON_PERSON: &[&str] = &[
    "break",
    "song",
    "outro",
    "intro",
    "jingle",
    "sample",
    "music",
    "recording begins",
    "ad",
    "ads",
    "advertisement",
    "sponsor",
    "teaser",
    "cold open",
    "transcript",
    "note",
    "notes",
];

/// Whether a speaker label names a part of the show rather than a person.
pub fn is_non_person(label: &str) -> bool {
    let l = label.trim().to_lowercase();
    NON_PERSON.contains(&l.as_str())
}

/// Remove `<tags>`, decode entities, normalise odd spaces, collapse whitespace.
pub fn text(raw: &str) -> String {
    let stripped = strip_tags(raw);
    let decoded = decode_entities(&stripped);
    collapse(&decoded)
}

/// Collapse runs of whitespace into single spaces and drop invisible characters.
pub fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        match c {
            '\u{AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
            | '\u{200E}' | '\u{200F}' => {}
            c if c.is_whitespace() || c.is_control() => space = true,
            c => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
    }
    out
}

/// Remove `<...>` markup (WebVTT inline tags, HTML). A `<` not followed by a
/// tag-like character is kept as text.
pub fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let tag_like = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '!');
        match (tag_like, after.find('>')) {
            (true, Some(j)) if !after[..j].contains('<') => {
                out.push(' ');
                rest = &after[j + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decode the HTML entities transcripts use (named basics and numeric).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find(';').filter(|&j| j <= 10);
        let decoded = end.and_then(|j| entity(&after[..j]));
        match (decoded, end) {
            (Some(c), Some(j)) => {
                out.push(c);
                rest = &after[j + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "lrm" | "rlm" => ' ',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "rsquo" => '’',
        "lsquo" => '‘',
        "ldquo" => '“',
        "rdquo" => '”',
        _ => return None,
    })
}

/// Split a `[Name]: text` or `Name: text` prefix off a line of speech.
///
/// `Name:` must look like a name: at most four words, each starting with an
/// uppercase letter or digit, no sentence punctuation. This rejects
/// `That's what it is:` and `Here is the thing:`.
pub fn split_speaker(line: &str) -> (Option<&str>, &str) {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        if let Some(close) = rest.find("]:") {
            let name = rest[..close].trim();
            if !name.is_empty() && name.chars().count() <= 60 {
                return (Some(name), rest[close + 2..].trim_start());
            }
        }
    }
    if let Some(colon) = t.find(':') {
        let name = &t[..colon];
        let after = &t[colon + 1..];
        if (after.is_empty() || after.starts_with(' ')) && looks_like_name(name) {
            return (Some(name.trim()), after.trim_start());
        }
    }
    (None, t)
}

/// Whether `s` could be a speaker label such as `Bekah`, `Dan Ott`,
/// `LENNY RACHITSKY`, `Guest 2`, `Dr. Ada Lovelace`.
pub fn looks_like_name(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 40 {
        return false;
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || words.len() > 4 {
        return false;
    }
    words.iter().all(|w| {
        let mut chars = w.chars();
        let first = chars.next().unwrap_or(' ');
        (first.is_uppercase() || first.is_ascii_digit())
            && w.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '\'' | '’' | '-' | '.' | '$' | '_'))
            && !w.ends_with(".js")
            && !w.contains("..")
    }) && !words
        .iter()
        .any(|w| w.contains('.') && w.len() > 3 && !w.ends_with('.'))
}

/// Make one episode's speaker labels consistent: an all-capitals label is
/// title-cased (`LENNY RACHITSKY` -> `Lenny Rachitsky`), and a one-word label
/// that is the first name of exactly one longer label in the episode becomes
/// that label (`Bekah` -> `Bekah Hawrot Weigel`).
pub fn normalise_speakers(cues: &mut [crate::transcript::Cue]) {
    let title = |s: &str| -> String {
        let letters: Vec<char> = s.chars().filter(|c| c.is_alphabetic()).collect();
        if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
            s.split(' ')
                .map(|w| {
                    let mut cs = w.chars();
                    match cs.next() {
                        Some(f) => f
                            .to_uppercase()
                            .chain(cs.flat_map(char::to_lowercase))
                            .collect(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            s.to_string()
        }
    };
    let mut names: Vec<String> = Vec::new();
    for c in cues.iter_mut() {
        if let Some(sp) = c.speaker.as_mut() {
            *sp = title(sp);
            if !names.contains(sp) {
                names.push(sp.clone());
            }
        }
    }
    let full_name = |short: &str| -> Option<String> {
        if short.contains(' ') {
            return None;
        }
        let mut longer = names.iter().filter(|n| {
            n.split(' ')
                .next()
                .is_some_and(|f| f.eq_ignore_ascii_case(short))
                && n.contains(' ')
        });
        match (longer.next(), longer.next()) {
            (Some(one), None) => Some(one.clone()),
            _ => None,
        }
    };
    let map: std::collections::HashMap<String, String> = names
        .iter()
        .filter_map(|n| full_name(n).map(|f| (n.clone(), f)))
        .collect();
    if map.is_empty() {
        return;
    }
    for c in cues.iter_mut() {
        if let Some(full) = c.speaker.as_ref().and_then(|s| map.get(s)) {
            c.speaker = Some(full.clone());
        }
    }
}

/// Resolve speaker labels against the people the episode's metadata names
/// (guests and hosts): a label that is the first or last name of exactly one
/// of them becomes that person's full name (`Dario` -> `Dario Lenz`).
pub fn resolve_speakers(cues: &mut [crate::transcript::Cue], people: &[String]) {
    if people.is_empty() {
        return;
    }
    let resolve = |label: &str| -> Option<String> {
        if label.contains(' ') {
            return None;
        }
        let mut hits = people.iter().filter(|p| {
            let words: Vec<&str> = p.split_whitespace().collect();
            words.len() > 1
                && (words[0].eq_ignore_ascii_case(label)
                    || words[words.len() - 1].eq_ignore_ascii_case(label))
        });
        match (hits.next(), hits.next()) {
            (Some(one), None) => Some(one.clone()),
            _ => None,
        }
    };
    let mut cache: std::collections::HashMap<String, Option<String>> =
        std::collections::HashMap::new();
    for c in cues.iter_mut() {
        if let Some(sp) = c.speaker.clone() {
            let full = cache
                .entry(sp.clone())
                .or_insert_with(|| resolve(&sp))
                .clone();
            if let Some(full) = full {
                c.speaker = Some(full);
            }
        }
    }
}

/// Collects cues from a parser, repairing timing on the way in:
///
/// - a start before the previous cue's start (out of order) is moved up to it;
/// - an end before its start is set to the start;
/// - an overlap with the previous cue trims the previous cue's end;
/// - a cue whose text repeats the previous three identical cues is dropped
///   (ASR loops such as 235 x "Transcribed by ...").
///
/// Each kind of repair becomes one warning per file with its count and the
/// first line it happened on. Overlap trimming is routine in real transcripts
/// and is reported as a minor note.
#[derive(Debug, Default)]
pub struct CueSink {
    parsed: Parsed,
    repeats: usize,
    counts: [(usize, usize); 5],
}

fn bump(counts: &mut [(usize, usize); 5], kind: usize, line: usize) {
    let (n, first) = &mut counts[kind];
    if *n == 0 {
        *first = line;
    }
    *n += 1;
}

const OUT_OF_ORDER: usize = 0;
const BACKWARDS: usize = 1;
const OVERLAP: usize = 2;
const REPEATED: usize = 3;
const ZERO: usize = 4;

impl CueSink {
    /// An empty sink.
    pub fn new() -> CueSink {
        CueSink::default()
    }

    fn count(&mut self, kind: usize, line: usize) {
        bump(&mut self.counts, kind, line);
    }

    /// Add a cue read at `line`. Empty text is ignored.
    pub fn push(&mut self, line: usize, mut cue: Cue) {
        if cue.text.is_empty() {
            return;
        }
        if let (Some(s), Some(e)) = (cue.start_ms, cue.end_ms) {
            if e < s {
                self.count(BACKWARDS, line);
                cue.end_ms = Some(s);
            } else if e == s {
                self.count(ZERO, line);
            }
        }
        if let Some(prev) = self.parsed.cues.last_mut() {
            if let (Some(ps), Some(s)) = (prev.start_ms, cue.start_ms) {
                if s < ps {
                    bump(&mut self.counts, OUT_OF_ORDER, line);
                    cue.start_ms = Some(ps);
                    cue.end_ms = cue.end_ms.map(|e| e.max(ps));
                }
            }
            let s = cue.start_ms;
            if let (Some(pe), Some(s)) = (prev.end_ms, s) {
                if s < pe {
                    prev.end_ms = Some(s.max(prev.start_ms.unwrap_or(s)));
                    bump(&mut self.counts, OVERLAP, line);
                }
            }
            if prev.text == cue.text && prev.speaker == cue.speaker {
                self.repeats += 1;
                if self.repeats >= 3 {
                    bump(&mut self.counts, REPEATED, line);
                    prev.end_ms = match (prev.end_ms, cue.end_ms) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    return;
                }
            } else {
                self.repeats = 0;
            }
        }
        self.parsed.cues.push(cue);
    }

    /// Add a warning that is not about timing.
    pub fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.parsed.warnings.push(Warning::new(line, message));
    }

    /// Mutable access to the metadata found in the file.
    pub fn meta_mut(&mut self) -> &mut crate::transcript::EpisodeMeta {
        &mut self.parsed.meta
    }

    /// The cues so far.
    pub fn cues(&self) -> &[Cue] {
        &self.parsed.cues
    }

    /// Finish: make speaker labels consistent ([`normalise_speakers`]) and
    /// emit the repair warnings.
    pub fn finish(mut self) -> Parsed {
        normalise_speakers(&mut self.parsed.cues);
        let what = [
            (
                OUT_OF_ORDER,
                "cues out of order; start moved up to the previous cue's",
            ),
            (BACKWARDS, "cues end before they start; end set to start"),
            (
                REPEATED,
                "repeated identical cues dropped (transcription loop)",
            ),
        ];
        for (kind, message) in what {
            let (n, line) = self.counts[kind];
            if n > 0 {
                self.parsed
                    .warnings
                    .push(Warning::new(line, format!("{n} {message}")));
            }
        }
        self.parsed
    }

    /// Counts of minor repairs (overlaps trimmed, zero-length cues kept), for `-v`.
    pub fn minor_counts(&self) -> (usize, usize) {
        (self.counts[OVERLAP].0, self.counts[ZERO].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_markup_and_entities() {
        assert_eq!(text("<i>Hello</i> &amp; <b>welcome</b>"), "Hello & welcome");
        assert_eq!(text("Q&amp;A &lt;3 &#39;x&#39; &#x41;"), "Q&A <3 'x' A");
        assert_eq!(text("a < b and c>d"), "a < b and c>d");
        assert_eq!(text("end\u{AD}-all\u{A0}be"), "end-all be");
        assert_eq!(text("fish & chips &unknown; &"), "fish & chips &unknown; &");
        assert_eq!(text("<c.yellow>hi</c> <00:00:05.000>there"), "hi there");
    }

    #[test]
    fn speaker_labels() {
        assert_eq!(
            split_speaker("[Amit Varma]: hello"),
            (Some("Amit Varma"), "hello")
        );
        assert_eq!(
            split_speaker("Bekah: Hello and"),
            (Some("Bekah"), "Hello and")
        );
        assert_eq!(split_speaker("Guest 2: hi"), (Some("Guest 2"), "hi"));
        assert_eq!(
            split_speaker("LENNY RACHITSKY: so"),
            (Some("LENNY RACHITSKY"), "so")
        );
        assert_eq!(split_speaker("That's what it is: yes").0, None);
        assert_eq!(split_speaker("Here is the thing: yes").0, None);
        assert_eq!(split_speaker("Tensorflow.js: a library").0, None);
        assert_eq!(split_speaker("at 10:30 we met").0, None);
        assert_eq!(split_speaker("No colon here").0, None);
    }

    #[test]
    fn speaker_names_are_made_consistent() {
        let mut cues: Vec<Cue> = [
            "LENNY RACHITSKY",
            "Bekah",
            "Bekah Hawrot Weigel",
            "Dan",
            "Dan Ott",
            "Dan Brown",
            "Guest 2",
        ]
        .iter()
        .map(|s| Cue {
            speaker: Some(s.to_string()),
            ..Cue::default()
        })
        .collect();
        normalise_speakers(&mut cues);
        let got: Vec<_> = cues.iter().map(|c| c.speaker.clone().unwrap()).collect();
        assert_eq!(
            got,
            vec![
                "Lenny Rachitsky",
                "Bekah Hawrot Weigel",
                "Bekah Hawrot Weigel",
                "Dan",
                "Dan Ott",
                "Dan Brown",
                "Guest 2"
            ]
        );
    }

    #[test]
    fn speakers_resolved_against_episode_people() {
        let mut cues: Vec<Cue> = ["Dario", "Wren", "Lenz", "Speaker 1", "Sam"]
            .iter()
            .map(|s| Cue {
                speaker: Some(s.to_string()),
                ..Cue::default()
            })
            .collect();
        let people = vec![
            "Dario Lenz".to_string(),
            "Wren Hollis".to_string(),
            "Sam Ade".to_string(),
            "Sam Bo".to_string(),
        ];
        resolve_speakers(&mut cues, &people);
        let got: Vec<_> = cues.iter().map(|c| c.speaker.clone().unwrap()).collect();
        assert_eq!(
            got,
            vec![
                "Dario Lenz",
                "Wren Hollis",
                "Dario Lenz",
                "Speaker 1",
                "Sam"
            ]
        );
    }

    #[test]
    fn non_person_labels() {
        assert!(is_non_person("Break"));
        assert!(is_non_person("recording begins"));
        assert!(!is_non_person("Jerod Santo"));
    }

    #[test]
    fn sink_repairs_times() {
        let mut sink = CueSink::new();
        sink.push(1, Cue::timed(0, 5_000, "a"));
        sink.push(2, Cue::timed(4_000, 6_000, "b")); // overlap
        sink.push(3, Cue::timed(3_000, 7_000, "c")); // out of order
        sink.push(4, Cue::timed(9_000, 8_000, "d")); // backwards
        let (overlaps, _) = sink.minor_counts();
        let parsed = sink.finish();
        let times: Vec<_> = parsed.cues.iter().map(|c| (c.start_ms, c.end_ms)).collect();
        assert_eq!(
            times,
            vec![
                (Some(0), Some(4_000)),
                (Some(4_000), Some(4_000)),
                (Some(4_000), Some(7_000)),
                (Some(9_000), Some(9_000))
            ]
        );
        assert!(overlaps >= 2);
        assert_eq!(parsed.warnings.len(), 2);
        assert!(parsed.warnings[0].message.contains("out of order"));
    }

    #[test]
    fn sink_drops_loops() {
        let mut sink = CueSink::new();
        for i in 0..10 {
            sink.push(
                i,
                Cue::timed(i as u64 * 1000, i as u64 * 1000 + 500, "loop"),
            );
        }
        let parsed = sink.finish();
        assert_eq!(parsed.cues.len(), 3);
        assert_eq!(parsed.cues[2].end_ms, Some(9_500));
        assert!(parsed.warnings[0].message.starts_with("7 repeated"));
    }
}
