//! Finding a model's files: [`ModelSource`] -> [`ModelFiles`].
//!
//! A model is a local folder holding `config.json`, `tokenizer.json` and
//! `model.safetensors` (plus, for sentence-transformers models,
//! `1_Pooling/config.json`, `sentence_bert_config.json` and
//! `config_sentence_transformers.json`, which set pooling, the maximum length
//! and query/passage prompts). The hub is only a way to fill such a folder:
//!
//! 1. `--model DIR`: that folder.
//! 2. A hub id (`sentence-transformers/all-MiniLM-L6-v2`): `<models>/<name>`
//!    in each models folder the caller lists (the repository's `models/`, as
//!    filled by `scripts/fetch-model`), then the Hugging Face cache (hf-hub
//!    honours `HF_HOME`), then a download with hf-hub (honouring `HF_ENDPOINT`),
//!    unless `HF_HUB_OFFLINE` is set.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The default model.
pub const DEFAULT_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local folder.
    Dir(PathBuf),
    /// A hub id, optionally at a revision.
    Hub {
        /// `org/name`.
        id: String,
        /// Branch, tag or commit.
        revision: String,
    },
}

impl ModelSource {
    /// A folder if `spec` names an existing folder, else a hub id at `main`.
    pub fn parse(spec: &str) -> ModelSource {
        let p = Path::new(spec);
        if p.is_dir() {
            ModelSource::Dir(p.to_path_buf())
        } else {
            let (id, revision) = spec.split_once('@').unwrap_or((spec, "main"));
            ModelSource::Hub {
                id: id.to_string(),
                revision: revision.to_string(),
            }
        }
    }
}

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean of the token vectors, padding excluded.
    Mean,
    /// The `[CLS]` token's vector.
    Cls,
}

/// A model's located files and settings.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The id recorded in the index: the hub id, or the folder's name.
    pub id: String,
    /// The revision, when known (`local` for a folder).
    pub revision: String,
    /// The folder the files are in.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `model.safetensors`.
    pub weights: PathBuf,
    /// Pooling from `1_Pooling/config.json` (mean when absent).
    pub pooling: Pooling,
    /// Maximum tokens per text, from `sentence_bert_config.json`, else the
    /// model's position limit.
    pub max_seq_len: Option<usize>,
    /// Prompt put before queries (e5: `query: `).
    pub query_prefix: String,
    /// Prompt put before passages (e5: `passage: `).
    pub passage_prefix: String,
}

#[derive(Deserialize, Default)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
}

#[derive(Deserialize, Default)]
struct SbertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize, Default)]
struct StConfig {
    #[serde(default)]
    prompts: std::collections::HashMap<String, String>,
}

impl ModelFiles {
    /// Read a model folder. `id` is what the index will record.
    pub fn from_dir(dir: &Path, id: &str, revision: &str) -> Result<ModelFiles> {
        let need = |name: &str| -> Result<PathBuf> {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(Error::NoModel {
                    model: id.to_string(),
                    tried: vec![p],
                })
            }
        };
        let config = need("config.json")?;
        let tokenizer = need("tokenizer.json")?;
        let weights = need("model.safetensors")?;
        let read_json = |name: &str| -> Option<Vec<u8>> { std::fs::read(dir.join(name)).ok() };
        let pooling_cfg: PoolingConfig = read_json("1_Pooling/config.json")
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let pooling = if pooling_cfg.pooling_mode_cls_token && !pooling_cfg.pooling_mode_mean_tokens
        {
            Pooling::Cls
        } else {
            Pooling::Mean
        };
        let sbert: SbertConfig = read_json("sentence_bert_config.json")
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let st: StConfig = read_json("config_sentence_transformers.json")
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let lower = id.to_ascii_lowercase();
        let (mut query_prefix, mut passage_prefix) = (String::new(), String::new());
        // Families whose prompts are conventions of their model cards rather
        // than config files.
        if lower.contains("e5-") {
            query_prefix = "query: ".into();
            passage_prefix = "passage: ".into();
        } else if lower.contains("bge-") && lower.contains("-en") {
            query_prefix = "Represent this sentence for searching relevant passages: ".into();
        }
        if let Some(q) = st.prompts.get("query") {
            query_prefix.clone_from(q);
        }
        if let Some(p) = st
            .prompts
            .get("passage")
            .or_else(|| st.prompts.get("document"))
        {
            passage_prefix.clone_from(p);
        }
        Ok(ModelFiles {
            id: id.to_string(),
            revision: revision.to_string(),
            dir: dir.to_path_buf(),
            config,
            tokenizer,
            weights,
            pooling,
            max_seq_len: sbert.max_seq_length,
            query_prefix,
            passage_prefix,
        })
    }

    /// A fingerprint of the model's identity: its config, tokenizer and the
    /// size of its weights. Two folders holding the same model agree.
    pub fn fingerprint(&self) -> Result<String> {
        let mut h = blake3::Hasher::new();
        for p in [&self.config, &self.tokenizer] {
            h.update(&std::fs::read(p).map_err(|e| Error::io(p, e))?);
        }
        let len = std::fs::metadata(&self.weights)
            .map_err(|e| Error::io(&self.weights, e))?
            .len();
        h.update(&len.to_le_bytes());
        Ok(h.finalize().to_hex()[..16].to_string())
    }
}

