//! Checks shared by the parser targets.
#![allow(dead_code)]

use podsift::transcript::Parsed;

/// What every successful parse guarantees: each cue's end is not before its
/// start, and chunking the cues (with a whitespace token count) works.
pub fn check(parsed: &Parsed) {
    for c in &parsed.cues {
        if let (Some(s), Some(e)) = (c.start_ms, c.end_ms) {
            assert!(e >= s, "cue ends before it starts: {c:?}");
        }
    }
    let cfg = podsift::chunk::ChunkConfig {
        max_tokens: 24,
        overlap_tokens: 4,
        min_tokens: 6,
    };
    let chunks = podsift::chunk::split("fuzz/ep", &parsed.cues, &cfg, |s: &str| {
        s.split_whitespace().count()
    });
    for c in &chunks {
        assert!(!c.text.trim().is_empty(), "empty chunk");
    }
}
