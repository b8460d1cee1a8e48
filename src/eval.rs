//! Retrieval quality, measured: BEIR-style relevance judgements and podcast
//! moments, scored the way their communities score them.
//!
//! - **BEIR** (`queries.jsonl` + `qrels/*.tsv`): nDCG@10 (trec_eval's
//!   definition: gain = judged relevance, discount `log2(rank + 1)`),
//!   Recall@100 and MRR@10, averaged over the queries that have judgements.
//!   Documents are indexed as one or more passages; a document is ranked by
//!   its best passage.
//! - **Moments** (`{"query", "file", "start_s", "end_s"}` per line): a hit
//!   counts when it comes from that file (path suffix, Unicode-normalised)
//!   and its time range overlaps the window widened by ±30 s; scored as
//!   success@1/5/10 and MRR@10 over the first matching hit.
//!
//! Pure functions over plain data; the CLI runs the searches.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Relevance judgements: query id -> document id -> relevance (> 0).
pub type Qrels = HashMap<String, HashMap<String, i64>>;

/// Read a BEIR qrels TSV (`query-id<TAB>corpus-id<TAB>score`, header row
/// optional, CRLF tolerated). Judgements of 0 or less are not relevant.
pub fn parse_qrels(text: &str) -> Result<Qrels> {
    let mut q: Qrels = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            return Err(Error::invalid(
                "qrels",
                format!("line {}: expected 3 tab-separated columns", i + 1),
            ));
        }
        let Ok(score) = cols[cols.len() - 1].trim().parse::<i64>() else {
            if i == 0 {
                continue; // header
            }
            return Err(Error::invalid(
                "qrels",
                format!("line {}: score is not a number", i + 1),
            ));
        };
        if score > 0 {
            q.entry(cols[0].trim().to_string())
                .or_default()
                .insert(cols[cols.len() - 2].trim().to_string(), score);
        }
    }
    Ok(q)
}

#[derive(Deserialize)]
struct RawQuery {
    #[serde(rename = "_id")]
    id: serde_json::Value,
    text: String,
}

/// Read BEIR `queries.jsonl` into (id, text).
pub fn parse_queries(text: &str) -> Result<Vec<(String, String)>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let q: RawQuery = serde_json::from_str(l)
                .map_err(|e| Error::invalid("queries", format!("line {}: {e}", i + 1)))?;
            let id = match q.id {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Ok((id, q.text))
        })
        .collect()
}

/// Quality figures of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    /// Mean nDCG@10.
    pub ndcg10: f64,
    /// Mean Recall@100.
    pub recall100: f64,
    /// Mean reciprocal rank of the first relevant document in the top 10.
    pub mrr10: f64,
    /// Queries scored.
    pub queries: usize,
}

/// Score ranked document ids per query against `qrels` (queries without
/// judgements are skipped).
pub fn score(run: &[(String, Vec<String>)], qrels: &Qrels) -> Metrics {
    let mut m = Metrics::default();
    for (qid, docs) in run {
        let Some(rel) = qrels.get(qid) else { continue };
        m.queries += 1;
        let dcg: f64 = docs
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, d)| rel.get(d).copied().unwrap_or(0) as f64 / ((i + 2) as f64).log2())
            .sum();
        let mut ideal: Vec<i64> = rel.values().copied().collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let idcg: f64 = ideal
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, &g)| g as f64 / ((i + 2) as f64).log2())
            .sum();
        if idcg > 0.0 {
            m.ndcg10 += dcg / idcg;
        }
        let found = docs
            .iter()
            .take(100)
            .filter(|d| rel.contains_key(*d))
            .count();
        m.recall100 += found as f64 / rel.len() as f64;
        if let Some(r) = docs.iter().take(10).position(|d| rel.contains_key(d)) {
            m.mrr10 += 1.0 / (r + 1) as f64;
        }
    }
    if m.queries > 0 {
        let n = m.queries as f64;
        m.ndcg10 /= n;
        m.recall100 /= n;
        m.mrr10 /= n;
    }
    m
}

