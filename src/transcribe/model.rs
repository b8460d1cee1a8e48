//! The Whisper network on candle, shaped for transcribing many windows:
//! the encoder takes a batch of spectrograms; the decoder steps a batch of
//! token sequences with a key/value cache for its self-attention and the
//! cross-attention keys and values computed once per batch.
//!
//! It mirrors candle-transformers' `models::whisper::model` (and OpenAI's
//! `whisper/model.py`) and loads the same Hugging Face weights, with three
//! changes for speed: q, k and v are one fused projection; the decoder
//! caches self-attention keys and values, so each step costs one token, not
//! the whole prefix (candle's re-runs the prefix every step); and the
//! output projection reads a pre-transposed copy of the token embedding.
//! GELU is the exact (erf) one, as in PyTorch's `nn.GELU()`.
//! See: <https://github.com/openai/whisper/blob/main/whisper/model.py>.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::kv_cache::KvCache;
use candle_nn::{Conv1d, Conv1dConfig, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

/// Query rows per slice of the encoder's self-attention.
const QUERY_ROWS: usize = 250;

/// The model dimensions, from the Hugging Face `config.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    /// Mel bands of the input (80; 128 for large-v3).
    pub num_mel_bins: usize,
    /// Encoder positions (1500 for 30 s).
    pub max_source_positions: usize,
    /// Width.
    pub d_model: usize,
    /// Encoder heads.
    pub encoder_attention_heads: usize,
    /// Encoder layers.
    pub encoder_layers: usize,
    /// Vocabulary size (51864 for English-only models, 51865+ otherwise).
    pub vocab_size: usize,
    /// Decoder positions (448).
    pub max_target_positions: usize,
    /// Decoder heads.
    pub decoder_attention_heads: usize,
    /// Decoder layers.
    pub decoder_layers: usize,
    /// Tokens never to be sampled.
    #[serde(default)]
    pub suppress_tokens: Vec<u32>,
    /// Tokens never to be sampled first.
    #[serde(default)]
    pub begin_suppress_tokens: Vec<u32>,
}

fn linear(vb: &VarBuilder, i: usize, o: usize, bias: bool) -> candle_core::Result<Linear> {
    let w = vb.get((o, i), "weight")?;
    let b = if bias { Some(vb.get(o, "bias")?) } else { None };
    Ok(Linear::new(w, b))
}

fn layer_norm(vb: &VarBuilder, n: usize) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(n, "weight")?,
        vb.get(n, "bias")?,
        1e-5,
    ))
}

/// Attention weights. Self-attention has q, k and v fused into one matrix
/// (k has no bias in Whisper: zeros there); cross-attention keeps q apart
/// from the fused k, v of the encoder output.
#[derive(Debug, Clone)]
struct Attention {
    /// Self: q,k,v (3d × d); cross: q (d × d).
    q_or_qkv: Linear,
    /// Cross only: k,v (2d × d).
    kv: Option<Linear>,
    out: Linear,
    heads: usize,
    d: usize,
}

impl Attention {
    fn load(vb: VarBuilder, d: usize, heads: usize, cross: bool) -> candle_core::Result<Self> {
        let q = vb.pp("q_proj");
        let k = vb.pp("k_proj");
        let v = vb.pp("v_proj");
        let (qw, qb) = (q.get((d, d), "weight")?, q.get(d, "bias")?);
        let kw = k.get((d, d), "weight")?;
        let kb = Tensor::zeros(d, qb.dtype(), qb.device())?;
        let (vw, vb_) = (v.get((d, d), "weight")?, v.get(d, "bias")?);
        let out = linear(&vb.pp("out_proj"), d, d, true)?;
        if cross {
            Ok(Attention {
                q_or_qkv: Linear::new(qw, Some(qb)),
                kv: Some(Linear::new(
                    Tensor::cat(&[kw, vw], 0)?,
                    Some(Tensor::cat(&[kb, vb_], 0)?),
                )),
                out,
                heads,
                d,
            })
        } else {
            Ok(Attention {
                q_or_qkv: Linear::new(
                    Tensor::cat(&[qw, kw, vw], 0)?,
                    Some(Tensor::cat(&[qb, kb, vb_], 0)?),
                ),
                kv: None,
                out,
                heads,
                d,
            })
        }
    }

