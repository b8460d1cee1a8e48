//! The command line: clap definitions (this file), their resolution into a
//! [`config::Config`], and one module per command. Nothing past `config`
//! touches the raw [`Cli`].

// First, so that its `errln!` is in scope in the modules below.
#[macro_use]
pub mod messages;
pub mod advice;
pub mod commands;
pub mod config;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Local, offline semantic search over podcast transcripts.
///
/// Index folders of transcripts (WebVTT, SRT, JSON, Markdown, HTML, text),
/// then find the moment someone explained something: show, episode, speaker,
/// HH:MM:SS, a snippet and a deep link.
#[derive(Debug, Parser)]
#[command(name = "podsift", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Index folder [default: ./index].
    #[arg(long, global = true, env = "PODSIFT_INDEX", value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// Embedding model: a folder, or a hub id [default: the index's model,
    /// else sentence-transformers/all-MiniLM-L6-v2].
    #[arg(long, global = true, value_name = "ID|DIR")]
    pub model: Option<String>,
    /// Where to run the model: auto, cpu, cuda, cuda:N, metal.
    #[arg(long, global = true, default_value = "auto", value_name = "DEVICE")]
    pub device: String,
    /// Print JSON Lines on stdout (see README.md for the schema).
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr (-vv for even more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour: auto (on a terminal unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Worker threads [default: the machine's cores].
    #[arg(long, global = true, value_name = "NUM")]
    pub threads: Option<usize>,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add new and changed transcripts to the index, drop deleted ones.
    Index(IndexArgs),
    /// Find moments: hybrid (keyword + meaning) by default.
    Search(SearchArgs),
    /// Print a passage with its neighbouring passages.
    Show(ShowArgs),
    /// What the index holds: shows, episodes, passages, hours, model.
    Stats(StatsArgs),
    /// Passages from other episodes that say something related.
    Related(RelatedArgs),
    /// The top insights of recent episodes, each with related insights.
    Top(TopArgs),
    /// Your daily brief: the top insights new since the last brief, for a
    /// profile of interests, with related insights from the archive.
    Brief(BriefArgs),
    /// Measure retrieval quality: BEIR queries + qrels, or podcast moments.
    Eval(EvalArgs),
    /// Build a synthetic index for scale benchmarks: every passage of an
    /// index copied N times with perturbed vectors.
    #[command(hide = true)]
    Synth(SynthArgs),
    /// Embed texts with the model (for benchmarks and checks): JSON Lines
    /// with `{"id", "text"}` or plain lines in, vectors or timings out.
    Embed(EmbedArgs),
    /// Follow podcasts: add, list, remove or import RSS feeds.
    Feed(FeedArgs),
    /// Fetch the followed feeds, download new episodes' transcripts into the
    /// library, and index them. Exits 2 if any feed failed.
    Scan(ScanArgs),
    /// Transcribe audio files or URLs to WebVTT with Whisper (offline, on
    /// this machine); each VTT gets a .meta.json sidecar.
    Transcribe(TranscribeArgs),
    /// Explore in the terminal: search, read a moment in context, hop
    /// through related passages (? in it lists the keys).
    Explore(ExploreArgs),
    /// Serve the index to AI assistants: a Model Context Protocol server
    /// on stdin/stdout (search, show, related, top, brief, stats).
    Mcp,
    /// A shared PostgreSQL store: `store init URL` makes or upgrades its
    /// schema.
    Store(StoreArgs),
    /// Copy this index into a PostgreSQL store (only what changed since
    /// the last push).
    Push(PushArgs),
    /// Print a man page or a shell completion script on stdout, made from
    /// this command line's own definition: `podsift generate man >
    /// podsift.1`.
    Generate(GenerateArgs),
}

/// `podsift generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to print.
    #[arg(value_enum, value_name = "KIND")]
    pub kind: GenerateKind,
}

/// What `podsift generate` prints (the names `rg --generate` uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateKind {
    /// A man page, podsift(1), in roff.
    Man,
    /// A bash completion script.
    CompleteBash,
    /// A zsh completion script.
    CompleteZsh,
    /// A fish completion script.
    CompleteFish,
    /// A PowerShell completion script.
    CompletePowershell,
}

