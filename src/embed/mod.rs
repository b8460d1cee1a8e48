//! Embedding: texts to L2-normalised vectors with a BERT-family sentence
//! encoder, run by candle.
//!
//! Load order follows candle's bert example: `config.json` -> tokenizer ->
//! memory-mapped safetensors -> `BertModel::load`. Two settings come from the
//! sentence-transformers files rather than `tokenizer.json`, which for
//! all-MiniLM-L6-v2 pads to a fixed 128 and truncates at 128 (a silent trap:
//! sentence-transformers uses `max_seq_length` 256 and pads to the longest in
//! the batch). Texts are embedded in batches sorted by token length so little
//! padding is computed; tokenisation runs in parallel (rayon).
//!
//! Reference architecture: candle-transformers `models/bert.rs`, and
//! sentence-transformers' `Pooling` + `Normalize` modules.
//!
//! Two engines run the encoder. On the CPU, where the processor has Intel
//! AMX (and `PODSIFT_NO_AMX` is not set), [`amx`] runs it with bf16 tile
//! products and f32 everywhere else, whole sequences per thread without
//! padding; otherwise candle's `BertModel` runs it in f32.
//! [`Embedder::engine_name`] says which.

pub mod amx;
pub mod device;
pub mod model;
pub mod pooling;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationParams};

use crate::error::{Error, Result};
pub use model::{ModelFiles, ModelSource, Pooling};

/// Texts per forward pass.
pub const DEFAULT_BATCH: usize = 32;

/// Which implementation runs the encoder.
enum Engine {
    /// candle's f32 `BertModel`, on any device.
    Candle(Box<BertModel>),
    /// The AMX bf16 path ([`amx`]), CPU only.
    Amx(amx::Encoder),
}

/// Texts tokenized and embedded at once by [`Embedder::embed`]: a tokenizer
/// encoding takes several KB, and the AMX path runs a whole window as one
/// batch.
pub const EMBED_WINDOW: usize = 1024;

/// A loaded sentence encoder.
pub struct Embedder {
    engine: Engine,
    tokenizer: Tokenizer,
    counter: Tokenizer,
    device: Device,
    files: ModelFiles,
    dim: usize,
    max_len: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
}

/// What is known about a model without running it: enough for the manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// Hub id or folder name.
    pub id: String,
    /// Revision (`local` for a folder).
    pub revision: String,
    /// Vector dimension.
    pub dim: usize,
    /// Pooling.
    pub pooling: Pooling,
    /// Maximum tokens per text.
    pub max_len: usize,
    /// Query prompt.
    pub query_prefix: String,
    /// Passage prompt.
    pub passage_prefix: String,
    /// [`ModelFiles::fingerprint`].
    pub fingerprint: String,
    /// The folder the model was loaded from, so later commands find it
    /// without `--model`.
    #[serde(default)]
    pub source: String,
}

/// Texts per forward pass on a GPU: large batches amortise the per-batch
/// host work that bounds GPU throughput (see ../shared/docs/CUDA.md).
pub const GPU_BATCH: usize = 256;

/// The weight type for a device: bf16 on CUDA (tensor cores; same exponent
/// range as f32, so the attention mask's f32::MIN stays finite), f32
/// elsewhere, or f32 everywhere with `PODSIFT_GPU_F32=1`.
fn weight_dtype(device: &Device) -> DType {
    if device.is_cuda() && std::env::var_os("PODSIFT_GPU_F32").is_none() {
        DType::BF16
    } else {
        DType::F32
    }
}

impl Embedder {
    /// Load a model onto `device`, with the AMX fast path where it can run
    /// and `PODSIFT_NO_AMX` does not forbid it.
    pub fn load(files: &ModelFiles, device: &Device) -> Result<Embedder> {
        Self::load_with(files, device, !amx::disabled_by_env())
    }

