//! A BERT encoder's weights as plain f32 arrays, read once from
//! safetensors: what every engine tier of our own packs into its layout
//! (the AMX tier into bf16 tiles, the f32 tiers into column panels, the
//! bf16 tier into dot-product pairs).
//!
//! Names follow Hugging Face `modeling_bert.py`, with or without a
//! `bert.` (or `<model_type>.`) prefix, as candle's `models/bert.rs`
//! accepts them.

use std::collections::HashSet;
use std::path::Path;

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device};
use candle_transformers::models::bert::{Config, HiddenAct};

use super::Pooling;

/// Why a model cannot run on one of our own engine tiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The configuration is one the tiers do not implement.
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// A tensor is missing, short, or unreadable.
    #[error("{name}: {message}")]
    Tensor {
        /// The tensor's full name.
        name: String,
        /// What was wrong.
        message: String,
    },
    /// The weights file could not be opened.
    #[error("reading weights: {0}")]
    File(String),
}

/// The feed-forward activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Exact GELU, `x * (1 + erf(x / sqrt 2)) / 2` (BERT's `gelu`).
    Gelu,
    /// tanh-approximated GELU (`gelu_new`).
    GeluTanh,
    /// max(0, x).
    Relu,
}

/// Sizes the forward pass needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dims {
    /// Hidden size (the vector dimension).
    pub hidden: usize,
    /// Attention heads.
    pub heads: usize,
    /// `hidden / heads`.
    pub head_dim: usize,
    /// Feed-forward width.
    pub inter: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Position embeddings (the longest sequence).
    pub max_pos: usize,
    /// LayerNorm epsilon.
    pub eps: f32,
    /// Feed-forward activation.
    pub act: Act,
}

/// A LayerNorm's scale and shift.
pub struct Norm {
    /// Scale.
    pub gamma: Vec<f32>,
    /// Shift.
    pub beta: Vec<f32>,
}

/// A dense layer in PyTorch's layout: `w` is `[n][k]` (out x in).
pub struct Dense {
    /// Weights, `n` rows of `k`.
    pub w: Vec<f32>,
    /// Bias, `n` values.
    pub b: Vec<f32>,
    /// Outputs.
    pub n: usize,
    /// Inputs.
    pub k: usize,
}

/// One encoder layer.
pub struct Layer {
    /// Query, key and value fused along the output: `[3h][h]`.
    pub qkv: Dense,
    /// Attention output.
    pub out: Dense,
    /// LayerNorm after attention.
    pub ln1: Norm,
    /// Feed-forward up.
    pub up: Dense,
    /// Feed-forward down.
    pub down: Dense,
    /// LayerNorm after the feed-forward.
    pub ln2: Norm,
}

/// The whole encoder.
pub struct BertWeights {
    /// Sizes.
    pub dims: Dims,
    /// Word embeddings, `[vocab][h]`.
    pub word: Vec<f32>,
    /// Position embeddings, `[max_pos][h]`.
    pub pos: Vec<f32>,
    /// Token type 0's embedding, `[h]`.
    pub token_type: Vec<f32>,
    /// LayerNorm of the embeddings.
    pub emb_ln: Norm,
    /// Encoder layers.
    pub layers: Vec<Layer>,
    /// Pooling.
    pub pooling: Pooling,
}

impl Dims {
    /// The sizes of `config`, or why our tiers cannot run it.
    pub fn of(config: &Config) -> Result<Dims, LoadError> {
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(LoadError::Unsupported(
                "hidden size not divisible by the head count".into(),
            ));
        }
        if config.hidden_size == 0 || config.vocab_size == 0 || config.max_position_embeddings == 0
        {
            return Err(LoadError::Unsupported("empty dimension".into()));
        }
        let act = match config.hidden_act {
            HiddenAct::Gelu => Act::Gelu,
            HiddenAct::GeluApproximate => Act::GeluTanh,
            HiddenAct::Relu => Act::Relu,
        };
        Ok(Dims {
            hidden: config.hidden_size,
            heads: config.num_attention_heads,
            head_dim: config.hidden_size / config.num_attention_heads,
            inter: config.intermediate_size,
            vocab: config.vocab_size,
            max_pos: config.max_position_embeddings,
            eps: config.layer_norm_eps as f32,
            act,
        })
    }
}

