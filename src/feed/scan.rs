//! One scan: for every followed feed, fetch it (conditionally), find the
//! items not seen before, download the best transcript of each into the
//! library with its sidecar and chapters, and remember what was done.
//!
//! Feeds are scanned by a few worker threads ([`ScanOptions::jobs`]); one
//! feed's items are fetched one after another (one connection per host at a
//! time). A feed that fails (network, status, size, XML, a redirect podsift
//! does not follow, even a panic: [`scan_feed`]) is reported and the others
//! go on, and the state of every feed is saved; an item whose transcript fails is reported, kept in the
//! feed's `waiting` list and tried again at a later scan, up to
//! [`MAX_TRIES`] times. Chapters that cannot be fetched are a warning: the
//! transcript is kept without them.
//!
//! What counts as "new": an item whose guid is neither saved nor waiting.
//! The feed's validators (ETag, Last-Modified) are remembered only when the
//! whole feed was handled: after an item failed, or items were left out by
//! `--since`, the next scan fetches the full feed again instead of getting
//! `304 Not Modified` and never seeing them.
//!
//! Reports come back through a callback in the order of the feed list, so
//! output is deterministic whatever order the threads finish in. The state
//! is written back with [`list::update`], merged into the list as it is
//! then (a feed added or removed meanwhile stays added or removed). Indexing
//! the new files is the caller's step (it needs the model).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use url::Url;

use super::chapters::{self, Chapter};
use super::error::{FeedError, Result};
use super::http::{check_link, Client, Fetched, Tally};
use super::library::{self, Sidecar};
use super::list::{self, FeedEntry, FeedList, ScanLock, MAX_TRIES};
use super::parse::{self, TranscriptLink};
use super::select::{self, Kind};
use crate::ingest::{self, Format};

/// Settings of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The library folder (`<show>/<date>-<slug>.<ext>` below it).
    pub library: PathBuf,
    /// Only items published on or after this date (`YYYY-MM-DD`); older new
    /// items are left for a later scan.
    pub since: Option<String>,
    /// Preferred transcript language for every feed (else each feed's
    /// setting, else the feed's `<language>`).
    pub language: Option<String>,
    /// Feeds scanned at once.
    pub jobs: usize,
    /// Let a local feed link to any local file, not only to files in its
    /// own folder ([`check_link`]).
    pub allow_local_files: bool,
}

/// How fetching a feed went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStatus {
    /// The feed was fetched and read.
    Fetched,
    /// The server said it has not changed since the last scan.
    NotModified,
    /// The feed could not be fetched or read.
    Failed,
}

impl FeedStatus {
    /// The name used in output.
    pub fn name(self) -> &'static str {
        match self {
            FeedStatus::Fetched => "fetched",
            FeedStatus::NotModified => "not-modified",
            FeedStatus::Failed => "failed",
        }
    }
}

/// What a scan did with one feed.
#[derive(Debug)]
pub struct FeedReport {
    /// The feed's name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// How fetching it went.
    pub status: FeedStatus,
    /// Why it failed, when it did.
    pub error: Option<FeedError>,
    /// Items in the feed document.
    pub items: usize,
    /// Items never seen before.
    pub new_episodes: usize,
    /// Transcripts downloaded into the library.
    pub transcripts_fetched: usize,
    /// New items without a transcript link podsift can use.
    pub without_transcript: usize,
    /// New items left out because they are older than `--since`.
    pub older: usize,
    /// Items whose transcript could not be downloaded or saved.
    pub failures: Vec<FeedError>,
    /// Of those, items that failed for the last time ([`MAX_TRIES`]) and
    /// will not be tried again.
    pub given_up: usize,
    /// Problems that lost nothing essential (chapters).
    pub warnings: Vec<FeedError>,
    /// Library files written (transcripts).
    pub files: Vec<PathBuf>,
    /// Requests and bytes.
    pub tally: Tally,
    /// Seconds spent on this feed.
    pub secs: f64,
}

