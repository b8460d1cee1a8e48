//! The text parser: any input gives a transcript or a parse error, never a
//! panic, and what it returns holds together (see `common::check`).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(parsed) = podsift::ingest::text::parse(&text) {
        common::check(&parsed);
    }
});
