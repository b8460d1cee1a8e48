//! Podcasting 2.0 JSON chapters (`<podcast:chapters type="application/json+chapters">`)
//! → `[(start_s, title)]`, kept in the episode's sidecar so the indexer can
//! attach a chapter title to each passage.
//!
//! The shape: `{"version": "1.2.0", "chapters": [{"startTime": 0, "title":
//! "Intro", "toc": true, ...}]}`. Chapters without a title, and those marked
//! `"toc": false` (silent markers that only change artwork or a link), are
//! dropped; the rest are sorted by start time, and one start keeps its first
//! title. See: <https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/chapters/jsonChapters.md>.

use serde::{Deserialize, Serialize};

/// One chapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    /// Where it starts, in seconds from the start of the episode.
    pub start_s: f64,
    /// Its title.
    pub title: String,
}

#[derive(Deserialize)]
struct Doc {
    chapters: Vec<Raw>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    start_time: Option<f64>,
    title: Option<String>,
    toc: Option<bool>,
}

/// Parse a chapters document; the error is serde's message.
pub fn parse(bytes: &[u8]) -> Result<Vec<Chapter>, String> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut out: Vec<Chapter> = doc
        .chapters
        .into_iter()
        .filter(|c| c.toc != Some(false))
        .filter_map(|c| {
            let title = c.title?.split_whitespace().collect::<Vec<_>>().join(" ");
            let start = c.start_time?;
            (start.is_finite() && start >= 0.0 && !title.is_empty()).then_some(Chapter {
                start_s: start,
                title,
            })
        })
        .collect();
    out.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    out.dedup_by(|b, a| a.start_s == b.start_s);
    Ok(out)
}

/// The title of the chapter that contains `at_s` seconds, if any.
///
/// ```
/// use podsift::feed::chapters::{at, Chapter};
/// let ch = vec![
///     Chapter { start_s: 0.0, title: "Intro".into() },
///     Chapter { start_s: 90.0, title: "Kelp".into() },
/// ];
/// assert_eq!(at(&ch, 30.0), Some("Intro"));
/// assert_eq!(at(&ch, 90.0), Some("Kelp"));
/// ```
pub fn at(chapters: &[Chapter], at_s: f64) -> Option<&str> {
    let i = chapters.partition_point(|c| c.start_s <= at_s);
    i.checked_sub(1).map(|i| chapters[i].title.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_titled_toc_chapters() {
        let doc = br#"{"version":"1.2.0","chapters":[
            {"startTime":120.5,"title":"  Kelp   forests "},
            {"startTime":0,"title":"Intro"},
            {"startTime":60,"title":"Art change","toc":false},
            {"startTime":200},
            {"startTime":300,"title":"Outro","img":"x.png"}
        ]}"#;
        let c = parse(doc).unwrap();
        let titles: Vec<&str> = c.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["Intro", "Kelp forests", "Outro"]);
        assert_eq!(at(&c, 150.0), Some("Kelp forests"));
        assert_eq!(at(&c, -1.0), None);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        assert!(parse(b"[]").is_err());
        assert!(parse(b"{\"chapters\": 3}").is_err());
        assert!(parse(b"<html>").is_err());
    }
}
