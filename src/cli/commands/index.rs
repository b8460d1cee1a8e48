//! `podsift index PATH...`

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::Exit;
use crate::cli::config::Config;
use crate::cli::messages;
use crate::cli::IndexArgs;
use podsift::indexer::{self, Event, IndexOptions, WriterOptions};
use podsift::output::lines::IndexSummary;

/// What [`index_paths`] did.
pub struct IndexRun {
    /// The indexer's report.
    pub report: indexer::Report,
    /// The index's model.
    pub model_id: String,
}

/// Open the index (creating it), load its model, bring it up to date with
/// `args.paths` and finish: the work of `podsift index`, shared with
/// `podsift scan`. Per-file problems go to stderr as they happen and mark
/// the run as failed ([`messages::errored`]).
pub fn index_paths(config: &Config, args: &IndexArgs) -> Result<IndexRun> {
    let existing = indexer::existing_manifest(&config.index, args.rebuild)?;
    let files = config.model_files(existing.as_ref())?;
    let mut embedder = config.embedder(&files)?;
    if let Some(b) = args.batch_size {
        embedder.batch_size = b.max(1);
    }
    let setup = WriterOptions {
        rebuild: args.rebuild,
        max_tokens: args.max_tokens,
        overlap_tokens: args.overlap_tokens,
        embed_context: args.embed_context.clone(),
    };
    let mut writer = indexer::open_writer(&config.index, embedder.info()?, &setup)
        .with_context(|| format!("opening index {}", config.index.display()))?;
    let opts =
        IndexOptions::for_writer(&writer, args.exclude.clone(), args.commit_rows.unwrap_or(0));
    let bar = config.progress.then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} episodes {wide_bar} {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let mut chunks_done = 0usize;
    let started = Instant::now();
    let verbose = config.verbose;
    let report = indexer::run(
        &mut writer,
        &embedder,
        &args.paths,
        &opts,
        &mut |ev| match ev {
            Event::Planned { episodes } => {
                if let Some(b) = &bar {
                    b.set_length(episodes as u64);
                }
            }
            Event::Skipped(e) => match &bar {
                Some(b) => b.suspend(|| messages::error(e)),
                None => messages::error(e),
            },
            Event::Warning { path, warning } => {
                let print = || messages::warning(path, warning.line, &warning.message);
                match &bar {
                    Some(b) => b.suspend(print),
                    None => print(),
                }
            }
            Event::Indexed { episode, chunks } => {
                chunks_done += chunks;
                if let Some(b) = &bar {
                    b.inc(1);
                    let rate = chunks_done as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    b.set_message(format!("{chunks_done} passages, {rate:.1}/s"));
                } else if verbose > 1 {
                    errln!("podsift: indexed {episode} ({chunks} passages)");
                }
            }
            Event::Committed { generation } => {
                if verbose > 0 {
                    let msg = format!("podsift: committed generation {generation}");
                    match &bar {
                        Some(b) => b.suspend(|| errln!("{msg}")),
                        None => errln!("{msg}"),
                    }
                }
            }
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let model_id = writer.manifest().model.id.clone();
    writer.finish()?;
    Ok(IndexRun { report, model_id })
}

/// Run `index`.
pub fn run(config: &Config, args: &IndexArgs) -> Result<Exit> {
    let t0 = Instant::now();
    let IndexRun { report, model_id } = index_paths(config, args)?;
    let rate = if report.embed_secs > 0.0 {
        report.chunks as f64 / report.embed_secs
    } else {
        0.0
    };
    if config.json {
        let s = IndexSummary {
            kind: "summary",
            index: config.index.display().to_string(),
            indexed: report.indexed,
            unchanged: report.unchanged,
            skipped: report.skipped,
            folded: report.folded,
            removed: report.removed,
            ignored: report.ignored,
            chunks: report.chunks,
            embed_secs: report.embed_secs,
            total_secs: t0.elapsed().as_secs_f64(),
            passages_per_sec: rate,
            model: &model_id,
        };
        writeln!(config.stdout(), "{}", serde_json::to_string(&s)?)?;
    }
    print_human(&report, t0.elapsed().as_secs_f64());
    Ok(if report.skipped > 0 || messages::errored() {
        Exit::Error
    } else {
        Exit::Success
    })
}

/// The one-line summary of an index run on stderr.
pub fn print_human(report: &indexer::Report, total_secs: f64) {
    let rate = if report.embed_secs > 0.0 {
        report.chunks as f64 / report.embed_secs
    } else {
        0.0
    };
    if report.changed() {
        errln!(
            "podsift: indexed {} episodes ({} passages, {:.1} passages/s) · unchanged {} · skipped {} · folded {} · removed {} · ignored {} · {:.1} s",
            report.indexed,
            report.chunks,
            rate,
            report.unchanged,
            report.skipped,
            report.folded,
            report.removed,
            report.ignored,
            total_secs
        );
    } else {
        errln!(
            "podsift: nothing changed: {} episodes up to date · skipped {} · folded {} · ignored {}",
            report.unchanged, report.skipped, report.folded, report.ignored
        );
    }
}