/// `podsift store`.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: StoreAction,
}

/// `podsift store ...`.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Make the schema in a PostgreSQL database with pgvector (or apply
    /// the migrations it lacks; a no-op when up to date), and a read-only
    /// role for readers.
    Init(StoreInitArgs),
}

/// `podsift store init`.
#[derive(Debug, Args)]
pub struct StoreInitArgs {
    /// The database: postgres://USER[:PASSWORD]@HOST:PORT/DB.
    #[arg(value_name = "URL")]
    pub url: String,
    /// The read-only role to make (may log in, may only read).
    #[arg(long, default_value = "podsift_reader", value_name = "ROLE")]
    pub reader: String,
    /// Make no read-only role.
    #[arg(long)]
    pub no_reader: bool,
    /// Make no HNSW index: the semantic arm scans every vector (exact; for
    /// small stores, or a pgvector build that cannot build indexes here).
    #[arg(long)]
    pub no_hnsw: bool,
}

/// `podsift push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The database: postgres://USER[:PASSWORD]@HOST:PORT/DB.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Passages per transaction (whole episodes).
    #[arg(long, default_value_t = 2000, value_name = "NUM", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_rows: u64,
    /// Wait this many milliseconds after each batch (for tests).
    #[arg(long, hide = true, value_name = "MS")]
    pub pause_ms: Option<u64>,
}

/// `podsift explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// What to look for [default: type it in the explorer].
    #[arg(value_name = "QUERY")]
    pub query: Vec<String>,
    /// Retrieval mode to start in (m cycles it).
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    pub mode: ModeArg,
    /// Moments per search (at most 1000).
    #[arg(short = 'n', long, default_value_t = 30, value_name = "NUM", value_parser = limit)]
    pub limit: usize,
    /// Related passages shown for each passage (0 to 50).
    #[arg(long, default_value_t = 6, value_name = "NUM", value_parser = upto::<50>)]
    pub related: usize,
    /// Neighbouring passages shown on each side of the one being read (0 to
    /// 100).
    #[arg(long, default_value_t = 3, value_name = "NUM", value_parser = upto_u64::<100>)]
    pub context: u64,
    /// Filters to start with (f changes them).
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Benchmark: draw the first screen of QUERY into an off-screen buffer,
    /// print timings as JSON and exit (no terminal needed).
    #[arg(long, hide = true)]
    pub bench_first_screen: bool,
    /// Benchmark: after the first screen, time NUM selection moves (state
    /// update plus drawing) with every result's context and related
    /// passages cached.
    #[arg(long, hide = true, value_name = "NUM")]
    pub bench_moves: Option<usize>,
    /// Benchmark: the off-screen size, WIDTHxHEIGHT.
    #[arg(long, hide = true, default_value = "100x30", value_name = "WxH")]
    pub bench_size: String,
}

/// `podsift feed`.
#[derive(Debug, Args)]
pub struct FeedArgs {
    /// What to do with the feed list.
    #[command(subcommand)]
    pub command: FeedCommand,
}

/// `podsift feed` subcommands.
#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Follow a feed: an RSS URL, or a local RSS file.
    Add(FeedAddArgs),
    /// The followed feeds and how their last scan went.
    List,
    /// Stop following a feed (its library files and indexed episodes stay).
    Remove(FeedRemoveArgs),
    /// Follow every feed of an OPML subscription list (podcast apps export
    /// one).
    Import(FeedImportArgs),
}

