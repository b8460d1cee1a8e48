//! `podsift search QUERY`

use std::io::{BufRead, Write};

use anyhow::{Context, Result};

use super::Exit;
use crate::cli::config::{self, Config};
use crate::cli::{ModeArg, SearchArgs};
use podsift::embed::Embedder;
use podsift::error::Error;
use podsift::output::json::HitKind;
use podsift::output::{OutputFormat, Printer};
use podsift::rank::{self, Mode, SearchOptions};
use podsift::store::Store;

/// Open the store and, when `needs_model`, the model it was built with
/// (refusing another).
pub fn open(config: &Config, needs_model: bool) -> Result<(Store, Option<Embedder>)> {
    let store = Store::open(&config.index)
        .with_context(|| format!("opening index {}", config.index.display()))?;
    if !needs_model {
        return Ok((store, None));
    }
    let files = config.model_files(Some(store.manifest()))?;
    let fp = files.fingerprint()?;
    if fp != store.manifest().model.fingerprint {
        return Err(Error::IndexMismatch {
            index: config.index.clone(),
            index_model: store.manifest().model.id.clone(),
            requested_model: files.id.clone(),
        }
        .into());
    }
    let embedder = config.embedder(&files)?;
    Ok((store, Some(embedder)))
}

/// The output format for this config.
pub fn output_format(config: &Config, explain: bool) -> OutputFormat {
    if config.json {
        OutputFormat::Json
    } else {
        OutputFormat::Human {
            color: config.color,
            explain,
        }
    }
}

/// The search options `args` ask for (`episodes`: the ids `--episode`
/// may name).
pub fn options(args: &SearchArgs, mode: Mode, episodes: &[&str]) -> Result<SearchOptions> {
    Ok(SearchOptions {
        mode,
        limit: args.limit,
        filters: config::filters(&args.filters, episodes)?,
        fusion: args.fusion.into(),
        exact: args.exact,
        ..SearchOptions::default()
    })
}

/// Run `search`.
pub fn run(config: &Config, args: &SearchArgs) -> Result<Exit> {
    let mode = match args.mode {
        ModeArg::Hybrid => Mode::Hybrid,
        ModeArg::Keyword => Mode::Keyword,
        ModeArg::Semantic => Mode::Semantic,
    };
    if let Some(url) = &args.store {
        return super::pg::search(config, args, url, mode);
    }
    let (store, embedder) = open(config, mode.needs_model())?;
    let episodes: Vec<&str> = store.episodes().map(|(id, _)| id.as_str()).collect();
    let opts = options(args, mode, &episodes)?;
    let mut printer = Printer::new(output_format(config, args.explain), config.hits_out());
    if args.stdin {
        let mut any = false;
        for line in std::io::stdin().lock().lines() {
            let q = line?;
            if q.trim().is_empty() {
                continue;
            }
            let (hits, summary) = rank::search(&store, embedder.as_ref(), &q, &opts)?;
            any |= !hits.is_empty();
            printer.hits(&q, HitKind::Hit, &hits, &summary)?;
            printer.writer().flush()?;
        }
        return Ok(if any { Exit::Success } else { Exit::NoResults });
    }
    let query = args.query.clone().unwrap_or_default();
    let (hits, summary) = rank::search(&store, embedder.as_ref(), &query, &opts)?;
    printer.hits(&query, HitKind::Hit, &hits, &summary)?;
    if config.verbose > 0 {
        errln!(
            "podsift: {} hits in {:.1} ms (embed {:.1}, keyword {:.1}, semantic {:.1}, fuse {:.1})",
            summary.hits,
            summary.total_ms,
            summary.embed_ms,
            summary.bm25_ms,
            summary.dense_ms,
            summary.fuse_ms
        );
    }
    Ok(if hits.is_empty() {
        Exit::NoResults
    } else {
        Exit::Success
    })
}
