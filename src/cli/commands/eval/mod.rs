//! `podsift eval`: retrieval quality of the current index, per mode.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use super::search::open;

mod insights;
use super::Exit;
use crate::cli::config::Config;
use crate::cli::{EvalArgs, ModeArg};
use podsift::embed::Embedder;
use podsift::eval::{self, MomentHit};
use podsift::output::lines::{BeirLine, MomentLine};
use podsift::rank::{self, Mode, SearchOptions};
use podsift::store::Store;

fn mode_of(m: ModeArg) -> Mode {
    match m {
        ModeArg::Hybrid => Mode::Hybrid,
        ModeArg::Keyword => Mode::Keyword,
        ModeArg::Semantic => Mode::Semantic,
    }
}

/// Run `eval`: each evaluation set given, in turn.
pub fn run(config: &Config, args: &EvalArgs) -> Result<Exit> {
    let modes: Vec<Mode> = if args.mode.is_empty() {
        vec![Mode::Keyword, Mode::Semantic, Mode::Hybrid]
    } else {
        args.mode.iter().copied().map(mode_of).collect()
    };
    let needs_model = modes.iter().any(|m| m.needs_model())
        || args.ads.is_some()
        || args.profiles.is_some()
        || args.dump.is_some();
    let (store, embedder) = open(config, needs_model)?;
    // BEIR queries through a PostgreSQL store (the model is still the
    // local index's).
    let mut db = match &args.store {
        Some(url) => {
            let mut db = podsift::store::pg::Db::connect(url)?;
            db.check_schema()?;
            Some(db)
        }
        None => None,
    };
    let ctx = Eval {
        config,
        args,
        modes: &modes,
        store: &store,
        embedder: embedder.as_ref(),
    };
    let mut out = config.stdout();
    if let (Some(qpath), Some(rpath)) = (&args.queries, &args.qrels) {
        ctx.beir(qpath, rpath, db.as_mut(), &mut out)?;
    }
    if let Some(mpath) = &args.moments {
        ctx.moments(mpath, &mut out)?;
    }
    if let Some(ipath) = &args.insights {
        insights::run(config, args, &store, embedder.as_ref(), ipath, &mut out)?;
    }
    if let Some(rpath) = &args.related {
        insights::related(config, args, &store, rpath, &mut out)?;
    }
    if let Some(apath) = &args.ads {
        ctx.ads(apath, &mut out)?;
    }
    Ok(Exit::Success)
}

/// What every evaluation set is run with.
struct Eval<'a> {
    config: &'a Config,
    args: &'a EvalArgs,
    modes: &'a [Mode],
    store: &'a Store,
    embedder: Option<&'a Embedder>,
}

