//! `podsift show CHUNK_ID [--context N]`

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::Exit;
use crate::cli::config::Config;
use crate::cli::ShowArgs;
use podsift::chunk::ChunkId;
use podsift::error::Error;
use podsift::output::{deep_link, time_range};
use podsift::store::text::StoredChunk;
use podsift::store::Store;

/// A `passage` line of `show --json` (also the `show` tool's result items).
#[derive(Serialize)]
pub struct PassageJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    is_target: bool,
    seq: u64,
    show: &'a str,
    episode_id: &'a str,
    title: &'a str,
    date: Option<&'a str>,
    path: &'a str,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    speaker: Option<&'a str>,
    text: &'a str,
    url: Option<&'a str>,
    link: Option<String>,
}

impl<'a> PassageJson<'a> {
    /// The line for passage `p`.
    pub fn new(p: &'a StoredChunk, is_target: bool) -> PassageJson<'a> {
        PassageJson {
            kind: "passage",
            id: p.chunk_id().to_string(),
            is_target,
            seq: p.seq,
            show: &p.show,
            episode_id: &p.episode,
            title: &p.title,
            date: p.date.as_deref(),
            path: &p.path,
            start_ms: p.start_ms,
            end_ms: p.end_ms,
            speaker: p.speaker.as_deref(),
            text: &p.text,
            url: p.url.as_deref(),
            link: deep_link(p.url.as_deref(), p.start_ms),
        }
    }
}

/// Run `show`.
pub fn run(config: &Config, args: &ShowArgs) -> Result<Exit> {
    let store = Store::open(&config.index)?;
    let id = ChunkId::parse(&args.id).ok_or_else(|| Error::NoSuchChunk(args.id.clone()))?;
    let target = store
        .chunk(id)?
        .ok_or_else(|| Error::NoSuchChunk(args.id.clone()))?;
    let from = target.seq.saturating_sub(args.context);
    let to = target.seq.saturating_add(args.context);
    let passages = store.episode_range(&target.episode, from, to)?;
    let mut out = config.stdout();
    if !config.json {
        writeln!(out, "{} · {}", target.show, target.title)?;
        if let Some(link) = deep_link(target.url.as_deref(), target.start_ms) {
            writeln!(out, "{link}")?;
        }
        writeln!(out)?;
    }
    for p in &passages {
        let is_target = p.id == target.id;
        if config.json {
            let j = PassageJson::new(p, is_target);
            writeln!(out, "{}", serde_json::to_string(&j)?)?;
        } else {
            let mark = if is_target { ">>" } else { "  " };
            writeln!(
                out,
                "{mark} [{}] {}  ({})",
                time_range(p.start_ms, p.end_ms),
                p.speaker.as_deref().unwrap_or("-"),
                p.chunk_id()
            )?;
            writeln!(out, "{mark} {}", p.text)?;
            writeln!(out)?;
        }
    }
    Ok(Exit::Success)
}