/// `podsift feed add`.
#[derive(Debug, Args)]
pub struct FeedAddArgs {
    /// The feed: an http(s) URL, or a local RSS file.
    #[arg(value_name = "URL|FILE")]
    pub source: String,
    /// The show's name (its library folder) [default: from the feed's title,
    /// which fetches the feed once].
    #[arg(long, value_name = "SHOW")]
    pub name: Option<String>,
    /// Preferred transcript language, e.g. en [default: the feed's].
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
    /// Network limits.
    #[command(flatten)]
    pub net: NetArgs,
}

/// `podsift transcribe`.
#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Audio files (MP3, M4A/AAC, Ogg Vorbis/Opus, FLAC, WAV) or http(s)
    /// URLs of them.
    #[arg(required = true, value_name = "FILE|URL")]
    pub inputs: Vec<String>,
    /// The WebVTT file to write (one input only) [default: the input's name
    /// with .vtt, beside it; for a URL, in the current folder].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The Whisper model.
    #[command(flatten)]
    pub whisper: WhisperArgs,
}

/// The Whisper model and its settings.
#[derive(Debug, Args)]
pub struct WhisperArgs {
    /// Whisper model: a folder, or a hub id [default:
    /// openai/whisper-tiny.en, found in models/whisper-tiny.en as filled by
    /// scripts/fetch-whisper].
    #[arg(long, value_name = "ID|DIR")]
    pub whisper: Option<String>,
    /// 30-second windows transcribed together.
    #[arg(long, default_value_t = 8, value_name = "NUM")]
    pub whisper_batch: usize,
    /// Longest audio accepted, in hours; longer files are refused.
    #[arg(long, default_value_t = 6.0, value_name = "HOURS")]
    pub max_audio_hours: f64,
}

/// `podsift feed remove`.
#[derive(Debug, Args)]
pub struct FeedRemoveArgs {
    /// The show's name, as `feed list` prints it.
    #[arg(value_name = "SHOW")]
    pub name: String,
}

/// `podsift feed import`.
#[derive(Debug, Args)]
pub struct FeedImportArgs {
    /// The OPML file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Limits of the requests `feed add` and `scan` make.
#[derive(Debug, Args, Clone)]
pub struct NetArgs {
    /// Seconds one request may take, body included.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub timeout: f64,
    /// Retries after a transient failure (timeout, 429, 5xx), with a backoff
    /// that doubles from one second.
    #[arg(long, default_value_t = 2, value_name = "NUM")]
    pub retries: u32,
}

/// `podsift scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Only episodes published on or after DATE (YYYY-MM-DD, or 7d, 4w, 6m,
    /// 1y); older ones are left for a later scan.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The library folder [default: library/ beside the index folder].
    #[arg(long, value_name = "DIR")]
    pub library: Option<PathBuf>,
    /// Preferred transcript language, e.g. en [default: each feed's].
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
    /// Feeds fetched at once.
    #[arg(long, default_value_t = 4, value_name = "NUM")]
    pub jobs: usize,
    /// Seconds to wait for a scan that is already running; after that this
    /// one exits without doing anything (status 0).
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub wait: u64,
    /// Download only; leave the new files for the next `index` or `scan`.
    #[arg(long)]
    pub no_index: bool,
    /// Let a feed added from a local file link to any local file.
    ///
    /// By default a local feed's transcript and chapter links may name only
    /// files in the feed file's own folder (after resolving `..` and
    /// symbolic links), so that a feed someone sent you cannot pull other
    /// files of yours into the index. A feed on the web may never link to a
    /// local file, with or without this flag.
    #[arg(long)]
    pub allow_local_files: bool,
    /// Network limits.
    #[command(flatten)]
    pub net: NetArgs,
    /// Transcribe new episodes that have audio but no transcript, with
    /// Whisper on this machine (slow on a CPU: about a minute per 20-30
    /// minutes of audio with tiny.en on two cores).
    #[arg(long)]
    pub transcribe: bool,
    /// The Whisper model, for --transcribe.
    #[command(flatten)]
    pub whisper: WhisperArgs,
}

