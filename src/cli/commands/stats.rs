//! `podsift stats`

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;

use super::Exit;
use crate::cli::config::Config;
use crate::cli::StatsArgs;
use podsift::insight::hosts::ShowSpeakers;
use podsift::output::lines::{ShowStats, StatsJson, VerifyJson};
use podsift::store::state::{FoldReason, Outcome};
use podsift::store::{Store, Verified};

fn dir_size(p: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(p) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// What the index holds, as one hash: blake3 over its passage ids (those of
/// the vector segments, sorted, each as 16 hex digits and a newline), then
/// its episode ids (sorted, each and a newline), as 32 hex digits. Two
/// indexes with the same digest hold the same passages of the same
/// episodes, however they were built (`scripts/faults` compares a run that
/// was killed and resumed with a clean one this way).
fn digest(store: &Store) -> String {
    let mut ids: Vec<u64> = store
        .segments()
        .iter()
        .flat_map(|s| s.ids().iter().copied())
        .collect();
    ids.sort_unstable();
    let mut h = blake3::Hasher::new();
    for id in ids {
        h.update(format!("{id:016x}\n").as_bytes());
    }
    for (episode, _) in store.episodes() {
        h.update(episode.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex()[..32].to_string()
}

/// What `store` holds; with `verify`, its checksums are checked too
/// (damage is an error).
pub fn collect<'a>(config: &Config, store: &'a Store, verify: bool) -> Result<StatsJson<'a>> {
    let verify = if verify {
        let t = std::time::Instant::now();
        let Verified {
            checked,
            unchecked,
            rows,
            text_files,
        } = store.verify()?;
        Some(VerifyJson {
            vector_segments: checked,
            without_checksum: unchecked,
            rows,
            text_segments: text_files,
            secs: t.elapsed().as_secs_f64(),
        })
    } else {
        None
    };
    let counts = store.counts();
    let mut per_show: BTreeMap<&str, ShowStats> = BTreeMap::new();
    for (_, e) in store.episodes() {
        let s = per_show.entry(e.show.as_str()).or_default();
        s.episodes += 1;
        s.chunks += e.chunks;
        s.hours += e.duration_ms as f64 / 3.6e6;
    }
    for (show, s) in per_show.iter_mut() {
        s.hours = (s.hours * 10.0).round() / 10.0;
        s.hosts = ShowSpeakers::of_local(store, show)?.host_names();
    }
    let fold_reasons: Vec<FoldReason> = store
        .files()
        .filter_map(|(_, f)| match f.outcome {
            Outcome::Folded { by, .. } => Some(by),
            _ => None,
        })
        .collect();
    let folded_by_content = fold_reasons.iter().filter(|r| r.is_by_content()).count();
    Ok(StatsJson {
        kind: "stats",
        index: config.index.display().to_string(),
        shows: counts.shows,
        episodes: counts.episodes,
        chunks: counts.chunks,
        hours: (counts.duration_ms as f64 / 3.6e5).round() / 10.0,
        model: &store.manifest().model.id,
        dim: store.manifest().model.dim,
        embedded_by: &store.manifest().engines,
        engine: config.engine.on_this_cpu(),
        files: store.files().len(),
        folded_files: fold_reasons.len(),
        folded_by_name: fold_reasons.len() - folded_by_content,
        folded_by_content,
        generation: store.generation(),
        noncontent: store.flagged_noncontent(),
        digest: digest(store),
        bytes_on_disk: dir_size(store.data_dir()),
        per_show,
        verify,
    })
}

/// Run `stats`.
pub fn run(config: &Config, args: &StatsArgs) -> Result<Exit> {
    let store = Store::open(&config.index)?;
    let stats = collect(config, &store, args.verify)?;
    let mut out = config.stdout();
    if config.json {
        writeln!(out, "{}", serde_json::to_string(&stats)?)?;
        return Ok(Exit::Success);
    }
    writeln!(out, "index    {}", stats.index)?;
    writeln!(out, "model    {} ({} dims)", stats.model, stats.dim)?;
    let built = match stats.embedded_by {
        [] => "not recorded".to_string(),
        e => e.join(", "),
    };
    writeln!(
        out,
        "engine   {} here; passages embedded by {built}",
        stats.engine
    )?;
    writeln!(
        out,
        "holds    {} shows, {} episodes, {} passages, {:.1} hours",
        stats.shows, stats.episodes, stats.chunks, stats.hours
    )?;
    writeln!(
        out,
        "files    {} known, {} folded as duplicates ({} by name, {} by content)",
        stats.files, stats.folded_files, stats.folded_by_name, stats.folded_by_content
    )?;
    writeln!(out, "disk     {:.1} MB", stats.bytes_on_disk as f64 / 1e6)?;
    if let Some(v) = &stats.verify {
        let old = if v.without_checksum > 0 {
            format!(
                " ({} vector segments written before checksums, not checked: \
                 `podsift index --rebuild PATH` adds them)",
                v.without_checksum
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "verified {} vector segments ({} rows) and {} full-text segments: \
             all match their checksums{old} · {:.1} s",
            v.vector_segments, v.rows, v.text_segments, v.secs
        )?;
    }
    writeln!(out)?;
    for (show, s) in &stats.per_show {
        let hosts = match s.hosts.as_slice() {
            [] => String::new(),
            names => format!("   hosts: {}", names.join(", ")),
        };
        writeln!(
            out,
            "  {show:<28} {:>5} episodes {:>7} passages {:>7.1} h{hosts}",
            s.episodes, s.chunks, s.hours
        )?;
    }
    Ok(Exit::Success)
}