impl BertWeights {
    /// Read `weights` (safetensors, any float type) for `config`.
    pub fn load(weights: &Path, config: &Config, pooling: Pooling) -> Result<Self, LoadError> {
        let d = Dims::of(config)?;
        // SAFETY: the weights file is opened read-only and is not modified
        // while mapped (models/ is written only by scripts/fetch-model).
        let st = unsafe { MmapedSafetensors::new(weights) }
            .map_err(|e| LoadError::File(e.to_string()))?;
        let names: HashSet<String> = st.tensors().into_iter().map(|(n, _)| n).collect();
        let mut prefixes = vec![String::new(), "bert.".to_string()];
        if let Some(t) = &config.model_type {
            prefixes.push(format!("{t}."));
        }
        let prefix = prefixes
            .into_iter()
            .find(|p| names.contains(&format!("{p}embeddings.word_embeddings.weight")))
            .ok_or_else(|| LoadError::Tensor {
                name: "embeddings.word_embeddings.weight".into(),
                message: "not in the weights".into(),
            })?;
        let get = |name: &str, len: usize| -> Result<Vec<f32>, LoadError> {
            let full = format!("{prefix}{name}");
            let err = |message: String| LoadError::Tensor {
                name: full.clone(),
                message,
            };
            let mut v = st
                .load(&full, &Device::Cpu)
                .and_then(|t| t.to_dtype(DType::F32))
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| err(e.to_string()))?;
            if v.len() < len {
                return Err(err(format!("{} values, expected {len}", v.len())));
            }
            v.truncate(len);
            Ok(v)
        };
        let (h, i) = (d.hidden, d.inter);
        let norm = |p: &str| -> Result<Norm, LoadError> {
            Ok(Norm {
                gamma: get(&format!("{p}.weight"), h)?,
                beta: get(&format!("{p}.bias"), h)?,
            })
        };
        let dense = |p: &str, n: usize, k: usize| -> Result<Dense, LoadError> {
            Ok(Dense {
                w: get(&format!("{p}.weight"), n * k)?,
                b: get(&format!("{p}.bias"), n)?,
                n,
                k,
            })
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            let mut w = Vec::with_capacity(3 * h * h);
            let mut b = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                let one = dense(&format!("{p}.attention.self.{part}"), h, h)?;
                w.extend_from_slice(&one.w);
                b.extend_from_slice(&one.b);
            }
            layers.push(Layer {
                qkv: Dense {
                    w,
                    b,
                    n: 3 * h,
                    k: h,
                },
                out: dense(&format!("{p}.attention.output.dense"), h, h)?,
                ln1: norm(&format!("{p}.attention.output.LayerNorm"))?,
                up: dense(&format!("{p}.intermediate.dense"), i, h)?,
                down: dense(&format!("{p}.output.dense"), h, i)?,
                ln2: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(BertWeights {
            dims: d,
            word: get("embeddings.word_embeddings.weight", d.vocab * h)?,
            pos: get("embeddings.position_embeddings.weight", d.max_pos * h)?,
            token_type: get("embeddings.token_type_embeddings.weight", h)?,
            emb_ln: norm("embeddings.LayerNorm")?,
            layers,
            pooling,
        })
    }

    /// Word + position + token type 0 for `ids` (clamped to the vocabulary;
    /// at most `max_pos` of them), into `x` (`ids.len()` rows of `h`).
    pub fn embed_tokens(&self, ids: &[u32], x: &mut [f32]) {
        let h = self.dims.hidden;
        for (row, (&id, x)) in ids.iter().zip(x.chunks_exact_mut(h)).enumerate() {
            let id = (id as usize).min(self.dims.vocab - 1);
            let w = &self.word[id * h..(id + 1) * h];
            let p = &self.pos[row * h..(row + 1) * h];
            for k in 0..h {
                x[k] = w[k] + p[k] + self.token_type[k];
            }
        }
    }
}

/// Pool `rows` token vectors of width `h` (`x`, row-major) and L2-normalise,
/// in f64 so that every tier rounds the same way.
pub fn pool(x: &[f32], rows: usize, h: usize, pooling: Pooling) -> Vec<f32> {
    let mut v = vec![0f32; h];
    match pooling {
        Pooling::Cls => v.copy_from_slice(&x[..h]),
        Pooling::Mean => {
            let mut acc = vec![0f64; h];
            for row in x[..rows * h].chunks_exact(h) {
                for (a, &b) in acc.iter_mut().zip(row) {
                    *a += b as f64;
                }
            }
            for (o, a) in v.iter_mut().zip(&acc) {
                *o = (*a / rows.max(1) as f64) as f32;
            }
        }
    }
    let norm = v
        .iter()
        .map(|&a| (a as f64) * (a as f64))
        .sum::<f64>()
        .sqrt()
        .max(1e-12);
    v.iter_mut().for_each(|a| *a = (*a as f64 / norm) as f32);
    v
}
