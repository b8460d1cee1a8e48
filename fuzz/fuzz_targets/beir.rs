//! The BEIR collection reader (JSON Lines): documents or an error, never a
//! panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = podsift::ingest::beir::parse(&text);
});
