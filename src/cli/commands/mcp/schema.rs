//! The tools' output schemas: JSON Schema for the JSON Lines objects of the
//! command line (README.md "JSON output"), so a client can check
//! `structuredContent` (the MCP Python SDK does). Written by hand, since the
//! result types live in the library and derive only `Serialize`; the
//! integration tests check real results against them through the SDK.
//! Additional properties are allowed: the schema may grow a field without
//! breaking a client.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{json, Value};

fn object(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(o) => Arc::new(o),
        _ => unreachable!("schemas are objects"),
    }
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

/// The passage fields every result shares.
fn passage_properties() -> serde_json::Map<String, Value> {
    let v = json!({
        "id": {"type": "string", "description": "passage id, 16 hex digits"},
        "show": {"type": "string"},
        "episode_id": {"type": "string"},
        "title": {"type": "string", "description": "episode title"},
        "date": nullable("string"),
        "path": {"type": "string", "description": "the transcript file as indexed"},
        "start_ms": nullable("integer"),
        "end_ms": nullable("integer"),
        "speaker": nullable("string"),
        "text": {"type": "string", "description": "the passage, to quote"},
        "url": nullable("string"),
        "link": {"type": ["string", "null"], "description": "deep link url#t=SECONDS, to cite"}
    });
    match v {
        Value::Object(o) => o,
        _ => unreachable!(),
    }
}

const PASSAGE_REQUIRED: [&str; 12] = [
    "id",
    "show",
    "episode_id",
    "title",
    "date",
    "path",
    "start_ms",
    "end_ms",
    "speaker",
    "text",
    "url",
    "link",
];

fn hit() -> Value {
    let mut props = passage_properties();
    props.extend(
        json!({
            "type": {"enum": ["hit", "related"]},
            "of": {"type": "string", "description": "related only: the seed passage"},
            "rank": {"type": "integer", "minimum": 1},
            "score": {"type": "number"},
            "chapter": nullable("string"),
            "start": {"type": ["string", "null"], "description": "HH:MM:SS"},
            "merged": {"type": "array", "items": {"type": "string"}},
            "shared_terms": {"type": "array", "items": {"type": "string"}},
            "signals": {
                "type": "object",
                "properties": {
                    "bm25_rank": nullable("integer"),
                    "bm25_score": nullable("number"),
                    "dense_rank": nullable("integer"),
                    "dense_score": nullable("number"),
                    "fused": nullable("number")
                }
            }
        })
        .as_object()
        .expect("an object")
        .clone(),
    );
    let mut required: Vec<&str> = PASSAGE_REQUIRED.to_vec();
    required.extend(["type", "rank", "score", "start", "merged", "signals"]);
    json!({"type": "object", "properties": props, "required": required})
}

fn search_summary() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": {"const": "summary"},
            "query": {"type": "string"},
            "mode": {"type": "string"},
            "hits": {"type": "integer"},
            "bm25_candidates": {"type": "integer"},
            "dense_candidates": {"type": "integer"},
            "passages": {"type": "integer"},
            "timings_ms": {"type": "object"}
        },
        "required": ["type", "query", "mode", "hits", "passages", "timings_ms"]
    })
}

/// `search` and `related`: `{"hits": [hit...], "summary"}`.
pub fn hits() -> Arc<JsonObject> {
    object(json!({
        "type": "object",
        "properties": {"hits": {"type": "array", "items": hit()}, "summary": search_summary()},
        "required": ["hits", "summary"]
    }))
}

/// `show`: `{"passages": [passage...]}`.
pub fn passages() -> Arc<JsonObject> {
    let mut props = passage_properties();
    props.extend(
        json!({
            "type": {"const": "passage"},
            "is_target": {"type": "boolean", "description": "the passage asked for"},
            "seq": {"type": "integer"}
        })
        .as_object()
        .expect("an object")
        .clone(),
    );
    let mut required: Vec<&str> = PASSAGE_REQUIRED.to_vec();
    required.extend(["type", "is_target", "seq"]);
    object(json!({
        "type": "object",
        "properties": {
            "passages": {
                "type": "array",
                "items": {"type": "object", "properties": props, "required": required}
            }
        },
        "required": ["passages"]
    }))
}

/// `top` and `brief`: `{"insights": [insight...], "summary"}`.
pub fn insights() -> Arc<JsonObject> {
    let mut related = passage_properties();
    related.extend(
        json!({
            "type": {"const": "related"},
            "rank": {"type": "integer"},
            "score": {"type": "number"},
            "start": nullable("string"),
            "shared_terms": {"type": "array", "items": {"type": "string"}},
            "why": {"type": "string"}
        })
        .as_object()
        .expect("an object")
        .clone(),
    );
    let mut insight = passage_properties();
    insight.extend(
        json!({
            "type": {"const": "insight"},
            "rank": {"type": "integer", "minimum": 1},
            "score": {"type": "number"},
            "start": nullable("string"),
            "statement": {"type": "string", "description": "the claim, 1-3 cleaned sentences"},
            "why": {"type": "string"},
            "signals": {"type": "object"},
            "related": {"type": "array", "items": {"type": "object", "properties": related}}
        })
        .as_object()
        .expect("an object")
        .clone(),
    );
    let mut required: Vec<&str> = PASSAGE_REQUIRED.to_vec();
    required.extend([
        "type",
        "rank",
        "score",
        "start",
        "statement",
        "why",
        "related",
    ]);
    object(json!({
        "type": "object",
        "properties": {
            "insights": {
                "type": "array",
                "items": {"type": "object", "properties": insight, "required": required}
            },
            "summary": {
                "type": "object",
                "properties": {
                    "type": {"const": "summary"},
                    "title": {"type": "string"},
                    "date": {"type": "string"},
                    "window": {"type": "string"},
                    "interests": {"type": "array", "items": {"type": "string"}},
                    "episodes_scanned": {"type": "integer"},
                    "insights": {"type": "integer"},
                    "message": nullable("string")
                },
                "required": ["type", "window", "episodes_scanned", "insights", "message"]
            }
        },
        "required": ["insights", "summary"]
    }))
}

/// `stats`: the object of `stats --json`.
pub fn stats() -> Arc<JsonObject> {
    object(json!({
        "type": "object",
        "properties": {
            "type": {"const": "stats"},
            "index": {"type": "string"},
            "shows": {"type": "integer"},
            "episodes": {"type": "integer"},
            "chunks": {"type": "integer", "description": "passages"},
            "hours": {"type": "number"},
            "model": {"type": "string"},
            "dim": {"type": "integer"},
            "per_show": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "episodes": {"type": "integer"},
                        "chunks": {"type": "integer"},
                        "hours": {"type": "number"}
                    }
                }
            }
        },
        "required": ["type", "shows", "episodes", "chunks", "hours", "model", "per_show"]
    }))
}
