//! `podsift scan`: fetch the followed feeds, download new transcripts into
//! the library, index the library. Per feed, one line on stderr (or one
//! `feed` object with `--json`), then a summary; exits 2 if any feed failed.
//!
//! Safe under cron: the scan lock (`<index>/SCAN.LOCK`) makes a second scan
//! wait for the first (`--wait`) and, if it is still running after that,
//! exit 0 having done nothing. Indexing reuses `podsift index`'s code path
//! ([`super::index::index_paths`]); it runs only when files were written
//! since the library was last indexed, so a scan that finds nothing new
//! loads no model and takes a fraction of a second.
//!
//! With `--transcribe`, new episodes that publish audio but no transcript
//! are transcribed with Whisper (see [`super::transcribe`]), a progress bar
//! per episode on a terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::index::{self, IndexRun};
use super::Exit;
use crate::cli::config::{resolve_date, Config};
use crate::cli::{advice, messages};
use crate::cli::{IndexArgs, ScanArgs};
use podsift::feed::audio::AudioLimits;
use podsift::feed::http::Client;
use podsift::feed::list::{Acquired, FeedList, ScanLock, MAX_TRIES};
use podsift::feed::scan::{self, FeedReport, FeedStatus, ScanOptions, Transcribe};
use podsift::output::lines::{ScanFeedLine, ScanSummary};

/// The library folder: `--library`, else `library/` beside the index folder.
pub fn library_dir(index: &Path, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => index
            .parent()
            .map_or_else(|| PathBuf::from("library"), |p| p.join("library")),
    }
}

/// Run `scan`.
pub fn run(config: &Config, args: &ScanArgs) -> Result<Exit> {
    let t0 = Instant::now();
    let limits = super::feed::limits(&args.net)?;
    let library = library_dir(&config.index, args.library.as_deref());
    let since = args
        .since
        .as_deref()
        .map(|s| resolve_date("--since", s))
        .transpose()?;
    let lock = match ScanLock::acquire(&config.index, Duration::from_secs(args.wait))? {
        Acquired::Held(l) => l,
        Acquired::Busy(pid) => {
            errln!(
                "podsift: another scan (pid {pid}) is still running on {}; this one did nothing",
                config.index.display()
            );
            return Ok(Exit::Success);
        }
    };
    if FeedList::load(&config.index)?.feeds.is_empty() {
        errln!("podsift: no feeds followed (add one: podsift feed add URL)");
    }
    let transcriber = if args.transcribe {
        Some(std::sync::Mutex::new(super::transcribe::load(
            config,
            &args.whisper,
        )?))
    } else {
        None
    };
    let bar = std::sync::Mutex::new(None::<(String, indicatif::ProgressBar)>);
    let on_progress = |show: &str, title: &str, p: &podsift::transcribe::Progress| {
        let mut b = bar.lock().unwrap_or_else(|e| e.into_inner());
        let name = format!("{show}: {title}");
        if b.as_ref().is_none_or(|(n, _)| *n != name) {
            if let Some((_, old)) = b.take() {
                old.finish_and_clear();
            }
            *b = Some((name.clone(), super::transcribe::progress_bar(config, &name)));
        }
        if let Some((_, pb)) = b.as_ref() {
            super::transcribe::show(pb, p);
        }
    };
    let transcribe = transcriber.as_ref().map(|t| Transcribe {
        transcriber: t,
        limits: AudioLimits::default(),
        on_progress: &on_progress,
    });
    let client = Client::new(limits);
    let opts = ScanOptions {
        library: library.clone(),
        since,
        language: args.language.clone(),
        jobs: args.jobs.max(1),
        allow_local_files: args.allow_local_files,
    };
    let json = config.json;
    let mut print_err: Option<anyhow::Error> = None;
    let report = scan::scan_with(
        &lock,
        &config.index,
        &client,
        &opts,
        transcribe.as_ref(),
        &mut |f| {
            if json {
                if let Err(e) = print_json(config, f) {
                    print_err.get_or_insert(e);
                }
            } else {
                print_human(f);
            }
        },
    )?;
    if let Some((_, pb)) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
        pb.finish_and_clear();
    }
    if let Some(e) = print_err {
        return Err(e);
    }
    let fetch_secs = report.secs;

    let t_index = Instant::now();
    let (indexed, index_failed) = if report.index_pending && !args.no_index && library.is_dir() {
        index_library(config, &library)?
    } else {
        (None, false)
    };
    let index_secs = t_index.elapsed().as_secs_f64();

    let summary = ScanSummary {
        kind: "summary",
        library: library.display().to_string(),
        feeds: report.feeds.len(),
        failed_feeds: report.failed_feeds(),
        new_episodes: report.sum(|f| f.new_episodes),
        transcripts_fetched: report.sum(|f| f.transcripts_fetched),
        transcribed: report.sum(|f| f.transcribed),
        without_transcript: report.sum(|f| f.without_transcript),
        older: report.sum(|f| f.older),
        failures: report.sum(|f| f.failures.len() + usize::from(f.error.is_some())),
        requests: report.tally.requests,
        bytes: report.tally.bytes,
        fetch_secs,
        indexed: indexed.as_ref().map_or(0, |r| r.report.indexed),
        chunks: indexed.as_ref().map_or(0, |r| r.report.chunks),
        index_secs,
        total_secs: t0.elapsed().as_secs_f64(),
    };
    print_summary(config, args, &summary, report.index_pending)?;
    Ok(
        if summary.failed_feeds > 0 || index_failed || messages::errored() {
            Exit::Error
        } else {
            Exit::Success
        },
    )
}

