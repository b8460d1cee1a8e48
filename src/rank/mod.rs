//! Ranking: a query and [`SearchOptions`] in, [`Hit`]s out.
//!
//! ```text
//! query ─┬─ bm25::search  (the store's BM25, stemmed terms) ──────────────────────┐
//!        └─ embed query ─ dense::search (1-bit sketch scan, int8, f32 re-score) ┴─ fuse ─ fetch ─ merge moments ─ Vec<Hit>
//! ```
//!
//! Each arm over-fetches `max(5 x limit, 50)` candidates under the same
//! filters; hybrid mode fuses them by a convex combination of min-max
//! normalised scores (equal weights; reciprocal rank fusion with k = 60 is
//! the alternative, [`Fusion`]), and the single-arm modes skip fusion but
//! share everything else. Candidates are then
//! read from the store in rank order, and passages of one episode whose times
//! overlap are merged into one moment (the better-ranked passage's text, the
//! union of the times). Every hit keeps the [`Signals`] that produced it.

pub mod bm25;
pub mod dense;
pub mod fuse;
pub mod pg;
pub mod prf;

use std::time::Instant;

use crate::chunk::ChunkId;
use crate::embed::Embedder;
use crate::error::{Error, Result, Setting};
use crate::store::text::StoredChunk;
pub use crate::store::Filters;
use crate::store::Store;
use fuse::Ranked;

/// Which arms run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// BM25 and dense, fused.
    #[default]
    Hybrid,
    /// BM25 only.
    Keyword,
    /// Dense only.
    Semantic,
}

impl Mode {
    /// Name used in output.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Hybrid => "hybrid",
            Mode::Keyword => "keyword",
            Mode::Semantic => "semantic",
        }
    }

    /// Whether the dense arm (and so the model) is needed.
    pub fn needs_model(self) -> bool {
        self != Mode::Keyword
    }
}

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Arms.
    pub mode: Mode,
    /// Hits wanted.
    pub limit: usize,
    /// Filters.
    pub filters: Filters,
    /// RRF constant.
    pub rrf_k: f32,
    /// RRF weight of the keyword arm (the dense arm has 1).
    pub keyword_weight: f32,
    /// Candidates per arm; 0 means `max(5 x limit, 50)`.
    pub depth: usize,
    /// Merge overlapping passages of one episode into one moment.
    pub merge_moments: bool,
    /// Field weights of the keyword arm.
    pub weights: bm25::Weights,
    /// How hybrid mode fuses the arms.
    pub fusion: Fusion,
    /// Dense arm: exhaustive f32 scan instead of the sketch scan with int8
    /// and f32 re-scoring (for measuring the approximation).
    pub exact: bool,
    /// Hybrid mode: terms added to the keyword query from the first
    /// pass's best passages ([`prf`]); 0 turns feedback off.
    pub prf_terms: usize,
}

/// How the two arms are fused in hybrid mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fusion {
    /// Reciprocal rank fusion ([`fuse::rrf`]).
    Rrf,
    /// Convex combination of min-max normalised scores ([`fuse::convex`]):
    /// the default, ahead of RRF on both SciFact and the podcast moments.
    #[default]
    Convex,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            mode: Mode::Hybrid,
            limit: 10,
            filters: Filters::default(),
            rrf_k: fuse::DEFAULT_K,
            keyword_weight: 1.0,
            depth: 0,
            merge_moments: true,
            weights: bm25::Weights::default(),
            fusion: Fusion::default(),
            exact: false,
            prf_terms: 0,
        }
    }
}

impl SearchOptions {
    /// Candidates fetched per arm.
    pub fn depth(&self) -> usize {
        if self.depth > 0 {
            self.depth
        } else {
            self.limit.saturating_mul(5).max(50)
        }
    }
}

/// Why a hit ranks where it does.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// 1-based rank in the keyword arm.
    pub bm25_rank: Option<usize>,
    /// BM25 score.
    pub bm25_score: Option<f32>,
    /// 1-based rank in the dense arm.
    pub dense_rank: Option<usize>,
    /// Cosine similarity.
    pub dense_score: Option<f32>,
    /// Fused score (hybrid only).
    pub fused: Option<f32>,
}

