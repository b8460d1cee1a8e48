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
//! Two engines run the encoder. On the CPU, our own ([`cpu`]) runs it with
//! a tier per instruction set (AMX, AVX-512 BF16, AVX-512, AVX2, NEON),
//! the fastest the processor has unless the caller forces one
//! ([`EngineChoice`]); candle's `BertModel` runs it on GPUs, on CPUs none
//! of our tiers covers, for models our engine does not take, and when
//! asked for. [`Embedder::engine_name`] says which.

pub mod amx;
pub mod buf;
pub mod cpu;
pub mod device;
pub mod model;
pub mod pooling;
pub mod weights;

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
    /// candle's `BertModel`, on any device.
    Candle(Box<BertModel>),
    /// Our CPU engine ([`cpu`]), on one of its tiers.
    Cpu(Box<cpu::Encoder>),
}

/// Which engine the caller wants. The library reads no environment: the
/// CLI maps `PODSIFT_ENGINE` to this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineChoice {
    /// The fastest tier of our CPU engine this processor runs; candle on a
    /// GPU, on a CPU without any tier, or for a model the engine does not
    /// take.
    #[default]
    Auto,
    /// This tier, or an error if the processor lacks it.
    Tier(cpu::Tier),
    /// candle, whatever the processor.
    Candle,
    /// candle with f32 weights on every device (on a GPU, [`Candle`]
    /// computes in bf16): the reference for checking the GPU's bf16.
    ///
    /// [`Candle`]: EngineChoice::Candle
    CandleF32,
}

impl EngineChoice {
    /// The names `PODSIFT_ENGINE` takes.
    pub const NAMES: &'static str = "auto, amx, avx512bf16, avx512, avx2, neon, candle";
}

impl EngineChoice {
    /// The engine this choice runs on this CPU, without loading a model
    /// (a model our engine does not take would still run on candle).
    pub fn on_this_cpu(self) -> String {
        match self {
            EngineChoice::Candle | EngineChoice::CandleF32 => "candle-f32".into(),
            EngineChoice::Tier(t) if t.is_available() => t.engine_name().into(),
            EngineChoice::Tier(t) => format!("{} (not available on this CPU)", t.engine_name()),
            EngineChoice::Auto => cpu::Tier::best()
                .map_or("candle-f32", cpu::Tier::engine_name)
                .into(),
        }
    }
}

impl std::str::FromStr for EngineChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "" | "auto" => Ok(EngineChoice::Auto),
            "candle" => Ok(EngineChoice::Candle),
            name => cpu::Tier::from_name(name)
                .map(EngineChoice::Tier)
                .ok_or_else(|| Error::Invalid {
                    what: "engine".into(),
                    message: format!("unknown engine '{name}' (one of: {})", Self::NAMES),
                }),
        }
    }
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
    /// candle's weight type (unused by our CPU engine).
    dtype: DType,
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

/// candle's weight type for a device: bf16 on CUDA (tensor cores; same
/// exponent range as f32, so the attention mask's f32::MIN stays finite),
/// f32 elsewhere, or f32 everywhere with [`EngineChoice::CandleF32`].
fn weight_dtype(device: &Device, choice: EngineChoice) -> DType {
    if device.is_cuda() && choice != EngineChoice::CandleF32 {
        DType::BF16
    } else {
        DType::F32
    }
}

impl Embedder {
    /// Load a model onto `device` with the engine [`EngineChoice::Auto`]
    /// picks.
    pub fn load(files: &ModelFiles, device: &Device) -> Result<Embedder> {
        Self::load_with(files, device, EngineChoice::Auto)
    }

