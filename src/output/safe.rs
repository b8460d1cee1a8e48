//! Text from outside made safe to print: the one sanitising step at the
//! output boundary.
//!
//! A transcript, a feed title, a file name or a server's error message may
//! hold terminal control sequences: `ESC ]52;c;…` writes the clipboard
//! (tmux passes it with `set-clipboard on`), `ESC [2J` clears the screen,
//! `ESC c` resets the terminal, and the C1 forms (`U+009B` for CSI, `U+009D`
//! for OSC) do the same on terminals that read them. Stored data keeps them
//! as they came; what is printed does not:
//!
//! - [`text`] and [`line`] clean one field or message: every C0 control
//!   (U+0000-U+001F), DEL (U+007F) and C1 control (U+0080-U+009F) is
//!   removed; [`text`] keeps newline and tab, [`line`] turns them (and
//!   carriage return) into spaces, for output that must stay on one line.
//!   With the introducer gone, the rest of a sequence (`[2J`, `]52;c;…`) is
//!   plain, harmless text.
//! - [`Writer`] cleans a whole stream the same way, for output that is
//!   written piece by piece: [`Mode::Text`] removes the controls (keeping
//!   newline and tab), [`Mode::Json`] writes DEL and C1 controls as
//!   `\u00XX` escapes (the same JSON value; serde_json already escapes C0
//!   but passes DEL and C1 through raw).
//!
//! Only podsift's own colour codes, added by the human printer after its
//! fields are cleaned, reach a terminal as escape sequences.

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether `c` is a C0 control, DEL, or a C1 control.
pub fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `s` without control characters, newline and tab kept.
pub fn text(s: &str) -> Cow<'_, str> {
    clean(s, |c| match c {
        '\n' | '\t' => Some(c),
        c if is_control(c) => None,
        c => Some(c),
    })
}

/// `s` on one line, without control characters: newline, carriage return
/// and tab become spaces, the other controls are removed.
pub fn line(s: &str) -> Cow<'_, str> {
    clean(s, |c| match c {
        '\n' | '\r' | '\t' => Some(' '),
        c if is_control(c) => None,
        c => Some(c),
    })
}

/// A JSON text with DEL and C1 controls written as `\u00XX` escapes (the
/// same values), and no raw C0 control but newline, as [`Mode::Json`]
/// writes it: for JSON rendered into a string.
pub fn json(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_control(c) && c != '\n') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push(c),
            '\u{7f}'..='\u{9f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn clean(s: &str, map: impl Fn(char) -> Option<char>) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().filter_map(map).collect())
}

/// What a [`Writer`] does with control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Human text and Markdown: removed, newline and tab kept.
    Text,
    /// JSON Lines: DEL and C1 escaped as `\u00XX` (JSON's structure is
    /// ASCII, so they can only be inside strings); other C0 controls, which
    /// a JSON serialiser never writes raw, removed; newline kept.
    Json,
}

/// A writer that cleans everything written through it ([`Mode`]).
///
/// It works on bytes and keeps no more than one byte back: a C1 control is
/// `0xC2` then `0x80..=0x9F` in UTF-8 (`0xC2` is only ever a lead byte),
/// so a `0xC2` at the end of a write waits for the next byte. Bytes that
/// are not UTF-8 pass through as they are, apart from the controls.
#[derive(Debug)]
pub struct Writer<W: Write> {
    inner: W,
    mode: Mode,
    held_c2: bool,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A cleaning writer over `inner`.
    pub fn new(inner: W, mode: Mode) -> Writer<W> {
        Writer {
            inner,
            mode,
            held_c2: false,
            buf: Vec::new(),
        }
    }

