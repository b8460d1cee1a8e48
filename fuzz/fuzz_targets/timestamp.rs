//! Timestamps: `parse` never panics, and what it accepts formats back to
//! the same milliseconds; `from_seconds` never panics on any float.
#![no_main]

use podsift::ingest::timestamp;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(ms) = timestamp::parse(&text) {
        assert_eq!(timestamp::parse(&timestamp::format_full(ms)), Some(ms), "{text:?}");
        let _ = timestamp::format(ms);
    }
    if data.len() >= 8 {
        let bits = u64::from_le_bytes(data[..8].try_into().unwrap());
        let _ = timestamp::from_seconds(f64::from_bits(bits));
    }
    if let Ok(secs) = text.trim().parse::<f64>() {
        let _ = timestamp::from_seconds(secs);
    }
});
