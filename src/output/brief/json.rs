//! The brief as JSON Lines (the schema is in [`super`]'s doc).

use serde::Serialize;

use super::{why_insight, BriefMeta};
use crate::ingest::timestamp;
use crate::insight::statement::Statement;
use crate::insight::{why_related, Insight};
use crate::output::{deep_link, safe};
use crate::rank::Hit;
use crate::store::text::StoredChunk;

/// Signals as printed.
#[derive(Serialize)]
struct SignalsJson {
    relevance: f32,
    salience: f32,
    specificity: f32,
    noncontent: f32,
    score: f32,
}

/// The passage fields `insight` and `related` lines share.
#[derive(Serialize)]
struct PassageJson<'a> {
    id: String,
    show: &'a str,
    episode_id: &'a str,
    title: &'a str,
    date: Option<&'a str>,
    speaker: Option<&'a str>,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    start: Option<String>,
    path: &'a str,
    url: Option<&'a str>,
    link: Option<String>,
    text: &'a str,
}

impl<'a> PassageJson<'a> {
    fn new(c: &'a StoredChunk) -> Self {
        PassageJson {
            id: c.id.to_string(),
            show: &c.show,
            episode_id: &c.episode,
            title: &c.title,
            date: c.date.as_deref(),
            speaker: c.speaker.as_deref(),
            start_ms: c.start_ms,
            end_ms: c.end_ms,
            start: c.start_ms.map(timestamp::format_hms),
            path: &c.path,
            url: c.url.as_deref(),
            link: deep_link(c.url.as_deref(), c.start_ms),
            text: &c.text,
        }
    }
}

#[derive(Serialize)]
struct RelatedJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    rank: usize,
    score: f32,
    #[serde(flatten)]
    passage: PassageJson<'a>,
    statement: String,
    shared_terms: &'a [String],
    why: String,
}

#[derive(Serialize)]
struct InsightJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    rank: usize,
    score: f32,
    #[serde(flatten)]
    passage: PassageJson<'a>,
    statement: &'a str,
    why: String,
    signals: SignalsJson,
    related: Vec<RelatedJson<'a>>,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    date: &'a str,
    window: &'a str,
    interests: &'a [String],
    episodes_scanned: usize,
    insights: usize,
    message: Option<String>,
}

/// The brief as JSON Lines (schema in the module doc).
pub fn render_json(insights: &[Insight], meta: &BriefMeta) -> String {
    let mut o = String::new();
    for ins in insights {
        let s = &ins.signals;
        let line = InsightJson {
            kind: "insight",
            rank: ins.rank,
            score: s.score,
            passage: PassageJson::new(&ins.chunk),
            statement: &ins.statement.text,
            why: why_insight(s, &meta.interests),
            signals: SignalsJson {
                relevance: s.relevance,
                salience: s.salience,
                specificity: s.specificity,
                noncontent: s.noncontent,
                score: s.score,
            },
            related: ins
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| related_json(i + 1, r))
                .collect(),
        };
        o.push_str(&serde_json::to_string(&line).expect("plain data serialises"));
        o.push('\n');
    }
    let summary = SummaryJson {
        kind: "summary",
        title: &meta.title,
        date: &meta.date,
        window: &meta.window,
        interests: &meta.interests,
        episodes_scanned: meta.episodes_scanned,
        insights: insights.len(),
        message: insights.is_empty().then(|| meta.nothing_new()),
    };
    o.push_str(&serde_json::to_string(&summary).expect("plain data serialises"));
    o.push('\n');
    // serde_json passes DEL and C1 controls through raw.
    safe::json(&o).into_owned()
}

fn related_json(rank: usize, r: &Hit) -> RelatedJson<'_> {
    RelatedJson {
        kind: "related",
        rank,
        score: r.score,
        passage: PassageJson::new(&r.chunk),
        statement: Statement::of(&r.chunk.text, None).text,
        shared_terms: &r.shared_terms,
        why: why_related(r),
    }
}