/// Document ids from ranked passage episode ids (`<show>/<doc id>`), best
/// passage first, each document once.
pub fn docs_from_passages<'a>(episode_ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for e in episode_ids {
        let doc = e.rsplit('/').next().unwrap_or(e);
        if seen.insert(doc.to_string()) {
            out.push(doc.to_string());
        }
    }
    out
}

/// One labelled moment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Moment {
    /// What a listener would type.
    pub query: String,
    /// The file, relative to the corpus root.
    pub file: String,
    /// Window start, seconds.
    pub start_s: f64,
    /// Window end, seconds.
    pub end_s: f64,
    /// `paraphrase`, `keyword`, `concept` or `speaker`, when labelled.
    #[serde(default)]
    pub kind: Option<String>,
    /// `tune` or `heldout`, when the set has a held-out half.
    #[serde(default)]
    pub split: Option<String>,
}

/// Read a moments JSON Lines file.
pub fn parse_moments(text: &str) -> Result<Vec<Moment>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::invalid("moments", format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Which half of a set to score: the half tuned on, the held-out half
/// (scored only at the end), or every line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Split {
    /// Every line.
    #[default]
    All,
    /// Lines marked `"split": "tune"`.
    Tune,
    /// Lines marked `"split": "heldout"`.
    Heldout,
}

impl Split {
    /// Whether a line marked `split` (none: unsplit) belongs to this half.
    pub fn keeps(self, split: Option<&str>) -> bool {
        match self {
            Split::All => true,
            Split::Tune => split == Some("tune"),
            Split::Heldout => split == Some("heldout"),
        }
    }
}

/// Whether the indexed `path` is the corpus-relative `file` (Unicode
/// normalised; any folder above the corpus root).
pub fn same_file(file: &str, path: &str) -> bool {
    let file: String = file.nfc().collect();
    let path: String = path.replace('\\', "/").nfc().collect();
    path == file || path.ends_with(&format!("/{file}"))
}

/// A window of one file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Span {
    /// The file, relative to the corpus root.
    pub file: String,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

impl Span {
    /// Milliseconds of `[start_ms, end_ms)` inside this window.
    pub fn overlap_ms(&self, start_ms: u64, end_ms: u64) -> f64 {
        let lo = (self.start_s * 1000.0).max(start_ms as f64);
        let hi = (self.end_s * 1000.0).min(end_ms as f64);
        (hi - lo).max(0.0)
    }
}

/// One labelled span of `tests/eval/insights.jsonl`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InsightLabel {
    /// The window.
    #[serde(flatten)]
    pub span: Span,
    /// `insight` or `not`.
    pub label: String,
    /// Why (claim, explanation, ..., intro, question, ...).
    #[serde(default)]
    pub reason: String,
    /// A topic label that profiles refer to.
    #[serde(default)]
    pub topic: String,
    /// `tune` or `heldout`.
    #[serde(default)]
    pub split: Option<String>,
}

impl InsightLabel {
    /// Whether the span is labelled an insight.
    pub fn is_insight(&self) -> bool {
        self.label == "insight"
    }
}

/// Read insight labels (JSON Lines).
pub fn parse_insight_labels(text: &str) -> Result<Vec<InsightLabel>> {
    json_lines(text, "insights")
}

/// An interest profile of `tests/eval/profiles.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EvalProfile {
    /// Name.
    pub name: String,
    /// Interests, as a reader types them.
    pub interests: Vec<String>,
    /// The label topics that are on-topic for it.
    pub topics: Vec<String>,
    /// `tune` or `heldout`.
    #[serde(default)]
    pub split: Option<String>,
}

/// Read profiles (`[[profile]]` tables).
pub fn parse_profiles(text: &str) -> Result<Vec<EvalProfile>> {
    #[derive(Deserialize)]
    struct File {
        profile: Vec<EvalProfile>,
    }
    let f: File = toml::from_str(text).map_err(|e| Error::invalid("profiles", e.to_string()))?;
    Ok(f.profile)
}

/// A "same idea" case of `tests/eval/related.jsonl`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RelatedCase {
    /// The idea, named.
    pub idea: String,
    /// The moment related passages are asked for.
    pub seed: Span,
    /// Moments of other episodes on the same idea.
    pub others: Vec<Span>,
    /// `tune` or `heldout`.
    #[serde(default)]
    pub split: Option<String>,
}

