//! `podsift brief --profile profile.toml [--send]`
//!
//! [`prepare`] chooses the insights (also used by the `brief` tool of
//! `podsift mcp`, which never records anything); `run` renders them, or
//! hands them to [`send`] to be emailed, and records what was delivered.

pub mod send;

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::search::open;
use super::Exit;
use crate::cli::config::{self, Config};
use crate::cli::{BriefArgs, BriefFormat};
use podsift::embed::Embedder;
use podsift::insight::archive::pg::PgArchive;
use podsift::insight::archive::{Archive, Local};
use podsift::insight::brief::{self, BriefState, Profile};
use podsift::insight::relevance::Interest;
use podsift::insight::top::{top_in, TopOptions, TopSummary};
use podsift::insight::Insight;
use podsift::output::brief::{render_html, render_json, render_markdown, BriefMeta};
use podsift::output::safe::{self, Mode};
use podsift::store::pg::Db;
use podsift::store::Filters;

/// The insights of the next brief, and what is needed to record them.
pub struct Prepared {
    /// The insights, ranked.
    pub insights: Vec<Insight>,
    /// What the brief says about itself.
    pub meta: BriefMeta,
    /// What `top` looked at.
    pub summary: TopSummary,
    /// What earlier briefs sent (not yet updated).
    pub state: BriefState,
    /// Where that state lives.
    pub state_path: PathBuf,
}

/// Choose the next brief's insights for `profile`: new since `since` (else
/// the profile's window, else the last brief, else one day), never one
/// already sent or from an episode already covered. Reads the brief state,
/// never writes it.
pub fn prepare(
    config: &Config,
    archive: &dyn Archive,
    embedder: &Embedder,
    profile: &Profile,
    since: Option<&str>,
    limit: Option<usize>,
) -> Result<Prepared> {
    let interests = profile
        .interests
        .iter()
        .map(|i| Ok(Interest::new(i, embedder.embed_query(i)?)))
        .collect::<podsift::error::Result<Vec<_>>>()?;
    let state_path = BriefState::path_in(&config.index);
    let state = BriefState::load(&state_path)?;
    // The window: the flag, the profile, the last brief, or one day.
    let since = match (since, &profile.since, state.last_brief()) {
        (Some(s), _, _) => config::resolve_date("--since", s)?,
        (None, Some(s), _) => config::resolve_date("since (profile)", s)?,
        (None, None, Some(last)) => last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (None, None, None) => config::resolve_date("--since", "1d")?,
    };
    let episodes = archive.episodes()?;
    let shows: Vec<String> = episodes
        .iter()
        .map(|e| e.show.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let muted: Vec<String> = shows
        .into_iter()
        .filter(|s| !profile.wants_show(s))
        .collect();
    let covered: HashSet<String> = episodes
        .into_iter()
        .map(|e| e.id)
        .filter(|e| state.is_covered(e))
        .collect();
    let opts = TopOptions {
        filters: Filters {
            since: Some(since.clone()),
            not_shows: muted,
            ..Filters::default()
        },
        interests,
        limit: limit.unwrap_or(profile.n),
        per_episode: 1,
        exclude_episodes: covered,
        related: profile.related,
        ..TopOptions::default()
    };
    let (mut insights, summary) = top_in(archive, &opts)?;
    insights.retain(|i| !state.is_sent(i.chunk.id));
    let meta = BriefMeta {
        title: "podsift brief".into(),
        date: chrono::Local::now().format("%Y-%m-%d").to_string(),
        interests: profile.interests.clone(),
        window: format!("since {}", since.get(..10).unwrap_or(&since)),
        episodes_scanned: summary.episodes,
    };
    Ok(Prepared {
        insights,
        meta,
        summary,
        state,
        state_path,
    })
}

/// Call `f` with the archive the brief reads (the local index, or the
/// PostgreSQL store at `store_url`) and the model. With a store, the brief
/// state still lives in the `--index` folder (made when missing).
pub fn with_archive<T>(
    config: &Config,
    store_url: Option<&str>,
    f: impl FnOnce(&dyn Archive, &Embedder) -> Result<T>,
) -> Result<T> {
    let Some(url) = store_url else {
        let (store, embedder) = open(config, true)?;
        let embedder = embedder.context("the brief needs the model to read your interests")?;
        return f(&Local::new(&store, &Filters::default())?, &embedder);
    };
    let mut db = Db::connect(url)?;
    db.check_schema()?;
    let embedder = super::pg::embedder(config, &mut db)?;
    std::fs::create_dir_all(&config.index)
        .with_context(|| format!("making {} for the brief state", config.index.display()))?;
    f(
        &PgArchive::new(&mut db, &Filters::default(), false),
        &embedder,
    )
}

/// Run `brief`.
pub fn run(config: &Config, args: &BriefArgs) -> Result<Exit> {
    let t0 = std::time::Instant::now();
    let text = std::fs::read_to_string(&args.profile)
        .with_context(|| format!("reading profile {}", args.profile.display()))?;
    let profile =
        brief::parse_profile(&text).map_err(|e| anyhow::anyhow!(e.located(&args.profile)))?;
    if args.send {
        return send::run(config, args, &profile);
    }
    let Prepared {
        insights,
        meta,
        summary,
        mut state,
        state_path,
    } = with_archive(config, args.store.as_deref(), |archive, embedder| {
        prepare(
            config,
            archive,
            embedder,
            &profile,
            args.since.as_deref(),
            args.limit,
        )
    })?;
    let format = if config.json {
        BriefFormat::Json
    } else {
        args.format
    };
    let rendered = match format {
        BriefFormat::Md => render_markdown(&insights, &meta),
        BriefFormat::Html => render_html(&insights, &meta),
        BriefFormat::Json => render_json(&insights, &meta),
    };
    match &args.output {
        Some(path) => {
            podsift::store::write_atomic(path, rendered.as_bytes())?;
            errln!(
                "podsift: wrote {} ({} insights)",
                path.display(),
                insights.len()
            );
        }
        None => {
            let mode = match format {
                BriefFormat::Json => Mode::Json,
                BriefFormat::Md | BriefFormat::Html => Mode::Text,
            };
            safe::Writer::new(std::io::stdout().lock(), mode).write_all(rendered.as_bytes())?
        }
    }
    if !args.dry_run {
        state.record(&insights, chrono::Utc::now());
        state.save(&state_path)?;
    }
    if config.verbose > 0 {
        errln!(
            "podsift: brief of {} insights from {} episodes ({} passages) in {:.0} ms{}",
            insights.len(),
            summary.episodes,
            summary.passages,
            t0.elapsed().as_secs_f64() * 1000.0,
            if args.dry_run {
                " (dry run: state unchanged)"
            } else {
                ""
            }
        );
    }
    Ok(Exit::Success)
}