/// `podsift eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// BEIR queries (JSON Lines `{"_id", "text"}`); only queries with
    /// judgements in --qrels are scored.
    #[arg(long, value_name = "FILE", requires = "qrels")]
    pub queries: Option<PathBuf>,
    /// BEIR relevance judgements (TSV `query-id corpus-id score`).
    #[arg(long, value_name = "FILE", requires = "queries")]
    pub qrels: Option<PathBuf>,
    /// Podcast moments (JSON Lines `{"query", "file", "start_s", "end_s"}`).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["queries", "ads", "insights", "related"])]
    pub moments: Option<PathBuf>,
    /// Insight labels (JSON Lines `{"file", "start_s", "end_s", "label":
    /// "insight"|"not", "topic", "split"}`): how well the insight score
    /// separates them, and precision at 5 per profile (with --profiles).
    #[arg(long, value_name = "FILE")]
    pub insights: Option<PathBuf>,
    /// Interest profiles (`[[profile]]` with `name`, `interests`, `topics`,
    /// `split`) for --insights.
    #[arg(long, value_name = "FILE", requires = "insights")]
    pub profiles: Option<PathBuf>,
    /// With --profiles: at most this many of a profile's five from one
    /// episode (the brief shows one; 0: any number, as figures were counted
    /// before this option).
    #[arg(long, value_name = "NUM", default_value_t = 1, requires = "profiles")]
    pub per_episode: usize,
    /// "Same idea" cases (JSON Lines `{"idea", "seed", "others", "split"}`):
    /// how many of the other episodes `related` finds in its top 10.
    #[arg(long, value_name = "FILE")]
    pub related: Option<PathBuf>,
    /// Which half of the sets to score: `tune`, `heldout` or `all`.
    #[arg(long, value_enum, value_name = "HALF", default_value = "all")]
    pub split: SplitArg,
    /// With --insights: write each labelled passage (label, text, vector,
    /// signals) as JSON Lines to FILE, for fitting the insight score.
    #[arg(long, value_name = "FILE", requires = "insights")]
    pub dump: Option<PathBuf>,
    /// Hand-labelled non-content windows (JSON Lines `{"file", "start_s",
    /// "end_s", "label": "ad"|"content"}`): precision and recall of the
    /// non-content detector.
    #[arg(long, value_name = "FILE")]
    pub ads: Option<PathBuf>,
    /// With --queries: answer them from this PostgreSQL store (pushed
    /// from the index) instead of the index itself.
    #[arg(long, value_name = "URL", requires = "queries")]
    pub store: Option<String>,
    /// Modes to score (repeatable) [default: keyword, semantic, hybrid].
    #[arg(long, value_enum, value_name = "MODE")]
    pub mode: Vec<ModeArg>,
    /// How hybrid mode fuses the arms.
    #[arg(long, value_enum, value_name = "HOW")]
    pub fusion: Option<FusionArg>,
    /// RRF constant k (with --fusion rrf).
    #[arg(long, value_name = "K")]
    pub rrf_k: Option<f32>,
    /// RRF weight of the keyword arm (the semantic arm has weight 1).
    #[arg(long, value_name = "W")]
    pub keyword_weight: Option<f32>,
    /// Candidates per arm.
    #[arg(long, value_name = "NUM")]
    pub depth: Option<usize>,
    /// Keyword arm: weight of the passage text.
    #[arg(long, value_name = "W")]
    pub text_weight: Option<f32>,
    /// Keyword arm: weight of the passage with its neighbours.
    #[arg(long, value_name = "W")]
    pub context_weight: Option<f32>,
    /// Keyword arm: weight of the episode title.
    #[arg(long, value_name = "W")]
    pub title_weight: Option<f32>,
    /// Hybrid: terms added to the keyword query from the first pass's best
    /// passages (pseudo-relevance feedback; 0 turns it off).
    #[arg(long, value_name = "NUM")]
    pub prf_terms: Option<usize>,
    /// Print each moment's rank (moments only).
    #[arg(long)]
    pub per_query: bool,
}