impl FeedReport {
    fn new(entry: &FeedEntry) -> FeedReport {
        FeedReport {
            name: entry.name.clone(),
            url: entry.url.clone(),
            status: FeedStatus::Fetched,
            error: None,
            items: 0,
            new_episodes: 0,
            transcripts_fetched: 0,
            without_transcript: 0,
            older: 0,
            failures: Vec::new(),
            given_up: 0,
            warnings: Vec::new(),
            files: Vec::new(),
            tally: Tally::default(),
            secs: 0.0,
        }
    }

    /// Whether the feed, or any of its items, failed.
    pub fn failed(&self) -> bool {
        self.status == FeedStatus::Failed || !self.failures.is_empty()
    }
}

/// What a whole scan did.
#[derive(Debug)]
pub struct ScanReport {
    /// One report per feed, in list order.
    pub feeds: Vec<FeedReport>,
    /// Library files wait to be indexed (written now, or by an earlier scan
    /// whose indexing did not finish).
    pub index_pending: bool,
    /// Requests and bytes, all feeds.
    pub tally: Tally,
    /// Seconds in all.
    pub secs: f64,
}

impl ScanReport {
    /// Feeds that failed (the feed itself or one of its items).
    pub fn failed_feeds(&self) -> usize {
        self.feeds.iter().filter(|f| f.failed()).count()
    }

    /// A field summed over the feeds.
    pub fn sum(&self, f: impl Fn(&FeedReport) -> usize) -> usize {
        self.feeds.iter().map(f).sum()
    }
}

/// Scan every feed in the list at `index`. The scan lock must be held.
/// `on_feed` sees each feed's report, in list order, as soon as it and all
/// feeds before it are done.
pub fn scan(
    _lock: &ScanLock,
    index: &Path,
    client: &Client,
    opts: &ScanOptions,
    on_feed: &mut dyn FnMut(&FeedReport),
) -> Result<ScanReport> {
    let t0 = Instant::now();
    let list = FeedList::load(index)?;
    let results = run_feeds(&list.feeds, client, opts, on_feed);
    let wrote = results.iter().any(|(r, _)| !r.files.is_empty());
    let index_pending = list::update(index, |fresh| {
        for (_, done) in &results {
            if let Some(f) = fresh
                .feeds
                .iter_mut()
                .find(|f| f.name == done.name && f.url == done.url)
            {
                f.validators = done.validators.clone();
                f.last_scan = done.last_scan.clone();
                f.last_status = done.last_status.clone();
                f.saved = done.saved.clone();
                f.waiting = done.waiting.clone();
            }
        }
        fresh.index_pending |= wrote;
        Ok(fresh.index_pending)
    })?;
    let mut tally = Tally::default();
    let feeds: Vec<FeedReport> = results
        .into_iter()
        .map(|(r, _)| {
            tally.add(r.tally);
            r
        })
        .collect();
    Ok(ScanReport {
        feeds,
        index_pending,
        tally,
        secs: t0.elapsed().as_secs_f64(),
    })
}

/// Mark the library as indexed (after the caller indexed it).
pub fn mark_indexed(index: &Path) -> Result<()> {
    list::update(index, |l| {
        l.index_pending = false;
        Ok(())
    })
}

/// Scan `feeds` on `opts.jobs` threads; results in list order.
fn run_feeds(
    feeds: &[FeedEntry],
    client: &Client,
    opts: &ScanOptions,
    on_feed: &mut dyn FnMut(&FeedReport),
) -> Vec<(FeedReport, FeedEntry)> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, FeedReport, FeedEntry)>();
    let mut done: Vec<Option<(FeedReport, FeedEntry)>> = feeds.iter().map(|_| None).collect();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.clamp(1, feeds.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(entry) = feeds.get(i) else { break };
                let (report, updated) = scan_feed(client, entry, opts);
                if tx.send((i, report, updated)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut emitted = 0;
        for (i, report, updated) in rx {
            done[i] = Some((report, updated));
            while let Some(Some((r, _))) = done.get(emitted) {
                on_feed(r);
                emitted += 1;
            }
        }
    });
    done.into_iter().flatten().collect()
}

