//! One integration test binary, a module per area (ripgrep's layout).
//! Tests run the real `podsift` binary through the harness in `util`.

mod util;

mod embedder;
mod explore;
mod feeds;
mod fixtures;
mod generate;
mod hostile;
mod index;
mod insight;
mod json;
mod layout;
mod mail;
mod mcp;
mod pg;
mod real;
mod regression;
mod search;
mod transcribe;
