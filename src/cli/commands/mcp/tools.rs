//! The tools of `podsift mcp`: their arguments (with the JSON Schema the
//! client sees, derived from the argument structs), checks, and what each
//! runs. Everything here is synchronous; the server runs it on a blocking
//! thread.
//!
//! Results reuse the JSON Lines schema of the command line (README.md,
//! `src/output/json.rs`, `src/output/brief/json.rs`): `search` and `related`
//! return `hit`/`related` objects and their `summary`, `show` the `passage`
//! objects of `show --json`, `top` and `brief` the `insight` objects and the
//! brief `summary`, `stats` the object of `stats --json`. Every passage
//! carries what a citation needs: `show`, `title`, `episode_id`, `speaker`,
//! `start` (`HH:MM:SS`), `link` (`url#t=SECONDS`, or `null` for a local
//! file without a URL; `path` then names it) and `text`.
//!
//! The index is opened on the first call and opened again when a newer
//! commit appears (`podsift scan` or `index` ran meanwhile). The model loads
//! once, on the first call that needs it (`search` in hybrid or semantic
//! mode, `top` with interests, `brief`); keyword search, `show`, `related`
//! and `stats` never wait for it.

use std::sync::{Arc, Mutex, PoisonError};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::cli::commands::brief::{prepare, Prepared};
use crate::cli::commands::related::{related_hits, seed_at};
use crate::cli::commands::show::PassageJson;
use crate::cli::commands::stats;
use crate::cli::config::{self, Config};
use crate::cli::FilterArgs;
use podsift::chunk::ChunkId;
use podsift::embed::Embedder;
use podsift::insight::archive::Local;
use podsift::insight::brief::{self, Profile};
use podsift::insight::related::RelatedOptions;
use podsift::insight::relevance::Interest;
use podsift::insight::top::{top, TopOptions};
use podsift::output::brief::{render_json, BriefMeta};
use podsift::output::json::{HitJson, HitKind, SummaryJson};
use podsift::rank::{self, Mode, SearchOptions};
use podsift::store::{Filters, Store};

/// The longest query or interest accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// The longest name, date, id or path accepted, in characters.
pub const MAX_NAME_CHARS: usize = 500;
/// The most interests or shows in one call.
pub const MAX_ITEMS: usize = 20;

/// Why a call did not give a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// No tool of that name.
    Unknown(String),
    /// The arguments do not fit the tool's schema or make no sense: the
    /// message says which argument and why.
    Invalid(String),
    /// The tool ran and failed (no index, a damaged index, no model).
    Failed(String),
}

fn invalid(m: impl Into<String>) -> ToolError {
    ToolError::Invalid(m.into())
}

fn failed(e: impl Into<anyhow::Error>) -> ToolError {
    let e: anyhow::Error = e.into();
    let texts: Vec<String> = e.chain().map(crate::cli::advice::describe).collect();
    let mut out = String::new();
    for t in texts {
        if !out.contains(&t) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&t);
        }
    }
    ToolError::Failed(out.replace(['\n', '\r'], " "))
}

// ---------------------------------------------------------------- arguments

/// One string or several, as `show` and `for` accept.
fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(vec![s]),
        Ok(OneOrMany::Many(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(
            "expected a string or an array of strings",
        )),
    }
}

fn strings_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}, "maxItems": MAX_ITEMS}
        ]
    })
}

/// Retrieval mode.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModeArg {
    /// Keyword and meaning, fused (the default).
    #[default]
    Hybrid,
    /// Exact words and names only; answers at once, no model.
    Keyword,
    /// Meaning only.
    Semantic,
}

/// Arguments of `search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What to look for, in your own words: a question, a paraphrase of what
    /// was said, or names and exact terms.
    #[schemars(length(min = 1, max = 2000))]
    pub query: String,
    /// hybrid (default): keyword and meaning fused; keyword: exact words and
    /// names, answers at once; semantic: meaning only.
    #[serde(default)]
    pub mode: ModeArg,
    /// Moments to return, 1 to 50 (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u64>,
    /// Only these shows (the `show` slugs results carry).
    #[serde(default, deserialize_with = "strings")]
    #[schemars(schema_with = "strings_schema")]
    pub show: Vec<String>,
    /// Only passages of this speaker (all words of the name must match).
    pub speaker: Option<String>,
    /// Episodes dated on or after: YYYY-MM-DD, or a span back from today
    /// (7d, 4w, 6m, 1y).
    pub since: Option<String>,
    /// Episodes dated on or before: YYYY-MM-DD or a span (as `since`).
    pub until: Option<String>,
}