/// Where to look for models, and whether downloading is allowed.
#[derive(Debug, Clone, Default)]
pub struct Locator {
    /// Folders that hold model folders (`models/`).
    pub model_dirs: Vec<PathBuf>,
    /// Never touch the network.
    pub offline: bool,
}

impl Locator {
    /// Resolve `source` to files on disk, downloading only as a last resort.
    pub fn locate(&self, source: &ModelSource) -> Result<ModelFiles> {
        let (id, revision) = match source {
            ModelSource::Dir(dir) => {
                let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                let name = canon
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "model".into());
                let id = known_id(&name).unwrap_or(name);
                return ModelFiles::from_dir(&canon, &id, "local");
            }
            ModelSource::Hub { id, revision } => (id, revision),
        };
        let name = id.rsplit('/').next().unwrap_or(id);
        let mut tried = Vec::new();
        for base in &self.model_dirs {
            for cand in [base.join(name), base.join(id.replace('/', "--"))] {
                if cand.join("model.safetensors").is_file() {
                    return ModelFiles::from_dir(&cand, id, revision);
                }
                tried.push(cand);
            }
        }
        let cache = hf_hub::Cache::from_env();
        let repo = cache.repo(hf_hub::Repo::with_revision(
            id.clone(),
            hf_hub::RepoType::Model,
            revision.clone(),
        ));
        if let Some(cfg) = repo.get("config.json") {
            if let (Some(dir), Some(_), Some(_)) = (
                cfg.parent().map(Path::to_path_buf),
                repo.get("tokenizer.json"),
                repo.get("model.safetensors"),
            ) {
                return ModelFiles::from_dir(&dir, id, revision);
            }
        }
        tried.push(cache.path().clone());
        if self.offline {
            return Err(Error::NoModel {
                model: id.clone(),
                tried,
            });
        }
        self.download(id, revision)
    }

    /// Download the model's files from the hub into its cache, under
    /// podsift's own limits on top of hf-hub's (30 s to connect, one
    /// retry): a file over [`MAX_DOWNLOAD_BYTES`] (as announced, or as
    /// received) and a transfer that receives nothing for
    /// [`DOWNLOAD_STALL`] are given up. The transfer runs on its own thread
    /// so that it can be abandoned; the process ends soon after anyway.
    fn download(&self, id: &str, revision: &str) -> Result<ModelFiles> {
        let err = |message: String| Error::Download {
            model: id.to_string(),
            message,
        };
        let transfer = std::sync::Arc::new(Transfer::new());
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let (id, revision, transfer) = (id.to_string(), revision.to_string(), transfer.clone());
            std::thread::spawn(move || {
                let _ = tx.send(fetch(&id, &revision, transfer));
            });
        }
        let dir = loop {
            match rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(Ok(dir)) => break dir,
                Ok(Err(e)) => return Err(err(e.to_string())),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(err("the download stopped".into()))
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(problem) = transfer.problem() {
                        return Err(err(problem));
                    }
                }
            }
        };
        ModelFiles::from_dir(&dir, id, revision)
    }
}

/// Largest model file podsift downloads: the weights of the small and base
/// embedding models it is made for are 90 MB to 1.4 GB.
pub const MAX_DOWNLOAD_BYTES: u64 = 4 << 30;

/// A model download that receives nothing for this long is given up.
pub const DOWNLOAD_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// What a download thread has received, watched by the caller.
struct Transfer {
    /// Bytes of the file in progress (or its announced size, if larger).
    bytes: std::sync::atomic::AtomicU64,
    /// When data last arrived (or the download started).
    last: std::sync::Mutex<std::time::Instant>,
}

impl Transfer {
    fn new() -> Transfer {
        Transfer {
            bytes: std::sync::atomic::AtomicU64::new(0),
            last: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
    }

    /// Why to give up, if so.
    fn problem(&self) -> Option<String> {
        let bytes = self.bytes.load(std::sync::atomic::Ordering::Relaxed);
        if bytes > MAX_DOWNLOAD_BYTES {
            return Some(format!(
                "a file is larger than the {MAX_DOWNLOAD_BYTES} bytes podsift downloads"
            ));
        }
        let idle = self
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed();
        (idle > DOWNLOAD_STALL).then(|| {
            format!(
                "no data received for {} s (the hub is unreachable or stalled)",
                DOWNLOAD_STALL.as_secs()
            )
        })
    }
}

/// Counts one file's bytes into a [`Transfer`].
struct Counter(std::sync::Arc<Transfer>);

impl hf_hub::api::Progress for Counter {
    fn init(&mut self, size: usize, _filename: &str) {
        // A file announced over the cap is refused at once; any other is
        // counted as it arrives.
        let announced = size as u64;
        let start = if announced > MAX_DOWNLOAD_BYTES {
            announced
        } else {
            0
        };
        self.0
            .bytes
            .store(start, std::sync::atomic::Ordering::Relaxed);
        self.0.touch();
    }

