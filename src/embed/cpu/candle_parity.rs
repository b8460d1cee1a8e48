//! Every tier of our engine this CPU runs against candle's f32 BERT (the
//! reference engine): generated models of awkward shapes, batch against
//! single, and the real model when it is present. A tier the CPU lacks is
//! named on stderr.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

use super::{Encoder, Tier};
use crate::embed::weights::BertWeights;
use crate::embed::{pooling, EngineChoice, Pooling};

/// The tiers this CPU runs; the others are named on stderr.
fn tiers(what: &str) -> Vec<Tier> {
    Tier::ALL
        .into_iter()
        .filter(|t| {
            let ok = t.is_available();
            if !ok {
                eprintln!("skipped: no {t} on this CPU ({what})");
            }
            ok
        })
        .collect()
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
    // SAFETY: the test's file is not modified while mapped.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu) }
        .unwrap();
    let model = BertModel::load(vb, &cfg).unwrap();
    let seqs: Vec<Vec<u32>> = lens.iter().enumerate().map(|(k, &l)| ids(l, k)).collect();
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    let want: Vec<Vec<f32>> = seqs
        .iter()
        .map(|seq| candle_embed(&model, seq, pooling_kind))
        .collect();
    for tier in tiers("the candle comparison") {
        let w = BertWeights::load(&weights, &cfg, pooling_kind).unwrap();
        let enc = Encoder::load(tier, w).unwrap();
        let floor = if tier.precision() == "bf16" {
            0.999
        } else {
            0.999_99
        };
        let batch = enc.embed(&refs);
        for ((seq, got), want) in seqs.iter().zip(&batch).zip(&want) {
            assert_eq!(got.len(), s.hidden);
            let c = cos(got, want);
            assert!(
                c > floor,
                "{tier}: hidden {} len {}: cosine {c}",
                s.hidden,
                seq.len()
            );
            // Batch == single: a sequence alone gives the same vector (to
            // float rounding: batches change how f32 sums are split).
            let single = enc.embed(&[seq.as_slice()]).remove(0);
            assert!(
                cos(&single, got) > 0.999_999,
                "{tier}: batch and single differ at len {}",
                seq.len()
            );
        }
    }
}

#[test]
fn matches_candle_on_awkward_shapes() {
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
            "skipped: {} is absent (run scripts/fetch-model); the real-model check did not run",
            dir.display()
        );
        return;
    }
    let files = crate::embed::ModelFiles::from_dir(&dir, "all-MiniLM-L6-v2", "local").unwrap();
    let slow =
        crate::embed::Embedder::load_with(&files, &Device::Cpu, EngineChoice::Candle).unwrap();
    assert_eq!(slow.engine_name(), "candle-f32");
    let long =
        "and then we talked about compost, soil biology and the way fungi move water. ".repeat(30);
    let texts = [
        "hi",
        "How do podcasts make money?",
        "The guest explains why remote work burnout happens and what managers can do about it.",
        long.as_str(),
    ];
    let b = slow.embed(&texts).unwrap();
    for tier in tiers("the real-model check") {
        let fast =
            crate::embed::Embedder::load_with(&files, &Device::Cpu, EngineChoice::Tier(tier))
                .unwrap();
        assert_eq!(fast.tier(), Some(tier));
        let floor = if tier.precision() == "bf16" {
            0.999
        } else {
            0.999_99
        };
        let a = fast.embed(&texts).unwrap();
        for ((t, x), y) in texts.iter().zip(&a).zip(&b) {
            let c = cos(x, y);
            assert!(c > floor, "{tier} {:.40}: cosine {c}", t);
            let single = fast.embed(&[t]).unwrap().remove(0);
            assert!(
                cos(&single, x) > 0.999_999,
                "{tier} batch vs single: {:.40}",
                t
            );
        }
    }
}