/// Index the library as `podsift index` would; on success the scan's
/// pending mark is cleared. A failure is reported, not returned: the files
/// stay pending and the next scan indexes them. Returns the run and
/// whether indexing failed.
fn index_library(config: &Config, library: &Path) -> Result<(Option<IndexRun>, bool)> {
    let t_index = Instant::now();
    let index_args = IndexArgs {
        paths: vec![library.to_path_buf()],
        rebuild: false,
        max_tokens: None,
        overlap_tokens: None,
        embed_context: None,
        batch_size: None,
        exclude: Vec::new(),
        commit_rows: None,
    };
    match index::index_paths(config, &index_args) {
        Ok(run) => {
            scan::mark_indexed(&config.index)?;
            if !config.json {
                index::print_human(&run.report, t_index.elapsed().as_secs_f64());
            }
            Ok((Some(run), false))
        }
        Err(e) => {
            // The files stay pending: the next scan indexes them.
            errln!(
                "podsift: indexing {}: {}",
                library.display(),
                advice::chain(&e)
            );
            Ok((None, true))
        }
    }
}

/// The scan's summary: a JSON line on stdout, or one line on stderr.
fn print_summary(
    config: &Config,
    args: &ScanArgs,
    summary: &ScanSummary,
    index_pending: bool,
) -> Result<()> {
    if config.json {
        writeln!(config.stdout(), "{}", serde_json::to_string(summary)?)?;
    } else {
        let pending = if index_pending && args.no_index {
            " · new files not indexed (--no-index)"
        } else {
            ""
        };
        errln!(
            "podsift: scanned {} feeds ({} failed): {} new episodes, {} transcripts fetched, \
             {}{} without a transcript · {} requests, {} · {:.2} s{pending}",
            summary.feeds,
            summary.failed_feeds,
            summary.new_episodes,
            summary.transcripts_fetched,
            if args.transcribe {
                format!("{} transcribed, ", summary.transcribed)
            } else {
                String::new()
            },
            summary.without_transcript,
            summary.requests,
            human_bytes(summary.bytes),
            summary.total_secs,
        );
    }
    Ok(())
}

fn print_json(config: &Config, f: &FeedReport) -> Result<()> {
    let line = ScanFeedLine {
        kind: "feed",
        name: &f.name,
        url: &f.url,
        status: f.status.name(),
        error: f.error.as_ref().map(advice::feed),
        items: f.items,
        new_episodes: f.new_episodes,
        transcripts_fetched: f.transcripts_fetched,
        transcribed: f.transcribed,
        audio_s: f.audio_s,
        without_transcript: f.without_transcript,
        older: f.older,
        failures: f.failures.iter().map(advice::feed).collect(),
        given_up: f.given_up,
        warnings: f.warnings.iter().map(ToString::to_string).collect(),
        files: f.files.iter().map(|p| p.display().to_string()).collect(),
        requests: f.tally.requests,
        bytes: f.tally.bytes,
        secs: f.secs,
    };
    writeln!(config.stdout(), "{}", serde_json::to_string(&line)?)?;
    Ok(())
}

fn print_human(f: &FeedReport) {
    match (f.status, &f.error) {
        (FeedStatus::Failed, Some(e)) => {
            errln!("podsift: {}: failed: {}", f.name, advice::feed(e))
        }
        (FeedStatus::NotModified, _) => errln!("podsift: {}: not modified", f.name),
        _ => {
            let older = if f.older > 0 {
                format!(", {} older than --since", f.older)
            } else {
                String::new()
            };
            let failed = match (f.failures.len(), f.given_up) {
                (0, _) => String::new(),
                (n, 0) => format!(", {n} failed (tried again next scan)"),
                (n, g) => format!(", {n} failed ({g} for the last time, after {MAX_TRIES} tries)"),
            };
            let transcribed = if f.transcribed > 0 {
                format!(
                    ", {} transcribed ({:.1} min of audio)",
                    f.transcribed,
                    f.audio_s / 60.0
                )
            } else {
                String::new()
            };
            errln!(
                "podsift: {}: {} new episodes, {} transcripts fetched{transcribed}, {} without a transcript{older}{failed} · {} requests, {}",
                f.name,
                f.new_episodes,
                f.transcripts_fetched,
                f.without_transcript,
                f.tally.requests,
                human_bytes(f.tally.bytes),
            );
        }
    }
    for e in &f.failures {
        errln!("podsift: {}: {}", f.name, advice::feed(e));
    }
    for w in &f.warnings {
        errln!("podsift: {}: warning: {w}", f.name);
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