    fn update(&mut self, size: usize) {
        self.0
            .bytes
            .fetch_add(size as u64, std::sync::atomic::Ordering::Relaxed);
        self.0.touch();
    }

    fn finish(&mut self) {
        self.0.bytes.store(0, std::sync::atomic::Ordering::Relaxed);
        self.0.touch();
    }
}

/// Fetch config, tokenizer and weights (and the optional sentence-transformers
/// files) of `id` into the hub cache, files already cached left as they are;
/// the folder holding them.
fn fetch(
    id: &str,
    revision: &str,
    transfer: std::sync::Arc<Transfer>,
) -> std::result::Result<PathBuf, hf_hub::api::sync::ApiError> {
    let hub_repo = hf_hub::Repo::with_revision(
        id.to_string(),
        hf_hub::RepoType::Model,
        revision.to_string(),
    );
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .with_retries(1)
        .build()?;
    let repo = api.repo(hub_repo.clone());
    let cache = hf_hub::Cache::from_env().repo(hub_repo);
    let get = |name: &str| match cache.get(name) {
        Some(path) => Ok(path),
        None => repo.download_with_progress(name, Counter(transfer.clone())),
    };
    let config = get("config.json")?;
    get("tokenizer.json")?;
    get("model.safetensors")?;
    for optional in [
        "1_Pooling/config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
    ] {
        let _ = get(optional);
    }
    Ok(config.parent().map(Path::to_path_buf).unwrap_or_default())
}

/// The hub id of a well-known model from its folder name, so an index built
/// from `models/all-MiniLM-L6-v2` records the same id as one built from the hub.
fn known_id(folder: &str) -> Option<String> {
    let known = [
        "sentence-transformers/all-MiniLM-L6-v2",
        "sentence-transformers/all-MiniLM-L12-v2",
        "BAAI/bge-small-en-v1.5",
        "intfloat/e5-small-v2",
    ];
    known
        .iter()
        .find(|k| k.rsplit('/').next() == Some(folder))
        .map(|k| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_over_the_cap_or_stalled_is_given_up() {
        use hf_hub::api::Progress;
        let t = std::sync::Arc::new(Transfer::new());
        assert_eq!(t.problem(), None);
        let mut c = Counter(t.clone());
        // Announced over the cap: refused before a byte arrives.
        c.init(MAX_DOWNLOAD_BYTES as usize + 1, "model.safetensors");
        assert!(t.problem().unwrap().contains("larger than"));
        // Announced under it, then more arrives than the cap.
        c.init(10, "model.safetensors");
        assert_eq!(t.problem(), None);
        c.update(MAX_DOWNLOAD_BYTES as usize);
        c.update(1);
        assert!(t.problem().unwrap().contains("larger than"));
        c.finish();
        assert_eq!(t.problem(), None);
        // Nothing for longer than the stall limit.
        *t.last.lock().unwrap() -= DOWNLOAD_STALL + std::time::Duration::from_secs(1);
        assert!(t.problem().unwrap().contains("no data received"));
    }

    #[test]
    fn parse_sources() {
        assert_eq!(
            ModelSource::parse("org/name@v2"),
            ModelSource::Hub {
                id: "org/name".into(),
                revision: "v2".into()
            }
        );
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            ModelSource::parse(dir.path().to_str().unwrap()),
            ModelSource::Dir(dir.path().to_path_buf())
        );
    }

    #[test]
    fn missing_model_says_what_to_run() {
        let loc = Locator {
            model_dirs: vec![PathBuf::from("/nonexistent/models")],
            offline: true,
        };
        let err = loc
            .locate(&ModelSource::Hub {
                id: "org/nothing-here".into(),
                revision: "main".into(),
            })
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::NoModel { .. }), "{msg}");
        assert!(msg.contains("/nonexistent/models/nothing-here"), "{msg}");
    }

    #[test]
    fn settings_from_sentence_transformers_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in ["config.json", "tokenizer.json", "model.safetensors"] {
            std::fs::write(d.join(f), "{}").unwrap();
        }
        std::fs::create_dir(d.join("1_Pooling")).unwrap();
        std::fs::write(
            d.join("1_Pooling/config.json"),
            r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
        )
        .unwrap();
        std::fs::write(
            d.join("sentence_bert_config.json"),
            r#"{"max_seq_length": 512}"#,
        )
        .unwrap();
        let m = ModelFiles::from_dir(d, "BAAI/bge-small-en-v1.5", "main").unwrap();
        assert_eq!(m.pooling, Pooling::Cls);
        assert_eq!(m.max_seq_len, Some(512));
        assert!(m.query_prefix.starts_with("Represent"));
        let m = ModelFiles::from_dir(d, "intfloat/e5-small-v2", "main").unwrap();
        assert_eq!(
            (m.query_prefix.as_str(), m.passage_prefix.as_str()),
            ("query: ", "passage: ")
        );
    }
}