/// `podsift synth` (benchmarks only).
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The index to copy from.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Copies of every passage (the source counts as none of them).
    #[arg(long, value_name = "NUM")]
    pub copies: usize,
    /// Standard deviation of the Gaussian noise added to each vector
    /// component before re-normalising.
    #[arg(long, default_value_t = 0.02, value_name = "SIGMA")]
    pub noise: f32,
}

/// `podsift embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Input file: JSON Lines with a "text" field (and optional "id"), or
    /// plain text, one text per line. `-` reads stdin.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
    /// Print each vector as `{"id", "vector"}` (else only the summary).
    #[arg(long)]
    pub vectors: bool,
    /// Embed as queries (with the model's query prompt).
    #[arg(long)]
    pub queries: bool,
    /// Texts per forward pass.
    #[arg(long, value_name = "NUM")]
    pub batch_size: Option<usize>,
    /// Embed the input this many times and report each run (warm-up first).
    #[arg(long, default_value_t = 1, value_name = "NUM")]
    pub repeat: usize,
}

/// `podsift index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Folders or files of transcripts.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Start over: build a new index and switch to it when complete.
    #[arg(long)]
    pub rebuild: bool,
    /// Passage size in tokens (new or rebuilt indexes only).
    #[arg(long, value_name = "NUM")]
    pub max_tokens: Option<usize>,
    /// Tokens repeated between consecutive passages (new or rebuilt indexes).
    #[arg(long, value_name = "NUM")]
    pub overlap_tokens: Option<usize>,
    /// Context put before each passage for embedding only, e.g. "{show}:
    /// {title}. " (new or rebuilt indexes).
    #[arg(long, value_name = "TEMPLATE")]
    pub embed_context: Option<String>,
    /// Texts per forward pass of the model.
    #[arg(long, value_name = "NUM")]
    pub batch_size: Option<usize>,
    /// Skip files and folders with this name (repeatable), e.g. --exclude sample.
    #[arg(long, value_name = "NAME")]
    pub exclude: Vec<String>,
    /// Commit every NUM passages (default 4096): many small commits, for
    /// scripts/faults to kill runs in and between them.
    #[arg(long, value_name = "NUM", hide = true)]
    pub commit_rows: Option<usize>,
}

/// Which retrieval arms to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Keyword and meaning, fused (default).
    Hybrid,
    /// BM25 only: exact words, names. No model needed.
    #[value(alias = "bm25")]
    Keyword,
    /// Meaning only (dense vectors).
    #[value(alias = "dense")]
    Semantic,
}

/// `--split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// Every line.
    All,
    /// The half tuned on.
    Tune,
    /// The held-out half.
    Heldout,
}

impl From<SplitArg> for podsift::eval::Split {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::All => podsift::eval::Split::All,
            SplitArg::Tune => podsift::eval::Split::Tune,
            SplitArg::Heldout => podsift::eval::Split::Heldout,
        }
    }
}

/// `--fusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FusionArg {
    /// Convex combination of min-max normalised scores (default).
    Convex,
    /// Reciprocal rank fusion.
    Rrf,
}

impl From<FusionArg> for podsift::rank::Fusion {
    fn from(f: FusionArg) -> Self {
        match f {
            FusionArg::Convex => podsift::rank::Fusion::Convex,
            FusionArg::Rrf => podsift::rank::Fusion::Rrf,
        }
    }
}

/// Filters shared by commands that return passages.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only this show (repeat for several).
    #[arg(long, value_name = "SHOW")]
    pub show: Vec<String>,
    /// Only this episode (its id, or the end of it).
    #[arg(long, value_name = "EPISODE")]
    pub episode: Vec<String>,
    /// Only passages of this speaker (all words must match).
    #[arg(long, value_name = "NAME")]
    pub speaker: Option<String>,
    /// Episodes dated on or after DATE (YYYY-MM-DD, or 7d, 4w, 6m, 1y ago).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Episodes dated on or before DATE.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Include passages flagged as not content (ads, intros, outros).
    #[arg(long)]
    pub include_ads: bool,
}

