//! `podsift embed`: the embedder on its own, for throughput benchmarks and
//! parity checks against sentence-transformers.

use std::io::{BufRead, Write};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::Exit;
use crate::cli::config::Config;
use crate::cli::EmbedArgs;

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    id: Option<serde_json::Value>,
    text: String,
}

#[derive(Serialize)]
struct VectorJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a serde_json::Value,
    vector: &'a [f32],
}

#[derive(Serialize)]
struct RunJson {
    #[serde(rename = "type")]
    kind: &'static str,
    run: usize,
    texts: usize,
    tokens: usize,
    secs: f64,
    texts_per_sec: f64,
    batch_size: usize,
    threads: usize,
}

/// Run `embed`.
pub fn run(config: &Config, args: &EmbedArgs) -> Result<Exit> {
    let reader: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(&args.input).with_context(|| args.input.display().to_string())?,
        ))
    };
    let mut ids = Vec::new();
    let mut texts = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Input>(&line) {
            Ok(i) => {
                ids.push(i.id.unwrap_or(serde_json::Value::from(n)));
                texts.push(i.text);
            }
            Err(_) => {
                ids.push(serde_json::Value::from(n));
                texts.push(line);
            }
        }
    }
    let files = config.model_files(None)?;
    let mut embedder = config.embedder(&files)?;
    if let Some(b) = args.batch_size {
        embedder.batch_size = b.max(1);
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = refs
        .iter()
        .map(|t| embedder.count_tokens(t).min(embedder_max(&embedder)) + 2)
        .sum();
    // JSON Lines whatever --json says.
    let mut out = podsift::output::safe::Writer::new(
        std::io::stdout().lock(),
        podsift::output::safe::Mode::Json,
    );
    let mut last = Vec::new();
    for run in 0..args.repeat.max(1) {
        let t = Instant::now();
        last = if args.queries {
            refs.iter()
                .map(|q| embedder.embed_query(q))
                .collect::<podsift::error::Result<_>>()?
        } else {
            embedder.embed_passages(&refs)?
        };
        let secs = t.elapsed().as_secs_f64();
        let r = RunJson {
            kind: "run",
            run,
            texts: refs.len(),
            tokens,
            secs,
            texts_per_sec: refs.len() as f64 / secs.max(1e-9),
            batch_size: embedder.batch_size,
            threads: candle_core::utils::get_num_threads(),
        };
        if args.vectors {
            errln!("{}", serde_json::to_string(&r)?);
        } else {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        }
    }
    if args.vectors {
        for (id, v) in ids.iter().zip(&last) {
            writeln!(
                out,
                "{}",
                serde_json::to_string(&VectorJson {
                    kind: "vector",
                    id,
                    vector: v
                })?
            )?;
        }
    }
    Ok(Exit::Success)
}

fn embedder_max(e: &podsift::embed::Embedder) -> usize {
    e.files().max_seq_len.unwrap_or(512).saturating_sub(2)
}