/// Read related cases (JSON Lines).
pub fn parse_related(text: &str) -> Result<Vec<RelatedCase>> {
    json_lines(text, "related")
}

fn json_lines<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<Vec<T>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::invalid(what, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Of a case's other episodes, how many appear among `hit_paths` (any
/// passage of that file counts: the idea is found in that episode).
pub fn related_found(case: &RelatedCase, hit_paths: &[&str]) -> usize {
    case.others
        .iter()
        .filter(|o| hit_paths.iter().any(|p| same_file(&o.file, p)))
        .count()
}

/// Share of the first `k` labels that are true (over `k`, or over fewer
/// when the list is shorter).
pub fn precision_at(k: usize, ranked: &[bool]) -> f64 {
    let n = ranked.len().min(k);
    if n == 0 {
        return 0.0;
    }
    ranked[..n].iter().filter(|&&b| b).count() as f64 / n as f64
}

/// Area under the ROC curve of `scores` for `labels` (ties count half).
pub fn auc(scores: &[f32], labels: &[bool]) -> f64 {
    let pos: Vec<f32> = scores
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l)
        .map(|(s, _)| *s)
        .collect();
    let neg: Vec<f32> = scores
        .iter()
        .zip(labels)
        .filter(|(_, &l)| !l)
        .map(|(s, _)| *s)
        .collect();
    if pos.is_empty() || neg.is_empty() {
        return 0.5;
    }
    let mut wins = 0.0;
    for p in &pos {
        for n in &neg {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()) as f64
}

/// Labelled files that the index folded into a twin (the same episode in
/// another file: another format, or a duplicate folder), and the file each
/// was folded into. A label names the canonical file (tests/eval/README.md);
/// where the index keeps the twin instead, the label is read as naming the
/// twin, so a folded file is not scored as missing or its hits as misses.
pub struct Twins {
    /// Normalised folded path -> the path it was folded into.
    folded: Vec<(String, String)>,
}

impl Twins {
    /// The folds the store's state records.
    pub fn new(store: &crate::store::Store) -> Twins {
        let folded = store
            .files()
            .filter_map(|(_, f)| match &f.outcome {
                crate::store::state::Outcome::Folded { into, .. } => Some((
                    f.path.replace('\\', "/").nfc().collect(),
                    into.replace('\\', "/"),
                )),
                _ => None,
            })
            .collect();
        Twins { folded }
    }

    /// `file` (corpus-relative), or the path its episode is indexed from
    /// when the index folded it into a twin.
    pub fn resolve(&self, file: &str) -> String {
        self.folded
            .iter()
            .find(|(p, _)| same_file(file, p))
            .map_or_else(|| file.to_string(), |(_, into)| into.clone())
    }
}

/// Finds the passage of the store that a labelled window names: the
/// passage of that file that overlaps the window most (ties: the earlier).
pub struct SpanIndex<'a> {
    store: &'a crate::store::Store,
    /// Normalised source path -> episode id.
    paths: Vec<(String, String)>,
}

impl<'a> SpanIndex<'a> {
    /// Index the store's episodes by source path.
    pub fn new(store: &'a crate::store::Store) -> Self {
        let mut paths: Vec<(String, String)> = store
            .episodes()
            .filter_map(|(id, e)| {
                let f = store.file(&e.file)?;
                Some((f.path.replace('\\', "/").nfc().collect(), id.clone()))
            })
            .collect();
        paths.sort();
        SpanIndex { store, paths }
    }

    /// The episode indexed from `file` (corpus-relative), if any.
    pub fn episode(&self, file: &str) -> Option<&str> {
        self.paths
            .iter()
            .find(|(p, _)| same_file(file, p))
            .map(|(_, e)| e.as_str())
    }

