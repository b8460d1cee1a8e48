//! `podsift feed add|list|remove|import`: the followed feeds, kept in
//! `<index>/feeds.json` ([`podsift::feed::list`]).
//!
//! Only `feed add` without `--name` touches the network: it fetches the feed
//! once (under the same limits as `scan`) to name the show after its title.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use url::Url;

use super::Exit;
use crate::cli::config::Config;
use crate::cli::{FeedAddArgs, FeedArgs, FeedCommand, FeedImportArgs, FeedRemoveArgs, NetArgs};
use podsift::feed::http::{Client, Fetched, Limits, Tally};
use podsift::feed::library::slug;
use podsift::feed::list::{self, FeedEntry, FeedList};
use podsift::feed::{opml, parse};
use podsift::output::lines::FeedLine;
use podsift::output::safe;

/// Run `feed`.
pub fn run(config: &Config, args: &FeedArgs) -> Result<Exit> {
    match &args.command {
        FeedCommand::Add(a) => add(config, a),
        FeedCommand::List => list(config),
        FeedCommand::Remove(a) => remove(config, a),
        FeedCommand::Import(a) => import(config, a),
    }
}

/// The request limits for `--timeout` and `--retries`.
pub fn limits(net: &NetArgs) -> Result<Limits> {
    if !(net.timeout.is_finite() && net.timeout > 0.0 && net.timeout <= 3600.0) {
        bail!(
            "--timeout {}: expected seconds between 0 and 3600",
            net.timeout
        );
    }
    let timeout = Duration::from_secs_f64(net.timeout);
    let defaults = Limits::default();
    Ok(Limits {
        timeout,
        connect_timeout: defaults.connect_timeout.min(timeout),
        retries: net.retries.min(10),
        ..defaults
    })
}

/// A feed source as a URL: http(s) as given, a local file as `file://`.
fn source_url(source: &str) -> Result<Url> {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Url::parse(source).with_context(|| format!("'{source}' is not a valid URL"));
    }
    let path = match Url::parse(source) {
        Ok(u) if u.scheme() == "file" => u
            .to_file_path()
            .map_err(|()| anyhow::anyhow!("'{source}' is not a local file path"))?,
        _ => Path::new(source).to_path_buf(),
    };
    let abs = std::fs::canonicalize(&path)
        .with_context(|| format!("'{source}' is neither an http(s) URL nor a readable file"))?;
    if !abs.is_file() {
        bail!("'{source}' is a folder, not an RSS file");
    }
    Url::from_file_path(&abs).map_err(|()| anyhow::anyhow!("'{source}': not an absolute path"))
}

fn add(config: &Config, args: &FeedAddArgs) -> Result<Exit> {
    let url = source_url(&args.source)?;
    let named = match &args.name {
        Some(n) => {
            let s = slug(n);
            if s.is_empty() {
                bail!("--name '{n}': a show name needs letters or digits");
            }
            if s != *n {
                errln!("podsift: the show is named '{s}' (a folder name)");
            }
            Some(s)
        }
        None => None,
    };
    let name = match named {
        Some(n) => n,
        None => {
            let client = Client::new(limits(&args.net)?);
            let mut tally = Tally::default();
            let body = match client.get(&url, None, client.limits().max_feed_bytes, &mut tally)? {
                Fetched::Body(b) => b,
                Fetched::NotModified => bail!("{url}: the server answered 304 to a plain request"),
            };
            let feed = parse::parse(&body.bytes, &body.url)?;
            let title = feed.title.as_deref().unwrap_or("");
            let s = slug(title);
            if s.is_empty() {
                bail!("{url}: the feed's title '{title}' gives no folder name; pass --name SHOW");
            }
            let list = FeedList::load(&config.index)?;
            list.free_name(&s)
        }
    };
    let entry = FeedEntry {
        name,
        url: url.to_string(),
        added: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        language: args.language.clone(),
        ..FeedEntry::default()
    };
    list::update(&config.index, |l| l.add(entry.clone()))?;
    if config.json {
        writeln!(
            config.stdout(),
            "{}",
            serde_json::to_string(&FeedLine::action(&entry.name, &entry.url, "added"))?
        )?;
    }
    errln!(
        "podsift: following '{}' ({}); `podsift scan` fetches its episodes",
        entry.name,
        entry.url
    );
    Ok(Exit::Success)
}