/// Arguments of `show`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowArgs {
    /// The passage id (16 hex digits), as results carry it in `id`.
    pub id: String,
    /// Neighbouring passages on each side, 0 to 10 (default 2).
    #[schemars(range(max = 10))]
    pub context: Option<u64>,
}

/// Arguments of `related`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedArgs {
    /// The seed passage's id (16 hex digits). Or give `file` and `at`.
    pub id: Option<String>,
    /// The seed by place: a transcript file as indexed (its `path`), with
    /// `at`.
    pub file: Option<String>,
    /// With `file`: the time, HH:MM:SS (or MM:SS, or seconds).
    pub at: Option<String>,
    /// Related passages to return, 1 to 20 (default 5).
    #[schemars(range(min = 1, max = 20))]
    pub limit: Option<u64>,
}

/// Arguments of `top`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopArgs {
    /// Episodes added or published since: YYYY-MM-DD or a span (7d, 4w, 6m,
    /// 1y); default 7d.
    pub since: Option<String>,
    /// Interests to rank by, in your own words (one or several).
    #[serde(default, rename = "for", deserialize_with = "strings")]
    #[schemars(rename = "for", schema_with = "strings_schema")]
    pub interests: Vec<String>,
    /// Insights to return, 1 to 20 (default 5).
    #[schemars(range(min = 1, max = 20))]
    pub limit: Option<u64>,
}

/// Arguments of `brief`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefArgs {
    /// A profile file (TOML, as `podsift brief --profile` reads). Or give
    /// `interests`.
    pub profile: Option<String>,
    /// Interests, in your own words, instead of a profile.
    #[serde(default, deserialize_with = "strings")]
    #[schemars(schema_with = "strings_schema")]
    pub interests: Vec<String>,
    /// Window: since YYYY-MM-DD or a span (1d, 7d, ...) [default: the
    /// profile's, else since the last brief sent, else 1d].
    pub since: Option<String>,
    /// Insights, 1 to 50 [default: the profile's n, else 5].
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u64>,
}

/// Arguments of `stats` (none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsArgs {}

/// Parse `args` as `T`, naming the tool in the error.
fn parse<T: DeserializeOwned>(tool: &str, args: Map<String, Value>) -> Result<T, ToolError> {
    serde_json::from_value(Value::Object(args))
        .map_err(|e| invalid(format!("invalid arguments for '{tool}': {e}")))
}

fn check_len(name: &str, value: &str, max: usize) -> Result<(), ToolError> {
    let n = value.chars().count();
    if n > max {
        return Err(invalid(format!(
            "argument '{name}' is {n} characters long; at most {max}"
        )));
    }
    Ok(())
}

fn check_texts(name: &str, values: &[String], max: usize) -> Result<(), ToolError> {
    if values.len() > MAX_ITEMS {
        return Err(invalid(format!(
            "argument '{name}' has {} items; at most {MAX_ITEMS}",
            values.len()
        )));
    }
    for v in values {
        check_len(name, v, max)?;
        if v.trim().is_empty() {
            return Err(invalid(format!("argument '{name}' has an empty string")));
        }
    }
    Ok(())
}

fn limit(value: Option<u64>, default: usize, max: u64) -> Result<usize, ToolError> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid(format!(
            "argument 'limit' must be from 1 to {max} (got {n})"
        ))),
    }
}

fn date(name: &str, value: &Option<String>) -> Result<Option<String>, ToolError> {
    let Some(v) = value else { return Ok(None) };
    check_len(name, v, MAX_NAME_CHARS)?;
    config::resolve_date(name, v)
        .map(Some)
        .map_err(|e| invalid(format!("argument {e}")))
}

fn chunk_id(value: &str) -> Result<ChunkId, ToolError> {
    check_len("id", value, MAX_NAME_CHARS)?;
    ChunkId::parse(value).ok_or_else(|| {
        invalid(format!(
            "argument 'id' must be a passage id of 16 hex digits, as results carry it (got '{value}')"
        ))
    })
}

// ------------------------------------------------------------------ engine

