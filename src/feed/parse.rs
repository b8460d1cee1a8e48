//! RSS with the Podcasting 2.0 namespace → [`Feed`]: the channel's title and
//! language, and per item its guid, title, date, links, duration, persons,
//! transcript links and chapters link.
//!
//! The XML is read by the `rss` crate (over quick-xml). Two guarantees:
//! - **No entity expansion.** A document whose DTD declares entities
//!   (`<!ENTITY ...>`, the billion-laughs shape) is refused before it is
//!   parsed ([`FeedError::EntityDeclaration`]); elsewhere only the five
//!   predefined entities and character references are decoded, and an
//!   unknown `&name;` stays literal text. Nothing is ever fetched for a DTD.
//! - **Bounded input.** The caller passes bytes already capped by the HTTP
//!   client.
//!
//! The Podcasting 2.0 elements are found by namespace, not by prefix: any
//! prefix bound to `https://podcastindex.org/namespace/1.0` (or the older
//! GitHub URL) counts, and `podcast:` always does.
//! See: <https://podcasting2.org/docs/podcast-namespace>.
//!
//! Items need a stable key to be remembered across scans: the `<guid>`,
//! else the enclosure URL, else the link, else a hash of title and date.
//! Relative links resolve against the feed's own URL.

use quick_xml::events::Event;
use rss::extension::Extension;
use url::Url;

use super::error::{FeedError, Result};

/// The Podcasting 2.0 namespace URIs.
const PODCAST_NAMESPACES: &[&str] = &[
    "https://podcastindex.org/namespace/1.0",
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
];

/// A feed as podsift needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feed {
    /// The channel's title.
    pub title: Option<String>,
    /// The channel's language (`<language>`), e.g. `en-us`.
    pub language: Option<String>,
    /// Persons named for the whole show (they apply to items without their
    /// own).
    pub persons: Vec<Person>,
    /// The items, in document order.
    pub items: Vec<Item>,
}

/// One episode of a feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    /// The stable key (see the module doc).
    pub guid: String,
    /// The title.
    pub title: Option<String>,
    /// Publication date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// The episode's web page.
    pub link: Option<String>,
    /// The audio or video file.
    pub enclosure_url: Option<String>,
    /// Length in seconds (`itunes:duration`).
    pub duration_s: Option<u64>,
    /// `podcast:person` entries (the channel's when the item has none).
    pub persons: Vec<Person>,
    /// `podcast:transcript` links, in document order.
    pub transcripts: Vec<TranscriptLink>,
    /// The `podcast:chapters` JSON link.
    pub chapters_url: Option<String>,
}

/// A `podcast:person`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// The name.
    pub name: String,
    /// The role, lower case (`host` when the feed gives none, as the
    /// namespace specifies).
    pub role: String,
    /// The group, lower case (`cast` by default).
    pub group: String,
    /// A page about the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// A `podcast:transcript` link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TranscriptLink {
    /// Absolute URL.
    pub url: String,
    /// The `type` attribute, lower case.
    #[serde(rename = "type")]
    pub mime: String,
    /// The `language` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The `rel` attribute (`captions` marks a timed captions file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
}

