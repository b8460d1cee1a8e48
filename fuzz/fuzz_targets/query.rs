//! The query path: any query string, speaker, show and date filter, in
//! every mode, against a small index, gives hits or a clean error, never a
//! panic. The keyword arm builds its query from analysed terms (never
//! tantivy's query parser); this checks that, and the filters and fusion
//! around it.
//!
//! Input: fields separated by `\n`: query, speaker, show, since.
#![no_main]

use std::sync::OnceLock;

use podsift::chunk::ChunkConfig;
use podsift::embed::{ModelInfo, Pooling};
use podsift::rank::{self, Mode, SearchOptions};
use podsift::store::manifest::{Counts, Manifest, FORMAT_VERSION};
use podsift::store::state::EpisodeEntry;
use podsift::store::text::StoredChunk;
use podsift::store::{Store, Writer};

const DIM: usize = 8;

const TEXTS: &[&str] = &[
    "Why would a cloud company build its own AI chips? Cost per query.",
    "Compost is like a sourdough starter: feed it and keep it warm.",
    "Index funds beat most stock pickers once you count the fees.",
    "Heart-rate zones keep a first marathon from ending in injury.",
    "Roman roads were surveyed, layered with gravel, and drained.",
    "This episode is brought to you by Ledgerly. Go to ledgerly.com.",
];

fn unit(i: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..DIM).map(|k| ((i * 7 + k * 3) % 11) as f32 - 5.0).collect();
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
                    id: "fuzz".into(),
                    revision: "local".into(),
                    dim: DIM,
                    pooling: Pooling::Mean,
                    max_len: 128,
                    query_prefix: String::new(),
                    passage_prefix: String::new(),
                    fingerprint: "fuzz".into(),
                    source: String::new(),
                },
                chunk: ChunkConfig::default(),
                embed_context: String::new(),
                created: "2024-01-01T00:00:00Z".into(),
                generation: 0,
                counts: Counts::default(),
            };
            let mut w = Writer::open(&root, manifest, false).unwrap();
            for (e, show) in ["silicon-weekly", "garden-hour"].iter().enumerate() {
                let episode = format!("{show}/ep-{e}");
                let chunks: Vec<StoredChunk> = TEXTS
                    .iter()
                    .enumerate()
                    .map(|(i, t)| StoredChunk {
                        id: (e * 100 + i) as u64 + 1,
                        episode: episode.clone(),
                        show: show.to_string(),
                        title: format!("Episode {e}"),
                        speaker: Some(["Owen Castillo", "Priya R"][i % 2].into()),
                        text: t.to_string(),
                        start_ms: Some(i as u64 * 10_000),
                        end_ms: Some(i as u64 * 10_000 + 9_000),
                        seq: i as u64,
                        date: Some(format!("2024-0{}-01", e + 1)),
                        noncontent: if i == 5 { 900 } else { 0 },
                        context: t.to_string(),
                        ..Default::default()
                    })
                    .collect();
                let vecs = (0..chunks.len()).map(|i| unit(e * 10 + i)).collect();
                let entry = EpisodeEntry {
                    file: format!("/fuzz/{episode}.vtt"),
                    show: show.to_string(),
                    title: format!("Episode {e}"),
                    date: Some(format!("2024-0{}-01", e + 1)),
                    url: None,
                    chunks: TEXTS.len() as u64,
                    noncontent: 1,
                    duration_ms: 60_000,
                    added: "2024-01-01T00:00:00Z".into(),
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

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\n');
    let query = fields.next().unwrap_or("");
    let nonempty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    let speaker = nonempty(fields.next());
    let show = nonempty(fields.next());
    let since = nonempty(fields.next());
    let store = store();
    let qv = unit(data.len());
    for mode in [Mode::Keyword, Mode::Semantic, Mode::Hybrid] {
        let mut opts = SearchOptions {
            mode,
            limit: 1 + data.first().copied().unwrap_or(0) as usize % 20,
            ..SearchOptions::default()
        };
        opts.filters.speaker = speaker.clone();
        opts.filters.shows = show.clone().into_iter().collect();
        opts.filters.since = since.clone();
        let vector = (mode != Mode::Keyword).then_some(qv.as_slice());
        if let Ok((hits, _)) = rank::search_with_vector(store, vector, query, &opts) {
            assert!(hits.len() <= opts.limit, "more hits than asked for");
        }
    }
});