/// The index and the model, opened when first needed and kept.
pub struct Engine {
    config: Config,
    store: Mutex<Option<Arc<Store>>>,
    /// The model and the fingerprint of the index model it was checked
    /// against.
    embedder: Mutex<Option<(String, Arc<Embedder>)>>,
}

impl Engine {
    /// An engine over the index `config` names; nothing is opened yet.
    pub fn new(config: Config) -> Engine {
        Engine {
            config,
            store: Mutex::new(None),
            embedder: Mutex::new(None),
        }
    }

    /// The store, opened again if a newer commit appeared.
    fn store(&self) -> Result<Arc<Store>, ToolError> {
        let mut slot = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = slot.as_ref().filter(|s| s.is_current()) {
            return Ok(Arc::clone(s));
        }
        let s = Store::open(&self.config.index).map_err(|e| {
            failed(
                anyhow::Error::from(e)
                    .context(format!("opening index {}", self.config.index.display())),
            )
        })?;
        let s = Arc::new(s);
        *slot = Some(Arc::clone(&s));
        Ok(s)
    }

    /// The model the index was built with, loaded on first use.
    fn embedder(&self, store: &Store) -> Result<Arc<Embedder>, ToolError> {
        let mut slot = self.embedder.lock().unwrap_or_else(PoisonError::into_inner);
        let want = &store.manifest().model.fingerprint;
        if let Some((fp, e)) = slot.as_ref() {
            if fp == want {
                return Ok(Arc::clone(e));
            }
        }
        let t = std::time::Instant::now();
        let files = self
            .config
            .model_files(Some(store.manifest()))
            .map_err(failed)?;
        let fp = files.fingerprint().map_err(failed)?;
        if &fp != want {
            return Err(failed(podsift::error::Error::IndexMismatch {
                index: self.config.index.clone(),
                index_model: store.manifest().model.id.clone(),
                requested_model: files.id.clone(),
            }));
        }
        let e = Arc::new(self.config.embedder(&files).map_err(failed)?);
        errln!(
            "podsift mcp: model {} loaded in {:.0} ms",
            files.id,
            t.elapsed().as_secs_f64() * 1000.0
        );
        *slot = Some((fp, Arc::clone(&e)));
        Ok(e)
    }

    /// Run tool `name` with `args`.
    pub fn call(&self, name: &str, args: Map<String, Value>) -> Result<Value, ToolError> {
        match name {
            "search" => self.search(parse(name, args)?),
            "show" => self.show(parse(name, args)?),
            "related" => self.related(parse(name, args)?),
            "top" => self.top(parse(name, args)?),
            "brief" => self.brief(parse(name, args)?),
            "stats" => {
                let StatsArgs {} = parse(name, args)?;
                let store = self.store()?;
                let stats = stats::collect(&self.config, &store, false).map_err(failed)?;
                serde_json::to_value(stats).map_err(failed)
            }
            other => Err(ToolError::Unknown(other.to_string())),
        }
    }

    fn search(&self, a: SearchArgs) -> Result<Value, ToolError> {
        check_len("query", &a.query, MAX_TEXT_CHARS)?;
        if a.query.trim().is_empty() {
            return Err(invalid("argument 'query' is empty"));
        }
        check_texts("show", &a.show, MAX_NAME_CHARS)?;
        if let Some(s) = &a.speaker {
            check_len("speaker", s, MAX_NAME_CHARS)?;
        }
        let filters = FilterArgs {
            show: a.show,
            speaker: a.speaker,
            since: date("since", &a.since)?,
            until: date("until", &a.until)?,
            ..FilterArgs::default()
        };
        let mode = match a.mode {
            ModeArg::Hybrid => Mode::Hybrid,
            ModeArg::Keyword => Mode::Keyword,
            ModeArg::Semantic => Mode::Semantic,
        };
        let limit = limit(a.limit, 10, 50)?;
        let store = self.store()?;
        let embedder = if mode.needs_model() {
            Some(self.embedder(&store)?)
        } else {
            None
        };
        let episodes: Vec<&str> = store.episodes().map(|(id, _)| id.as_str()).collect();
        let opts = SearchOptions {
            mode,
            limit,
            filters: config::filters(&filters, &episodes).map_err(|e| invalid(e.to_string()))?,
            ..SearchOptions::default()
        };
        let (hits, summary) =
            rank::search(&store, embedder.as_deref(), &a.query, &opts).map_err(failed)?;
        let kind = HitKind::Hit;
        Ok(json!({
            "hits": hits.iter().map(|h| HitJson::new(&kind, h)).collect::<Vec<_>>(),
            "summary": SummaryJson::new(&a.query, &summary),
        }))
    }