/// `podsift search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for, in your own words.
    #[arg(value_name = "QUERY", required_unless_present = "stdin")]
    pub query: Option<String>,
    /// Retrieval mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    pub mode: ModeArg,
    /// Moments to return (at most 1000).
    #[arg(short = 'n', long, default_value_t = 10, value_name = "NUM", value_parser = limit)]
    pub limit: usize,
    /// Show each hit's keyword and semantic ranks and scores.
    #[arg(long)]
    pub explain: bool,
    /// Read one query per line from stdin and answer each (model loaded once).
    #[arg(long)]
    pub stdin: bool,
    /// How hybrid mode fuses the arms.
    #[arg(long, value_enum, default_value_t = FusionArg::Convex, value_name = "HOW")]
    pub fusion: FusionArg,
    /// Exhaustive arms, to measure recall: the dense arm scans every vector
    /// in f32 (no int8 stage; through a store, no HNSW), and through a store
    /// the keyword arm reads every posting of the query's terms.
    #[arg(long, hide = true)]
    pub exact: bool,
    /// Search a PostgreSQL store (see `podsift push`) instead of the local
    /// index: postgres://USER[:PASSWORD]@HOST:PORT/DB.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Filters.
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `podsift related`.
#[derive(Debug, Args)]
pub struct RelatedArgs {
    /// The seed passage's id.
    #[arg(value_name = "CHUNK_ID", required_unless_present_any = ["file", "stdin"])]
    pub id: Option<String>,
    /// Read one seed id per line from stdin and answer each (one process).
    #[arg(long)]
    pub stdin: bool,
    /// Seed by file and time instead: the transcript file as indexed.
    #[arg(long, value_name = "FILE", requires = "at")]
    pub file: Option<PathBuf>,
    /// With --file: the time, HH:MM:SS (or MM:SS, or seconds).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Related passages to return (at most 1000).
    #[arg(short = 'n', long, default_value_t = 5, value_name = "NUM", value_parser = limit)]
    pub limit: usize,
    /// At most this many from one episode (at most 1000).
    #[arg(long, default_value_t = 1, value_name = "NUM", value_parser = limit)]
    pub per_episode: usize,
    /// Also allow the seed's episode, beyond this many minutes from the seed
    /// (at most 100000).
    #[arg(long, value_name = "MIN", value_parser = upto_u64::<100_000>)]
    pub same_episode_after: Option<u64>,
    /// Only these shows (repeatable).
    #[arg(long, value_name = "SHOW")]
    pub show: Vec<String>,
    /// Include passages flagged as not content (ads, intros, outros).
    #[arg(long)]
    pub include_ads: bool,
    /// Find them in a PostgreSQL store (see `podsift push`) instead of the
    /// local index: postgres://USER[:PASSWORD]@HOST:PORT/DB (`--file` and
    /// `--at` still find the seed in the local index).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// `podsift top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Episodes added or published since DATE (YYYY-MM-DD, or 7d, 4w, 6m, 1y).
    #[arg(long, default_value = "7d", value_name = "DATE")]
    pub since: String,
    /// Interests to rank by, in your own words (repeatable).
    #[arg(long = "for", value_name = "INTERESTS")]
    pub interests: Vec<String>,
    /// Insights to return (at most 1000).
    #[arg(short = 'n', long, default_value_t = 5, value_name = "NUM", value_parser = limit)]
    pub limit: usize,
    /// At most this many insights from one episode (at most 1000).
    #[arg(long, default_value_t = 1, value_name = "NUM", value_parser = limit)]
    pub per_episode: usize,
    /// Related insights per insight (0 to 10, as in a profile).
    #[arg(long, default_value_t = 3, value_name = "NUM", value_parser = upto::<10>)]
    pub related: usize,
    /// Only these shows (repeatable).
    #[arg(long, value_name = "SHOW")]
    pub show: Vec<String>,
    /// Read a PostgreSQL store (see `podsift push`) instead of the local
    /// index: postgres://USER[:PASSWORD]@HOST:PORT/DB (an episode counts
    /// as added when it was pushed).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// `podsift brief`.
#[derive(Debug, Args)]
pub struct BriefArgs {
    /// The profile (TOML): interests = [...] (required), follow, mute,
    /// related, n, since, and [email] for --send.
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Window: since DATE (YYYY-MM-DD or 1d, 7d, ...) [default: the
    /// profile's `since`, else since the last brief, else 1d].
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Insights, 1 to 50 [default: the profile's `n`, else 5].
    #[arg(short = 'n', long, value_name = "NUM", value_parser = brief_n)]
    pub limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BriefFormat::Md)]
    pub format: BriefFormat,
    /// Write the brief to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not record what was sent (the next brief may repeat it); with
    /// --send, print the message (or save it with -o) instead of sending it.
    #[arg(long)]
    pub dry_run: bool,
    /// Email the brief to the profile's [email] settings (text and HTML in
    /// one message) instead of printing it; what was sent is recorded only
    /// once the server accepted it. -o FILE also saves the message (.eml).
    #[arg(long)]
    pub send: bool,
    /// Read a PostgreSQL store (see `podsift push`) instead of the local
    /// index: postgres://USER[:PASSWORD]@HOST:PORT/DB. The brief state
    /// (what was sent) stays in the --index folder.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// `brief --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BriefFormat {
    /// Markdown (pastes into email and notes apps).
    Md,
    /// One self-contained HTML page.
    Html,
    /// JSON Lines.
    Json,
}

/// `podsift stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Also check every vector and full-text file against its checksum
    /// (reads the whole index); damage exits 2 with the fix.
    #[arg(long)]
    pub verify: bool,
}

