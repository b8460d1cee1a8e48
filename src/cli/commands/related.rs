//! `podsift related CHUNK_ID | --file F --at HH:MM:SS`

use std::io::Write;

use anyhow::{Context, Result};

use super::search::output_format;
use super::Exit;
use crate::cli::config::Config;
use crate::cli::RelatedArgs;
use podsift::chunk::ChunkId;
use podsift::error::Error;
use podsift::ingest::timestamp;
use podsift::insight::related::{related_in, Archive, Local, RelatedOptions};
use podsift::output::json::HitKind;
use podsift::output::safe;
use podsift::output::Printer;
use podsift::rank::{Hit, Summary};
use podsift::store::text::StoredChunk;
use podsift::store::{Filters, Store};

/// Run `related`.
pub fn run(config: &Config, args: &RelatedArgs) -> Result<Exit> {
    if let Some(url) = &args.store {
        return super::pg::related(config, args, url);
    }
    let store = Store::open(&config.index)
        .with_context(|| format!("opening index {}", config.index.display()))?;
    let opts = options(args);
    let local = Local::new(&store, &opts.filters)?;
    each_seed(args, Some(&store), |seed| {
        answer(config, &local, seed, &opts)
    })
}

/// `related`'s options from its flags.
pub fn options(args: &RelatedArgs) -> RelatedOptions {
    RelatedOptions {
        limit: args.limit,
        per_episode: args.per_episode.max(1),
        same_episode_gap_ms: args.same_episode_after.map(|m| m.saturating_mul(60_000)),
        filters: Filters {
            shows: args.show.clone(),
            include_noncontent: args.include_ads,
            ..Filters::default()
        },
        ..RelatedOptions::default()
    }
}

/// Call `answer` for each seed the flags name (a CHUNK_ID, `--file` and
/// `--at`, found in the local `store`, or ids on stdin): success when any
/// seed had related passages.
pub fn each_seed(
    args: &RelatedArgs,
    store: Option<&Store>,
    mut answer: impl FnMut(ChunkId) -> Result<Exit>,
) -> Result<Exit> {
    if args.stdin {
        use std::io::BufRead;
        let mut any = false;
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let id = line.trim();
            if id.is_empty() {
                continue;
            }
            let seed = ChunkId::parse(id).ok_or_else(|| Error::NoSuchChunk(id.to_string()))?;
            any |= answer(seed)? == Exit::Success;
        }
        return Ok(if any { Exit::Success } else { Exit::NoResults });
    }
    let seed = match (&args.id, &args.file, &args.at, store) {
        (Some(id), _, _, _) => ChunkId::parse(id).ok_or_else(|| Error::NoSuchChunk(id.clone()))?,
        (None, Some(file), Some(at), Some(store)) => seed_at(store, file, at)?,
        (None, Some(_), Some(_), None) => {
            anyhow::bail!("--file and --at find the passage in the local index (--index), which cannot be opened; give a CHUNK_ID")
        }
        _ => anyhow::bail!("give a CHUNK_ID, or --file FILE --at TIME"),
    };
    answer(seed)
}

/// Find and print the passages of `archive` related to `seed`.
pub fn answer(
    config: &Config,
    archive: &dyn Archive,
    seed: ChunkId,
    opts: &RelatedOptions,
) -> Result<Exit> {
    let (seed_chunk, hits, summary) = hits_in(archive, seed, opts)?;
    let mut out = config.hits_out();
    if !config.json {
        let head = format!(
            "related to {} · {} · {} ({})",
            seed_chunk.show,
            seed_chunk.title,
            podsift::output::time_range(seed_chunk.start_ms, seed_chunk.end_ms),
            seed_chunk.chunk_id()
        );
        writeln!(out, "{}\n", safe::line(&head))?;
    }
    let mut printer = Printer::new(output_format(config, false), out);
    let of = seed_chunk.chunk_id().to_string();
    printer.hits(&of, HitKind::Related { of: of.clone() }, &hits, &summary)?;
    Ok(if hits.is_empty() {
        Exit::NoResults
    } else {
        Exit::Success
    })
}

/// The passages of the local index related to `seed` as search hits (the
/// `related` lines of the JSON schema), with the seed and a summary.
pub fn related_hits(
    store: &Store,
    seed: ChunkId,
    opts: &RelatedOptions,
) -> Result<(StoredChunk, Vec<Hit>, Summary)> {
    hits_in(&Local::new(store, &opts.filters)?, seed, opts)
}

/// The passages of `archive` related to `seed`, with the seed and a
/// summary.
fn hits_in(
    archive: &dyn Archive,
    seed: ChunkId,
    opts: &RelatedOptions,
) -> Result<(StoredChunk, Vec<Hit>, Summary)> {
    let t0 = std::time::Instant::now();
    let (seed_chunk, hits) = related_in(archive, seed, opts)?;
    let summary = Summary {
        mode: "related",
        hits: hits.len(),
        passages: archive.passages()? as usize,
        total_ms: t0.elapsed().as_secs_f64() * 1000.0,
        ..Summary::default()
    };
    Ok((seed_chunk, hits, summary))
}

/// The passage of `file` that covers `at`.
pub fn seed_at(store: &Store, file: &std::path::Path, at: &str) -> Result<ChunkId> {
    let ms = timestamp::parse(at)
        .or_else(|| {
            at.trim()
                .parse::<f64>()
                .ok()
                .and_then(timestamp::from_seconds)
        })
        .with_context(|| format!("--at '{at}': expected HH:MM:SS, MM:SS or seconds"))?;
    let want = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let want_s = want.to_string_lossy();
    let given = file.to_string_lossy();
    let episode = store
        .episodes()
        .find(|(_, e)| {
            e.file == want_s
                || store
                    .file(&e.file)
                    .is_some_and(|f| f.path == given || f.path.ends_with(&format!("/{given}")))
        })
        .map(|(id, _)| id.clone())
        .with_context(|| {
            format!(
                "{}: not an indexed episode (a folded duplicate? see podsift stats)",
                file.display()
            )
        })?;
    let passages = store.episode_range(&episode, 0, u64::MAX - 1)?;
    let best = passages
        .iter()
        .filter(|p| p.start_ms.is_some_and(|s| s <= ms))
        .max_by_key(|p| (p.start_ms, std::cmp::Reverse(p.seq)))
        .or_else(|| passages.first())
        .with_context(|| format!("{}: no passages", file.display()))?;
    Ok(best.chunk_id())
}
