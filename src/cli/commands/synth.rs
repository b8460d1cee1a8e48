//! `podsift synth --from INDEX --copies N`: a synthetic index for scale
//! benchmarks. Every passage of the source index is written N times, each copy
//! with a new id, its own episode (`<episode>#<k>`), the same text, and its
//! vector plus Gaussian noise (deterministic), re-normalised. The copies keep
//! the corpus's real text statistics and vector geometry, so BM25 and dense
//! search cost what they would on a real archive of that size.

use anyhow::{Context, Result};

use super::Exit;
use crate::cli::config::Config;
use crate::cli::SynthArgs;
use podsift::store::manifest::{Counts, Manifest};
use podsift::store::state::EpisodeEntry;
use podsift::store::{Store, Writer};

/// A small deterministic Gaussian source (xorshift + Box-Muller).
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }

    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// Run `synth`.
pub fn run(config: &Config, args: &SynthArgs) -> Result<Exit> {
    let src =
        Store::open(&args.from).with_context(|| format!("opening {}", args.from.display()))?;
    let manifest = Manifest {
        generation: 0,
        counts: Counts::default(),
        engines: Vec::new(),
        ..src.manifest().clone()
    };
    let mut writer = Writer::open(&config.index, manifest, true)?;
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let episodes: Vec<(String, EpisodeEntry)> = src
        .episodes()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut written = 0usize;
    for k in 0..args.copies {
        for (id, entry) in &episodes {
            let passages = src.episode_range(id, 0, u64::MAX - 1)?;
            let new_id = format!("{id}#{k}");
            let mut chunks = Vec::with_capacity(passages.len());
            let mut vecs = Vec::with_capacity(passages.len());
            for (i, p) in passages.iter().enumerate() {
                let Some(v) = src.vector(p.chunk_id()) else {
                    continue;
                };
                let mut c = p.clone();
                c.id = podsift::chunk::ChunkId::derive(&new_id, &(i..i + 1));
                c.episode.clone_from(&new_id);
                let lo = i.saturating_sub(1);
                let hi = (i + 2).min(passages.len());
                c.context = passages[lo..hi]
                    .iter()
                    .map(|x| x.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut w: Vec<f32> = v.iter().map(|x| x + args.noise * noise.gauss()).collect();
                let n = w.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
                w.iter_mut().for_each(|x| *x /= n);
                chunks.push(c);
                vecs.push(w);
            }
            written += chunks.len();
            let e = EpisodeEntry {
                file: format!("{}#{k}", entry.file),
                ..entry.clone()
            };
            writer.add_episode(&new_id, e, &chunks, vecs)?;
            if writer.pending_rows() >= 50_000 {
                writer.commit()?;
                errln!("podsift synth: {written} passages");
            }
        }
    }
    writer.commit()?;
    writer.finish()?;
    errln!(
        "podsift synth: wrote {written} passages to {}",
        config.index.display()
    );
    Ok(Exit::Success)
}
