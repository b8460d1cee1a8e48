//! HTML transcripts (`<podcast:transcript type="text/html">`): the
//! Podcasting 2.0 shape is a run of `<cite>Name:</cite>`, `<time>M:SS</time>`
//! and `<p>text</p>`. Anything else is reduced to its text, one cue per block
//! element. `<script>`, `<style>` and comments are dropped with their
//! contents; entities are decoded; nothing is ever interpreted.

use super::clean::{self, CueSink};
use super::timestamp;
use crate::error::{ParseError, ParseErrorKind};
use crate::transcript::{Cue, Parsed};

/// Parse an HTML transcript into cues.
pub fn parse(input: &str) -> Result<Parsed, ParseError> {
    let mut sink = CueSink::new();
    let mut speaker: Option<String> = None;
    let mut start: Option<u64> = None;
    let mut buf = String::new();
    let mut mode = Mode::Text;
    let mut rest = input;
    let mut line = 1;
    let flush = |buf: &mut String,
                 mode: Mode,
                 speaker: &mut Option<String>,
                 start: &mut Option<u64>,
                 line: usize,
                 sink: &mut CueSink| {
        let text = clean::text(buf);
        buf.clear();
        match mode {
            Mode::Cite => {
                let name = text.trim_end_matches(':').trim();
                *speaker =
                    (!name.is_empty() && !clean::is_non_person(name)).then(|| name.to_string());
            }
            Mode::Time => *start = timestamp::parse(&text).or(*start),
            Mode::Text => {
                if !text.is_empty() {
                    sink.push(
                        line,
                        Cue {
                            start_ms: *start,
                            end_ms: *start,
                            speaker: speaker.clone(),
                            text,
                        },
                    );
                }
            }
        }
    };
    while let Some(open) = rest.find('<') {
        buf.push_str(&rest[..open]);
        line += rest[..open].matches('\n').count();
        let after = &rest[open..];
        if after.starts_with("<!--") {
            let end = after.find("-->").map_or(after.len(), |e| e + 3);
            line += after[..end].matches('\n').count();
            rest = &after[end..];
            continue;
        }
        let Some(close) = after.find('>') else {
            buf.push_str(after);
            rest = "";
            break;
        };
        let tag = after[1..close].trim().to_ascii_lowercase();
        line += after[..close].matches('\n').count();
        rest = &after[close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !closing && (name == "script" || name == "style") {
            let end_tag = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            let end = lower.find(&end_tag).unwrap_or(rest.len());
            let skip_to = rest[end..].find('>').map_or(rest.len(), |g| end + g + 1);
            rest = &rest[skip_to..];
            continue;
        }
        let block = matches!(
            name.as_str(),
            "p" | "div"
                | "br"
                | "li"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "cite"
                | "time"
                | "tr"
                | "section"
                | "article"
                | "blockquote"
        );
        if block {
            flush(&mut buf, mode, &mut speaker, &mut start, line, &mut sink);
            mode = match (closing, name.as_str()) {
                (false, "cite") => Mode::Cite,
                (false, "time") => Mode::Time,
                _ => Mode::Text,
            };
        } else {
            buf.push(' ');
        }
    }
    buf.push_str(rest);
    flush(&mut buf, mode, &mut speaker, &mut start, line, &mut sink);
    if sink.cues().is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::Empty));
    }
    // Cues end where the next begins.
    let mut parsed = sink.finish();
    let starts: Vec<Option<u64>> = parsed.cues.iter().map(|c| c.start_ms).collect();
    for (i, c) in parsed.cues.iter_mut().enumerate() {
        if let Some(Some(next)) = starts.get(i + 1) {
            if c.start_ms.is_some_and(|s| *next >= s) {
                c.end_ms = Some(*next);
            }
        }
    }
    Ok(parsed)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    Cite,
    Time,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podcasting20_html() {
        let s = "<cite>Travis:</cite>\n<time>0:00</time>\n<p>When you first get started, it&#39;s fine.</p>\n<cite>Sarah:</cite>\n<time>1:05</time>\n<p>Agreed &amp; done.</p>";
        let p = parse(s).unwrap();
        assert_eq!(p.cues.len(), 2);
        assert_eq!(p.cues[0].speaker.as_deref(), Some("Travis"));
        assert_eq!(p.cues[0].text, "When you first get started, it's fine.");
        assert_eq!(p.cues[0].end_ms, Some(65_000));
        assert_eq!(p.cues[1].start_ms, Some(65_000));
        assert_eq!(p.cues[1].text, "Agreed & done.");
    }

    #[test]
    fn hostile_html_is_text_only() {
        let s = "<html><head><style>p{}</style><script>alert('x')</script></head><body><!-- c --><p>Safe <b>text</b></p><p>1 &lt; 2</p></body></html>";
        let p = parse(s).unwrap();
        let texts: Vec<_> = p.cues.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, vec!["Safe text", "1 < 2"]);
    }
}
