//! Markdown transcripts, in the two shapes the corpus uses, plus their
//! variants:
//!
//! - **Front matter + timed turns** (lennys-podcast): YAML between `---` lines
//!   (parsed with a YAML parser: titles fold over lines, descriptions are
//!   multi-line quoted scalars), then turns `Name (HH:MM:SS):` or `Name (MM:SS):`
//!   alone on a line with the text below, `(HH:MM:SS):` continuing the same
//!   speaker, `Name:` with no time, or `[HH:MM:SS] Name: text` inline.
//! - **Bold labels + sparse stamps** (the-changelog): paragraphs that start
//!   `**Name:**` (or `**Name**:`, or the label alone on its line); paragraphs
//!   without a label continue the previous speaker; Markdown-escaped stamps
//!   `\[MM:SS\]` (minutes may exceed 59) or `\[HH:MM:SS.cc\]` at the start or in
//!   the middle of a paragraph split it into timed cues. Cues between two stamps
//!   get times interpolated by their share of the characters between them;
//!   after the last stamp, times advance at 15 characters per second.
//!
//! Annotations in brackets (`\[laughter\]`, `[inaudible 00:00:42]`) are
//! removed; links keep their text. A markdown file with no speaker turns and
//! no stamps is not a transcript ([`ParseErrorKind::NotTranscript`]).

use super::clean::{self, CueSink};
use super::timestamp;
use crate::error::{ParseError, ParseErrorKind};
use crate::transcript::{Cue, EpisodeMeta, Millis, Parsed};

/// Speech rate used to place untimed text after the last stamp.
const CHARS_PER_SECOND: u64 = 15;

/// Parse a markdown transcript.
pub fn parse(input: &str) -> Result<Parsed, ParseError> {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    let lines: Vec<&str> = input.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut sink = CueSink::new();
    let body_start = front_matter(&lines, &mut sink)?;
    let mut pieces: Vec<Piece> = Vec::new();
    let mut speaker: Option<String> = None;
    let mut turns = 0usize;
    let mut heading: Option<String> = None;
    let mut para = Para::default();
    for (idx, raw) in lines.iter().enumerate().skip(body_start) {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() {
            para.flush(&mut pieces, &speaker);
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            para.flush(&mut pieces, &speaker);
            let h = h.trim_start_matches('#').trim();
            if heading.is_none() && line.starts_with("# ") && !h.is_empty() {
                heading = Some(clean::collapse(h));
            }
            continue;
        }
        if let Some(turn) = turn_line(line) {
            para.flush(&mut pieces, &speaker);
            turns += 1;
            if let Some(name) = turn.name {
                speaker = (!clean::is_non_person(&name)).then_some(name);
            }
            para.start(line_no, turn.start_ms);
            para.push(turn.rest);
            continue;
        }
        if para.text.is_empty() && para.line == 0 {
            para.start(line_no, None);
        }
        para.push(line);
    }
    para.flush(&mut pieces, &speaker);
    let stamps = pieces.iter().filter(|p| p.start_ms.is_some()).count();
    if turns == 0 && stamps == 0 {
        return Err(ParseError::new(1, ParseErrorKind::NotTranscript));
    }
    interpolate(&mut pieces);
    let ends: Vec<Option<Millis>> = (0..pieces.len())
        .map(|i| {
            pieces.get(i + 1).and_then(|n| n.start_ms).or_else(|| {
                pieces[i]
                    .start_ms
                    .map(|s| s + pieces[i].text.len() as u64 * 1000 / CHARS_PER_SECOND)
            })
        })
        .collect();
    for (p, end) in pieces.into_iter().zip(ends) {
        sink.push(
            p.line,
            Cue {
                start_ms: p.start_ms,
                end_ms: end
                    .filter(|e| p.start_ms.is_some_and(|s| *e >= s))
                    .or(p.start_ms),
                speaker: p.speaker,
                text: p.text,
            },
        );
    }
    if sink.cues().is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::Empty));
    }
    if sink.meta_mut().title.is_none() {
        sink.meta_mut().title = heading;
    }
    Ok(sink.finish())
}

/// One cue in the making.
#[derive(Debug)]
struct Piece {
    line: usize,
    start_ms: Option<Millis>,
    speaker: Option<String>,
    text: String,
}

/// The paragraph being gathered: lines joined, split at inline stamps.
#[derive(Default)]
struct Para {
    line: usize,
    start_ms: Option<Millis>,
    text: String,
    done: Vec<(usize, Option<Millis>, String)>,
    /// A stamp no text followed (`**Break:** \[16:16\]`, or one ending a
    /// paragraph): the time the next paragraph starts at, unless it has
    /// its own.
    carried: Option<Millis>,
}