    /// The passage that overlaps `span` most, if the file is indexed and
    /// timed there.
    pub fn passage(&self, span: &Span) -> Result<Option<crate::store::text::StoredChunk>> {
        let Some(ep) = self.episode(&span.file) else {
            return Ok(None);
        };
        let chunks = self.store.episode_range(ep, 0, u64::MAX - 1)?;
        let mut best: Option<(f64, crate::store::text::StoredChunk)> = None;
        for c in chunks {
            let (Some(s), Some(e)) = (c.start_ms, c.end_ms) else {
                continue;
            };
            let o = span.overlap_ms(s, e.max(s + 1));
            if o > 0.0 && best.as_ref().is_none_or(|(b, _)| o > *b) {
                best = Some((o, c));
            }
        }
        Ok(best.map(|(_, c)| c))
    }
}

/// A hit as the moment scorer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentHit {
    /// Source path as indexed.
    pub path: String,
    /// Start, ms.
    pub start_ms: Option<u64>,
    /// End, ms.
    pub end_ms: Option<u64>,
}

/// Tolerance around a moment's window, ms.
pub const MOMENT_SLACK_MS: f64 = 30_000.0;

/// Whether `hit` answers `m`.
pub fn hit_matches(m: &Moment, hit: &MomentHit) -> bool {
    if !same_file(&m.file, &hit.path) {
        return false;
    }
    let (lo, hi) = (
        m.start_s * 1000.0 - MOMENT_SLACK_MS,
        m.end_s * 1000.0 + MOMENT_SLACK_MS,
    );
    match (hit.start_ms, hit.end_ms) {
        (Some(s), Some(e)) => (s as f64) < hi && (e as f64) > lo,
        (Some(s), None) => (s as f64) < hi && (s as f64) > lo,
        _ => false,
    }
}

/// Moment figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MomentMetrics {
    /// Share of queries answered by the first hit.
    pub success1: f64,
    /// ... in the top 5.
    pub success5: f64,
    /// ... in the top 10.
    pub success10: f64,
    /// Mean reciprocal rank within the top 10.
    pub mrr10: f64,
    /// Queries scored.
    pub queries: usize,
}

/// Score hits (in rank order) for each moment.
pub fn score_moments(moments: &[Moment], hits: &[Vec<MomentHit>]) -> MomentMetrics {
    let mut m = MomentMetrics::default();
    for (moment, hs) in moments.iter().zip(hits) {
        m.queries += 1;
        if let Some(r) = hs.iter().take(10).position(|h| hit_matches(moment, h)) {
            m.success1 += f64::from(r < 1);
            m.success5 += f64::from(r < 5);
            m.success10 += 1.0;
            m.mrr10 += 1.0 / (r + 1) as f64;
        }
    }
    if m.queries > 0 {
        let n = m.queries as f64;
        m.success1 /= n;
        m.success5 /= n;
        m.success10 /= n;
        m.mrr10 /= n;
    }
    m
}

/// A hand-labelled window: `ad` (not content) or `content`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AdLabel {
    /// File, relative to the corpus root.
    pub file: String,
    /// Window start, seconds.
    pub start_s: f64,
    /// Window end, seconds.
    pub end_s: f64,
    /// `ad` or `content`.
    pub label: String,
    /// Finer kind (sponsor, intro, outro, ...).
    #[serde(default)]
    pub kind: String,
}

/// Read ad labels.
pub fn parse_ad_labels(text: &str) -> Result<Vec<AdLabel>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::invalid("ads", format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// Detector figures over labelled passages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AdMetrics {
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// Passages labelled ad.
    pub labelled_ad: usize,
    /// Passages labelled content.
    pub labelled_content: usize,
    /// Ads flagged.
    pub tp: usize,
    /// Content flagged.
    pub fp: usize,
    /// Ads missed.
    pub fn_: usize,
    /// Share of labelled passages where the stored (index-time) decision
    /// equals the recomputed one.
    pub stored_agreement: f64,
    /// The decision threshold (0..=1000).
    pub threshold: u64,
}

