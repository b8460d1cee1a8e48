//! The AMX engine against candle's f32 BERT on generated models of awkward
//! shapes, batch against single, the real model when it is present, and the
//! peak probes (ignored: `cargo test --release --lib amx_peak -- --ignored
//! --nocapture`).
//!
//! Each test prints a note and passes where AMX is missing (CI machines).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use super::{available, Encoder};
use crate::embed::{pooling, Pooling};

fn skip(what: &str) -> bool {
    if available() {
        return false;
    }
    eprintln!("note: this CPU/OS has no usable AMX; skipping {what}");
    true
}

struct Shape {
    hidden: usize,
    heads: usize,
    inter: usize,
    layers: usize,
    act: &'static str,
    prefix: &'static str,
}

const VOCAB: usize = 97;
const POSITIONS: usize = 300;

/// Write `config.json` and `model.safetensors` for `s` into `dir`, with
/// deterministic weights of BERT-like scale.
fn write_model(dir: &Path, s: &Shape) -> Config {
    let cfg = serde_json::json!({
        "model_type": "bert", "vocab_size": VOCAB, "hidden_size": s.hidden,
        "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
        "intermediate_size": s.inter, "hidden_act": s.act, "hidden_dropout_prob": 0.1,
        "max_position_embeddings": POSITIONS, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0
    });
    let mut seed = 0f32;
    let mut t = |shape: &[usize], scale: f32, offset: f32| {
        seed += 1.0;
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| offset + scale * ((i as f32 * 0.618_034 + seed * 1.37).sin() * 1.7).sin())
            .collect();
        Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
    };
    let (h, i) = (s.hidden, s.inter);
    let mut w: HashMap<String, Tensor> = HashMap::new();
    let p = s.prefix;
    w.insert(
        format!("{p}embeddings.word_embeddings.weight"),
        t(&[VOCAB, h], 0.8, 0.0),
    );
    w.insert(
        format!("{p}embeddings.position_embeddings.weight"),
        t(&[POSITIONS, h], 0.3, 0.0),
    );
    w.insert(
        format!("{p}embeddings.token_type_embeddings.weight"),
        t(&[2, h], 0.1, 0.0),
    );
    w.insert(format!("{p}embeddings.LayerNorm.weight"), t(&[h], 0.2, 1.0));
    w.insert(format!("{p}embeddings.LayerNorm.bias"), t(&[h], 0.05, 0.0));
    let wscale = |k: usize| 1.7 / (k as f32).sqrt();
    for l in 0..s.layers {
        let q = format!("{p}encoder.layer.{l}.");
        for (name, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", i, h),
            ("output.dense", h, i),
        ] {
            w.insert(
                format!("{q}{name}.weight"),
                t(&[out, inp], wscale(inp), 0.0),
            );
            w.insert(format!("{q}{name}.bias"), t(&[out], 0.05, 0.0));
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            w.insert(format!("{q}{ln}.weight"), t(&[h], 0.2, 1.0));
            w.insert(format!("{q}{ln}.bias"), t(&[h], 0.05, 0.0));
        }
    }
    candle_core::safetensors::save(&w, dir.join("model.safetensors")).unwrap();
    serde_json::from_value(cfg).unwrap()
}

fn ids(len: usize, salt: usize) -> Vec<u32> {
    (0..len)
        .map(|i| ((i * 31 + salt * 17 + 7) % VOCAB) as u32)
        .collect()
}

fn candle_embed(model: &BertModel, ids: &[u32], pooling_kind: Pooling) -> Vec<f32> {
    let t = Tensor::new(ids, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let mask = t.ones_like().unwrap();
    let hidden = model
        .forward(&t, &t.zeros_like().unwrap(), Some(&mask))
        .unwrap();
    let pooled = pooling::pool(&hidden, &mask, pooling_kind).unwrap();
    pooling::normalize(&pooled)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap()
        .remove(0)
}

fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn compare(s: &Shape, pooling_kind: Pooling, lens: &[usize]) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_model(dir.path(), s);
    let weights = dir.path().join("model.safetensors");
    let enc = Encoder::load(&weights, &cfg, pooling_kind)
        .unwrap()
        .unwrap();
    // SAFETY: the test's file is not modified while mapped.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu) }
        .unwrap();
    let model = BertModel::load(vb, &cfg).unwrap();
    let seqs: Vec<Vec<u32>> = lens.iter().enumerate().map(|(k, &l)| ids(l, k)).collect();
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    let batch = enc.embed(&refs);
    for (seq, got) in seqs.iter().zip(&batch) {
        assert_eq!(got.len(), s.hidden);
        let want = candle_embed(&model, seq, pooling_kind);
        let c = cos(got, &want);
        assert!(
            c > 0.999,
            "hidden {} len {}: cosine {c}",
            s.hidden,
            seq.len()
        );
        // Batch == single: a sequence alone gives the same vector.
        let single = enc.embed(&[seq.as_slice()]).remove(0);
        assert_eq!(&single, got, "batch and single differ at len {}", seq.len());
    }
}