fn list(config: &Config) -> Result<Exit> {
    let list = FeedList::load(&config.index)?;
    let mut out = config.stdout();
    if config.json {
        for f in &list.feeds {
            let line = FeedLine {
                kind: "feed",
                name: &f.name,
                url: &f.url,
                action: None,
                added: Some(&f.added),
                last_scan: f.last_scan.as_deref(),
                last_status: f.last_status.as_deref(),
                episodes: Some(f.saved.len()),
                waiting: Some(f.waiting.len()),
            };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        }
    } else {
        let width = list.feeds.iter().map(|f| f.name.len()).max().unwrap_or(4);
        for f in &list.feeds {
            // One line per feed: a status may hold a server's text.
            let line = format!(
                "{:width$}  {:>4} episodes  {:20}  {}  {}",
                f.name,
                f.saved.len(),
                f.last_scan.as_deref().unwrap_or("never scanned"),
                f.last_status.as_deref().unwrap_or("-"),
                f.url,
            );
            writeln!(out, "{}", safe::line(&line))?;
        }
    }
    if list.feeds.is_empty() {
        errln!("podsift: no feeds followed (add one: podsift feed add URL)");
        return Ok(Exit::NoResults);
    }
    Ok(Exit::Success)
}

fn remove(config: &Config, args: &FeedRemoveArgs) -> Result<Exit> {
    let entry = list::update(&config.index, |l| l.remove(&args.name))?;
    if config.json {
        writeln!(
            config.stdout(),
            "{}",
            serde_json::to_string(&FeedLine::action(&entry.name, &entry.url, "removed"))?
        )?;
    }
    errln!(
        "podsift: no longer following '{}'; its library folder and indexed episodes stay \
         (delete library/{} and run podsift index to drop them)",
        entry.name,
        entry.name
    );
    Ok(Exit::Success)
}

fn import(config: &Config, args: &FeedImportArgs) -> Result<Exit> {
    let subs = opml::read(&args.file)?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (added, known, bad) = list::update(&config.index, |l| {
        let (mut added, mut known, mut bad) = (Vec::new(), 0usize, Vec::new());
        for s in &subs {
            let url = match Url::parse(&s.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => u.to_string(),
                Ok(_) | Err(_) => {
                    bad.push(s.url.clone());
                    continue;
                }
            };
            if l.feeds.iter().any(|f| f.url == url) {
                known += 1;
                continue;
            }
            let mut base = slug(s.title.as_deref().unwrap_or(""));
            if base.is_empty() {
                base = slug(&url.replace("://", " "));
            }
            let entry = FeedEntry {
                name: l.free_name(&base),
                url,
                added: now.clone(),
                ..FeedEntry::default()
            };
            l.add(entry.clone())?;
            added.push(entry);
        }
        Ok((added, known, bad))
    })?;
    for e in &added {
        if config.json {
            writeln!(
                config.stdout(),
                "{}",
                serde_json::to_string(&FeedLine::action(&e.name, &e.url, "added"))?
            )?;
        }
    }
    for u in &bad {
        errln!("{}: skipped '{u}': not an http(s) URL", args.file.display());
    }
    errln!(
        "podsift: imported {} feeds from {} · {} already followed · {} skipped",
        added.len(),
        args.file.display(),
        known,
        bad.len()
    );
    Ok(if bad.is_empty() {
        Exit::Success
    } else {
        Exit::Error
    })
}
