//! The parsers of values a user types: dates and spans (`--since`, a
//! profile's `since`, the explorer's `since:`), limits (`-n`), chunk ids,
//! the explorer's filter prompt and a whole profile. None panics on any
//! input or any "today"; what they accept is in range.
#![no_main]

use chrono::NaiveDate;
use podsift::chunk::ChunkId;
use podsift::value;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The first four bytes pick "today" anywhere in chrono's range.
    let (head, rest) = data.split_at(data.len().min(4));
    let mut day = [0u8; 4];
    day[..head.len()].copy_from_slice(head);
    let today = NaiveDate::from_num_days_from_ce_opt(i32::from_le_bytes(day) % 100_000_000)
        .unwrap_or(NaiveDate::MAX);
    let text = String::from_utf8_lossy(rest);
    if let Ok(d) = value::date(&text, today) {
        let got = NaiveDate::parse_from_str(&d, "%Y-%m-%d");
        assert!(
            got.is_ok() || d.starts_with('-') || d.starts_with('+'),
            "{d}"
        );
    }
    if let Ok(n) = value::limit(&text) {
        assert!((1..=value::MAX_LIMIT).contains(&n));
    }
    let _ = value::count(&text, 0, 50);
    if let Some(id) = ChunkId::parse(&text) {
        assert_eq!(ChunkId::parse(&id.to_string()), Some(id));
    }
    let settings = podsift::explore::state::Settings {
        today: Some(today),
        ..Default::default()
    };
    let _ = podsift::explore::state::parse_filters(&text, &settings);
    let _ = podsift::insight::brief::parse_profile(&text);
    let _ = podsift::insight::brief::parse_profile(&format!(
        "interests = [\"x\"]\nsince = {:?}\nn = {}\n",
        text,
        text.len()
    ));
});