#[test]
fn matches_candle_on_awkward_shapes() {
    if skip("the AMX/candle comparison") {
        return;
    }
    // Head size 16 and hidden 48: nothing a multiple of 32; a "bert."
    // prefix; tanh GELU.
    let odd = Shape {
        hidden: 48,
        heads: 3,
        inter: 100,
        layers: 2,
        act: "geluapproximate",
        prefix: "bert.",
    };
    compare(&odd, Pooling::Mean, &[1, 2, 15, 16, 17, 33, 47, 70]);
    compare(&odd, Pooling::Cls, &[3, 31, 64]);
    // MiniLM-L12 / bge-small / e5-small shape (384 hidden, 12 heads of 32,
    // 1536 FFN), fewer layers for time, exact GELU, mean and CLS.
    let small = Shape {
        hidden: 384,
        heads: 12,
        inter: 1536,
        layers: 3,
        act: "gelu",
        prefix: "",
    };
    compare(&small, Pooling::Mean, &[5, 128, 257]);
    compare(&small, Pooling::Cls, &[9, 200]);
    // Base shape (768 hidden, 12 heads of 64, 3072 FFN), ReLU.
    let base = Shape {
        hidden: 768,
        heads: 12,
        inter: 3072,
        layers: 1,
        act: "relu",
        prefix: "",
    };
    compare(&base, Pooling::Mean, &[40, 99]);
}

#[test]
fn real_model_matches_candle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    if !dir.join("model.safetensors").is_file() {
        eprintln!(
            "note: {} is absent; skipping the real-model check",
            dir.display()
        );
        return;
    }
    if skip("the real-model check") {
        return;
    }
    let files = crate::embed::ModelFiles::from_dir(&dir, "all-MiniLM-L6-v2", "local").unwrap();
    let fast = crate::embed::Embedder::load_with(&files, &Device::Cpu, true).unwrap();
    let slow = crate::embed::Embedder::load_with(&files, &Device::Cpu, false).unwrap();
    assert_eq!(fast.engine_name(), "amx-bf16");
    assert_eq!(slow.engine_name(), "candle-f32");
    let long =
        "and then we talked about compost, soil biology and the way fungi move water. ".repeat(30);
    let texts = [
        "hi",
        "How do podcasts make money?",
        "The guest explains why remote work burnout happens and what managers can do about it.",
        long.as_str(),
    ];
    let a = fast.embed(&texts).unwrap();
    let b = slow.embed(&texts).unwrap();
    for ((t, x), y) in texts.iter().zip(&a).zip(&b) {
        let c = cos(x, y);
        assert!(c > 0.999, "{:.40}: cosine {c}", t);
        let single = fast.embed(&[t]).unwrap().remove(0);
        assert!(cos(&single, x) > 0.999_999, "batch vs single: {:.40}", t);
    }
}

#[test]
#[ignore = "a timing probe, not a check"]
fn amx_peak() {
    if skip("the peak probe") {
        return;
    }
    let (amx, fma) = super::peak_flops().unwrap();
    println!(
        "peak per thread: AMX bf16 {:.1} GFLOP/s, AVX-512 f32 FMA {:.1} GFLOP/s",
        amx / 1e9,
        fma / 1e9
    );
    let two = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| s.spawn(|| super::peak_flops().unwrap()))
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    println!(
        "peak two threads: AMX bf16 {:.1} GFLOP/s, AVX-512 f32 FMA {:.1} GFLOP/s",
        two.0 / 1e9,
        two.1 / 1e9
    );
}

#[test]
#[ignore = "a timing probe, not a check"]
fn forward_rate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    if !dir.join("model.safetensors").is_file() || skip("the forward probe") {
        return;
    }
    let cfg: Config =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let enc = Encoder::load(&dir.join("model.safetensors"), &cfg, Pooling::Mean)
        .unwrap()
        .unwrap();
    let seqs: Vec<Vec<u32>> = (0..8)
        .map(|k| {
            (0..206)
                .map(|i| ((i * 7919 + k * 104_729) % 30_000 + 1000) as u32)
                .collect()
        })
        .collect();
    let reps = std::env::var("FORWARD_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let t = std::time::Instant::now();
    for _ in 0..reps {
        for s in &seqs {
            // SAFETY: available() checked.
            std::hint::black_box(unsafe { enc.bert.embed_one(s) });
        }
    }
    let per = t.elapsed().as_secs_f64() / (reps * seqs.len()) as f64;
    println!("one thread, 206 tokens: {:.2} ms per sequence", per * 1e3);
}