    fn show(&self, a: ShowArgs) -> Result<Value, ToolError> {
        let id = chunk_id(&a.id)?;
        let context = match a.context {
            None => 2,
            Some(n) if n <= 10 => n,
            Some(n) => {
                return Err(invalid(format!(
                    "argument 'context' must be from 0 to 10 (got {n})"
                )))
            }
        };
        let store = self.store()?;
        let target = store
            .chunk(id)
            .map_err(failed)?
            .ok_or_else(|| invalid(format!("argument 'id': no passage {id} in the index")))?;
        let passages = store
            .episode_range(
                &target.episode,
                target.seq.saturating_sub(context),
                target.seq.saturating_add(context),
            )
            .map_err(failed)?;
        Ok(json!({
            "passages": passages
                .iter()
                .map(|p| PassageJson::new(p, p.id == target.id))
                .collect::<Vec<_>>(),
        }))
    }

    fn related(&self, a: RelatedArgs) -> Result<Value, ToolError> {
        let limit = limit(a.limit, 5, 20)?;
        let store = self.store()?;
        let seed =
            match (&a.id, &a.file, &a.at) {
                (Some(id), None, None) => chunk_id(id)?,
                (None, Some(file), Some(at)) => {
                    check_len("file", file, MAX_NAME_CHARS)?;
                    check_len("at", at, MAX_NAME_CHARS)?;
                    seed_at(&store, std::path::Path::new(file), at)
                        .map_err(|e| invalid(format!("arguments 'file' and 'at': {e:#}")))?
                }
                _ => return Err(invalid(
                    "give either 'id', or 'file' and 'at' (the transcript as indexed and a time)",
                )),
            };
        if store.chunk(seed).map_err(failed)?.is_none() {
            return Err(invalid(format!(
                "argument 'id': no passage {seed} in the index"
            )));
        }
        let opts = RelatedOptions {
            limit,
            ..RelatedOptions::default()
        };
        let (seed_chunk, hits, summary) = related_hits(&store, seed, &opts).map_err(failed)?;
        let of = seed_chunk.chunk_id().to_string();
        let kind = HitKind::Related { of: of.clone() };
        Ok(json!({
            "hits": hits.iter().map(|h| HitJson::new(&kind, h)).collect::<Vec<_>>(),
            "summary": SummaryJson::new(&of, &summary),
        }))
    }

    fn top(&self, a: TopArgs) -> Result<Value, ToolError> {
        check_texts("for", &a.interests, MAX_TEXT_CHARS)?;
        let limit = limit(a.limit, 5, 20)?;
        let since = date("since", &a.since)?
            .unwrap_or(config::resolve_date("since", "7d").map_err(failed)?);
        let store = self.store()?;
        let interests = if a.interests.is_empty() {
            Vec::new()
        } else {
            let e = self.embedder(&store)?;
            a.interests
                .iter()
                .map(|i| Ok(Interest::new(i, e.embed_query(i)?)))
                .collect::<podsift::error::Result<Vec<_>>>()
                .map_err(failed)?
        };
        let opts = TopOptions {
            filters: Filters {
                since: Some(since.clone()),
                ..Filters::default()
            },
            interests,
            limit,
            ..TopOptions::default()
        };
        let (insights, summary) = top(&store, &opts).map_err(failed)?;
        let meta = BriefMeta {
            title: "podsift top".into(),
            date: chrono::Local::now().format("%Y-%m-%d").to_string(),
            interests: a.interests,
            window: format!("since {since}"),
            episodes_scanned: summary.episodes,
        };
        Ok(insights_json(&render_json(&insights, &meta)))
    }