/// Parse a feed document fetched from `base`.
pub fn parse(bytes: &[u8], base: &Url) -> Result<Feed> {
    refuse_entities(bytes, base)?;
    let channel = rss::Channel::read_from(bytes).map_err(|e| FeedError::Xml {
        url: base.to_string(),
        message: e.to_string(),
    })?;
    let mut prefixes: Vec<&str> = channel
        .namespaces()
        .iter()
        .filter(|(_, uri)| PODCAST_NAMESPACES.contains(&uri.trim_end_matches('/')))
        .map(|(p, _)| p.as_str())
        .collect();
    if !prefixes.contains(&"podcast") {
        prefixes.push("podcast");
    }
    let ext = |map: &rss::extension::ExtensionMap, name: &str| -> Vec<Extension> {
        prefixes
            .iter()
            .filter_map(|p| map.get(*p).and_then(|m| m.get(name)))
            .flatten()
            .cloned()
            .collect()
    };
    let channel_persons = persons(&ext(channel.extensions(), "person"));
    let mut feed = Feed {
        title: clean(Some(channel.title())),
        language: clean(channel.language()),
        persons: channel_persons.clone(),
        items: Vec::with_capacity(channel.items().len()),
    };
    for item in channel.items() {
        let resolve = |href: &str| base.join(href.trim()).ok().map(|u| u.to_string());
        let title = clean(item.title());
        let date = item.pub_date().and_then(pub_date);
        let link = item.link().and_then(resolve);
        let enclosure_url = item.enclosure().and_then(|e| resolve(e.url()));
        let guid = clean(item.guid().map(|g| g.value()))
            .or_else(|| enclosure_url.clone())
            .or_else(|| link.clone())
            .unwrap_or_else(|| {
                let mut h = blake3::Hasher::new();
                h.update(title.as_deref().unwrap_or("").as_bytes());
                h.update(b"\0");
                h.update(item.pub_date().unwrap_or("").as_bytes());
                format!("podsift:{}", &h.finalize().to_hex()[..16])
            });
        let duration_s = item
            .itunes_ext()
            .and_then(|i| i.duration())
            .and_then(parse_duration);
        let mut item_persons = persons(&ext(&item.extensions, "person"));
        if item_persons.is_empty() {
            item_persons.clone_from(&channel_persons);
        }
        let transcripts = ext(&item.extensions, "transcript")
            .iter()
            .filter_map(|e| {
                Some(TranscriptLink {
                    url: resolve(e.attrs.get("url")?)?,
                    mime: e
                        .attrs
                        .get("type")
                        .map(|t| t.trim().to_ascii_lowercase())
                        .unwrap_or_default(),
                    language: clean(e.attrs.get("language").map(String::as_str)),
                    rel: clean(e.attrs.get("rel").map(String::as_str)),
                })
            })
            .collect();
        let chapters_url = ext(&item.extensions, "chapters")
            .iter()
            .find_map(|e| e.attrs.get("url").and_then(|u| resolve(u)));
        feed.items.push(Item {
            guid,
            title,
            date,
            link,
            enclosure_url,
            duration_s,
            persons: item_persons,
            transcripts,
            chapters_url,
        });
    }
    Ok(feed)
}

/// Refuse a document whose DTD declares entities. quick-xml never expands
/// them either; refusing says so plainly instead of indexing `&lol9;`.
fn refuse_entities(bytes: &[u8], base: &Url) -> Result<()> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::DocType(dt)) => {
                let decl: &[u8] = &dt;
                if decl
                    .windows(b"<!ENTITY".len())
                    .any(|w| w.eq_ignore_ascii_case(b"<!ENTITY"))
                {
                    return Err(FeedError::EntityDeclaration {
                        url: base.to_string(),
                    });
                }
            }
            // The DTD comes before the root element; nothing after it can
            // declare entities.
            Ok(Event::Start(_) | Event::Empty(_) | Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                return Err(FeedError::Xml {
                    url: base.to_string(),
                    message: e.to_string(),
                })
            }
        }
        buf.clear();
    }
}

fn persons(exts: &[Extension]) -> Vec<Person> {
    exts.iter()
        .filter_map(|e| {
            let name = clean(e.value.as_deref())?;
            let attr = |k: &str, default: &str| {
                e.attrs
                    .get(k)
                    .map(|v| v.trim().to_lowercase())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| default.to_string())
            };
            Some(Person {
                name,
                role: attr("role", "host"),
                group: attr("group", "cast"),
                href: clean(e.attrs.get("href").map(String::as_str)),
            })
        })
        .collect()
}

/// An RSS `pubDate` as `YYYY-MM-DD`. RFC 2822 first; feeds in the wild
/// often get the weekday wrong or use zones chrono does not know, so the
/// fallback reads the day, month and year after the comma.
///
/// ```
/// use podsift::feed::parse::pub_date;
/// assert_eq!(pub_date("Tue, 05 Mar 2024 09:00:00 +0000").as_deref(), Some("2024-03-05"));
/// // 28 Feb 2024 was a Wednesday.
/// assert_eq!(pub_date("Tue, 28 Feb 2024 08:00:00 GMT").as_deref(), Some("2024-02-28"));
/// assert_eq!(pub_date("Fri, 1 March 2024 08:00 XYZ").as_deref(), Some("2024-03-01"));
/// assert_eq!(pub_date("someday"), None);
/// ```
pub fn pub_date(s: &str) -> Option<String> {
    crate::ingest::normalise_date(s).or_else(|| {
        let rest = s.split_once(',').map_or(s, |(_, r)| r);
        let dmy: Vec<&str> = rest.split_whitespace().take(3).collect();
        crate::ingest::normalise_date(&dmy.join(" "))
    })
}