/// Scan one feed; returns its report and its entry with the new state.
///
/// Each feed is scanned in isolation: should podsift itself fail on one
/// (a panic, in podsift or a library it uses, on something a server sent),
/// that feed is reported as failed with [`FeedError::Internal`] and the
/// others go on, their state saved. Nothing is expected to panic here
/// (redirects, sizes and every parser return errors); this is the last
/// line of defence.
pub fn scan_feed(
    client: &Client,
    entry: &FeedEntry,
    opts: &ScanOptions,
) -> (FeedReport, FeedEntry) {
    let t0 = Instant::now();
    let run = std::panic::AssertUnwindSafe(|| scan_feed_inner(client, entry, opts));
    match std::panic::catch_unwind(run) {
        Ok(done) => done,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            let mut report = FeedReport::new(entry);
            report.status = FeedStatus::Failed;
            let error = FeedError::Internal {
                url: entry.url.clone(),
                message,
            };
            let mut next = entry.clone();
            next.last_scan = Some(now());
            next.last_status = Some(format!("failed: {error}"));
            report.error = Some(error);
            report.secs = t0.elapsed().as_secs_f64();
            (report, next)
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn scan_feed_inner(
    client: &Client,
    entry: &FeedEntry,
    opts: &ScanOptions,
) -> (FeedReport, FeedEntry) {
    let t0 = Instant::now();
    let mut report = FeedReport::new(entry);
    let mut next = entry.clone();
    next.last_scan = Some(now());
    let mut tally = Tally::default();
    match fetch_items(client, entry, opts, &mut next, &mut report, &mut tally) {
        Ok(()) => {
            next.last_status = Some(match (report.status, report.failures.len()) {
                (FeedStatus::NotModified, _) => "not modified".into(),
                (_, 0) => "ok".into(),
                (_, n) => format!("{n} transcript(s) failed"),
            });
        }
        Err(e) => {
            report.status = FeedStatus::Failed;
            next.last_status = Some(format!("failed: {e}"));
            report.error = Some(e);
        }
    }
    report.tally = tally;
    report.secs = t0.elapsed().as_secs_f64();
    (report, next)
}

fn fetch_items(
    client: &Client,
    entry: &FeedEntry,
    opts: &ScanOptions,
    next: &mut FeedEntry,
    report: &mut FeedReport,
    tally: &mut Tally,
) -> Result<()> {
    let url = Url::parse(&entry.url).map_err(|e| FeedError::BadUrl {
        url: entry.url.clone(),
        message: e.to_string(),
    })?;
    let validators = (!entry.validators.is_empty()).then_some(&entry.validators);
    let body = match client.get(&url, validators, client.limits().max_feed_bytes, tally)? {
        Fetched::NotModified => {
            report.status = FeedStatus::NotModified;
            return Ok(());
        }
        Fetched::Body(b) => b,
    };
    let feed = parse::parse(&body.bytes, &body.url)?;
    report.items = feed.items.len();
    let language = opts
        .language
        .as_deref()
        .or(entry.language.as_deref())
        .or(feed.language.as_deref());
    let mut complete = true;
    for item in &feed.items {
        if next.saved.contains_key(&item.guid) {
            continue;
        }
        if let (Some(since), Some(date)) = (&opts.since, &item.date) {
            if date < since {
                if !next.waiting.contains_key(&item.guid) {
                    report.older += 1;
                }
                complete = false;
                continue;
            }
        }
        let tries = next.waiting.get(&item.guid).copied();
        if tries.is_some_and(|t| t >= MAX_TRIES) {
            continue;
        }
        if tries.is_none() {
            report.new_episodes += 1;
        }
        let ranked = select::rank(&item.transcripts, language);
        if ranked.is_empty() {
            if tries.is_none() {
                report.without_transcript += 1;
            }
            next.waiting.insert(item.guid.clone(), tries.unwrap_or(0));
            continue;
        }
        match fetch_transcript(client, &body.url, &ranked, opts.allow_local_files, tally) {
            Ok((link, format, bytes)) => {
                let mut sidecar = Sidecar::new(&entry.name, &entry.url, item, link);
                if let Some(href) = &item.chapters_url {
                    match fetch_chapters(client, &body.url, href, opts.allow_local_files, tally) {
                        Ok(ch) => sidecar.chapters = ch,
                        Err(e) => report.warnings.push(e),
                    }
                }
                let ext = select::extension(format);
                match library::write_episode(
                    &opts.library,
                    &entry.name,
                    item,
                    ext,
                    &bytes,
                    &sidecar,
                ) {
                    Ok(path) => {
                        let rel = path
                            .strip_prefix(&opts.library)
                            .unwrap_or(&path)
                            .to_string_lossy()
                            .into_owned();
                        next.saved.insert(item.guid.clone(), rel);
                        next.waiting.remove(&item.guid);
                        report.transcripts_fetched += 1;
                        report.files.push(path);
                    }
                    Err(e) => {
                        complete = false;
                        report.failures.push(e);
                    }
                }
            }
            Err(e) => {
                complete = false;
                let failed = tries.unwrap_or(0) + 1;
                if failed >= MAX_TRIES {
                    report.given_up += 1;
                }
                next.waiting.insert(item.guid.clone(), failed);
                report.failures.push(e);
            }
        }
    }
    // Forget items that left the feed and were never saved.
    let present: std::collections::HashSet<&str> =
        feed.items.iter().map(|i| i.guid.as_str()).collect();
    next.waiting.retain(|g, _| present.contains(g.as_str()));
    if complete {
        next.validators = body.validators;
    }
    Ok(())
}

/// Download the first link of `ranked` that gives a transcript podsift can
/// read; the error is the best link's when none does.
fn fetch_transcript<'a>(
    client: &Client,
    base: &Url,
    ranked: &[(&'a TranscriptLink, Kind)],
    allow_local_files: bool,
    tally: &mut Tally,
) -> Result<(&'a TranscriptLink, Format, Vec<u8>)> {
    let mut first_error = None;
    for &(link, kind) in ranked {
        match fetch_one(client, base, link, kind, allow_local_files, tally) {
            Ok((format, bytes)) => return Ok((link, format, bytes)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| FeedError::invalid("transcript", "no links")))
}

fn fetch_one(
    client: &Client,
    base: &Url,
    link: &TranscriptLink,
    kind: Kind,
    allow_local_files: bool,
    tally: &mut Tally,
) -> Result<(Format, Vec<u8>)> {
    let url = check_link(base, &link.url, allow_local_files)?;
    let bytes = match client.get(&url, None, client.limits().max_transcript_bytes, tally)? {
        Fetched::Body(b) => b.bytes,
        Fetched::NotModified => {
            return Err(FeedError::Status {
                url: url.to_string(),
                status: 304,
            })
        }
    };
    let bad = |message: String| FeedError::Transcript {
        url: url.to_string(),
        message,
    };
    let (text, _) = ingest::decode(&bytes).map_err(|e| bad(e.kind.to_string()))?;
    let format = select::sniff(kind, &text);
    let parsed = format.parse(&text).map_err(|e| bad(e.kind.to_string()))?;
    if parsed.cues.is_empty() {
        return Err(bad("no transcript text found".into()));
    }
    Ok((format, bytes))
}

fn fetch_chapters(
    client: &Client,
    base: &Url,
    href: &str,
    allow_local_files: bool,
    tally: &mut Tally,
) -> Result<Vec<Chapter>> {
    let url = check_link(base, href, allow_local_files)?;
    match client.get(&url, None, client.limits().max_chapters_bytes, tally)? {
        Fetched::Body(b) => chapters::parse(&b.bytes).map_err(|message| FeedError::Chapters {
            url: url.to_string(),
            message,
        }),
        Fetched::NotModified => Ok(Vec::new()),
    }
}