    /// (b, t, k·d) → k tensors of (b, heads, t, d/heads), contiguous.
    fn split(&self, x: &Tensor, k: usize) -> candle_core::Result<Vec<Tensor>> {
        let (b, t, _) = x.dims3()?;
        let dh = self.d / self.heads;
        let x = x.reshape((b, t, k, self.heads, dh))?;
        (0..k)
            .map(|i| x.narrow(2, i, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous())
            .collect()
    }

    /// softmax(q kᵀ / √dh + mask) v, heads merged back: (b, tq, d).
    fn attend(
        &self,
        q: &Tensor,
        k_t: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let dh = self.d / self.heads;
        let q = (q * (dh as f64).powf(-0.5))?;
        let mut w = q.matmul(k_t)?;
        if let Some(m) = mask {
            w = w.broadcast_add(m)?;
        }
        let w = candle_nn::ops::softmax_last_dim(&w)?;
        let o = w.matmul(v)?;
        let (b, _, t, _) = o.dims4()?;
        o.transpose(1, 2)?.reshape((b, t, self.d))
    }

    /// Self-attention over `x` itself (encoder), no cache. The queries go
    /// through in slices of [`QUERY_ROWS`], so that the score matrix of a
    /// slice stays a few MB: a whole window's (6 × 1500 × 1500 floats,
    /// 54 MB) is a fresh mapping from the OS on every layer, and zeroing
    /// those pages cost a fifth of the encoder's time.
    fn forward_full(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let qkv = self.q_or_qkv.forward(x)?;
        let p = self.split(&qkv, 3)?;
        let k_t = p[1].transpose(2, 3)?.contiguous()?;
        let t = p[0].dim(2)?;
        let o = if t <= QUERY_ROWS {
            self.attend(&p[0], &k_t, &p[2], None)?
        } else {
            let parts = (0..t)
                .step_by(QUERY_ROWS)
                .map(|s| {
                    let q = p[0].narrow(2, s, QUERY_ROWS.min(t - s))?;
                    self.attend(&q, &k_t, &p[2], None)
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::cat(&parts, 1)?
        };
        self.out.forward(&o)
    }

    /// Self-attention of new positions against the cached ones.
    fn forward_cached(
        &self,
        x: &Tensor,
        cache: &mut KvCache,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let qkv = self.q_or_qkv.forward(x)?;
        let p = self.split(&qkv, 3)?;
        let (k, v) = cache.append(&p[1], &p[2])?;
        let k_t = k.transpose(2, 3)?.contiguous()?;
        let o = self.attend(&p[0], &k_t, &v.contiguous()?, mask)?;
        self.out.forward(&o)
    }

    /// Cross-attention keys (transposed) and values of the encoder output.
    fn cross_kv(&self, audio: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let kv = self
            .kv
            .as_ref()
            .ok_or_else(|| candle_core::Error::Msg("not a cross-attention".into()))?
            .forward(audio)?;
        let p = self.split(&kv, 2)?;
        Ok((p[0].transpose(2, 3)?.contiguous()?, p[1].clone()))
    }

    fn forward_cross(&self, x: &Tensor, kv: &(Tensor, Tensor)) -> candle_core::Result<Tensor> {
        let q = self.q_or_qkv.forward(x)?;
        let q = self.split(&q, 1)?.remove(0);
        let o = self.attend(&q, &kv.0, &kv.1, None)?;
        self.out.forward(&o)
    }
}

#[derive(Debug, Clone)]
struct Block {
    attn: Attention,
    attn_ln: LayerNorm,
    cross: Option<(Attention, LayerNorm)>,
    fc1: Linear,
    fc2: Linear,
    mlp_ln: LayerNorm,
}

impl Block {
    fn load(vb: VarBuilder, d: usize, heads: usize, cross: bool) -> candle_core::Result<Self> {
        let cross = if cross {
            Some((
                Attention::load(vb.pp("encoder_attn"), d, heads, true)?,
                layer_norm(&vb.pp("encoder_attn_layer_norm"), d)?,
            ))
        } else {
            None
        };
        Ok(Block {
            attn: Attention::load(vb.pp("self_attn"), d, heads, false)?,
            attn_ln: layer_norm(&vb.pp("self_attn_layer_norm"), d)?,
            cross,
            fc1: linear(&vb.pp("fc1"), d, 4 * d, true)?,
            fc2: linear(&vb.pp("fc2"), 4 * d, d, true)?,
            mlp_ln: layer_norm(&vb.pp("final_layer_norm"), d)?,
        })
    }

    fn mlp(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.fc1.forward(&self.mlp_ln.forward(x)?)?.gelu_erf()?;
        x + self.fc2.forward(&h)?
    }
}

/// Per-batch decoder state: the self-attention caches and the
/// cross-attention keys and values of each layer.
#[derive(Debug)]
pub struct DecoderState {
    self_kv: Vec<KvCache>,
    cross_kv: Vec<(Tensor, Tensor)>,
    /// Positions filled so far.
    pos: usize,
}

impl DecoderState {
    /// Positions decoded so far (prompt included).
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing was decoded yet.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
}

/// A loaded Whisper model.
#[derive(Debug, Clone)]
pub struct Whisper {
    config: Config,
    conv1: Conv1d,
    conv2: Conv1d,
    enc_pos: Tensor,
    enc_blocks: Vec<Block>,
    enc_ln: LayerNorm,
    tok_emb: Tensor,
    /// The token embedding transposed, (d, vocab), for the output projection.
    tok_emb_t: Tensor,
    dec_pos: Tensor,
    dec_blocks: Vec<Block>,
    dec_ln: LayerNorm,
    device: Device,
    dtype: DType,
}

impl Whisper {
    /// Build from Hugging Face weights (`model.encoder.*`, `model.decoder.*`).
    pub fn load(vb: VarBuilder, config: Config) -> candle_core::Result<Whisper> {
        let d = config.d_model;
        let e = vb.pp("model.encoder");
        let conv = |vb: VarBuilder, i: usize, stride: usize| -> candle_core::Result<Conv1d> {
            Ok(Conv1d::new(
                vb.get((d, i, 3), "weight")?,
                Some(vb.get(d, "bias")?),
                Conv1dConfig {
                    padding: 1,
                    stride,
                    dilation: 1,
                    groups: 1,
                    cudnn_fwd_algo: None,
                },
            ))
        };
        let conv1 = conv(e.pp("conv1"), config.num_mel_bins, 1)?;
        let conv2 = conv(e.pp("conv2"), d, 2)?;
        let enc_pos = e.get((config.max_source_positions, d), "embed_positions.weight")?;
        let enc_blocks = (0..config.encoder_layers)
            .map(|i| {
                Block::load(
                    e.pp(format!("layers.{i}")),
                    d,
                    config.encoder_attention_heads,
                    false,
                )
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let enc_ln = layer_norm(&e.pp("layer_norm"), d)?;
        let dv = vb.pp("model.decoder");
        let tok_emb = dv.get((config.vocab_size, d), "embed_tokens.weight")?;
        let tok_emb_t = tok_emb.t()?.contiguous()?;
        let dec_pos = dv.get((config.max_target_positions, d), "embed_positions.weight")?;
        let dec_blocks = (0..config.decoder_layers)
            .map(|i| {
                Block::load(
                    dv.pp(format!("layers.{i}")),
                    d,
                    config.decoder_attention_heads,
                    true,
                )
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let dec_ln = layer_norm(&dv.pp("layer_norm"), d)?;
        Ok(Whisper {
            device: vb.device().clone(),
            dtype: vb.dtype(),
            config,
            conv1,
            conv2,
            enc_pos,
            enc_blocks,
            enc_ln,
            tok_emb,
            tok_emb_t,
            dec_pos,
            dec_blocks,
            dec_ln,
        })
    }

    /// The dimensions.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The device the weights are on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The dtype computations run in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Encode a batch of spectrograms `(b, n_mels, 3000)` → `(b, 1500, d)`.
    pub fn encode(&self, mel: &Tensor) -> candle_core::Result<Tensor> {
        let x = self.conv1.forward(&mel.to_dtype(self.dtype)?)?.gelu_erf()?;
        let x = self.conv2.forward(&x)?.gelu_erf()?;
        let x = x.transpose(1, 2)?;
        let t = x.dim(1)?;
        let mut x = x.broadcast_add(&self.enc_pos.narrow(0, 0, t)?)?;
        for b in &self.enc_blocks {
            let a = b.attn.forward_full(&b.attn_ln.forward(&x)?)?;
            x = b.mlp(&(x + a)?)?;
        }
        self.enc_ln.forward(&x)
    }

    /// A fresh decoder state for a batch of encoder outputs `(b, 1500, d)`.
    pub fn start(&self, audio: &Tensor) -> candle_core::Result<DecoderState> {
        let cross_kv = self
            .dec_blocks
            .iter()
            .map(|b| match &b.cross {
                Some((a, _)) => a.cross_kv(audio),
                None => Err(candle_core::Error::Msg(
                    "decoder block without cross-attention".into(),
                )),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let self_kv = self
            .dec_blocks
            .iter()
            .map(|_| KvCache::new(2, self.config.max_target_positions))
            .collect();
        Ok(DecoderState {
            self_kv,
            cross_kv,
            pos: 0,
        })
    }

    /// Feed `tokens` `(b, l)` (u32) at the next positions; the final hidden
    /// states `(b, l, d)` (after the last layer norm).
    pub fn step(&self, st: &mut DecoderState, tokens: &Tensor) -> candle_core::Result<Tensor> {
        let (_, l) = tokens.dims2()?;
        if st.pos + l > self.config.max_target_positions {
            return Err(candle_core::Error::Msg(format!(
                "decoder context full ({} positions)",
                self.config.max_target_positions
            )));
        }
        let emb = candle_nn::Embedding::new(self.tok_emb.clone(), self.config.d_model);
        let mut x = emb
            .forward(tokens)?
            .broadcast_add(&self.dec_pos.narrow(0, st.pos, l)?)?;
        let mask = if l > 1 {
            let past = st.pos;
            let m: Vec<f32> = (0..l)
                .flat_map(|i| {
                    (0..past + l).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 })
                })
                .collect();
            Some(Tensor::from_vec(m, (l, past + l), &self.device)?.to_dtype(self.dtype)?)
        } else {
            None
        };
        for (i, b) in self.dec_blocks.iter().enumerate() {
            let a = b.attn.forward_cached(
                &b.attn_ln.forward(&x)?,
                &mut st.self_kv[i],
                mask.as_ref(),
            )?;
            x = (x + a)?;
            if let Some((c, ln)) = &b.cross {
                let a = c.forward_cross(&ln.forward(&x)?, &st.cross_kv[i])?;
                x = (x + a)?;
            }
            x = b.mlp(&x)?;
        }
        st.pos += l;
        self.dec_ln.forward(&x)
    }

    /// Logits `(b, vocab)` (f32) of hidden states `(b, d)`.
    pub fn logits(&self, hidden: &Tensor) -> candle_core::Result<Tensor> {
        hidden.matmul(&self.tok_emb_t)?.to_dtype(DType::F32)
    }

    /// A state with the same encoder output and nothing decoded.
    pub fn fresh(&self, st: &DecoderState) -> DecoderState {
        DecoderState {
            self_kv: self
                .dec_blocks
                .iter()
                .map(|_| KvCache::new(2, self.config.max_target_positions))
                .collect(),
            cross_kv: st.cross_kv.clone(),
            pos: 0,
        }
    }

    /// Keep only rows `rows` of a batch state (windows that need another try).
    pub fn select(&self, st: &DecoderState, rows: &[u32]) -> candle_core::Result<DecoderState> {
        let idx = Tensor::new(rows, &self.device)?;
        let cross_kv = st
            .cross_kv
            .iter()
            .map(|(k, v)| Ok((k.index_select(&idx, 0)?, v.index_select(&idx, 0)?)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(DecoderState {
            self_kv: self
                .dec_blocks
                .iter()
                .map(|_| KvCache::new(2, self.config.max_target_positions))
                .collect(),
            cross_kv,
            pos: 0,
        })
    }
}

/// Last position of `(b, l, d)` as `(b, d)`, and position `i`.
pub fn position(hidden: &Tensor, i: usize) -> candle_core::Result<Tensor> {
    hidden.narrow(1, i, 1)?.squeeze(1)
}

/// The index of the last position.
pub fn last(hidden: &Tensor) -> candle_core::Result<usize> {
    Ok(hidden.dim(D::Minus2)? - 1)
}
