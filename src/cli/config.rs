//! `Cli` -> `Config`: resolved paths, the model to use, the device, and how
//! to print. Commands see only `Config`.

use std::io::{IsTerminal, StdoutLock};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Cli, ColorChoice, FilterArgs};
use podsift::embed::device::{self, DeviceChoice};
use podsift::embed::model::{Locator, ModelSource, DEFAULT_MODEL};
use podsift::embed::{Embedder, EngineChoice, ModelFiles};
use podsift::output::safe::{self, Mode};
use podsift::rank::Filters;
use podsift::store::manifest::Manifest;

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The index folder.
    pub index: PathBuf,
    /// `--model`, if given.
    pub model: Option<String>,
    /// The device.
    pub device: DeviceChoice,
    /// JSON Lines output.
    pub json: bool,
    /// Verbosity.
    pub verbose: u8,
    /// Colour on stdout.
    pub color: bool,
    /// Progress bars on stderr.
    pub progress: bool,
    /// Where model folders are looked for.
    pub model_dirs: Vec<PathBuf>,
    /// HF_HUB_OFFLINE.
    pub offline: bool,
    /// The embedding engine (`PODSIFT_ENGINE`).
    pub engine: EngineChoice,
}

impl Config {
    /// Resolve the raw arguments.
    pub fn from_cli(cli: &Cli) -> Result<Config> {
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let offline = std::env::var("HF_HUB_OFFLINE")
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false);
        Ok(Config {
            index: cli.index.clone().unwrap_or_else(|| PathBuf::from("index")),
            model: cli.model.clone(),
            device: cli.device.parse().context("--device")?,
            json: cli.json,
            verbose: cli.verbose,
            color,
            progress: std::io::stderr().is_terminal(),
            model_dirs: model_dirs(),
            offline,
            engine: engine_choice()?,
        })
    }

    /// Standard output for results, cleaned ([`safe::Writer`]): under
    /// `--json`, DEL and C1 controls are escaped (the same JSON values);
    /// otherwise every control but newline and tab is removed. Only the
    /// coloured human printer of `search` and `related`, which cleans its
    /// fields itself, writes to stdout another way.
    pub fn stdout(&self) -> safe::Writer<StdoutLock<'static>> {
        let mode = if self.json { Mode::Json } else { Mode::Text };
        safe::Writer::new(std::io::stdout().lock(), mode)
    }

    /// The stream for the hit printer ([`podsift::output::Printer`]) of
    /// `search` and `related`: [`Config::stdout`], except in colour, where
    /// the human printer cleans each field before it paints it and so gets
    /// the terminal as it is (its colour codes must pass).
    pub fn hits_out(&self) -> Box<dyn std::io::Write> {
        if self.color && !self.json {
            Box::new(std::io::stdout().lock())
        } else {
            Box::new(self.stdout())
        }
    }

    /// Locate the model: `--model` if given, else the one the index was built
    /// with (from where it was loaded, or by id), else the default.
    pub fn model_files(&self, manifest: Option<&Manifest>) -> Result<ModelFiles> {
        let locator = Locator {
            model_dirs: self.model_dirs.clone(),
            offline: self.offline,
        };
        let source = match (&self.model, manifest) {
            (Some(spec), _) => ModelSource::parse(spec),
            (None, Some(m))
                if Path::new(&m.model.source)
                    .join("model.safetensors")
                    .is_file() =>
            {
                ModelSource::Dir(PathBuf::from(&m.model.source))
            }
            (None, Some(m)) => ModelSource::Hub {
                id: m.model.id.clone(),
                revision: m.model.revision.clone(),
            },
            (None, None) => ModelSource::parse(DEFAULT_MODEL),
        };
        Ok(locator.locate(&source)?)
    }

    /// The engine to load on `dev`: the configured one, or candle in f32
    /// on a GPU with `PODSIFT_GPU_F32=1`.
    pub fn engine_on(&self, dev: &candle_core::Device) -> EngineChoice {
        gpu_f32(self.engine, dev)
    }

    /// Load the embedder on the configured device; a fallback warning goes to
    /// stderr.
    pub fn embedder(&self, files: &ModelFiles) -> Result<Embedder> {
        let (dev, warning) = device::open(self.device)?;
        if let Some(w) = warning {
            errln!("podsift: warning: {w}");
        }
        let t = std::time::Instant::now();
        let e = Embedder::load_with(files, &dev, self.engine_on(&dev))
            .with_context(|| format!("loading model from {}", files.dir.display()))?;
        if self.verbose > 0 {
            errln!(
                "podsift: model {} ({} dims, {}) loaded on {} in {:.0} ms; engine {}",
                files.id,
                e.dim(),
                files.dir.display(),
                device::name(&dev),
                t.elapsed().as_secs_f64() * 1000.0,
                e.engine_name()
            );
        }
        Ok(e)
    }
}

