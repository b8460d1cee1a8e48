//! BEIR document collections (`corpus.jsonl`): one JSON object per line,
//! `{"_id", "title", "text"}`. Unlike every other format, one file holds many
//! episodes: each document becomes an untimed episode `<show>/<_id>` with its
//! title, so retrieval benchmarks run through the same pipeline as podcasts.

use serde::Deserialize;

use super::clean;
use crate::error::{ParseError, ParseErrorKind};

/// One document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// `_id`.
    pub id: String,
    /// `title` (may be empty).
    pub title: String,
    /// `text`.
    pub text: String,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "_id")]
    id: serde_json::Value,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
}

/// Parse a collection. A line that is not a document is an error naming it.
pub fn parse(input: &str) -> Result<Vec<Doc>, ParseError> {
    let mut docs = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.trim_start_matches('\u{FEFF}').trim();
        if line.is_empty() {
            continue;
        }
        let raw: Raw = serde_json::from_str(line).map_err(|e| {
            ParseError::new(
                i + 1,
                ParseErrorKind::Json(format!("not a BEIR document: {e}")),
            )
        })?;
        let id = match raw.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        if id.is_empty() || id.contains('/') {
            return Err(ParseError::new(
                i + 1,
                ParseErrorKind::Json(format!("bad _id '{id}'")),
            ));
        }
        let text = clean::collapse(&raw.text);
        if text.is_empty() && raw.title.trim().is_empty() {
            continue;
        }
        docs.push(Doc {
            id,
            title: clean::collapse(&raw.title),
            text,
        });
    }
    if docs.is_empty() {
        return Err(ParseError::new(1, ParseErrorKind::Empty));
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_documents() {
        let d = parse("{\"_id\": \"4983\", \"title\": \"T\", \"text\": \"Body  text.\", \"metadata\": {}}\n\n{\"_id\": 7, \"text\": \"x\"}\n").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            Doc {
                id: "4983".into(),
                title: "T".into(),
                text: "Body text.".into()
            }
        );
        assert_eq!(d[1].id, "7");
        assert_eq!(parse("{\"_id\": \"1\"}\nnot json").unwrap_err().line, 2);
    }
}
