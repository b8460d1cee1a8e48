//! The output sanitiser (`podsift::output::safe`): whatever the input, what
//! it lets through holds no control character (newline and tab only where
//! kept), the stream writer agrees with the string functions wherever the
//! input is cut into writes, and JSON mode keeps the JSON value.
#![no_main]

use std::io::Write;

use podsift::output::safe::{self, Mode};

fn controls(s: &str, keep: &[char]) -> bool {
    s.chars().any(|c| safe::is_control(c) && !keep.contains(&c))
}

fn through(mode: Mode, bytes: &[u8], cut: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = safe::Writer::new(&mut out, mode);
        let cut = cut.min(bytes.len());
        w.write_all(&bytes[..cut]).unwrap();
        w.write_all(&bytes[cut..]).unwrap();
        w.flush().unwrap();
    }
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let cut = data.first().copied().unwrap_or(0) as usize;
    let text = String::from_utf8_lossy(data);
    let line = safe::line(&text);
    assert!(!controls(&line, &[]), "{line:?}");
    let kept = safe::text(&text);
    assert!(!controls(&kept, &['\n', '\t']), "{kept:?}");
    // The stream, cut anywhere (even inside a character), gives the same.
    let streamed = through(Mode::Text, text.as_bytes(), cut);
    assert_eq!(streamed, kept.as_bytes());
    // Raw bytes (not UTF-8) lose their C0 controls and DEL too.
    let raw = through(Mode::Text, data, cut);
    assert!(!raw
        .iter()
        .any(|&b| b < 0x20 && b != b'\n' && b != b'\t' || b == 0x7f));
    // JSON: the same value, no raw control but the line end.
    let json = serde_json::to_string(&serde_json::Value::String(text.to_string())).unwrap();
    let escaped = through(Mode::Json, json.as_bytes(), cut);
    let escaped = String::from_utf8(escaped).expect("JSON mode keeps UTF-8");
    assert!(!controls(&escaped, &[]), "{escaped:?}");
    assert_eq!(escaped, safe::json(&json));
    let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
    assert_eq!(back.as_str(), Some(&*text));
});