    /// The writer underneath.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    fn push_c1(&mut self, second: u8) {
        match self.mode {
            Mode::Text => {}
            Mode::Json => {
                // U+0080..U+009F: the code point is the second byte.
                self.buf
                    .extend_from_slice(format!("\\u{second:04x}").as_bytes());
            }
        }
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.clear();
        for &b in bytes {
            if self.held_c2 {
                self.held_c2 = false;
                if (0x80..=0x9f).contains(&b) {
                    self.push_c1(b);
                    continue;
                }
                self.buf.push(0xc2);
            }
            match b {
                0xc2 => self.held_c2 = true,
                b'\n' => self.buf.push(b),
                b'\t' if self.mode == Mode::Text => self.buf.push(b),
                0x7f if self.mode == Mode::Json => self.buf.extend_from_slice(b"\\u007f"),
                0..=0x1f | 0x7f => {}
                b => self.buf.push(b),
            }
        }
        self.inner.write_all(&self.buf)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.held_c2) {
            // A lone lead byte at the end: not a control, pass it on.
            self.inner.write_all(&[0xc2])?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Writer<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// ESC, OSC 52, OSC 8, CSI, C1 CSI, C1 OSC, BEL, DEL, NUL, CR.
    const HOSTILE: &str = "a\u{1b}]52;c;aGk=\u{7}b\u{1b}]8;;http://x\u{1b}\\c\u{1b}[2J\u{9b}31m\u{9d}0;t\u{9c}\u{7f}\0\r\u{1b}cd";

    fn has_control(s: &str) -> bool {
        s.chars().any(is_control)
    }

    #[test]
    fn fields_lose_every_control() {
        assert_eq!(text(HOSTILE), "a]52;c;aGk=b]8;;http://x\\c[2J31m0;tcd");
        assert_eq!(text("keep\ttab\nand newline"), "keep\ttab\nand newline");
        assert_eq!(line("one\nline\r\tonly"), "one line  only");
        assert!(matches!(text("plain é ü 中"), Cow::Borrowed(_)));
        // Latin-1 letters right after the C1 range stay.
        assert_eq!(text("\u{a0}\u{e9}\u{9f}"), "\u{a0}\u{e9}");
    }

    fn through(mode: Mode, pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = Writer::new(&mut out, mode);
            for p in pieces {
                w.write_all(p).unwrap();
            }
            w.flush().unwrap();
        }
        out
    }

    #[test]
    fn writer_cleans_a_stream_even_split_inside_a_c1_control() {
        let bytes = HOSTILE.as_bytes();
        let whole = through(Mode::Text, &[bytes]);
        assert_eq!(String::from_utf8(whole.clone()).unwrap(), text(HOSTILE));
        for cut in 0..bytes.len() {
            let split = through(Mode::Text, &[&bytes[..cut], &bytes[cut..]]);
            assert_eq!(split, whole, "split at {cut}");
        }
        // A multi-byte letter split across writes survives.
        let e = "é".as_bytes();
        assert_eq!(through(Mode::Text, &[&e[..1], &e[1..]]), e);
    }

    #[test]
    fn json_mode_escapes_del_and_c1_and_stays_the_same_value() {
        let v = serde_json::json!({ "title": HOSTILE });
        let raw = serde_json::to_string(&v).unwrap();
        let out = String::from_utf8(through(Mode::Json, &[raw.as_bytes(), b"\n"])).unwrap();
        assert!(!has_control(out.trim_end_matches('\n')), "{out:?}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
        assert_eq!(json(&raw), out.trim_end_matches('\n'));
    }

    proptest! {
        #[test]
        fn nothing_printed_holds_a_control(s in ".*", cut in 0usize..64) {
            prop_assert!(!has_control(&line(&s)));
            let t = text(&s);
            prop_assert!(!t.chars().any(|c| is_control(c) && c != '\n' && c != '\t'));
            let b = s.as_bytes();
            let cut = cut.min(b.len());
            let out = through(Mode::Text, &[&b[..cut], &b[cut..]]);
            prop_assert_eq!(String::from_utf8(out).unwrap(), t.into_owned());
        }

        #[test]
        fn json_stream_round_trips(s in "\\PC*|[\\x00-\\x{ff}]*") {
            let v = serde_json::Value::String(s);
            let raw = serde_json::to_string(&v).unwrap();
            let out = String::from_utf8(through(Mode::Json, &[raw.as_bytes()])).unwrap();
            prop_assert!(!has_control(&out));
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, v);
        }
    }
}