impl Para {
    fn start(&mut self, line: usize, start_ms: Option<Millis>) {
        self.line = line;
        self.start_ms = start_ms.or(self.carried.take());
        self.text.clear();
    }

    fn push(&mut self, raw: &str) {
        if self.line == 0 {
            self.line = 1;
        }
        for part in inline(raw) {
            match part {
                Inline::Text(t) => {
                    if !self.text.is_empty() {
                        self.text.push(' ');
                    }
                    self.text.push_str(&t);
                }
                Inline::Stamp(ms) => {
                    let text = clean::collapse(&self.text);
                    if !text.is_empty() {
                        self.done.push((self.line, self.start_ms, text));
                    }
                    self.text.clear();
                    self.start_ms = Some(ms);
                }
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<Piece>, speaker: &Option<String>) {
        let text = clean::collapse(&self.text);
        if !text.is_empty() {
            self.done.push((self.line, self.start_ms, text));
        } else if self.start_ms.is_some() {
            self.carried = self.start_ms;
        }
        for (line, start_ms, text) in self.done.drain(..) {
            out.push(Piece {
                line,
                start_ms,
                speaker: speaker.clone(),
                text,
            });
        }
        self.text.clear();
        self.start_ms = None;
        self.line = 0;
    }
}

struct Turn<'a> {
    name: Option<String>,
    start_ms: Option<Millis>,
    rest: &'a str,
}

/// A line that starts a speaker turn, in any of the accepted styles.
fn turn_line(line: &str) -> Option<Turn<'_>> {
    // **Name:** text   |   **Name**: text
    if let Some(after) = line.strip_prefix("**") {
        let (name, rest) = if let Some(i) = after.find(":**") {
            (&after[..i], &after[i + 3..])
        } else if let Some(i) = after.find("**:") {
            (&after[..i], &after[i + 3..])
        } else {
            ("", "")
        };
        if !name.is_empty() && name.len() <= 60 && !name.contains("**") {
            return Some(Turn {
                name: Some(clean::collapse(name)),
                start_ms: None,
                rest: rest.trim_start(),
            });
        }
    }
    // [HH:MM:SS] Name: text
    if let Some(after) = line.strip_prefix('[') {
        if let Some(close) = after.find(']') {
            if let Some(ms) = timestamp::parse(&after[..close]) {
                let rest = after[close + 1..].trim_start();
                let (name, text) = clean::split_speaker(rest);
                return Some(Turn {
                    name: name.map(str::to_string),
                    start_ms: Some(ms),
                    rest: if name.is_some() { text } else { rest },
                });
            }
        }
    }
    // Name (HH:MM:SS):   |   (HH:MM:SS):   |   Name:
    if let Some(head) = line.strip_suffix("):") {
        if let Some(open) = head.rfind('(') {
            if let Some(ms) = timestamp::parse(&head[open + 1..]) {
                let name = head[..open].trim();
                return Some(Turn {
                    name: (!name.is_empty()).then(|| name.to_string()),
                    start_ms: Some(ms),
                    rest: "",
                });
            }
        }
    }
    if let Some(name) = line.strip_suffix(':') {
        if clean::looks_like_name(name) {
            return Some(Turn {
                name: Some(name.trim().to_string()),
                start_ms: None,
                rest: "",
            });
        }
    }
    None
}

enum Inline {
    Text(String),
    Stamp(Millis),
}

/// Split a line into text and stamps: unescape `\[`/`\]`, keep link text,
/// drop bracketed annotations, strip bold markers and tags.
fn inline(raw: &str) -> Vec<Inline> {
    let s = raw
        .replace("\\[", "[")
        .replace("\\]", "]")
        .replace("\\*", "*")
        .replace("\\_", "_");
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = s.as_str();
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else {
            text.push('[');
            rest = after;
            continue;
        };
        let inner = &after[..close];
        let tail = &after[close + 1..];
        if let Some(ms) = timestamp::parse(inner.trim_matches('*')) {
            out.push(Inline::Text(std::mem::take(&mut text)));
            out.push(Inline::Stamp(ms));
            rest = tail;
        } else if tail.starts_with('(') && tail.find(')').is_some() {
            text.push_str(inner);
            let end = tail.find(')').unwrap_or(0);
            rest = &tail[end + 1..];
        } else if inner.chars().any(char::is_alphabetic) || inner.trim().is_empty() {
            // [laughter], [inaudible 00:00:42], [crosstalk]
            rest = tail;
        } else {
            text.push('[');
            rest = after;
        }
    }
    text.push_str(rest);
    out.push(Inline::Text(text));
    out.into_iter()
        .filter_map(|p| match p {
            Inline::Text(t) => {
                let t = clean::text(&t.replace("**", " "));
                (!t.is_empty()).then_some(Inline::Text(t))
            }
            stamp => Some(stamp),
        })
        .collect()
}

