//! The test harness: a temporary folder per test, a command for the real
//! binary that points at that folder's index and a chosen model, and the
//! models themselves: a tiny generated BERT (built once per test run, for
//! loader and pipeline mechanics) and the real all-MiniLM-L6-v2 (fetched by
//! `scripts/test` before the tests run, for relevance).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use candle_core::{Device, Tensor};

/// Which model a command runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The tiny generated BERT (hidden 32, 2 layers).
    Tiny,
    /// A second tiny BERT with other weights (for mismatch tests).
    TinyOther,
    /// The real default model.
    Real,
    /// No `--model` flag.
    None,
}

/// A temporary folder with an index inside.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::Builder::new()
                .prefix("podsift-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn index(&self) -> PathBuf {
        self.path().join("index")
    }

    /// Write a file (parents created).
    pub fn create(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Copy a file or folder from `tests/fixtures/` to `rel`.
    pub fn copy_fixture(&self, fixture: &str, rel: &str) -> PathBuf {
        let src = fixtures().join(fixture);
        let dst = self.path().join(rel);
        copy_tree(&src, &dst);
        dst
    }

    /// The binary, with `--index` set to this folder's index and `model`;
    /// environment variables podsift reads are cleared.
    pub fn command(&self, model: Model) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_podsift"));
        cmd.current_dir(self.path())
            .env_remove("PODSIFT_INDEX")
            .env_remove("PODSIFT_MODELS")
            .env_remove("NO_COLOR")
            .env_remove("RAYON_NUM_THREADS")
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HOME", self.path().join("hf-home"))
            .arg("--index")
            .arg(self.index());
        match model {
            Model::Tiny => {
                cmd.arg("--model").arg(tiny_model());
            }
            Model::TinyOther => {
                cmd.arg("--model").arg(tiny_model_other());
            }
            Model::Real => {
                cmd.arg("--model").arg(real_model());
            }
            Model::None => {}
        }
        cmd
    }
}