/// Score the non-content detector: a passage is labelled `ad` (`content`)
/// when at least half of its time span lies inside an `ad` (`content`)
/// window; others are not scored. Scores are recomputed from the stored text
/// and vector with the current detector (so it can be tuned without
/// re-indexing), smoothed per episode as at index time. With `dump`, each
/// scored passage is handed to it as one tab-separated line (label, kind,
/// signals, file, time, text: transcript text, for the caller to clean).
pub fn score_ads(
    store: &crate::store::Store,
    detector: &crate::insight::noncontent::Detector,
    labels: &[AdLabel],
    mut dump: Option<&mut dyn FnMut(String)>,
) -> Result<AdMetrics> {
    use crate::insight::noncontent::NONCONTENT_THRESHOLD as T;
    let mut by_file: HashMap<&str, Vec<&AdLabel>> = HashMap::new();
    for l in labels {
        by_file.entry(l.file.as_str()).or_default().push(l);
    }
    let mut m = AdMetrics {
        threshold: T,
        ..AdMetrics::default()
    };
    let mut agree = 0usize;
    // Repetition across the episodes of each show that has labels.
    let mut rep: HashMap<u64, f32> = HashMap::new();
    let shows: HashSet<String> = store
        .episodes()
        .map(|(_, e)| e)
        .filter(|e| {
            let p: String = store
                .file(&e.file)
                .map(|f| f.path.nfc().collect())
                .unwrap_or_default();
            by_file
                .keys()
                .any(|f| p.ends_with(&format!("/{}", f.nfc().collect::<String>())))
        })
        .map(|e| e.show.clone())
        .collect();
    for show in shows {
        let ps = store.show_passages(&show)?;
        let input: Vec<(u64, &str)> = ps
            .iter()
            .map(|c| {
                (
                    crate::store::vectors::episode_key(&c.episode),
                    c.text.as_str(),
                )
            })
            .collect();
        let r = crate::insight::noncontent::repetition(&input, 2);
        for (c, v) in ps.iter().zip(r) {
            rep.insert(c.id.0, v);
        }
    }
    let mut files: Vec<&&str> = by_file.keys().collect();
    files.sort();
    for file in files {
        let ls = &by_file[*file];
        let want: String = file.nfc().collect();
        let Some((episode, _)) = store.episodes().find(|(_, e)| {
            let p: String = store
                .file(&e.file)
                .map(|f| f.path.nfc().collect())
                .unwrap_or_default();
            p == want || p.ends_with(&format!("/{want}"))
        }) else {
            continue;
        };
        let chunks = store.episode_range(episode, 0, u64::MAX - 1)?;
        let mut base: Vec<u64> = Vec::with_capacity(chunks.len());
        let mut reps: Vec<f32> = Vec::with_capacity(chunks.len());
        let mut parts = Vec::with_capacity(chunks.len());
        for c in &chunks {
            let v = store.vector(c.chunk_id()).unwrap_or(&[]);
            let p = detector.parts(&c.text, v);
            let r = rep.get(&c.id.0).copied().unwrap_or(0.0);
            base.push((p.score * 1000.0).round() as u64);
            reps.push(r);
            parts.push((p, r));
        }
        let scores = crate::insight::noncontent::finalize(&base, &reps, T);
        for (i, c) in chunks.iter().enumerate() {
            let (Some(s), Some(e)) = (c.start_ms, c.end_ms) else {
                continue;
            };
            let len = (e.saturating_sub(s)).max(1) as f64;
            let inside = |l: &AdLabel| {
                let lo = (l.start_s * 1000.0).max(s as f64);
                let hi = (l.end_s * 1000.0).min(e as f64);
                (hi - lo).max(0.0)
            };
            let ad: f64 = ls
                .iter()
                .filter(|l| l.label == "ad")
                .map(|l| inside(l))
                .sum();
            let content: f64 = ls
                .iter()
                .filter(|l| l.label == "content")
                .map(|l| inside(l))
                .sum();
            let label = if ad * 2.0 >= len {
                "ad"
            } else if content * 2.0 >= len {
                "content"
            } else {
                continue;
            };
            let flagged = scores[i] >= T;
            agree += usize::from((c.noncontent >= T) == flagged);
            match (label, flagged) {
                ("ad", true) => m.tp += 1,
                ("ad", false) => m.fn_ += 1,
                (_, true) => m.fp += 1,
                _ => {}
            }
            if label == "ad" {
                m.labelled_ad += 1;
            } else {
                m.labelled_content += 1;
            }
            if let Some(dump) = dump.as_mut() {
                let kind = ls
                    .iter()
                    .filter(|l| inside(l) > 0.0)
                    .map(|l| l.kind.as_str())
                    .next()
                    .unwrap_or("");
                let line = format!(
                    "{label}\t{kind}\t{:.3}\t{:.3}\t{:.3}\t{}\t{file}\t{}\t{}\t{:.3}",
                    parts[i].0.cues,
                    parts[i].0.similarity,
                    parts[i].1,
                    scores[i],
                    s / 1000,
                    c.text.chars().take(100).collect::<String>(),
                    parts[i].0.ad_similarity
                );
                dump(line);
            }
        }
    }
    let n = m.labelled_ad + m.labelled_content;
    m.precision = m.tp as f64 / (m.tp + m.fp).max(1) as f64;
    m.recall = m.tp as f64 / (m.tp + m.fn_).max(1) as f64;
    m.f1 = if m.precision + m.recall > 0.0 {
        2.0 * m.precision * m.recall / (m.precision + m.recall)
    } else {
        0.0
    };
    m.stored_agreement = agree as f64 / n.max(1) as f64;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qrels_with_header_and_crlf() {
        let q = parse_qrels(
            "query-id\tcorpus-id\tscore\r\n1\t31715818\t1\r\n1\t999\t0\r\n3\t14717500\t2\r\n",
        )
        .unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q["3"]["14717500"], 2);
        assert!(!q["1"].contains_key("999"));
    }

    #[test]
    fn metrics_by_hand() {
        let mut qrels = Qrels::new();
        qrels.insert(
            "q1".into(),
            [("a".to_string(), 1), ("b".to_string(), 1)]
                .into_iter()
                .collect(),
        );
        qrels.insert("q2".into(), [("z".to_string(), 1)].into_iter().collect());
        let run = vec![
            (
                "q1".to_string(),
                vec!["x".to_string(), "a".to_string(), "b".to_string()],
            ),
            ("q2".to_string(), vec!["y".to_string()]),
            ("q3".to_string(), vec!["a".to_string()]),
        ];
        let m = score(&run, &qrels);
        assert_eq!(m.queries, 2);
        let dcg = 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((m.ndcg10 - dcg / idcg / 2.0).abs() < 1e-12);
        assert!((m.recall100 - 0.5).abs() < 1e-12);
        assert!((m.mrr10 - 0.25).abs() < 1e-12);
    }

    #[test]
    fn docs_deduplicate_passages() {
        let d = docs_from_passages(["beir/1", "beir/2", "beir/1", "beir/3"]);
        assert_eq!(d, vec!["1", "2", "3"]);
    }

    #[test]
    fn moment_matching() {
        let m = Moment {
            query: "q".into(),
            file: "show/a b.vtt".into(),
            start_s: 100.0,
            end_s: 160.0,
            kind: None,
            split: None,
        };
        let h = |p: &str, s: u64, e: u64| MomentHit {
            path: p.into(),
            start_ms: Some(s),
            end_ms: Some(e),
        };
        assert!(
            hit_matches(&m, &h("../corpus/show/a b.vtt", 40_000, 75_000)),
            "within 30 s before"
        );
        assert!(!hit_matches(
            &m,
            &h("../corpus/show/a b.vtt", 10_000, 69_000)
        ));
        assert!(!hit_matches(
            &m,
            &h("../corpus/xshow/a b.vtt", 100_000, 120_000)
        ));
        let nfd = MomentHit {
            path: "show/Cisse\u{301}.vtt".into(),
            start_ms: Some(0),
            end_ms: Some(1),
        };
        let m2 = Moment {
            file: "show/Cissé.vtt".into(),
            start_s: 0.0,
            end_s: 1.0,
            ..m.clone()
        };
        assert!(hit_matches(&m2, &nfd));
        let s = score_moments(
            &[m.clone(), m],
            &[
                vec![h("x", 0, 1), h("show/a b.vtt", 120_000, 130_000)],
                vec![],
            ],
        );
        assert_eq!(s.queries, 2);
        assert_eq!(s.success1, 0.0);
        assert_eq!(s.success5, 0.5);
        assert_eq!(s.mrr10, 0.25);
    }
}
