//! OPML subscription lists (what every podcast app exports) → feed URLs
//! with their titles.
//!
//! Every `<outline>` with an `xmlUrl` attribute is a feed, at any depth
//! (apps group feeds in folder outlines); its name comes from `title`, else
//! `text`. Read with quick-xml; a DTD that declares entities is refused, as
//! for feeds ([`super::parse`]), and unknown entities are errors, never
//! expanded.

use std::path::Path;

use quick_xml::events::Event;

use super::error::{FeedError, Result};

/// Largest OPML file read.
pub const MAX_OPML_BYTES: u64 = 8 << 20;

/// One subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The feed URL.
    pub url: String,
    /// Its title, if the file gives one.
    pub title: Option<String>,
}

/// Read the subscriptions in the OPML file at `path`.
pub fn read(path: &Path) -> Result<Vec<Subscription>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| FeedError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_OPML_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FeedError::io(path, e))?;
    if bytes.len() as u64 > MAX_OPML_BYTES {
        return Err(FeedError::Opml {
            path: path.to_path_buf(),
            message: format!("larger than {MAX_OPML_BYTES} bytes"),
        });
    }
    parse(&bytes).map_err(|message| FeedError::Opml {
        path: path.to_path_buf(),
        message,
    })
}

/// Parse OPML bytes; the error is a message.
pub fn parse(bytes: &[u8]) -> Result<Vec<Subscription>, String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::DocType(dt) => {
                let decl: &[u8] = &dt;
                if decl
                    .windows(b"<!ENTITY".len())
                    .any(|w| w.eq_ignore_ascii_case(b"<!ENTITY"))
                {
                    return Err("declares XML entities (<!ENTITY ...>); refused".into());
                }
            }
            Event::Start(e) | Event::Empty(e) => {
                let local = e.local_name();
                let name = local.as_ref();
                if name.eq_ignore_ascii_case(b"opml") {
                    saw_opml = true;
                }
                if !name.eq_ignore_ascii_case(b"outline") {
                    continue;
                }
                let (mut url, mut title, mut text) = (None, None, None);
                for attr in e.attributes().with_checks(false) {
                    let attr = attr.map_err(|e| e.to_string())?;
                    let value = attr
                        .decoded_and_normalized_value(
                            quick_xml::XmlVersion::Implicit1_0,
                            reader.decoder(),
                        )
                        .map_err(|e| e.to_string())?
                        .trim()
                        .to_string();
                    if value.is_empty() {
                        continue;
                    }
                    match attr.key.local_name().as_ref() {
                        b"xmlUrl" | b"xmlurl" => url = Some(value),
                        b"title" => title = Some(value),
                        b"text" => text = Some(value),
                        _ => {}
                    }
                }
                if let Some(url) = url {
                    out.push(Subscription {
                        url,
                        title: title.or(text),
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_opml {
        return Err("no <opml> element".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_outlines_with_titles() {
        let doc = br#"<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>My podcasts</title></head><body>
  <outline text="Science">
    <outline type="rss" text="Tide Pool Radio" xmlUrl="https://example.com/tide.xml"/>
    <outline type="rss" text="t" title="Soil &amp; Sun" xmlUrl="https://example.com/soil.xml"/>
  </outline>
  <outline type="rss" xmlUrl="https://example.com/bare.xml"></outline>
</body></opml>"#;
        let subs = parse(doc).unwrap();
        assert_eq!(subs.len(), 3);
        assert_eq!(subs[0].title.as_deref(), Some("Tide Pool Radio"));
        assert_eq!(subs[1].title.as_deref(), Some("Soil & Sun"));
        assert_eq!(subs[2].title, None);
    }

    #[test]
    fn not_opml_and_entity_bombs_are_refused() {
        assert!(parse(b"<rss></rss>").is_err());
        assert!(parse(b"<opml><body><outline xmlUrl=\"x").is_err());
        let bomb = br#"<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body><outline text="&a;" xmlUrl="u"/></body></opml>"#;
        assert!(parse(bomb).unwrap_err().contains("ENTITY"));
    }
}