pub fn copy_tree(src: &Path, dst: &Path) {
    if src.is_dir() {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &dst.join(e.file_name()));
        }
    } else {
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(src, dst).unwrap();
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

/// Run and return (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out: Output = cmd.output().expect("the podsift binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run, require exit 0, return stdout (stderr shown on failure).
pub fn stdout_ok(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(
        code, 0,
        "command failed: {cmd:?}\n--- stdout\n{out}\n--- stderr\n{err}"
    );
    out
}

/// JSON Lines to values.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The real model's folder; fails with the fix when it is missing.
pub fn real_model() -> PathBuf {
    let p = repo().join("models/all-MiniLM-L6-v2");
    assert!(
        p.join("model.safetensors").is_file(),
        "the real model is missing at {}: run scripts/fetch-model (scripts/test does it for you)",
        p.display()
    );
    p
}

/// `PODSIFT_CORPUS`, when set and present.
pub fn corpus() -> Option<PathBuf> {
    match std::env::var_os("PODSIFT_CORPUS") {
        Some(p) if Path::new(&p).is_dir() => Some(PathBuf::from(p)),
        Some(p) => panic!("PODSIFT_CORPUS={} is not a folder", Path::new(&p).display()),
        None => {
            eprintln!(
                "note: PODSIFT_CORPUS is not set; skipping the test that needs the real corpus"
            );
            None
        }
    }
}

const VOCAB_WORDS: &[&str] = &[
    "the", "a", "and", "of", "to", "in", "is", "it", "we", "you", "that", "chip", "chips", "soil",
    "compost", "bread", "marathon", "index", "fund", "road", "roman", "queue", "hello", "welcome",
    "podcast", "episode",
];

/// Build a tiny BERT in `dir` with weights from `seed`.
pub fn build_tiny_model(dir: &Path, seed: f32) {
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for c in 'a'..='z' {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    for c in '0'..='9' {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    for p in [
        '.', ',', '?', '!', '\'', '-', ':', '"', '(', ')', '&', '<', '>', '/', '#', '@', '$', '%',
    ] {
        vocab.push(p.to_string());
    }
    vocab.extend(VOCAB_WORDS.iter().map(|s| s.to_string()));
    let vocab_map: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), serde_json::Value::from(i)))
        .collect();
    let special = |id: usize, content: &str| {
        serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true})
    };
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": 16, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]"), special(4, "[MASK]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab_map}
    });
    // The tokenizer pads and truncates at 16 on purpose: the embedder must
    // override both (the all-MiniLM-L6-v2 trap).
    std::fs::write(
        dir.join("tokenizer.json"),
        serde_json::to_vec(&tokenizer).unwrap(),
    )
    .unwrap();
    let (hidden, layers, heads, inter, positions) = (32usize, 2usize, 2usize, 64usize, 512usize);
    let config = serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab.len(),
        "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
        "intermediate_size": inter, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": positions,
        "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
        "pad_token_id": 0, "position_embedding_type": "absolute"
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("1_Pooling/config.json"),
        r#"{"word_embedding_dimension": 32, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 128, "do_lower_case": false}"#,
    )
    .unwrap();
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut k = 0f32;
    let mut t = |rows: usize, cols: usize| {
        k += 1.0;
        let data: Vec<f32> = (0..rows * cols)
            .map(|i| ((i as f32 * 0.7311 + k * 1.37 + seed).sin()) * 0.2)
            .collect();
        if cols == 1 {
            Tensor::from_vec(data, rows, &Device::Cpu).unwrap()
        } else {
            Tensor::from_vec(data, (rows, cols), &Device::Cpu).unwrap()
        }
    };
    let ones = |n: usize| Tensor::ones(n, candle_core::DType::F32, &Device::Cpu).unwrap();
    let zeros = |n: usize| Tensor::zeros(n, candle_core::DType::F32, &Device::Cpu).unwrap();
    tensors.insert(
        "embeddings.word_embeddings.weight".into(),
        t(vocab.len(), hidden),
    );
    tensors.insert(
        "embeddings.position_embeddings.weight".into(),
        t(positions, hidden),
    );
    tensors.insert(
        "embeddings.token_type_embeddings.weight".into(),
        t(2, hidden),
    );
    tensors.insert("embeddings.LayerNorm.weight".into(), ones(hidden));
    tensors.insert("embeddings.LayerNorm.bias".into(), zeros(hidden));
    for l in 0..layers {
        let p = format!("encoder.layer.{l}.");
        for (name, out, inp) in [
            ("attention.self.query", hidden, hidden),
            ("attention.self.key", hidden, hidden),
            ("attention.self.value", hidden, hidden),
            ("attention.output.dense", hidden, hidden),
            ("intermediate.dense", inter, hidden),
            ("output.dense", hidden, inter),
        ] {
            tensors.insert(format!("{p}{name}.weight"), t(out, inp));
            tensors.insert(format!("{p}{name}.bias"), t(out, 1));
        }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            tensors.insert(format!("{p}{ln}.weight"), ones(hidden));
            tensors.insert(format!("{p}{ln}.bias"), zeros(hidden));
        }
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
}

fn model_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("podsift-models-")
            .tempdir()
            .unwrap()
    })
    .path()
}

/// The tiny model (built once per test run).
pub fn tiny_model() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = model_home().join("tiny-bert");
        build_tiny_model(&d, 0.0);
        d
    })
}

/// A second tiny model with other weights.
pub fn tiny_model_other() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = model_home().join("tiny-bert-other");
        build_tiny_model(&d, 5.0);
        // Another vocabulary entry makes the fingerprint differ.
        let cfg = std::fs::read_to_string(d.join("config.json"))
            .unwrap()
            .replace("0.02", "0.03");
        std::fs::write(d.join("config.json"), cfg).unwrap();
        d
    })
}

/// The Python of the test venv (`scripts/py-env`: the MCP SDK, aiosmtpd,
/// cryptography): `PODSIFT_PYTHON` when set (scripts/test sets it), else
/// `target/pyenv` when an earlier run made it. `None`, with a note on
/// stderr, when there is none: the test that asked is skipped.
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PODSIFT_PYTHON") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "PODSIFT_PYTHON={} is not a file", p.display());
        return Some(p);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|t| t.join("pyenv/bin/python"));
    if let Some(p) = venv.filter(|p| p.is_file()) {
        return Some(p);
    }
    eprintln!(
        "note: no Python test environment (run scripts/py-env, or scripts/test, which does); \
         skipping the test that drives podsift with the MCP SDK or an SMTP server"
    );
    None
}

/// Run a script of `tests/py` with the test venv's Python; panics with its
/// output when it fails. Skips (returns) when there is no venv.
pub fn python_script(script: &str, args: &[&std::ffi::OsStr]) {
    let Some(py) = python() else { return };
    let out = Command::new(&py)
        .arg(repo().join("tests/py").join(script))
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
}
