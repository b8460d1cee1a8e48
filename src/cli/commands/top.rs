//! `podsift top [--since 7d] [--for INTERESTS] [-n 5] [--store URL]`

use std::io::Write;

use anyhow::Result;

use super::search::open;
use super::Exit;
use crate::cli::config::{self, Config};
use crate::cli::TopArgs;
use podsift::embed::Embedder;
use podsift::insight::relevance::Interest;
use podsift::insight::top::{top, TopOptions, TopSummary};
use podsift::insight::Insight;
use podsift::output::brief::{render_json, render_markdown, BriefMeta};
use podsift::store::Filters;

/// Run `top`.
pub fn run(config: &Config, args: &TopArgs) -> Result<Exit> {
    let t0 = std::time::Instant::now();
    if let Some(url) = &args.store {
        return super::pg::top(config, args, url, t0);
    }
    let needs_model = !args.interests.is_empty();
    let (store, embedder) = open(config, needs_model)?;
    let opts = options(args, embedder.as_ref())?;
    let (insights, summary) = top(&store, &opts)?;
    print(config, args, &insights, &summary, t0)
}

/// `top`'s options from its flags, the interests embedded by `embedder`.
pub fn options(args: &TopArgs, embedder: Option<&Embedder>) -> Result<TopOptions> {
    let interests = match embedder {
        Some(e) => args
            .interests
            .iter()
            .map(|i| Ok(Interest::new(i, e.embed_query(i)?)))
            .collect::<podsift::error::Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let since = config::resolve_date("--since", &args.since)?;
    Ok(TopOptions {
        filters: Filters {
            since: Some(since),
            shows: args.show.clone(),
            ..Filters::default()
        },
        interests,
        limit: args.limit,
        per_episode: args.per_episode.max(1),
        related: args.related,
        ..TopOptions::default()
    })
}

/// Print the insights as Markdown or JSON (`t0`: when the command began).
pub fn print(
    config: &Config,
    args: &TopArgs,
    insights: &[Insight],
    summary: &TopSummary,
    t0: std::time::Instant,
) -> Result<Exit> {
    let since = config::resolve_date("--since", &args.since)?;
    let meta = BriefMeta {
        title: "podsift top".into(),
        date: chrono::Local::now().format("%Y-%m-%d").to_string(),
        interests: args.interests.clone(),
        window: format!("since {since}"),
        episodes_scanned: summary.episodes,
    };
    let mut out = config.stdout();
    if config.json {
        write!(out, "{}", render_json(insights, &meta))?;
    } else {
        write!(out, "{}", render_markdown(insights, &meta))?;
    }
    if config.verbose > 0 {
        errln!(
            "podsift: {} episodes, {} passages scored ({} non-content skipped) in {:.0} ms",
            summary.episodes,
            summary.passages,
            summary.noncontent,
            t0.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(if insights.is_empty() {
        Exit::NoResults
    } else {
        Exit::Success
    })
}