    fn brief(&self, a: BriefArgs) -> Result<Value, ToolError> {
        check_texts("interests", &a.interests, MAX_TEXT_CHARS)?;
        let limit = limit(a.limit, 5, 50).map(|n| a.limit.map(|_| n))?;
        if let Some(s) = &a.since {
            check_len("since", s, MAX_NAME_CHARS)?;
            config::resolve_date("since", s).map_err(|e| invalid(format!("argument {e}")))?;
        }
        let profile = match (&a.profile, a.interests.is_empty()) {
            (Some(path), true) => {
                check_len("profile", path, MAX_NAME_CHARS)?;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| invalid(format!("argument 'profile': reading {path}: {e}")))?;
                brief::parse_profile(&text).map_err(|e| {
                    invalid(format!(
                        "argument 'profile': {}",
                        e.located(std::path::Path::new(path))
                    ))
                })?
            }
            (None, false) => Profile {
                interests: a.interests,
                ..Profile::default()
            },
            _ => {
                return Err(invalid(
                    "give either 'profile' (a profile file) or 'interests' (one or several)",
                ))
            }
        };
        let store = self.store()?;
        let embedder = self.embedder(&store)?;
        // Never recorded: the tool is a dry run, whatever it is asked.
        let local = Local::new(&store, &Filters::default()).map_err(failed)?;
        let Prepared { insights, meta, .. } = prepare(
            &self.config,
            &local,
            &embedder,
            &profile,
            a.since.as_deref(),
            limit,
        )
        .map_err(failed)?;
        Ok(insights_json(&render_json(&insights, &meta)))
    }
}

/// `{"insights": [...], "summary": {...}}` from the brief's JSON Lines.
fn insights_json(lines: &str) -> Value {
    let mut insights = Vec::new();
    let mut summary = Value::Null;
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).expect("render_json prints JSON lines");
        if v["type"] == "summary" {
            summary = v;
        } else {
            insights.push(v);
        }
    }
    json!({"insights": insights, "summary": summary})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn err<T: DeserializeOwned + std::fmt::Debug>(tool: &str, v: Value) -> String {
        match parse::<T>(tool, args(v)) {
            Err(ToolError::Invalid(m)) => m,
            other => panic!("expected an invalid-arguments error, got {other:?}"),
        }
    }

    #[test]
    fn arguments_parse_with_clear_errors() {
        let a: SearchArgs = parse(
            "search",
            args(json!({"query": "chips", "mode": "keyword", "show": "silicon-weekly"})),
        )
        .unwrap();
        assert_eq!((a.show.len(), a.limit), (1, None));
        assert!(matches!(a.mode, ModeArg::Keyword));
        assert_eq!(
            err::<SearchArgs>("search", json!({"query": "x", "mode": "fuzzy"})),
            "invalid arguments for 'search': unknown variant `fuzzy`, expected one of `hybrid`, `keyword`, `semantic`"
        );
        assert!(
            err::<SearchArgs>("search", json!({"qurey": "x"})).contains("unknown field `qurey`")
        );
        assert_eq!(
            err::<SearchArgs>("search", json!({"limit": 3})),
            "invalid arguments for 'search': missing field `query`"
        );
        assert!(err::<TopArgs>("top", json!({"for": 5}))
            .contains("expected a string or an array of strings"));
        let t: TopArgs = parse("top", args(json!({"for": ["a", "b"]}))).unwrap();
        assert_eq!(t.interests, ["a", "b"]);
    }

    #[test]
    fn values_are_checked() {
        assert_eq!(
            limit(Some(0), 10, 50),
            Err(invalid("argument 'limit' must be from 1 to 50 (got 0)"))
        );
        assert_eq!(limit(None, 10, 50), Ok(10));
        assert_eq!(
            check_len("query", &"x".repeat(1 << 20), MAX_TEXT_CHARS),
            Err(invalid(
                "argument 'query' is 1048576 characters long; at most 2000"
            ))
        );
        assert!(
            matches!(chunk_id("xyz"), Err(ToolError::Invalid(m)) if m.contains("16 hex digits"))
        );
        assert_eq!(chunk_id("00000000000000ff").unwrap(), ChunkId(255));
        assert!(
            matches!(date("since", &Some("last tuesday".into())), Err(ToolError::Invalid(m)) if m.starts_with("argument since 'last tuesday'"))
        );
    }

    #[test]
    fn schemas_name_every_argument() {
        let s = serde_json::to_value(schemars::schema_for!(SearchArgs)).unwrap();
        let props = s["properties"].as_object().unwrap();
        for k in [
            "query", "mode", "limit", "show", "speaker", "since", "until",
        ] {
            assert!(props.contains_key(k), "{k}: {s}");
        }
        assert_eq!(s["required"], json!(["query"]));
        let t = serde_json::to_value(schemars::schema_for!(TopArgs)).unwrap();
        assert!(t["properties"].get("for").is_some(), "{t}");
    }
}