/// A ranked result: a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// 1-based rank.
    pub rank: usize,
    /// The score it was ranked by (fused, BM25 or cosine).
    pub score: f32,
    /// The best passage of the moment.
    pub chunk: StoredChunk,
    /// Start of the moment (union of merged passages).
    pub start_ms: Option<u64>,
    /// End of the moment.
    pub end_ms: Option<u64>,
    /// Other passages merged into this moment.
    pub merged: Vec<ChunkId>,
    /// Key terms shared with a seed passage (related passages only).
    pub shared_terms: Vec<String>,
    /// Signals.
    pub signals: Signals,
}

/// Counts and timings of one search.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Mode used.
    pub mode: &'static str,
    /// Hits returned.
    pub hits: usize,
    /// Keyword candidates.
    pub bm25_candidates: usize,
    /// Dense candidates.
    pub dense_candidates: usize,
    /// Passages in the index.
    pub passages: usize,
    /// Milliseconds embedding the query.
    pub embed_ms: f64,
    /// Milliseconds in the keyword arm.
    pub bm25_ms: f64,
    /// Milliseconds in the dense arm.
    pub dense_ms: f64,
    /// Milliseconds fusing, fetching and merging.
    pub fuse_ms: f64,
    /// Milliseconds in all.
    pub total_ms: f64,
}

/// Whether the filters restrict anything beyond non-content (which the dense
/// arm handles with the store's cached set of flagged ids, instead of
/// materialising the allowed set for every query).
fn has_user_filters(filters: &Filters) -> bool {
    filters.narrows()
}

/// Run a search. In hybrid mode the keyword arm runs on one thread while
/// the query is embedded and the dense arm scans on the others.
pub fn search(
    store: &Store,
    embedder: Option<&Embedder>,
    query: &str,
    opts: &SearchOptions,
) -> Result<(Vec<Hit>, Summary)> {
    let wants_vector = opts.mode != Mode::Keyword && !query.trim().is_empty();
    let embedder = match (wants_vector, embedder) {
        (false, _) => None,
        (true, Some(e)) => Some(e),
        (true, None) => {
            return Err(Error::setting(
                Setting::Mode,
                "semantic search needs the model",
            ));
        }
    };
    run(store, query, opts, || {
        embedder.map(|e| e.embed_query(query)).transpose()
    })
}

/// Run a search with the query already embedded (`None`: no dense arm).
pub fn search_with_vector(
    store: &Store,
    query_vector: Option<&[f32]>,
    query: &str,
    opts: &SearchOptions,
) -> Result<(Vec<Hit>, Summary)> {
    run(store, query, opts, || Ok(query_vector.map(<[f32]>::to_vec)))
}

