//! `podsift store init URL`, `podsift push URL`, `search --store URL` and
//! `related|top --store URL`:
//! the PostgreSQL store ([`podsift::store::pg`]).

use std::io::Write;

use anyhow::{Context, Result};

use super::Exit;
use crate::cli::config::Config;
use crate::cli::{PushArgs, RelatedArgs, SearchArgs, StoreAction, StoreArgs, TopArgs};
use podsift::error::Error;
use podsift::insight::archive::pg::PgArchive;
use podsift::insight::top::top_in;
use podsift::output::json::HitKind;
use podsift::output::Printer;
use podsift::rank::{self, Mode};
use podsift::store::pg::push::{PushOptions, PushReport};
use podsift::store::pg::{self, Db};
use podsift::store::Filters;
use podsift::store::Store;

/// Run `store init`.
pub fn init(_config: &Config, args: &StoreArgs) -> Result<Exit> {
    let StoreAction::Init(a) = &args.action;
    let mut db = Db::connect(&a.url)?;
    let reader = (!a.no_reader).then_some(a.reader.as_str());
    let applied = db.init(reader, !a.no_hnsw)?;
    if applied.is_empty() {
        errln!(
            "podsift: {}: schema up to date (version {})",
            db.url(),
            pg::schema_version()
        );
    } else {
        let list: Vec<String> = applied.iter().map(i32::to_string).collect();
        errln!(
            "podsift: {}: applied migration {} (schema version {})",
            db.url(),
            list.join(", "),
            pg::schema_version()
        );
    }
    if let Some(r) = reader {
        errln!("podsift: read-only role: {r} (set its password: alter role {r} password '...')");
    }
    Ok(Exit::Success)
}

/// Run `push`.
pub fn push(config: &Config, args: &PushArgs) -> Result<Exit> {
    let store = Store::open(&config.index)
        .with_context(|| format!("opening index {}", config.index.display()))?;
    let mut db = Db::connect(&args.url)?;
    let opts = PushOptions {
        batch_rows: args.batch_rows as usize,
        pause: args.pause_ms.map(std::time::Duration::from_millis),
    };
    let verbose = config.verbose > 0;
    let report = pg::push::push(&mut db, &store, &opts, &mut |r: &PushReport| {
        if verbose {
            errln!(
                "podsift: pushed {} episodes ({} passages) in {} batches",
                r.episodes,
                r.passages,
                r.batches
            );
        }
    })?;
    if report.episodes == 0 && report.deleted == 0 {
        errln!(
            "podsift: nothing to push: {} episodes up to date in {}",
            report.unchanged,
            db.url()
        );
    } else {
        errln!(
            "podsift: pushed {} episodes ({} passages) in {} transactions, {} unchanged, {} deleted, to {}",
            report.episodes,
            report.passages,
            report.batches,
            report.unchanged,
            report.deleted,
            db.url()
        );
    }
    if config.json {
        let line = serde_json::json!({
            "type": "push",
            "episodes": report.episodes,
            "passages": report.passages,
            "unchanged": report.unchanged,
            "deleted": report.deleted,
            "batches": report.batches,
        });
        let mut out = config.hits_out();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(Exit::Success)
}

/// Run `search --store URL`: the query embedded here, searched there.
pub fn search(config: &Config, args: &SearchArgs, url: &str, mode: Mode) -> Result<Exit> {
    let mut db = Db::connect(url)?;
    db.check_schema()?;
    let embedder = if mode.needs_model() {
        Some(embedder(config, &mut db)?)
    } else {
        None
    };
    let episodes = if args.filters.episode.is_empty() {
        Vec::new()
    } else {
        db.episode_ids()?
    };
    let episodes: Vec<&str> = episodes.iter().map(String::as_str).collect();
    let opts = super::search::options(args, mode, &episodes)?;
    let mut printer = Printer::new(
        super::search::output_format(config, args.explain),
        config.hits_out(),
    );
    let mut any = false;
    let mut answer = |q: &str, printer: &mut Printer<Box<dyn Write>>| -> Result<()> {
        let t = std::time::Instant::now();
        let vector = match (&embedder, q.trim().is_empty()) {
            (Some(e), false) => Some(e.embed_query(q)?),
            _ => None,
        };
        let embed_ms = t.elapsed().as_secs_f64() * 1000.0;
        let (hits, mut summary) = rank::pg::search(&mut db, vector.as_deref(), q, &opts)?;
        summary.embed_ms = embed_ms;
        summary.total_ms += embed_ms;
        any |= !hits.is_empty();
        printer.hits(q, HitKind::Hit, &hits, &summary)?;
        printer.writer().flush()?;
        Ok(())
    };
    if args.stdin {
        for line in std::io::BufRead::lines(std::io::stdin().lock()) {
            let q = line?;
            if !q.trim().is_empty() {
                answer(&q, &mut printer)?;
            }
        }
    } else {
        answer(args.query.as_deref().unwrap_or(""), &mut printer)?;
    }
    Ok(if any { Exit::Success } else { Exit::NoResults })
}

/// The model of the store at `db`, refused when the store holds another
/// model's vectors.
pub fn embedder(config: &Config, db: &mut Db) -> Result<podsift::embed::Embedder> {
    let files = config.model_files(None)?;
    let fp = files.fingerprint()?;
    let stored = db.meta("model_fingerprint")?;
    if let Some(stored) = stored.filter(|s| *s != fp) {
        let id = db.meta("model_id")?.unwrap_or_default();
        return Err(Error::StoreSchema {
            url: db.url().to_string(),
            message: format!(
                "it holds vectors of model '{id}' (fingerprint {stored}), not '{}' ({fp}); search with --model {id}",
                files.id
            ),
            remedy: None,
        }
        .into());
    }
    config.embedder(&files)
}

/// Run `top --store URL`: the window's episodes, passages and vectors,
/// the interests' candidates and the related passages read from the
/// store, ranked here as locally. An episode's "added" is when it was
/// pushed.
pub fn top(config: &Config, args: &TopArgs, url: &str, t0: std::time::Instant) -> Result<Exit> {
    let mut db = Db::connect(url)?;
    db.check_schema()?;
    let embedder = if args.interests.is_empty() {
        None
    } else {
        Some(embedder(config, &mut db)?)
    };
    let opts = super::top::options(args, embedder.as_ref())?;
    let archive = PgArchive::new(&mut db, &Filters::default(), false);
    let (insights, summary) = top_in(&archive, &opts)?;
    super::top::print(config, args, &insights, &summary, t0)
}

/// Run `related --store URL`: the seed's vector, its neighbours and the
/// key-phrase candidates read from the store, ranked here as locally.
pub fn related(config: &Config, args: &RelatedArgs, url: &str) -> Result<Exit> {
    let mut db = Db::connect(url)?;
    db.check_schema()?;
    let local = if args.file.is_some() {
        Some(
            Store::open(&config.index)
                .with_context(|| format!("opening index {}", config.index.display()))?,
        )
    } else {
        None
    };
    let opts = super::related::options(args);
    let archive = PgArchive::new(&mut db, &opts.filters, false);
    super::related::each_seed(args, local.as_ref(), |seed| {
        super::related::answer(config, &archive, seed, &opts)
    })
}
