//! Which of an item's `podcast:transcript` links to download: all of them,
//! ordered best first, so that when the best one fails the next is tried.
//!
//! The order, most important first:
//! 1. **Language.** Links in the wanted language (the `--language` flag, else
//!    the feed's `<language>`), or with no `language` attribute, come before
//!    links in another language. Languages match on the primary subtag
//!    (`en-US` is `en`).
//! 2. **Format**: JSON > WebVTT > SRT > HTML > text: the richer the timing
//!    and speaker information, the better the passages and deep links. The
//!    format comes from the `type` attribute, else the URL's extension.
//!    `rel="captions"` says the file is timed whatever its type claims, so a
//!    captions link typed `text/plain` ranks as a timed file (after SRT, and
//!    its real format is sniffed after download, see [`sniff`]).
//! 3. **Document order**, so the choice is deterministic.

use super::parse::TranscriptLink;
use crate::ingest::Format;

/// A transcript link's format as far as the feed tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Podcasting 2.0 JSON.
    Json,
    /// WebVTT.
    Vtt,
    /// SubRip.
    Srt,
    /// A `rel="captions"` file of unknown or plain type: timed, format
    /// sniffed from the content.
    Captions,
    /// HTML.
    Html,
    /// Plain text.
    Text,
}

impl Kind {
    /// The kind a link claims, from its `type`, else its URL, adjusted by
    /// `rel="captions"`. `None` for types podsift does not read.
    pub fn of(link: &TranscriptLink) -> Option<Kind> {
        let by_type = match link.mime.as_str() {
            "application/json" | "application/json+transcript" | "text/json" => Some(Kind::Json),
            "text/vtt" | "text/webvtt" => Some(Kind::Vtt),
            "application/x-subrip"
            | "application/srt"
            | "text/srt"
            | "text/x-srt"
            | "application/x-srt" => Some(Kind::Srt),
            "text/html" | "application/xhtml+xml" => Some(Kind::Html),
            "text/plain" => Some(Kind::Text),
            "" => None,
            _ => return None,
        };
        let kind = by_type.or_else(|| {
            let path = link.url.split(['?', '#']).next().unwrap_or("");
            let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
            match ext.as_str() {
                "json" => Some(Kind::Json),
                "vtt" => Some(Kind::Vtt),
                "srt" => Some(Kind::Srt),
                "html" | "htm" => Some(Kind::Html),
                "txt" => Some(Kind::Text),
                _ => None,
            }
        });
        let captions = link
            .rel
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("captions"));
        match kind {
            Some(Kind::Text) | None if captions => Some(Kind::Captions),
            k => k,
        }
    }
}

/// The links worth trying, best first, each with its kind.
pub fn rank<'a>(
    links: &'a [TranscriptLink],
    language: Option<&str>,
) -> Vec<(&'a TranscriptLink, Kind)> {
    let want = language.map(primary);
    let mut ranked: Vec<(usize, bool, &TranscriptLink, Kind)> = links
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let kind = Kind::of(l)?;
            let other_language = match (&want, l.language.as_deref()) {
                (Some(w), Some(l)) => primary(l) != *w,
                _ => false,
            };
            Some((i, other_language, l, kind))
        })
        .collect();
    ranked.sort_by_key(|&(i, other, _, kind)| (other, kind, i));
    ranked.into_iter().map(|(_, _, l, k)| (l, k)).collect()
}

fn primary(tag: &str) -> String {
    tag.trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The format of downloaded bytes: what the kind says, checked against the
/// content where the label is weak (plain text, captions, no type). A file
/// that starts `WEBVTT` is WebVTT whatever it was called; a captions file
/// that is not WebVTT is read as SRT.
pub fn sniff(kind: Kind, text: &str) -> Format {
    let head = text.trim_start_matches('\u{FEFF}').trim_start();
    let looks_srt = || {
        let mut lines = head.lines();
        let first = lines.next().unwrap_or("").trim();
        let second = lines.next().unwrap_or("");
        !first.is_empty() && first.chars().all(|c| c.is_ascii_digit()) && second.contains("-->")
    };
    match kind {
        Kind::Json => Format::Json,
        Kind::Vtt => Format::Vtt,
        Kind::Srt => Format::Srt,
        Kind::Html => Format::Html,
        Kind::Captions | Kind::Text if head.starts_with("WEBVTT") => Format::Vtt,
        Kind::Captions => Format::Srt,
        Kind::Text if looks_srt() => Format::Srt,
        Kind::Text => Format::Text,
    }
}

/// The library file extension for a format.
pub fn extension(format: Format) -> &'static str {
    match format {
        Format::Json | Format::Beir => "json",
        Format::Vtt => "vtt",
        Format::Srt => "srt",
        Format::Markdown => "md",
        Format::Html => "html",
        Format::Text => "txt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(url: &str, mime: &str, language: Option<&str>, rel: Option<&str>) -> TranscriptLink {
        TranscriptLink {
            url: url.into(),
            mime: mime.into(),
            language: language.map(str::to_string),
            rel: rel.map(str::to_string),
        }
    }

    #[test]
    fn json_then_vtt_then_srt_then_html_then_text() {
        let links = vec![
            link("a.txt", "text/plain", None, None),
            link("a.html", "text/html", None, None),
            link("a.srt", "application/x-subrip", None, None),
            link("a.vtt", "text/vtt", None, None),
            link("a.json", "application/json", None, None),
            link("a.mp3", "audio/mpeg", None, None),
        ];
        let order: Vec<&str> = rank(&links, None)
            .iter()
            .map(|(l, _)| l.url.as_str())
            .collect();
        assert_eq!(order, ["a.json", "a.vtt", "a.srt", "a.html", "a.txt"]);
    }

    #[test]
    fn language_comes_before_format() {
        let links = vec![
            link("es.json", "application/json", Some("es"), None),
            link("en.srt", "application/srt", Some("en-GB"), None),
            link("any.html", "text/html", None, None),
        ];
        let order: Vec<&str> = rank(&links, Some("en-us"))
            .iter()
            .map(|(l, _)| l.url.as_str())
            .collect();
        assert_eq!(order, ["en.srt", "any.html", "es.json"]);
        // Without a wanted language, format decides.
        assert_eq!(rank(&links, None)[0].0.url, "es.json");
    }

    #[test]
    fn captions_are_timed_whatever_their_type() {
        let links = vec![
            link("a.txt", "text/plain", None, None),
            link("c.txt", "text/plain", None, Some("captions")),
            link("a.html", "text/html", None, None),
        ];
        let ranked = rank(&links, None);
        assert_eq!(ranked[0].0.url, "c.txt");
        assert_eq!(ranked[0].1, Kind::Captions);
        assert_eq!(
            sniff(Kind::Captions, "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n"),
            Format::Vtt
        );
        assert_eq!(
            sniff(Kind::Captions, "1\n00:00:00,000 --> 00:00:01,000\nhi\n"),
            Format::Srt
        );
        assert_eq!(
            sniff(Kind::Text, "1\n00:00:00,000 --> 00:00:01,000\nhi\n"),
            Format::Srt
        );
        assert_eq!(sniff(Kind::Text, "Just words.\n"), Format::Text);
    }

    #[test]
    fn missing_type_falls_back_to_the_extension() {
        let l = link("https://x.example/t.vtt?sig=1", "", None, None);
        assert_eq!(Kind::of(&l), Some(Kind::Vtt));
        let l = link("https://x.example/t", "", None, None);
        assert_eq!(Kind::of(&l), None);
    }
}