/// Both arms, fused: `vector` yields the query vector (or `None`) and runs
/// beside the keyword arm.
fn run(
    store: &Store,
    query: &str,
    opts: &SearchOptions,
    vector: impl FnOnce() -> Result<Option<Vec<f32>>> + Send,
) -> Result<(Vec<Hit>, Summary)> {
    let t0 = Instant::now();
    let mut summary = Summary {
        mode: opts.mode.name(),
        passages: store.len(),
        ..Summary::default()
    };
    let depth = opts.depth();
    let filter = store.filter(&opts.filters)?;
    let keyword_arm = || -> Result<(Vec<Ranked>, f64)> {
        if opts.mode == Mode::Semantic {
            return Ok((Vec::new(), 0.0));
        }
        let t = Instant::now();
        let hits = bm25::search(store, query, filter.as_ref(), depth, &opts.weights)?;
        Ok((hits, ms(t)))
    };
    let dense_arm = || -> Result<(Vec<Ranked>, f64, f64)> {
        let t = Instant::now();
        let qv = vector()?;
        let embed_ms = ms(t);
        let Some(qv) = qv.filter(|_| opts.mode != Mode::Keyword) else {
            return Ok((Vec::new(), embed_ms, 0.0));
        };
        let t = Instant::now();
        let allowed = match &filter {
            Some(f) if has_user_filters(&opts.filters) => Some(store.allowed(f)?),
            _ => None,
        };
        let flagged = (!opts.filters.include_noncontent)
            .then(|| store.flagged())
            .transpose()?;
        let segments = store.segments();
        let exclude =
            |s: usize, r: usize| flagged.is_some_and(|f| f.contains(&segments[s].ids()[r]));
        let hits = if opts.exact {
            let exclude = |s: usize, r: usize| {
                exclude(s, r)
                    || allowed
                        .as_ref()
                        .is_some_and(|a| !a.contains(&segments[s].ids()[r]))
            };
            dense::search_exact(segments, &qv, depth, &exclude)
        } else {
            dense::search(
                segments,
                store.sketch(),
                &qv,
                depth,
                allowed.as_ref(),
                &exclude,
            )
        };
        Ok((hits, embed_ms, ms(t)))
    };
    let (kw, dn) = rayon::join(keyword_arm, dense_arm);
    let (keyword, bm25_ms) = kw?;
    let (semantic, embed_ms, dense_ms) = dn?;
    summary.embed_ms = embed_ms;
    summary.bm25_ms = bm25_ms;
    summary.dense_ms = dense_ms;
    summary.bm25_candidates = keyword.len();
    summary.dense_candidates = semantic.len();
    let t = Instant::now();
    let mut fused = fuse_arms(opts, &keyword, &semantic);
    if opts.mode == Mode::Hybrid && opts.prf_terms > 0 && !fused.is_empty() {
        let top: Vec<ChunkId> = fused.iter().take(prf::DOCS).map(|f| f.id).collect();
        let terms = prf::expand(store, query, &top, opts.prf_terms)?;
        let again = bm25::search_weighted(store, &terms, filter.as_ref(), depth, &opts.weights)?;
        fused = fuse_arms(opts, &again, &semantic);
    }
    let hits = assemble(&fused, opts, |id| store.chunk(id))?;
    summary.fuse_ms = ms(t);
    summary.hits = hits.len();
    summary.total_ms = ms(t0);
    Ok((hits, summary))
}

/// The arms' candidates in the order `opts.mode` ranks them: fused in
/// hybrid mode, one arm's list otherwise (shared by the local store and
/// the PostgreSQL store, [`pg`]).
pub fn fuse_arms(
    opts: &SearchOptions,
    keyword: &[Ranked],
    semantic: &[Ranked],
) -> Vec<fuse::Fused> {
    match opts.mode {
        Mode::Hybrid => match opts.fusion {
            Fusion::Rrf => fuse::rrf(
                &[keyword, semantic],
                &[opts.keyword_weight, 1.0],
                opts.rrf_k,
            ),
            Fusion::Convex => fuse::convex(&[keyword, semantic], &[opts.keyword_weight, 1.0]),
        },
        Mode::Keyword => single(keyword, 0),
        Mode::Semantic => single(semantic, 1),
    }
}

fn single(list: &[Ranked], arm: usize) -> Vec<fuse::Fused> {
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut arms = vec![None, None];
            arms[arm] = Some((i + 1, r.score));
            fuse::Fused {
                id: r.id,
                score: r.score,
                arms,
            }
        })
        .collect()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Fetch candidates in order (by `fetch`) and merge overlapping moments
