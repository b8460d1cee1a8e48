//! `podsift eval --insights` and `--related`: the insight score against
//! hand labels, precision at 5 per interest profile, and how many of the
//! episodes on the same idea `related` finds.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::config::Config;
use crate::cli::EvalArgs;
use podsift::embed::Embedder;
use podsift::eval::{self, InsightLabel, Split};
use podsift::insight::archive::{Archive, EpisodeRow, Local};
use podsift::insight::noncontent::NONCONTENT_THRESHOLD;
use podsift::insight::related::{related_to, RelatedOptions};
use podsift::insight::relevance::{self, Interest};
use podsift::insight::top::{self, WORTH_FLOOR};
use podsift::insight::worth;
use podsift::insight::InsightSignals;
use podsift::rank::Filters;
use podsift::store::text::StoredChunk;
use podsift::store::Store;

/// A labelled span and the passage it names.
struct Labelled {
    label: InsightLabel,
    chunk: StoredChunk,
    vector: Vec<f32>,
    signals: InsightSignals,
    terms: HashSet<String>,
    /// Its context vector ([`relevance::context`]).
    context: Vec<f32>,
}

impl Labelled {
    /// Whether `top` would never show it (non-content, an intro, or below
    /// the worth floor).
    fn shut_out(&self) -> bool {
        self.chunk.noncontent >= NONCONTENT_THRESHOLD
            || worth::is_intro_or_outro(&self.chunk.text)
            || self.signals.worth < WORTH_FLOOR
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| path.display().to_string())
}

fn label(store: &Store, labels: Vec<InsightLabel>) -> Result<(Vec<Labelled>, usize)> {
    let spans = eval::SpanIndex::new(store);
    let local = Local::new(store, &Filters::default())?;
    let mut centroids: HashMap<String, Vec<f32>> = HashMap::new();
    // Each labelled episode's passages, read once for the context vectors.
    let mut episodes: HashMap<String, Vec<EpisodeRow>> = HashMap::new();
    let mut out = Vec::new();
    let mut missing = 0;
    for l in labels {
        let Some(chunk) = spans.passage(&l.span)? else {
            missing += 1;
            continue;
        };
        let Some(v) = store.vector(chunk.chunk_id()) else {
            missing += 1;
            continue;
        };
        let centroid = centroids
            .entry(chunk.episode.clone())
            .or_insert_with(|| top::centroid(store, &chunk.episode));
        let host = local.is_host(&chunk.show, &chunk.episode, chunk.speaker.as_deref())?;
        let signals = top::signals(&chunk, v, centroid, None, host);
        if !episodes.contains_key(&chunk.episode) {
            let rows = local.episode_rows(std::slice::from_ref(&chunk.episode))?;
            episodes.insert(chunk.episode.clone(), rows);
        }
        let rows = &episodes[&chunk.episode];
        let vectors: Vec<&[f32]> = rows.iter().map(|r| &*r.vector).collect();
        let context = match rows.iter().position(|r| r.id == chunk.chunk_id()) {
            Some(i) => relevance::context(&vectors, i),
            None => v.to_vec(),
        };
        out.push(Labelled {
            context,
            terms: relevance::passage_terms(&chunk.text),
            vector: v.to_vec(),
            label: l,
            chunk,
            signals,
        });
    }
    Ok((out, missing))
}