/// `PODSIFT_GPU_F32=1`: candle computes in f32 on a GPU too (the
/// reference for its bf16), where the engine is left to choose or is candle.
fn gpu_f32(choice: EngineChoice, dev: &candle_core::Device) -> EngineChoice {
    let asked = std::env::var_os("PODSIFT_GPU_F32").is_some();
    match choice {
        EngineChoice::Auto | EngineChoice::Candle if asked && dev.is_cuda() => {
            EngineChoice::CandleF32
        }
        c => c,
    }
}

/// The engine `PODSIFT_ENGINE` names (`auto` when unset). The older
/// `PODSIFT_NO_AMX=1` still means candle, as it did when AMX and candle were
/// the only engines.
fn engine_choice() -> Result<EngineChoice> {
    if let Some(v) = std::env::var_os("PODSIFT_ENGINE") {
        let v = v.to_string_lossy();
        return v.parse().with_context(|| "PODSIFT_ENGINE".to_string());
    }
    let no_amx = std::env::var_os("PODSIFT_NO_AMX").is_some_and(|v| !v.is_empty() && v != "0");
    Ok(if no_amx {
        EngineChoice::Candle
    } else {
        EngineChoice::Auto
    })
}

/// Folders that may hold model folders, most specific first: the
/// `PODSIFT_MODELS` variable, `models/` next to the executable's repository
/// (`target/release/podsift` -> `models/`), the source tree this binary was
/// built from, and `./models`.
fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("PODSIFT_MODELS") {
        dirs.push(PathBuf::from(d));
    }
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            let m = up.join("models");
            if m.is_dir() {
                dirs.push(m);
            }
        }
    }
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"));
    dirs.push(PathBuf::from("models"));
    dirs.dedup();
    dirs
}

/// A date flag as `YYYY-MM-DD`: a date, or `Nd`/`Nw`/`Nm`/`Ny` before today
/// ([`podsift::value::date`]).
pub fn resolve_date(flag: &str, value: &str) -> Result<String> {
    let today = chrono::Local::now().date_naive();
    podsift::value::date(value, today).map_err(|e| anyhow::anyhow!("{flag} {e}"))
}

/// Filter flags to [`Filters`]; episode names are resolved against the
/// index's episode ids (an id, or the end of one after a `/`).
pub fn filters(args: &FilterArgs, episodes: &[&str]) -> Result<Filters> {
    let mut eps = Vec::new();
    for want in &args.episode {
        let matches: Vec<&str> = episodes
            .iter()
            .copied()
            .filter(|id| *id == want || id.ends_with(&format!("/{want}")))
            .collect();
        if matches.is_empty() {
            anyhow::bail!(
                "--episode '{want}': no such episode in the index (see: podsift stats --episodes)"
            );
        }
        eps.extend(matches.into_iter().map(str::to_string));
    }
    Ok(Filters {
        shows: args.show.clone(),
        not_shows: Vec::new(),
        episodes: eps,
        speaker: args.speaker.clone(),
        since: args
            .since
            .as_deref()
            .map(|s| resolve_date("--since", s))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| resolve_date("--until", s))
            .transpose()?,
        include_noncontent: args.include_ads,
    })
}