/// `podsift show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The passage id (16 hex digits, as search prints it).
    #[arg(value_name = "CHUNK_ID")]
    pub id: String,
    /// Neighbouring passages to print on each side (0 to 100).
    #[arg(long, default_value_t = 2, value_name = "NUM", value_parser = upto_u64::<100>)]
    pub context: u64,
}

/// `-n`: 1 to [`podsift::value::MAX_LIMIT`] ([`podsift::value::limit`]).
fn limit(s: &str) -> Result<usize, String> {
    podsift::value::limit(s).map_err(|e| e.expected)
}

/// `brief -n`: 1 to 50, as a profile's `n`.
fn brief_n(s: &str) -> Result<usize, String> {
    podsift::value::count(s, 1, 50).map_err(|e| e.expected)
}

/// A count from 0 to `MAX`.
fn upto<const MAX: usize>(s: &str) -> Result<usize, String> {
    podsift::value::count(s, 0, MAX).map_err(|e| e.expected)
}

/// [`upto`] as a `u64`.
fn upto_u64<const MAX: usize>(s: &str) -> Result<u64, String> {
    upto::<MAX>(s).map(|n| n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn limits_are_capped_with_one_clear_error() {
        for args in [
            &["podsift", "search", "-n", "18446744073709551615", "q"][..],
            &["podsift", "related", "-n", "1001", "00000000000000aa"],
            &["podsift", "top", "--related", "99", "-n", "5"],
            &["podsift", "show", "--context", "18446744073709551615", "aa"],
            &["podsift", "explore", "-n", "0", "q"],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{args:?}"
            );
            assert!(
                e.to_string().contains("expected a whole number from"),
                "{e}"
            );
        }
        let ok = Cli::try_parse_from(["podsift", "search", "-n", "1000", "q"]).unwrap();
        let Command::Search(a) = ok.command else {
            panic!("parsed as another command")
        };
        assert_eq!(a.limit, podsift::value::MAX_LIMIT);
    }

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