/// Run `--insights` (with `--profiles` and `--dump` when given).
pub fn run(
    config: &Config,
    args: &EvalArgs,
    store: &Store,
    embedder: Option<&Embedder>,
    path: &Path,
    out: &mut impl Write,
) -> Result<()> {
    let split: Split = args.split.into();
    let mut labels = eval::parse_insight_labels(&read(path)?)?;
    labels.retain(|l| split.keeps(l.split.as_deref()));
    let twins = eval::Twins::new(store);
    for l in &mut labels {
        l.span.file = twins.resolve(&l.span.file);
    }
    let (labelled, missing) = label(store, labels)?;
    let scores: Vec<f32> = labelled.iter().map(|l| l.signals.worth).collect();
    let truth: Vec<bool> = labelled.iter().map(|l| l.label.is_insight()).collect();
    let auc = eval::auc(&scores, &truth);
    let mut by_worth: Vec<&Labelled> = labelled.iter().collect();
    by_worth.sort_by(|a, b| b.signals.worth.total_cmp(&a.signals.worth));
    let ranked: Vec<bool> = by_worth.iter().map(|l| l.label.is_insight()).collect();
    let p20 = eval::precision_at(20, &ranked);
    let shut = labelled.iter().filter(|l| l.shut_out()).count();
    let shut_insights = labelled
        .iter()
        .filter(|l| l.shut_out() && l.label.is_insight())
        .count();
    if config.json {
        let line = serde_json::json!({
            "set": "insights", "split": format!("{:?}", split).to_lowercase(),
            "labelled": labelled.len(), "not_indexed": missing, "auc": round(auc),
            "precision@20": round(p20), "shut_out": shut, "shut_out_insights": shut_insights,
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "insight worth over {} labelled passages ({} spans not in the index): AUC {:.3}, precision@20 {:.3}; {} below the floor or non-content ({} of them labelled insights)",
            labelled.len(),
            missing,
            auc,
            p20,
            shut,
            shut_insights
        )?;
    }
    // The archive sample interests are calibrated against, as `top` does.
    let sample = match (&args.profiles, embedder) {
        (Some(_), Some(_)) => relevance::reference(&Local::new(store, &Filters::default())?)?,
        _ => Vec::new(),
    };
    if let Some(dpath) = &args.dump {
        dump(
            dpath,
            &labelled,
            args,
            embedder,
            &sample,
            &Local::new(store, &Filters::default())?,
        )?;
    }
    if let Some(ppath) = &args.profiles {
        let embedder = embedder.context("profiles need the model to read their interests")?;
        profiles(config, args, &labelled, embedder, &sample, ppath, out)?;
    }
    Ok(())
}

/// Score `--profiles` (the file `ppath`): each profile's precision at 5
/// over the `labelled` passages, interests calibrated against `sample`.
fn profiles(
    config: &Config,
    args: &EvalArgs,
    labelled: &[Labelled],
    embedder: &Embedder,
    sample: &[Vec<f32>],
    ppath: &Path,
    out: &mut impl Write,
) -> Result<()> {
    let split: Split = args.split.into();
    let mut profiles = eval::parse_profiles(&read(ppath)?)?;
    profiles.retain(|p| split.keeps(p.split.as_deref()));
    let cal = worth::model().relevance;
    let mut sum = 0.0;
    let mut ceilings = 0.0;
    for p in &profiles {
        let interests = calibrated(&p.interests, embedder, sample)?;
        let mut ranked: Vec<(f32, &Labelled)> = labelled
            .iter()
            .filter(|l| !l.shut_out())
            .filter_map(|l| {
                let (rel, _) = relevance::best(&cal, &interests, &l.context, &l.terms);
                (rel >= cal.floor).then(|| {
                    (
                        top::score(Some(rel), l.signals.worth, l.signals.salience),
                        l,
                    )
                })
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.chunk.id.cmp(&b.1.chunk.id)));
        let top5 = first_five(
            ranked.iter().map(|(_, l)| *l),
            |l| l.chunk.episode.as_str(),
            args.per_episode,
        );
        let on_topic = |l: &Labelled| p.topics.contains(&l.label.topic);
        // What counts: an on-topic labelled insight.
        let counts = |l: &Labelled| l.label.is_insight() && on_topic(l);
        let good: Vec<bool> = top5.iter().map(|l| counts(l)).collect();
        let prec = eval::precision_at(5, &good);
        let good_ones = labelled.iter().filter(|l| counts(l));
        let best = ceiling(good_ones, |l| l.chunk.episode.as_str(), args.per_episode);
        ceilings += best;
        let topical = top5.iter().filter(|l| on_topic(l)).count();
        let insights = top5.iter().filter(|l| l.label.is_insight()).count();
        sum += prec;
        if config.json {
            let line = serde_json::json!({
                "set": "profiles", "profile": p.name, "precision@5": round(prec),
                "shown": top5.len(), "on_topic": topical, "insights": insights,
                "ceiling": round(best),
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "  {:<30} precision@5 {:.2}  (shown {}, on topic {}, labelled insights {}; ceiling {:.2})",
                p.name,
                prec,
                top5.len(),
                topical,
                insights,
                best
            )?;
        }
        if args.per_query {
            for l in &top5 {
                eprintln!(
                    "{}\t{}\t{}\t{:.2}\t{}\t{}",
                    p.name,
                    l.label.label,
                    l.label.topic,
                    l.signals.worth,
                    l.label.span.file,
                    l.label.span.start_s
                );
            }
        }
    }
    let n = profiles.len().max(1) as f64;
    let (mean, ceiling) = (sum / n, ceilings / n);
    if config.json {
        writeln!(
            out,
            "{}",
            serde_json::json!({"set": "profiles", "profiles": profiles.len(), "mean_precision@5": round(mean), "ceiling": round(ceiling), "per_episode": args.per_episode})
        )?;
    } else {
        let cap = match args.per_episode {
            0 => "any number per episode".to_string(),
            n => format!("at most {n} per episode"),
        };
        writeln!(
            out,
            "mean precision@5 over {} profiles ({cap}): {:.3} (ceiling {:.3}: the best the labels allow)",
            profiles.len(),
            mean,
            ceiling
        )?;
    }
    Ok(())
}

/// The first five of `ranked`, at most `per_episode` from one episode (0:
/// any number), as the brief picks.
fn first_five<'a, T>(
    ranked: impl IntoIterator<Item = &'a T>,
    episode: impl Fn(&'a T) -> &'a str,
    per_episode: usize,
) -> Vec<&'a T> {
    let cap = if per_episode == 0 {
        usize::MAX
    } else {
        per_episode
    };
    let mut per: HashMap<&str, usize> = HashMap::new();
    ranked
        .into_iter()
        .filter(|l| {
            let n = per.entry(episode(*l)).or_default();
            *n += 1;
            *n <= cap
        })
        .take(5)
        .collect()
}

/// The best precision at 5 the labels allow: the share of five picks that
/// can be `good` passages (those given), at most `per_episode` from one
/// episode (0: any number). A profile whose on-topic insights sit in three
/// episodes cannot score above 0.6 when the brief shows one per episode.
fn ceiling<'a, T: 'a>(
    good: impl IntoIterator<Item = &'a T>,
    episode: impl Fn(&'a T) -> &'a str,
    per_episode: usize,
) -> f64 {
    first_five(good, episode, per_episode).len() as f64 / 5.0
}

/// A profile's interests, embedded and calibrated against `sample`
/// ([`Interest::calibrate`]).
fn calibrated(texts: &[String], embedder: &Embedder, sample: &[Vec<f32>]) -> Result<Vec<Interest>> {
    texts
        .iter()
        .map(|i| {
            let mut it = Interest::new(i, embedder.embed_query(i)?);
            it.calibrate(sample);
            Ok(it)
        })
        .collect()
}

/// Each labelled passage (and each profile interest) as JSON Lines, for
/// `scripts/fit-insight`.
fn dump(
    path: &Path,
    labelled: &[Labelled],
    args: &EvalArgs,
    embedder: Option<&Embedder>,
    sample: &[Vec<f32>],
    archive: &dyn Archive,
) -> Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| path.display().to_string())?,
    );
    for l in labelled {
        let line = serde_json::json!({
            "type": "passage", "worth": l.signals.worth, "shut_out": l.shut_out(),
            "context": l.context,
            "file": l.label.span.file, "start_s": l.label.span.start_s,
            "label": l.label.label, "reason": l.label.reason, "topic": l.label.topic,
            "split": l.label.split, "chunk": l.chunk.id.0, "text": l.chunk.text,
            "speaker": l.chunk.speaker, "show": l.chunk.show, "episode": l.chunk.episode,
            "host": archive.is_host(&l.chunk.show, &l.chunk.episode, l.chunk.speaker.as_deref())?,
            "features": worth::features(&l.chunk.text).0,
            "noncontent": l.signals.noncontent, "salience": l.signals.salience,
            "intro": worth::is_intro_or_outro(&l.chunk.text),
            "terms": l.terms.iter().collect::<Vec<_>>(), "vector": l.vector,
        });
        writeln!(f, "{line}")?;
    }
    if let (Some(ppath), Some(e)) = (&args.profiles, embedder) {
        for p in eval::parse_profiles(&read(ppath)?)? {
            for it in calibrated(&p.interests, e, sample)? {
                let line = serde_json::json!({
                    "type": "interest", "profile": p.name, "split": p.split,
                    "topics": p.topics, "text": it.text, "terms": it.terms, "vector": it.vector,
                    "mean": it.mean, "spread": it.spread,
                });
                writeln!(f, "{line}")?;
            }
        }
    }
    f.flush()?;
    Ok(())
}