/// until `limit`.
pub fn assemble(
    fused: &[fuse::Fused],
    opts: &SearchOptions,
    mut fetch: impl FnMut(ChunkId) -> Result<Option<StoredChunk>>,
) -> Result<Vec<Hit>> {
    let mut hits: Vec<Hit> = Vec::new();
    for f in fused {
        if hits.len() >= opts.limit {
            break;
        }
        let Some(chunk) = fetch(f.id)? else {
            continue;
        };
        let signals = Signals {
            bm25_rank: f.arms[0].map(|a| a.0),
            bm25_score: f.arms[0].map(|a| a.1),
            dense_rank: f.arms.get(1).copied().flatten().map(|a| a.0),
            dense_score: f.arms.get(1).copied().flatten().map(|a| a.1),
            fused: (opts.mode == Mode::Hybrid).then_some(f.score),
        };
        if opts.merge_moments {
            if let Some(h) = hits.iter_mut().find(|h| overlaps(h, &chunk)) {
                h.start_ms = min_opt(h.start_ms, chunk.start_ms);
                h.end_ms = h.end_ms.max(chunk.end_ms);
                h.merged.push(chunk.chunk_id());
                continue;
            }
        }
        hits.push(Hit {
            rank: hits.len() + 1,
            score: f.score,
            start_ms: chunk.start_ms,
            end_ms: chunk.end_ms,
            chunk,
            merged: Vec::new(),
            shared_terms: Vec::new(),
            signals,
        });
    }
    Ok(hits)
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Whether `c` overlaps the moment `h` (same episode; times intersect, or,
/// untimed, adjacent passages).
fn overlaps(h: &Hit, c: &StoredChunk) -> bool {
    if h.chunk.episode != c.episode {
        return false;
    }
    match (h.start_ms, h.end_ms, c.start_ms, c.end_ms) {
        (Some(hs), Some(he), Some(cs), Some(ce)) => cs < he && hs < ce,
        _ => {
            let lo = h.chunk.seq.min(c.seq);
            let hi = h.chunk.seq.max(c.seq);
            hi - lo <= 1 && h.merged.is_empty()
        }
    }
}

#[cfg(test)]
mod tests {
    //! Any query string, with any filters, in every mode: hits or a clean
    //! error, never a panic (issue 6, item 6; fuzz/fuzz_targets/query.rs runs
    //! the same for minutes).
    use super::*;
    use crate::chunk::ChunkConfig;
    use crate::embed::{ModelInfo, Pooling};
    use crate::store::manifest::{Counts, Manifest, FORMAT_VERSION};
    use crate::store::state::EpisodeEntry;
    use crate::store::text::StoredChunk;
    use crate::store::Writer;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    const DIM: usize = 8;
    const TEXTS: &[&str] = &[
        "Why would a cloud company build its own AI chips? Cost per query.",
        "Compost is like a sourdough starter: feed it and keep it warm.",
        "Index funds beat most stock pickers once you count the fees.",
        "This episode is brought to you by Ledgerly. Go to ledgerly.com.",
    ];

    fn unit(i: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM)
            .map(|k| ((i * 7 + k * 3) % 11) as f32 - 5.0)
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.iter_mut().for_each(|x| *x /= n);
        v
    }

    fn store() -> &'static Store {
        static STORE: OnceLock<(tempfile::TempDir, Store)> = OnceLock::new();
        &STORE
            .get_or_init(|| {
                let dir = tempfile::tempdir().unwrap();
                let root = dir.path().join("index");
                let manifest = Manifest {
                    format_version: FORMAT_VERSION,
                    model: ModelInfo {
                        id: "test".into(),
                        revision: "local".into(),
                        dim: DIM,
                        pooling: Pooling::Mean,
                        max_len: 128,
                        query_prefix: String::new(),
                        passage_prefix: String::new(),
                        fingerprint: "test".into(),
                        source: String::new(),
                    },
                    chunk: ChunkConfig::default(),
                    embed_context: String::new(),
                    created: "2024-01-01T00:00:00Z".into(),
                    generation: 0,
                    counts: Counts::default(),
                    engines: Vec::new(),
                };
                let mut w = Writer::open(&root, manifest, false).unwrap();
                for (e, show) in ["silicon-weekly", "garden-hour"].iter().enumerate() {
                    let episode = format!("{show}/ep-{e}");
                    let chunks: Vec<StoredChunk> = TEXTS
                        .iter()
                        .enumerate()
                        .map(|(i, t)| StoredChunk {
                            id: ChunkId((e * 100 + i) as u64 + 1),
                            episode: episode.clone(),
                            show: show.to_string(),
                            title: format!("Episode {e}"),
                            speaker: Some(["Owen Castillo", "Priya R"][i % 2].into()),
                            text: t.to_string(),
                            start_ms: Some(i as u64 * 10_000),
                            end_ms: Some(i as u64 * 10_000 + 9_000),
                            seq: i as u64,
                            date: Some(format!("2024-0{}-01", e + 1)),
                            noncontent: if i == 3 { 900 } else { 0 },
                            context: t.to_string(),
                            ..Default::default()
                        })
                        .collect();
                    let vecs = (0..chunks.len()).map(|i| unit(e * 10 + i)).collect();
                    let entry = EpisodeEntry {
                        file: format!("/test/{episode}.vtt"),
                        show: show.to_string(),
                        title: format!("Episode {e}"),
                        date: Some(format!("2024-0{}-01", e + 1)),
                        url: None,
                        chunks: TEXTS.len() as u64,
                        noncontent: 1,
                        duration_ms: 60_000,
                        added: "2024-01-01T00:00:00Z".into(),
                        speakers: None,
                    };
                    w.add_episode(&episode, entry, &chunks, vecs).unwrap();
                }
                w.commit().unwrap();
                w.finish().unwrap();
                let store = Store::open(&root).unwrap();
                (dir, store)
            })
            .1
    }

    /// Queries people type by mistake or on purpose: query-parser syntax,
    /// unbalanced quotes, field prefixes, control characters, emoji.
    fn query() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "\"",
            "(",
            ")",
            "title:",
            "text:",
            "show:",
            "AND",
            "OR",
            "NOT",
            "+",
            "-",
            "*",
            "?",
            "~2",
            "^100",
            "[a TO z]",
            "{",
            "}",
            ":",
            "\\",
            "compost",
            "chips",
            "\u{1}",
            "\u{1b}[31m",
            "\u{200b}",
            "🎙️",
            "é",
            " ",
            "\t",
            "\n",
        ]);
        prop_oneof![
            prop::collection::vec(pieces, 0..30).prop_map(|v| v.concat()),
            "\\PC{0,80}",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_query_gives_hits_or_an_error(
            q in query(),
            speaker in proptest::option::of("\\PC{0,12}"),
            show in proptest::option::of("\\PC{0,12}"),
            since in proptest::option::of("\\PC{0,12}"),
            limit in 1usize..20,
        ) {
            let store = store();
            let qv = unit(q.len());
            for mode in [Mode::Keyword, Mode::Semantic, Mode::Hybrid] {
                let mut opts = SearchOptions { mode, limit, ..SearchOptions::default() };
                opts.filters.speaker = speaker.clone();
                opts.filters.shows = show.clone().into_iter().collect();
                opts.filters.since = since.clone();
                let vector = (mode != Mode::Keyword).then_some(qv.as_slice());
                match search_with_vector(store, vector, &q, &opts) {
                    Ok((hits, _)) => prop_assert!(hits.len() <= limit),
                    // The only errors are the values the user typed.
                    Err(e) => prop_assert!(matches!(e, Error::Setting { .. }), "{}", e),
                }
            }
        }
    }

    #[test]
    fn a_shorter_page_is_a_prefix_of_a_longer_one() {
        for mode in [Mode::Keyword, Mode::Semantic, Mode::Hybrid] {
            let page = |limit| {
                let opts = SearchOptions {
                    mode,
                    limit,
                    depth: 50,
                    ..SearchOptions::default()
                };
                let q = "compost chips index funds";
                let (hits, _) = search_with_vector(store(), Some(&unit(3)), q, &opts).unwrap();
                hits.iter().map(|h| h.chunk.id).collect::<Vec<ChunkId>>()
            };
            let (short, long) = (page(2), page(5));
            assert_eq!(short.len(), 2, "{mode:?}");
            assert_eq!(long.len(), 5, "{mode:?}");
            assert_eq!(short[..], long[..2], "{mode:?}");
        }
    }

    #[test]
    fn a_ten_thousand_word_query_works() {
        let q = vec!["compost"; 10_000].join(" ");
        let opts = SearchOptions {
            mode: Mode::Hybrid,
            ..SearchOptions::default()
        };
        let (hits, _) = search_with_vector(store(), Some(&unit(1)), &q, &opts).unwrap();
        assert!(!hits.is_empty());
    }
}