    /// Load a model onto `device`; `allow_amx` false keeps candle's f32 path
    /// even where AMX could run.
    pub fn load_with(files: &ModelFiles, device: &Device, allow_amx: bool) -> Result<Embedder> {
        let cfg_text =
            std::fs::read_to_string(&files.config).map_err(|e| Error::io(&files.config, e))?;
        let config: Config = serde_json::from_str(&cfg_text).map_err(|e| Error::ModelConfig {
            path: files.config.clone(),
            message: e.to_string(),
        })?;
        let max_len = files
            .max_seq_len
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        let mut tokenizer =
            Tokenizer::from_file(&files.tokenizer).map_err(|e| Error::Tokenizer {
                path: files.tokenizer.clone(),
                message: e.to_string(),
            })?;
        tokenizer.with_padding(None);
        let mut counter = tokenizer.clone();
        counter
            .with_truncation(None)
            .map_err(|e| Error::Tokenizer {
                path: files.tokenizer.clone(),
                message: e.to_string(),
            })?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer {
                path: files.tokenizer.clone(),
                message: e.to_string(),
            })?;
        // The AMX path when the CPU allows it; a model it cannot take (or
        // weights it cannot read) falls back to candle, which reports real
        // errors itself.
        let fast = match device {
            Device::Cpu if allow_amx => amx::Encoder::load(&files.weights, &config, files.pooling)
                .ok()
                .flatten(),
            _ => None,
        };
        let engine = match fast {
            Some(e) => Engine::Amx(e),
            None => {
                // SAFETY: the weights file is opened read-only and is not
                // modified while mapped (models/ is written only by
                // scripts/fetch-model).
                let vb = unsafe {
                    VarBuilder::from_mmaped_safetensors(
                        &[&files.weights],
                        weight_dtype(device),
                        device,
                    )
                }
                .map_err(Error::model("loading weights"))?;
                let model =
                    BertModel::load(vb, &config).map_err(Error::model("loading weights"))?;
                Engine::Candle(Box::new(model))
            }
        };
        Ok(Embedder {
            engine,
            tokenizer,
            counter,
            device: device.clone(),
            files: files.clone(),
            dim: config.hidden_size,
            max_len,
            batch_size: if device.is_cuda() {
                GPU_BATCH
            } else {
                DEFAULT_BATCH
            },
        })
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The engine running the encoder: `"amx-bf16"` (the [`amx`] fast path)
    /// or `"candle-f32"`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Candle(_) if weight_dtype(&self.device) == DType::BF16 => "candle-bf16",
            Engine::Candle(_) => "candle-f32",
            Engine::Amx(_) => "amx-bf16",
        }
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The located files.
    pub fn files(&self) -> &ModelFiles {
        &self.files
    }

    /// What the manifest records about this model.
    pub fn info(&self) -> Result<ModelInfo> {
        Ok(ModelInfo {
            id: self.files.id.clone(),
            revision: self.files.revision.clone(),
            dim: self.dim,
            pooling: self.files.pooling,
            max_len: self.max_len,
            query_prefix: self.files.query_prefix.clone(),
            passage_prefix: self.files.passage_prefix.clone(),
            fingerprint: self.files.fingerprint()?,
            source: self.files.dir.to_string_lossy().into_owned(),
        })
    }

    /// Tokens in `text` without special tokens and without truncation: the
    /// chunker's budget counter.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.counter
            .encode_fast(text, false)
            .map(|e| e.len())
            .unwrap_or_else(|_| text.split_whitespace().count())
    }

    /// Embed a search query (with the model's query prompt).
    pub fn embed_query(&self, query: &str) -> Result<Vec<f32>> {
        let text = format!("{}{}", self.files.query_prefix, query);
        Ok(self.embed(&[text.as_str()])?.pop().unwrap_or_default())
    }

    /// Embed passages (with the model's passage prompt).
    pub fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if self.files.passage_prefix.is_empty() {
            return self.embed(texts);
        }
        let owned: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{}", self.files.passage_prefix, t))
            .collect();
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        self.embed(&refs)
    }

    /// Embed texts as they are: one unit vector per text, in input order.
    /// Texts are tokenized and run [`EMBED_WINDOW`] at a time, so memory
    /// does not grow with the number of texts beyond their vectors.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for window in texts.chunks(EMBED_WINDOW) {
            out.extend(self.embed_window(window)?);
        }
        Ok(out)
    }

    fn embed_window(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings: Vec<tokenizers::Encoding> = texts
            .par_iter()
            .map(|t| {
                self.tokenizer
                    .encode_fast(*t, true)
                    .map_err(|e| Error::Tokenizer {
                        path: self.files.tokenizer.clone(),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<_>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        // Longest first: the first batch shows the peak memory at once, and
        // equal lengths sit together so padding is near zero.
        order.sort_by_key(|&i| (std::cmp::Reverse(encodings[i].len()), i));
        let mut out = vec![Vec::new(); texts.len()];
        // The AMX path pads nothing and schedules sequences itself: one
        // batch of the whole window keeps both cores busy to the end.
        let batch_size = match self.engine {
            Engine::Amx(_) => order.len().max(1),
            Engine::Candle(_) => self.batch_size.max(1),
        };
        for batch in order.chunks(batch_size) {
            let vecs = self.forward(batch.iter().map(|&i| &encodings[i]))?;
            for (&i, v) in batch.iter().zip(vecs) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward<'a>(
        &self,
        batch: impl Iterator<Item = &'a tokenizers::Encoding>,
    ) -> Result<Vec<Vec<f32>>> {
        let batch: Vec<&tokenizers::Encoding> = batch.collect();
        let model = match &self.engine {
            Engine::Amx(enc) => {
                let ids: Vec<&[u32]> = batch.iter().map(|e| e.get_ids()).collect();
                return Ok(enc.embed(&ids));
            }
            Engine::Candle(model) => model,
        };
        let len = batch.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(batch.len() * len);
        let mut mask = Vec::with_capacity(batch.len() * len);
        for e in &batch {
            ids.extend_from_slice(e.get_ids());
            mask.extend(std::iter::repeat_n(1u32, e.len()));
            ids.extend(std::iter::repeat_n(0u32, len - e.len()));
            mask.extend(std::iter::repeat_n(0u32, len - e.len()));
        }
        let shape = (batch.len(), len);
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, shape, &self.device)?;
            let mask = Tensor::from_vec(mask, shape, &self.device)?;
            let types = ids.zeros_like()?;
            let hidden = model.forward(&ids, &types, Some(&mask))?;
            let pooled = pooling::pool(&hidden, &mask, self.files.pooling)?;
            pooling::normalize(&pooled)?.to_vec2::<f32>()
        };
        run().map_err(Error::model("forward pass"))
    }
}