    /// Load a model onto `device` with the engine `choice` names. A tier
    /// this processor lacks (or that fails its self-check here) is an
    /// error; so is a tier asked for with a GPU device.
    pub fn load_with(
        files: &ModelFiles,
        device: &Device,
        choice: EngineChoice,
    ) -> Result<Embedder> {
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
        let dtype = weight_dtype(device, choice);
        let engine = match cpu_engine(files, &config, device, choice)? {
            Some(e) => Engine::Cpu(Box::new(e)),
            None => {
                // SAFETY: the weights file is opened read-only and is not
                // modified while mapped (models/ is written only by
                // scripts/fetch-model).
                let vb = unsafe {
                    VarBuilder::from_mmaped_safetensors(&[&files.weights], dtype, device)
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
            dtype,
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

    /// The engine running the encoder: our CPU engine's tier and what its
    /// products compute in (`"avx2-f32"`, `"amx-bf16"`, ...), or candle's
    /// (`"candle-f32"`, `"candle-bf16"` on a GPU).
    pub fn engine_name(&self) -> &'static str {
        match &self.engine {
            Engine::Candle(_) if self.dtype == DType::BF16 => "candle-bf16",
            Engine::Candle(_) => "candle-f32",
            Engine::Cpu(e) => e.tier().engine_name(),
        }
    }

    /// The tier of our CPU engine, or `None` when candle runs the model.
    pub fn tier(&self) -> Option<cpu::Tier> {
        match &self.engine {
            Engine::Cpu(e) => Some(e.tier()),
            Engine::Candle(_) => None,
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
        // Our engine pads nothing and schedules sequences itself: one call
        // with the whole window keeps every core busy to the end.
        let batch_size = match self.engine {
            Engine::Cpu(_) => order.len().max(1),
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
            Engine::Cpu(enc) => {
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

/// Our CPU engine for `choice`, or `None` where candle should run the
/// model: a GPU device, [`EngineChoice::Candle`], or (on `Auto`) a CPU
/// without any tier or a model the engine does not take.
fn cpu_engine(
    files: &ModelFiles,
    config: &Config,
    device: &Device,
    choice: EngineChoice,
) -> Result<Option<cpu::Encoder>> {
    let unusable = |message: String| Error::Invalid {
        what: "engine".into(),
        message,
    };
    let tiers: Vec<cpu::Tier> = match choice {
        EngineChoice::Candle | EngineChoice::CandleF32 => return Ok(None),
        EngineChoice::Tier(t) if !matches!(device, Device::Cpu) => {
            return Err(unusable(format!(
                "the {t} engine runs on the CPU, not on {}",
                device::name(device)
            )))
        }
        EngineChoice::Tier(t) if !t.is_available() => {
            return Err(unusable(format!(
                "this CPU cannot run the {t} engine (it runs: {})",
                available_names()
            )))
        }
        EngineChoice::Tier(t) => vec![t],
        EngineChoice::Auto if !matches!(device, Device::Cpu) => return Ok(None),
        EngineChoice::Auto => cpu::Tier::ranked(),
    };
    if tiers.is_empty() {
        return Ok(None);
    }
    let weights = match weights::BertWeights::load(&files.weights, config, files.pooling) {
        Ok(w) => w,
        // candle reports real problems with the files itself.
        Err(_) if choice == EngineChoice::Auto => return Ok(None),
        Err(e) => return Err(unusable(e.to_string())),
    };
    let mut weights = Some(weights);
    let mut last = None;
    for tier in &tiers {
        // Each try consumes the weights; a later tier needs them again.
        let w = match weights.take() {
            Some(w) => w,
            None => weights::BertWeights::load(&files.weights, config, files.pooling)
                .map_err(|e| unusable(e.to_string()))?,
        };
        match cpu::Encoder::load(*tier, w) {
            Ok(e) => return Ok(Some(e)),
            // The next tier, if any, is tried.
            Err(e) => last = Some(e),
        }
    }
    match (choice, last) {
        (EngineChoice::Auto, _) => Ok(None),
        (_, Some(e)) => Err(unusable(e.to_string())),
        (_, None) => Ok(None),
    }
}

/// The tiers this processor runs, by name, and candle.
pub fn available_names() -> String {
    let mut names: Vec<&str> = cpu::Tier::ALL
        .into_iter()
        .filter(|t| t.is_available())
        .map(cpu::Tier::name)
        .collect();
    names.push("candle");
    names.join(", ")
}
