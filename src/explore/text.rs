//! Text helpers of the explorer, all pure: words analysed once so that any
//! set of query terms can be highlighted by lookups, word wrapping of styled
//! pieces (so the reader knows on which line each passage starts), width
//! truncation, and the OSC 52 clipboard sequence.
//!
//! Highlighting matches analysed forms (lower-cased, folded, stemmed, as the
//! keyword arm sees them), so "chips" in a query marks "chip" in a passage,
//! and stop words are never marked.

use std::collections::HashSet;
use std::ops::Range;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::store::text;

/// A text with the analysed form of each word (a maximal run of letters and
/// digits), computed once so highlighting costs a lookup per word.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysed {
    /// The text.
    pub text: String,
    /// Each word's byte range and analysed form (`None` for stop words and
    /// over-long tokens).
    pub words: Vec<(Range<usize>, Option<String>)>,
}

impl Analysed {
    /// Analyse `text` with the index's analyzer.
    pub fn new(text: &str) -> Analysed {
        let mut a = text::analyzer();
        let mut words = Vec::new();
        let mut start = None;
        let mut push = |r: Range<usize>, words: &mut Vec<(Range<usize>, Option<String>)>| {
            let mut stream = a.token_stream(&text[r.clone()]);
            let form = if stream.advance() {
                Some(stream.token().text.clone())
            } else {
                None
            };
            words.push((r, form));
        };
        for (i, c) in text.char_indices() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    push(s..i, &mut words);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            push(s..text.len(), &mut words);
        }
        Analysed {
            text: text.to_string(),
            words,
        }
    }

    /// The text cut into pieces, each marked when it is a word whose
    /// analysed form is in `terms`.
    pub fn segments(&self, terms: &HashSet<String>) -> Vec<(Range<usize>, bool)> {
        let mut out: Vec<(Range<usize>, bool)> = Vec::new();
        let mut at = 0;
        for (r, form) in &self.words {
            let hit = form.as_ref().is_some_and(|f| terms.contains(f));
            if !hit {
                continue;
            }
            if r.start > at {
                out.push((at..r.start, false));
            }
            out.push((r.clone(), true));
            at = r.end;
        }
        if at < self.text.len() {
            out.push((at..self.text.len(), false));
        }
        out
    }

    /// Styled spans: `base` for the text, `mark` for words in `terms`.
    pub fn spans(&self, terms: &HashSet<String>, base: Style, mark: Style) -> Vec<Span<'static>> {
        self.segments(terms)
            .into_iter()
            .map(|(r, hit)| {
                Span::styled(
                    self.text[r].to_string(),
                    if hit { base.patch(mark) } else { base },
                )
            })
            .collect()
    }
}

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` cut to at most `max` columns, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = width(c.encode_utf8(&mut [0; 4]));
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// `s` with its start cut so that it fits `max` columns, with `…` first when
/// cut (for breadcrumbs, whose end matters most).
pub fn truncate_start(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut w = 0;
    for c in s.chars().rev() {
        let cw = width(c.encode_utf8(&mut [0; 4]));
        if w + cw > max - 1 {
            break;
        }
        kept.push(c);
        w += cw;
    }
    let mut out = String::from("…");
    out.extend(kept.into_iter().rev());
    out
}

/// Spans cut to at most `max` columns in all, the last one ending in `…`
/// when anything was cut.
pub fn truncate_spans(spans: Vec<Span<'static>>, max: usize) -> Vec<Span<'static>> {
    let total: usize = spans.iter().map(Span::width).sum();
    if total <= max {
        return spans;
    }
    let mut out = Vec::new();
    let mut left = max;
    for s in spans {
        let w = s.width();
        if w < left {
            left -= w;
            out.push(s);
            continue;
        }
        let cut = truncate(&s.content, left);
        out.push(Span::styled(cut, s.style));
        break;
    }
    out
}

/// Word-wrap styled pieces into lines of at most `width` columns. Every line
/// starts with `indent` (counted in the width); words longer than a line are
/// split. Whitespace runs collapse to one space; newlines are kept as breaks.
pub fn wrap(pieces: &[Span<'static>], width: usize, indent: &Span<'static>) -> Vec<Line<'static>> {
    let width = width.max(indent.width() + 4);
    let room = width - indent.width();
    // Words: runs of non-space characters, each a list of styled parts.
    let mut words: Vec<(Vec<Span<'static>>, usize, bool)> = Vec::new(); // parts, width, newline before
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut cur_w = 0;
    let mut newline = false;
    let mut pending_newline = false;
    for p in pieces {
        let mut part = String::new();
        for c in p.content.chars() {
            if c.is_whitespace() {
                if !part.is_empty() {
                    cur_w += width_of(&part);
                    cur.push(Span::styled(std::mem::take(&mut part), p.style));
                }
                if !cur.is_empty() {
                    words.push((std::mem::take(&mut cur), cur_w, newline));
                    cur_w = 0;
                    newline = false;
                }
                if c == '\n' {
                    pending_newline = true;
                }
            } else {
                if cur.is_empty() && part.is_empty() {
                    newline = pending_newline;
                    pending_newline = false;
                }
                part.push(c);
            }
        }
        if !part.is_empty() {
            cur_w += width_of(&part);
            cur.push(Span::styled(part, p.style));
        }
    }
    if !cur.is_empty() {
        words.push((cur, cur_w, newline));
    }
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut line: Vec<Span<'static>> = vec![indent.clone()];
    let mut used = 0;
    let flush =
        |line: &mut Vec<Span<'static>>, lines: &mut Vec<Line<'static>>, used: &mut usize| {
            lines.push(Line::from(std::mem::replace(line, vec![indent.clone()])));
            *used = 0;
        };
    for (parts, w, nl) in words {
        if nl && used > 0 {
            flush(&mut line, &mut lines, &mut used);
        }
        if used > 0 && used + 1 + w > room {
            flush(&mut line, &mut lines, &mut used);
        }
        if used > 0 {
            line.push(Span::styled(" ", parts[0].style));
            used += 1;
        }
        if w <= room {
            line.extend(parts);
            used += w;
            continue;
        }
        // A word longer than a line: split it by characters.
        for part in parts {
            for c in part.content.chars() {
                let cw = width_of(c.encode_utf8(&mut [0; 4]));
                if used + cw > room {
                    flush(&mut line, &mut lines, &mut used);
                }
                line.push(Span::styled(c.to_string(), part.style));
                used += cw;
            }
        }
    }
    if used > 0 || lines.is_empty() {
        lines.push(Line::from(line));
    }
    lines
}

fn width_of(s: &str) -> usize {
    width(s)
}

/// The OSC 52 escape sequence that asks the terminal to put `text` on the
/// system clipboard (works over SSH and in tmux with `set-clipboard on`).
/// See: <https://invisible-island.net/xterm/ctlseqs/ctlseqs.html> (Operating
/// System Commands, Ps = 52).
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// Standard base64 with padding (RFC 4648 §4); enough for OSC 52 without a
/// dependency.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Modifier;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn highlights_by_analysed_form() {
        let a = Analysed::new("The chip team built two chips, and the CHIPS shipped.");
        let terms: HashSet<String> = ["chip".to_string()].into();
        let marked: Vec<&str> = a
            .segments(&terms)
            .into_iter()
            .filter(|(_, hit)| *hit)
            .map(|(r, _)| &a.text[r])
            .collect();
        assert_eq!(marked, ["chip", "chips", "CHIPS"]);
        let joined: String = a
            .segments(&terms)
            .into_iter()
            .map(|(r, _)| &a.text[r])
            .collect();
        assert_eq!(joined, a.text);
    }

    #[test]
    fn stop_words_are_never_marked() {
        let a = Analysed::new("the and of");
        assert!(a.words.iter().all(|(_, f)| f.is_none()));
    }

    #[test]
    fn wrap_keeps_words_and_styles() {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let pieces = vec![
            Span::raw("one two three "),
            Span::styled("four", bold),
            Span::raw(" five six"),
        ];
        let lines = wrap(&pieces, 12, &Span::raw("  "));
        assert_eq!(plain(&lines), ["  one two", "  three four", "  five six"]);
        assert!(lines[1]
            .spans
            .iter()
            .any(|s| s.content == "four" && s.style == bold));
    }

    #[test]
    fn wrap_splits_long_words_and_keeps_newlines() {
        let lines = wrap(&[Span::raw("abcdefghij\nxy")], 6, &Span::raw(""));
        assert_eq!(plain(&lines), ["abcdef", "ghij", "xy"]);
        assert_eq!(plain(&wrap(&[], 10, &Span::raw(" "))), [" "]);
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("hello world", 7), "hello …");
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate_start("a › b › c", 5), "… › c");
        let spans = truncate_spans(vec![Span::raw("abc"), Span::raw("defgh")], 5);
        assert_eq!(Line::from(spans).to_string(), "abcd…");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}