impl Eval<'_> {
    /// Search options for `mode`: the defaults, with the flags that tune
    /// ranking applied.
    fn options(&self, mode: Mode, limit: usize, merge: bool) -> SearchOptions {
        let args = self.args;
        let d = SearchOptions::default();
        SearchOptions {
            mode,
            limit,
            rrf_k: args.rrf_k.unwrap_or(d.rrf_k),
            keyword_weight: args.keyword_weight.unwrap_or(d.keyword_weight),
            depth: args.depth.unwrap_or(0),
            merge_moments: merge,
            fusion: args.fusion.map(Into::into).unwrap_or(d.fusion),
            prf_terms: args.prf_terms.unwrap_or(d.prf_terms),
            weights: podsift::rank::bm25::Weights {
                text: args.text_weight.unwrap_or(d.weights.text),
                context: args.context_weight.unwrap_or(d.weights.context),
                title: args.title_weight.unwrap_or(d.weights.title),
            },
            ..d
        }
    }

    /// Each text's query vector, or `None`s without a model.
    fn embed_all(&self, texts: &[&str]) -> Result<Vec<Option<Vec<f32>>>> {
        match self.embedder {
            Some(e) => texts.iter().map(|t| Ok(Some(e.embed_query(t)?))).collect(),
            None => Ok(vec![None; texts.len()]),
        }
    }

    /// BEIR queries and qrels: nDCG@10, Recall@100 and MRR@10 per mode.
    fn beir(
        &self,
        qpath: &Path,
        rpath: &Path,
        mut db: Option<&mut podsift::store::pg::Db>,
        out: &mut impl Write,
    ) -> Result<()> {
        let qrels = eval::parse_qrels(
            &std::fs::read_to_string(rpath).with_context(|| rpath.display().to_string())?,
        )?;
        let queries: Vec<(String, String)> = eval::parse_queries(
            &std::fs::read_to_string(qpath).with_context(|| qpath.display().to_string())?,
        )?
        .into_iter()
        .filter(|(id, _)| qrels.contains_key(id))
        .collect();
        let texts: Vec<&str> = queries.iter().map(|(_, t)| t.as_str()).collect();
        let vectors = self.embed_all(&texts)?;
        if !self.config.json {
            writeln!(
                out,
                "{:<10} {:>8} {:>11} {:>8} {:>8} {:>10}",
                "mode", "nDCG@10", "Recall@100", "MRR@10", "queries", "ms/query"
            )?;
        }
        for &mode in self.modes {
            // Documents may span several passages: fetch deep enough for 100 documents.
            let mut opts = self.options(mode, 300, false);
            if opts.depth == 0 {
                opts.depth = 300;
            }
            let t = Instant::now();
            let mut run = Vec::with_capacity(queries.len());
            for ((qid, q), v) in queries.iter().zip(&vectors) {
                let (hits, _) = match db.as_deref_mut() {
                    Some(db) => rank::pg::search(db, v.as_deref(), q, &opts)?,
                    None => rank::search_with_vector(self.store, v.as_deref(), q, &opts)?,
                };
                let docs = eval::docs_from_passages(hits.iter().map(|h| h.chunk.episode.as_str()));
                run.push((qid.clone(), docs));
            }
            let per_q = t.elapsed().as_secs_f64() * 1000.0 / queries.len().max(1) as f64;
            let m = eval::score(&run, &qrels);
            if self.config.json {
                let line = BeirLine {
                    mode: mode.name(),
                    ndcg10: round(m.ndcg10),
                    recall100: round(m.recall100),
                    mrr10: round(m.mrr10),
                    queries: m.queries,
                    ms_per_query: round(per_q),
                };
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            } else {
                writeln!(
                    out,
                    "{:<10} {:>8.4} {:>11.4} {:>8.4} {:>8} {:>10.2}",
                    mode.name(),
                    m.ndcg10,
                    m.recall100,
                    m.mrr10,
                    m.queries,
                    per_q
                )?;
            }
        }
        Ok(())
    }

    /// Moment queries: success@1/5/10 and MRR@10 per mode.
    fn moments(&self, mpath: &Path, out: &mut impl Write) -> Result<()> {
        let split: eval::Split = self.args.split.into();
        let mut moments = eval::parse_moments(
            &std::fs::read_to_string(mpath).with_context(|| mpath.display().to_string())?,
        )?;
        moments.retain(|m| split.keeps(m.split.as_deref()));
        let twins = eval::Twins::new(self.store);
        for m in &mut moments {
            m.file = twins.resolve(&m.file);
        }
        let texts: Vec<&str> = moments.iter().map(|m| m.query.as_str()).collect();
        let vectors = self.embed_all(&texts)?;
        if !self.config.json {
            writeln!(
                out,
                "{:<10} {:>10} {:>10} {:>11} {:>8} {:>8} {:>10}",
                "mode", "success@1", "success@5", "success@10", "MRR@10", "queries", "ms/query"
            )?;
        }
        for &mode in self.modes {
            let opts = self.options(mode, 10, true);
            let t = Instant::now();
            let mut all = Vec::with_capacity(moments.len());
            for (q, v) in texts.iter().zip(&vectors) {
                let (hits, _) = rank::search_with_vector(self.store, v.as_deref(), q, &opts)?;
                all.push(
                    hits.iter()
                        .map(|h| MomentHit {
                            path: h.chunk.path.clone(),
                            start_ms: h.start_ms,
                            end_ms: h.end_ms,
                        })
                        .collect::<Vec<_>>(),
                );
            }
            let per_q = t.elapsed().as_secs_f64() * 1000.0 / moments.len().max(1) as f64;
            if self.args.per_query {
                per_query_ranks(mode, &moments, &all);
            }
            let m = eval::score_moments(&moments, &all);
            if self.config.json {
                let line = MomentLine {
                    set: "moments",
                    mode: mode.name(),
                    success1: round(m.success1),
                    success5: round(m.success5),
                    success10: round(m.success10),
                    mrr10: round(m.mrr10),
                    queries: m.queries,
                    ms_per_query: round(per_q),
                };
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            } else {
                writeln!(
                    out,
                    "{:<10} {:>10.3} {:>10.3} {:>11.3} {:>8.3} {:>8} {:>10.2}",
                    mode.name(),
                    m.success1,
                    m.success5,
                    m.success10,
                    m.mrr10,
                    m.queries,
                    per_q
                )?;
            }
        }
        Ok(())
    }

    /// Labelled ads: the non-content detector's precision, recall and F1.
    fn ads(&self, apath: &Path, out: &mut impl Write) -> Result<()> {
        let text = std::fs::read_to_string(apath).with_context(|| apath.display().to_string())?;
        let labels = eval::parse_ad_labels(&text)?;
        let embedder = self.embedder.context("the detector needs the model")?;
        let detector = podsift::insight::noncontent::Detector::new(embedder)?;
        // Transcript text: no control characters to the terminal.
        let mut print = |line: String| eprintln!("{}", podsift::output::safe::text(&line));
        let dump: Option<&mut dyn FnMut(String)> = self.args.per_query.then_some(&mut print);
        let r = eval::score_ads(self.store, &detector, &labels, dump)?;
        if self.config.json {
            let line = serde_json::json!({
                "set": "ads", "precision": round(r.precision), "recall": round(r.recall), "f1": round(r.f1),
                "labelled_ad": r.labelled_ad, "labelled_content": r.labelled_content,
                "true_positive": r.tp, "false_positive": r.fp, "false_negative": r.fn_,
                "stored_agreement": round(r.stored_agreement), "threshold": r.threshold,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "non-content detector: precision {:.3} recall {:.3} F1 {:.3} (passages labelled ad {}, content {}; TP {} FP {} FN {}; threshold {})",
                r.precision, r.recall, r.f1, r.labelled_ad, r.labelled_content, r.tp, r.fp, r.fn_, r.threshold
            )?;
        }
        Ok(())
    }
}

/// Each moment's rank under `mode` (`-`: not found), one line each on
/// stderr.
fn per_query_ranks(mode: Mode, moments: &[eval::Moment], all: &[Vec<MomentHit>]) {
    for (m, hs) in moments.iter().zip(all) {
        let rank = hs
            .iter()
            .position(|h| eval::hit_matches(m, h))
            .map(|r| r + 1);
        errln!(
            "{}\t{}\t{}",
            mode.name(),
            rank.map_or("-".into(), |r| r.to_string()),
            m.query
        );
    }
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}