/// Give untimed pieces a start between the stamps around them, in proportion
/// to the characters before them; after the last stamp, at speech rate.
/// Pieces before the first stamp start from zero. Without any stamp nothing
/// changes.
fn interpolate(pieces: &mut [Piece]) {
    let known: Vec<usize> = (0..pieces.len())
        .filter(|&i| pieces[i].start_ms.is_some())
        .collect();
    if known.is_empty() {
        return;
    }
    let mut anchors: Vec<(usize, Millis)> = Vec::new();
    if known[0] != 0 {
        anchors.push((0, 0));
    }
    anchors.extend(known.iter().map(|&i| (i, pieces[i].start_ms.unwrap_or(0))));
    let mut prev_ms = 0;
    for w in 0..anchors.len() {
        let (a, a_ms) = anchors[w];
        let a_ms = a_ms.max(prev_ms);
        pieces[a].start_ms = Some(a_ms);
        let (b, b_ms) = anchors
            .get(w + 1)
            .copied()
            .unwrap_or((pieces.len(), Millis::MAX));
        let chars: Vec<u64> = pieces[a..b].iter().map(|p| p.text.len() as u64).collect();
        let total: u64 = chars.iter().sum::<u64>().max(1);
        let span = if b_ms == Millis::MAX {
            total * 1000 / CHARS_PER_SECOND
        } else {
            b_ms.saturating_sub(a_ms)
        };
        let mut acc = 0;
        for (k, p) in pieces[a..b].iter_mut().enumerate() {
            p.start_ms = Some(a_ms + span.saturating_mul(acc) / total);
            acc += chars[k];
        }
        prev_ms = a_ms;
    }
}

/// Read YAML front matter into the sink's metadata; returns the index of the
/// first body line. Invalid YAML is a warning, not a failure: the transcript
/// is still worth indexing.
fn front_matter(lines: &[&str], sink: &mut CueSink) -> Result<usize, ParseError> {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return Ok(0);
    }
    let Some(end) = lines.iter().skip(1).position(|l| l.trim_end() == "---") else {
        sink.warn(1, "front matter is not closed by '---'; read as text");
        return Ok(0);
    };
    let yaml = lines[1..end + 1].join("\n");
    match serde_yaml::from_str::<serde_yaml::Value>(&yaml) {
        Ok(v) => *sink.meta_mut() = meta_from_yaml(&v),
        Err(e) => {
            let line = e.location().map_or(1, |l| l.line() + 1);
            sink.warn(line, format!("front matter ignored: {e}"));
        }
    }
    Ok(end + 2)
}

