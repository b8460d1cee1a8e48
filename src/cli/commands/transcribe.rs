//! `podsift transcribe`: audio files or URLs → WebVTT files (each with a
//! `.meta.json` sidecar like the scan's), with Whisper on candle.
//!
//! One line per file on stderr (or one `transcribed` object per file on
//! stdout with `--json`); a file that fails is one line, the others go on,
//! and the exit code is 2. A progress bar shows audio minutes done and the
//! real-time factor when stderr is a terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use url::Url;

use super::Exit;
use crate::cli::config::Config;
use crate::cli::{TranscribeArgs, WhisperArgs};
use podsift::embed::device;
use podsift::feed::audio::{self, AudioLimits};
use podsift::feed::http::Tally;
use podsift::feed::library::{self, Sidecar};
use podsift::feed::parse::{Item, TranscriptLink};
use podsift::output::safe;
use podsift::transcribe::{self, vtt, Progress, TranscribeOptions, Transcriber, Transcription};

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    input: &'a str,
    output: String,
    model: &'a str,
    duration_s: f64,
    elapsed_s: f64,
    real_time_factor: f64,
    cues: usize,
    windows: usize,
    silent_windows: usize,
    fallbacks: usize,
    bad_packets: usize,
}

/// Load the Whisper model the flags name, on the configured device.
pub fn load(config: &Config, args: &WhisperArgs) -> Result<Transcriber> {
    let files = transcribe::locate(args.whisper.as_deref(), &config.model_dirs, config.offline)?;
    let (dev, warning) = device::open(config.device)?;
    if let Some(w) = warning {
        errln!("podsift: warning: {w}");
    }
    let t = std::time::Instant::now();
    let options = TranscribeOptions {
        batch: args.whisper_batch.max(1),
        max_duration_s: args.max_audio_hours * 3600.0,
        ..TranscribeOptions::default()
    };
    let tr = Transcriber::load(&files, &dev, options)
        .with_context(|| format!("loading Whisper from {}", files.dir.display()))?;
    if config.verbose > 0 {
        errln!(
            "podsift: Whisper {} ({}) loaded on {} in {:.0} ms",
            files.id,
            files.dir.display(),
            device::name(&dev),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(tr)
}

/// A progress bar for one file (hidden when stderr is not a terminal).
pub fn progress_bar(config: &Config, name: &str) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{spinner} {prefix} {wide_bar} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b.set_prefix(safe::line(name).into_owned());
    b.enable_steady_tick(Duration::from_millis(200));
    b
}

/// Show `p` on `bar`: audio minutes done (of the total, when known) and
/// the real-time factor so far.
pub fn show(bar: &ProgressBar, p: &Progress) {
    if let Some(t) = p.total_s {
        bar.set_length((t * 1000.0) as u64);
    }
    bar.set_position((p.done_s * 1000.0) as u64);
    let total = p
        .total_s
        .map_or_else(String::new, |t| format!(" of {:.1}", t / 60.0));
    let rtf = p.elapsed_s / p.done_s.max(1e-9);
    bar.set_message(format!(
        "{:.1}{total} min audio · RTF {rtf:.3} ({:.1}x real time)",
        p.done_s / 60.0,
        1.0 / rtf.max(1e-9)
    ));
}

/// Run `transcribe`.
pub fn run(config: &Config, args: &TranscribeArgs) -> Result<Exit> {
    if args.output.is_some() && args.inputs.len() > 1 {
        bail!("-o/--output names one file; with several inputs, each VTT goes beside its input");
    }
    let tr = load(config, &args.whisper)?;
    let mut failed = false;
    for input in &args.inputs {
        if let Err(e) = one(config, &tr, input, args.output.as_deref()) {
            errln!("podsift: {input}: {}", crate::cli::advice::chain(&e));
            failed = true;
        }
    }
    Ok(if failed { Exit::Error } else { Exit::Success })
}

fn one(config: &Config, tr: &Transcriber, input: &str, output: Option<&Path>) -> Result<()> {
    let url = Url::parse(input)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let tmp = tempfile::TempDir::new().context("creating a temporary folder")?;
    let (audio_path, default_out, source) = match &url {
        Some(u) => {
            let name = u
                .path_segments()
                .and_then(|mut s| s.next_back())
                .filter(|n| !n.is_empty())
                .unwrap_or("audio");
            let dest = tmp.path().join(name);
            let a = audio::download(u, &dest, &AudioLimits::default(), &mut Tally::default())?;
            (
                a.path,
                PathBuf::from(name).with_extension("vtt"),
                u.to_string(),
            )
        }
        None => {
            let p = PathBuf::from(input);
            let source = std::fs::canonicalize(&p)
                .ok()
                .and_then(|c| Url::from_file_path(c).ok())
                .map_or_else(|| input.to_string(), |u| u.to_string());
            (p.clone(), p.with_extension("vtt"), source)
        }
    };
    let out = output.map_or(default_out, Path::to_path_buf);
    let name = audio_path
        .file_name()
        .map_or_else(|| input.to_string(), |n| n.to_string_lossy().into_owned());
    let bar = progress_bar(config, &name);
    let result = tr.transcribe(&audio_path, &mut |p| show(&bar, p));
    bar.finish_and_clear();
    let t = result?;
    write(&out, &t, tr.model_id(), input, &source)?;
    report(config, input, &out, tr.model_id(), &t)
}

/// Write the VTT and its sidecar.
fn write(out: &Path, t: &Transcription, model: &str, input: &str, source: &str) -> Result<()> {
    let title = Path::new(input)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let item = Item {
        guid: source.to_string(),
        title,
        enclosure_url: Some(source.to_string()),
        duration_s: Some(t.duration_s.round() as u64),
        ..Item::default()
    };
    let show = out
        .canonicalize()
        .ok()
        .or_else(|| std::env::current_dir().ok().map(|d| d.join(out)))
        .and_then(|p| {
            p.parent()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let mut sidecar = Sidecar::new(&show, "", &item, &whisper_link(source));
    sidecar.transcribed_by = Some(model.to_string());
    let side = meta_path(out);
    let mut json = serde_json::to_vec_pretty(&sidecar)?;
    json.push(b'\n');
    library::write_atomic(&side, &json)?;
    let note = format!("transcribed by podsift with {model}");
    library::write_atomic(out, vtt::render(&t.cues, &note).as_bytes())?;
    Ok(())
}

/// The sidecar's `transcript` link of a transcribed episode: the audio it
/// was made from.
pub fn whisper_link(audio_url: &str) -> TranscriptLink {
    TranscriptLink {
        url: audio_url.to_string(),
        mime: "text/vtt".into(),
        language: Some("en".into()),
        rel: Some("captions".into()),
    }
}

/// `out.vtt` → `out.meta.json`.
fn meta_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.meta.json"))
}

fn report(config: &Config, input: &str, out: &Path, model: &str, t: &Transcription) -> Result<()> {
    let rtf = t.real_time_factor();
    if config.json {
        let line = Line {
            kind: "transcribed",
            input,
            output: out.display().to_string(),
            model,
            duration_s: t.duration_s,
            elapsed_s: t.elapsed_s,
            real_time_factor: rtf,
            cues: t.cues.len(),
            windows: t.windows,
            silent_windows: t.silent_windows,
            fallbacks: t.fallbacks,
            bad_packets: t.bad_packets,
        };
        writeln!(config.stdout(), "{}", serde_json::to_string(&line)?)?;
    } else {
        let damaged = if t.bad_packets > 0 {
            format!(" · {} damaged packets skipped", t.bad_packets)
        } else {
            String::new()
        };
        errln!(
            "podsift: {input}: {:.1} min of audio → {} ({} cues) in {:.1} s, RTF {rtf:.3} ({:.1}x real time){damaged}",
            t.duration_s / 60.0,
            out.display(),
            t.cues.len(),
            t.elapsed_s,
            1.0 / rtf.max(1e-9),
        );
        writeln!(config.stdout(), "{}", out.display())?;
    }
    Ok(())
}