fn clean(s: Option<&str>) -> Option<String> {
    let s = s?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

/// `itunes:duration` in seconds: `SS`, `MM:SS` or `HH:MM:SS` (fractions
/// dropped).
///
/// ```
/// use podsift::feed::parse::parse_duration;
/// assert_eq!(parse_duration("3723"), Some(3723));
/// assert_eq!(parse_duration("62:03"), Some(3723));
/// assert_eq!(parse_duration("1:02:03"), Some(3723));
/// assert_eq!(parse_duration("soon"), None);
/// ```
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let whole = s.split('.').next()?;
    let mut total = 0u64;
    let parts: Vec<&str> = whole.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    for p in parts {
        total = total.checked_mul(60)?.checked_add(p.parse().ok()?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:p20="https://podcastindex.org/namespace/1.0">
<channel>
  <title>  Tide   Pool Radio </title>
  <language>en-us</language>
  <p20:person role="host">Wren Hollis</p20:person>
  <item>
    <title>Kelp &amp; Currents</title>
    <guid isPermaLink="false">tide-001</guid>
    <pubDate>Tue, 05 Mar 2024 09:00:00 +0000</pubDate>
    <link>https://example.com/ep/1</link>
    <enclosure url="media/1.mp3" length="1" type="audio/mpeg"/>
    <itunes:duration>00:41:10</itunes:duration>
    <p20:person role="Guest" href="https://example.com/dario">Dario Lenz</p20:person>
    <p20:transcript url="t/1.vtt" type="text/vtt" language="en"/>
    <p20:transcript url="t/1.json" type="application/json"/>
    <p20:chapters url="c/1.json" type="application/json+chapters"/>
  </item>
  <item>
    <title>No guid here</title>
    <enclosure url="https://cdn.example.com/2.mp3" length="1" type="audio/mpeg"/>
  </item>
</channel>
</rss>"#;

    #[test]
    fn reads_podcasting20_items_under_any_prefix() {
        let base = Url::parse("https://example.com/feed.xml").unwrap();
        let f = parse(FEED.as_bytes(), &base).unwrap();
        assert_eq!(f.title.as_deref(), Some("Tide Pool Radio"));
        assert_eq!(f.language.as_deref(), Some("en-us"));
        let a = &f.items[0];
        assert_eq!(a.guid, "tide-001");
        assert_eq!(a.title.as_deref(), Some("Kelp & Currents"));
        assert_eq!(a.date.as_deref(), Some("2024-03-05"));
        assert_eq!(
            a.enclosure_url.as_deref(),
            Some("https://example.com/media/1.mp3")
        );
        assert_eq!(a.duration_s, Some(2470));
        assert_eq!(a.persons.len(), 1);
        assert_eq!(a.persons[0].role, "guest");
        assert_eq!(a.transcripts.len(), 2);
        assert_eq!(a.transcripts[0].url, "https://example.com/t/1.vtt");
        assert_eq!(a.transcripts[0].language.as_deref(), Some("en"));
        assert_eq!(
            a.chapters_url.as_deref(),
            Some("https://example.com/c/1.json")
        );
        let b = &f.items[1];
        assert_eq!(b.guid, "https://cdn.example.com/2.mp3");
        assert_eq!(b.persons[0].name, "Wren Hollis", "channel persons apply");
        assert!(b.transcripts.is_empty());
    }

    #[test]
    fn entity_declarations_are_refused_not_expanded() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<rss version="2.0"><channel><title>&lol2;</title></channel></rss>"#;
        let base = Url::parse("https://example.com/feed.xml").unwrap();
        assert!(matches!(
            parse(bomb.as_bytes(), &base),
            Err(FeedError::EntityDeclaration { .. })
        ));
        // An undeclared entity is left as it is.
        let plain = r#"<rss version="2.0"><channel><title>a &nbsp; b</title></channel></rss>"#;
        let f = parse(plain.as_bytes(), &base).unwrap();
        assert_eq!(f.title.as_deref(), Some("a &nbsp; b"));
    }

    #[test]
    fn malformed_xml_is_an_error_not_a_panic() {
        let base = Url::parse("https://example.com/feed.xml").unwrap();
        for doc in [
            "<rss><channel><item><title>x</item>",
            "not xml at all",
            "",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>",
        ] {
            assert!(parse(doc.as_bytes(), &base).is_err(), "{doc}");
        }
    }
}
