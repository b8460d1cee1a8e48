//! The real loading path (`Embedder::load`) on the tiny generated BERT:
//! mechanics, not relevance.

use candle_core::Device;
use podsift::embed::model::{Locator, ModelSource};
use podsift::embed::{Embedder, Pooling};

use crate::util::{tiny_model, tiny_model_other};

fn load(dir: &std::path::Path) -> Embedder {
    let files = Locator::default()
        .locate(&ModelSource::Dir(dir.to_path_buf()))
        .unwrap();
    Embedder::load(&files, &Device::Cpu).unwrap()
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn dimension_and_unit_norm() {
    let e = load(tiny_model());
    assert_eq!(e.dim(), 32);
    let v = e
        .embed(&["hello podcast", "the soil and the compost"])
        .unwrap();
    for x in &v {
        assert_eq!(x.len(), 32);
        let n: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4, "norm {n}");
    }
    assert!(
        cos(&v[0], &v[1]) < 0.9999,
        "different texts, different vectors"
    );
}

#[test]
fn batch_equals_single() {
    let e = load(tiny_model());
    let texts = [
        "a short one",
        "a much longer text about roman roads and how they were built layer by layer with gravel and stone",
        "chips",
    ];
    let batch = e.embed(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        let single = e.embed(&[t]).unwrap().pop().unwrap();
        assert!(cos(&single, b) > 0.999, "{t}: {}", cos(&single, b));
    }
}

#[test]
fn tokenizer_padding_and_truncation_are_overridden() {
    // The tiny tokenizer.json pads and truncates at 16 tokens, like
    // all-MiniLM-L6-v2's does at 128; texts longer than that must still count.
    let e = load(tiny_model());
    let long = "word ".repeat(20);
    assert_eq!(e.count_tokens(&long), 20 * 4, "w o r d");
    let a = e.embed(&[&format!("{long} the end")]).unwrap();
    let b = e
        .embed(&[&format!("{long} different ending entirely")])
        .unwrap();
    assert!(
        cos(&a[0], &b[0]) < 0.99999,
        "text past token 16 changed nothing: truncated"
    );
}

#[test]
fn cls_pooling_is_read_from_the_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    crate::util::copy_tree(tiny_model(), dir.path());
    std::fs::write(
        dir.path().join("1_Pooling/config.json"),
        r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
    )
    .unwrap();
    let files = Locator::default()
        .locate(&ModelSource::Dir(dir.path().to_path_buf()))
        .unwrap();
    assert_eq!(files.pooling, Pooling::Cls);
    let cls = Embedder::load(&files, &Device::Cpu).unwrap();
    let mean = load(tiny_model());
    let t = ["hello podcast episode"];
    assert!(cos(&cls.embed(&t).unwrap()[0], &mean.embed(&t).unwrap()[0]) < 0.9999);
}

#[test]
fn different_models_have_different_fingerprints() {
    let a = Locator::default()
        .locate(&ModelSource::Dir(tiny_model().to_path_buf()))
        .unwrap();
    let b = Locator::default()
        .locate(&ModelSource::Dir(tiny_model_other().to_path_buf()))
        .unwrap();
    assert_ne!(a.fingerprint().unwrap(), b.fingerprint().unwrap());
}