/// Run `--related`: for each "same idea" case, the seed's related passages
/// (top 10) and how many of the case's other episodes they reach.
pub fn related(
    config: &Config,
    args: &EvalArgs,
    store: &Store,
    path: &Path,
    out: &mut impl Write,
) -> Result<()> {
    let split: Split = args.split.into();
    let mut cases = eval::parse_related(&read(path)?)?;
    cases.retain(|c| split.keeps(c.split.as_deref()));
    let twins = eval::Twins::new(store);
    for c in &mut cases {
        c.seed.file = twins.resolve(&c.seed.file);
        for o in &mut c.others {
            o.file = twins.resolve(&o.file);
        }
    }
    let spans = eval::SpanIndex::new(store);
    let (mut found, mut total, mut any, mut scored) = (0, 0, 0, 0);
    for case in &cases {
        let Some(seed) = spans.passage(&case.seed)? else {
            eprintln!(
                "podsift: eval: the seed of '{}' is not in the index",
                case.idea
            );
            continue;
        };
        let Some(v) = store.vector(seed.chunk_id()) else {
            continue;
        };
        let opts = RelatedOptions {
            limit: 10,
            ..RelatedOptions::default()
        };
        let hits = related_to(store, v, &seed, &opts)?;
        let paths: Vec<&str> = hits.iter().map(|h| h.chunk.path.as_str()).collect();
        let f = eval::related_found(case, &paths);
        scored += 1;
        found += f;
        total += case.others.len();
        any += usize::from(f > 0);
        if args.per_query {
            eprintln!("related\t{f}/{}\t{}", case.others.len(), case.idea);
        }
    }
    let recall = found as f64 / total.max(1) as f64;
    if config.json {
        let line = serde_json::json!({
            "set": "related", "cases": scored, "recall@10": round(recall),
            "found": found, "listed": total, "cases_with_one": any,
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "related: {found} of {total} listed episodes in the top 10 (recall {recall:.3}); at least one in {any} of {scored} cases"
        )?;
    }
    Ok(())
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::{ceiling, first_five};

    #[test]
    fn the_ceiling_counts_what_one_per_episode_leaves() {
        fn ep<'r>(x: &'r &str) -> &'r str {
            x
        }
        let good = ["a", "a", "a", "b", "c"];
        assert_eq!(ceiling(good.iter(), ep, 1), 0.6);
        assert_eq!(ceiling(good.iter(), ep, 0), 1.0);
        assert_eq!(ceiling(good.iter(), ep, 2), 0.8);
        assert_eq!(ceiling([].iter(), ep, 1), 0.0);
    }

    #[test]
    fn five_picks_at_most_one_per_episode_as_the_brief() {
        let ranked = ["a", "a", "b", "a", "c", "b", "d", "e", "f"];
        fn ep<'r>(x: &'r &str) -> &'r str {
            x
        }
        let one: Vec<&&str> = first_five(ranked.iter(), ep, 1);
        assert_eq!(one, [&"a", &"b", &"c", &"d", &"e"]);
        let two: Vec<&&str> = first_five(ranked.iter(), ep, 2);
        assert_eq!(two, [&"a", &"a", &"b", &"c", &"b"]);
        let any: Vec<&&str> = first_five(ranked.iter(), ep, 0);
        assert_eq!(any, [&"a", &"a", &"b", &"a", &"c"]);
    }
}
