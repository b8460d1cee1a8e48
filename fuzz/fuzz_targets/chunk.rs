//! The chunker on arbitrary cues: never panics, loses no text, keeps the
//! token budget unless one word alone exceeds it, keeps times monotonic, and
//! gives the same chunks twice.
//!
//! Input: one byte of settings, then lines `[speaker|]text`; times come
//! from the line's first bytes (some cues untimed, some going backwards).
#![no_main]

use podsift::chunk::{split, units, ChunkConfig};
use podsift::transcript::Cue;

/// Tokens as the model's tokenizer would roughly count them: one per four
/// bytes of a word, at least one.
fn tokens(s: &str) -> usize {
    s.split_whitespace().map(|w| w.len().div_ceil(4).max(1)).sum()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&settings, rest)) = data.split_first() else {
        return;
    };
    let cfg = ChunkConfig {
        max_tokens: 1 + (settings & 0x3f) as usize,
        overlap_tokens: (settings >> 6) as usize * 3,
        min_tokens: (settings & 0x0f) as usize,
    };
    let text = String::from_utf8_lossy(rest);
    let mut t: u64 = 0;
    let cues: Vec<Cue> = text
        .split('\n')
        .map(|line| {
            let b = line.as_bytes();
            let step = b.first().copied().unwrap_or(0);
            let start = match step % 5 {
                0 => None,
                1 => {
                    t = t.saturating_sub(step as u64 * 100);
                    Some(t)
                }
                _ => {
                    t = t.saturating_add(step as u64 * 250);
                    Some(t)
                }
            };
            let (speaker, body) = match line.split_once('|') {
                Some((s, b)) => (Some(s.to_string()), b),
                None => (None, line),
            };
            Cue {
                start_ms: start,
                end_ms: start.map(|s| s.saturating_add(b.len() as u64 * 40)),
                speaker,
                text: body.to_string(),
            }
        })
        .collect();
    let chunks = split("fuzz/ep", &cues, &cfg, tokens);
    let max = cfg.max_tokens;
    let us = units(&cues, max, &tokens);
    for c in &chunks {
        assert!(!c.text.trim().is_empty(), "empty chunk");
        let one_unit = c.sentences.len() == 1;
        assert!(c.tokens <= max || one_unit, "over budget: {c:?}");
        if let (Some(s), Some(e)) = (c.start_ms, c.end_ms) {
            assert!(s <= e, "ends before it starts: {c:?}");
        }
    }
    let starts: Vec<_> = chunks.iter().filter_map(|c| c.start_ms).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "times go back");
    // Every unit covered in order; no text lost (spaces aside: a word over
    // the chunker's length limit is cut in pieces).
    let mut covered = 0;
    for c in &chunks {
        assert!(c.sentences.start <= covered && c.sentences.end > covered);
        covered = c.sentences.end;
    }
    assert_eq!(covered, us.len());
    let squash = |s: &mut dyn Iterator<Item = char>| -> String {
        s.filter(|c| !c.is_whitespace()).collect()
    };
    let from_units = squash(&mut us.iter().flat_map(|u| u.text.chars()));
    let from_cues = squash(&mut cues.iter().flat_map(|c| c.text.chars()));
    assert_eq!(from_units, from_cues, "text lost");
    assert_eq!(chunks, split("fuzz/ep", &cues, &cfg, tokens), "not deterministic");
});