fn meta_from_yaml(v: &serde_yaml::Value) -> EpisodeMeta {
    let get = |k: &str| -> Option<String> {
        match v.get(k)? {
            serde_yaml::Value::String(s) => Some(clean::collapse(s)),
            serde_yaml::Value::Number(n) => Some(n.to_string()),
            serde_yaml::Value::Tagged(t) => match &t.value {
                serde_yaml::Value::String(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        }
        .filter(|s| !s.is_empty())
    };
    let guests = match v.get("guest").or_else(|| v.get("guests")) {
        Some(serde_yaml::Value::String(s)) => vec![clean::collapse(s)],
        Some(serde_yaml::Value::Sequence(seq)) => seq
            .iter()
            .filter_map(|g| g.as_str().map(clean::collapse))
            .collect(),
        _ => Vec::new(),
    };
    EpisodeMeta {
        title: get("title"),
        date: ["publish_date", "date", "published"]
            .iter()
            .find_map(|k| get(k))
            .and_then(|d| super::normalise_date(&d)),
        url: ["url", "youtube_url", "spotify_url", "link"]
            .iter()
            .find_map(|k| get(k)),
        guests: guests.into_iter().filter(|g| !g.is_empty()).collect(),
        hosts: Vec::new(),
        chapters: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENNY: &str = "---\nguest: Seth Example\ntitle: A long title that folds\n  over two lines\npublish_date: 2024-12-08\nyoutube_url: https://www.youtube.com/watch?v=x\ndescription: 'It''s multi\n\n  line'\nkeywords:\n- a\n---\n\n# Heading title\n\n## Transcript\n\nLenny Rachitsky (00:00):\nFirst question here. [inaudible 00:00:42]\n\nSeth Example (00:10):\nAn answer.\n\n(00:20):\nMore answer.\n\nLenny Rachitsky (01:02:03):\nLast.\n";

    #[test]
    fn lenny_style() {
        let p = parse(LENNY).unwrap();
        assert_eq!(
            p.meta.title.as_deref(),
            Some("A long title that folds over two lines")
        );
        assert_eq!(p.meta.date.as_deref(), Some("2024-12-08"));
        assert_eq!(p.meta.guests, vec!["Seth Example"]);
        assert_eq!(
            p.meta.url.as_deref(),
            Some("https://www.youtube.com/watch?v=x")
        );
        let got: Vec<_> = p
            .cues
            .iter()
            .map(|c| (c.start_ms, c.speaker.as_deref(), c.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(0), Some("Lenny Rachitsky"), "First question here."),
                (Some(10_000), Some("Seth Example"), "An answer."),
                (Some(20_000), Some("Seth Example"), "More answer."),
                (Some(3_723_000), Some("Lenny Rachitsky"), "Last."),
            ]
        );
        assert_eq!(p.cues[0].end_ms, Some(10_000));
    }

    #[test]
    fn lenny_inline_and_untimed() {
        let p =
            parse("## Transcript\n\n[00:00:00] Ryan: Hello there.\n[00:00:28] Lenny: Welcome.\n")
                .unwrap();
        assert_eq!(p.cues[1].speaker.as_deref(), Some("Lenny"));
        assert_eq!(p.cues[1].start_ms, Some(28_000));
        let p = parse("Adriel Frederick:\nSome text.\n\nLenny:\nMore.\n").unwrap();
        assert_eq!(p.cues.len(), 2);
        assert_eq!(p.cues[1].speaker.as_deref(), Some("Lenny"));
        assert_eq!(p.cues[1].start_ms, None);
    }

    const CHANGELOG: &str = "**Jerod Santo:** Hello there. \\[laughter\\] See [our site](https://x.io).\n\nA continuation paragraph.\n\n**Break:** **\\[18:05\\]**\n\n**Adam Stacoviak**:\n\\[20:00\\] Back from the break. Then later \\[80:41\\] we talk more.\n\n**Jerod Santo:** Bye.\n";

    #[test]
    fn changelog_style() {
        let p = parse(CHANGELOG).unwrap();
        let got: Vec<_> = p
            .cues
            .iter()
            .map(|c| (c.start_ms, c.speaker.as_deref(), c.text.as_str()))
            .collect();
        assert_eq!(
            got[0],
            (Some(0), Some("Jerod Santo"), "Hello there. See our site.")
        );
        assert_eq!(got[1].1, Some("Jerod Santo"));
        assert_eq!(got[1].2, "A continuation paragraph.");
        assert!(got[1].0.unwrap() > 0 && got[1].0.unwrap() < 1_085_000);
        assert_eq!(
            got[2],
            (
                Some(1_200_000),
                Some("Adam Stacoviak"),
                "Back from the break. Then later"
            )
        );
        assert_eq!(
            got[3],
            (Some(4_841_000), Some("Adam Stacoviak"), "we talk more.")
        );
        assert_eq!(got[4].1, Some("Jerod Santo"));
        assert!(got[4].0.unwrap() >= 4_841_000);
    }

    #[test]
    fn a_stamp_alone_on_a_break_line_times_what_follows() {
        // Some episodes carry their only stamps on `**Break:**` lines.
        let md = "**Ann:** First words here.\n\n**Break:** \\[16:16\\]\n\n**Bob:** After the break.\n\nMore from Bob.\n\n**Break:** \\[25:58\\]\n\n**Ann:** Later still.\n";
        let p = parse(md).unwrap();
        let got: Vec<_> = p
            .cues
            .iter()
            .map(|c| (c.start_ms, c.speaker.as_deref()))
            .collect();
        assert_eq!(got[0], (Some(0), Some("Ann")));
        assert_eq!(got[1], (Some(976_000), Some("Bob")));
        assert!(got[2].0.unwrap() > 976_000 && got[2].0.unwrap() < 1_558_000);
        assert_eq!(got[3], (Some(1_558_000), Some("Ann")));
    }

    #[test]
    fn not_a_transcript() {
        let e = parse("# Index\n\n- [Ai](ai.md) (27 episodes)\n- [Agile](agile.md)\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::NotTranscript);
    }
}
