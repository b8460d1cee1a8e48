//! Fetching feeds, transcripts and chapters: a blocking HTTP client (ureq
//! with rustls) that enforces podsift's limits on every request, plus local
//! files for feeds added from disk.
//!
//! Every request:
//! - names podsift in its `User-Agent` (`podsift/<version>`);
//! - has a connect timeout and an overall deadline that covers the headers
//!   and the whole body ([`Limits::timeout`]);
//! - follows at most [`Limits::max_redirects`] redirects (a loop ends there),
//!   by hand: every hop must be an http(s) URL with a host, anything else
//!   (`file:`, `data:`, no `Location`) is that request's error;
//! - reads at most the cap for its kind: a `Content-Length` over the cap is
//!   refused before the body is read, and a body that grows past it (chunked,
//!   or gzip that inflates) is cut off at cap + 1 bytes and refused;
//! - is retried [`Limits::retries`] times at most, only for transient
//!   failures ([`FeedError::is_transient`]), after a backoff that doubles;
//! - can be conditional ([`Validators`]: `If-None-Match` /
//!   `If-Modified-Since`), so an unchanged feed costs one `304` and no body.
//!
//! `file://` URLs read local files under the same cap; their validator is
//! the file's size and modification time. Which links may point at local
//! files is decided by [`check_link`]: only links found in a local feed.

use std::io::Read;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::error::{FeedError, Result};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("podsift/", env!("CARGO_PKG_VERSION"));

/// The limits every request runs under.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Deadline for a whole request: connect, headers, body.
    pub timeout: Duration,
    /// Deadline for the connection alone.
    pub connect_timeout: Duration,
    /// Largest feed document, in bytes.
    pub max_feed_bytes: u64,
    /// Largest transcript, in bytes.
    pub max_transcript_bytes: u64,
    /// Largest chapters document, in bytes.
    pub max_chapters_bytes: u64,
    /// Most redirects followed for one request.
    pub max_redirects: u32,
    /// Extra attempts after a transient failure.
    pub retries: u32,
    /// Wait before the first retry; doubled for each later one.
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            // Long-running shows with full show notes reach 10-20 MB.
            max_feed_bytes: 32 << 20,
            // A ten-hour episode's word-level JSON is a few MB.
            max_transcript_bytes: 16 << 20,
            max_chapters_bytes: 1 << 20,
            max_redirects: 5,
            retries: 2,
            backoff: Duration::from_secs(1),
        }
    }
}

/// What a server said about a document, to ask "has it changed?" next time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` header (for a local file: its size and mtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The `Last-Modified` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// A document that was fetched.
#[derive(Debug, Clone)]
pub struct Body {
    /// The bytes (at most the cap).
    pub bytes: Vec<u8>,
    /// Where it came from after redirects: relative links resolve here.
    pub url: Url,
    /// The validators to send next time.
    pub validators: Validators,
    /// The `Content-Type` header, without parameters, lower case.
    pub content_type: Option<String>,
}

/// The answer to a (possibly conditional) request.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// `304 Not Modified` (or a local file with the same size and mtime).
    NotModified,
    /// The document.
    Body(Body),
}

/// Requests made and bytes received, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// HTTP requests sent (each retry counts; a redirect chain counts once).
    pub requests: u64,
    /// Body bytes received (after decompression), local files included.
    pub bytes: u64,
}

impl Tally {
    /// Add another tally to this one.
    pub fn add(&mut self, other: Tally) {
        self.requests += other.requests;
        self.bytes += other.bytes;
    }
}

/// The HTTP client: one connection pool, shared by the scan's threads.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    limits: Limits,
}

impl Client {
    /// A client with these limits.
    pub fn new(limits: Limits) -> Client {
        let agent = ureq::AgentBuilder::new()
            .user_agent(USER_AGENT)
            .timeout_connect(limits.connect_timeout)
            .timeout(limits.timeout)
            // Followed by hand, each hop checked ([`Client::get`]).
            .redirects(0)
            .build();
        Client { agent, limits }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Fetch `url`, reading at most `cap` bytes, retrying transient failures
    /// with backoff. With `validators`, the request is conditional.
    pub fn get(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        cap: u64,
        tally: &mut Tally,
    ) -> Result<Fetched> {
        let mut attempt = 0u32;
        loop {
            let result = match url.scheme() {
                "file" => read_file(url, validators, cap, tally),
                "http" | "https" => self.get_once(url, validators, cap, tally),
                other => Err(FeedError::BadUrl {
                    url: url.to_string(),
                    message: format!("unsupported scheme '{other}' (http, https and file are)"),
                }),
            };
            match result {
                Err(e) if e.is_transient() && attempt < self.limits.retries => {
                    let wait = self
                        .limits
                        .backoff
                        .saturating_mul(1u32 << attempt.min(6))
                        .min(Duration::from_secs(60));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn get_once(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        cap: u64,
        tally: &mut Tally,
    ) -> Result<Fetched> {
        tally.requests += 1;
        // One deadline for the whole chain, as ureq kept it.
        let deadline = std::time::Instant::now() + self.limits.timeout;
        let sent = send_following(
            &self.agent,
            url,
            self.limits.max_redirects,
            Some(deadline),
            &|mut req| {
                if let Some(v) = validators {
                    if let Some(etag) = &v.etag {
                        req = req.set("If-None-Match", etag);
                    }
                    if let Some(lm) = &v.last_modified {
                        req = req.set("If-Modified-Since", lm);
                    }
                }
                req
            },
        )
        .map_err(|e| e.unwrap_or_else(|| self.timeout(url)))?;
        let (resp, current) = sent.map_err(|e| self.classify(url, *e))?;
        if resp.status() == 304 {
            return Ok(Fetched::NotModified);
        }
        if (300..400).contains(&resp.status()) {
            return Err(FeedError::Status {
                url: url.to_string(),
                status: resp.status(),
            });
        }
        if let Some(len) = resp
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            if len > cap {
                return Err(FeedError::TooLarge {
                    url: url.to_string(),
                    limit: cap,
                });
            }
        }
        let final_url = current;
        let validators = Validators {
            etag: resp.header("ETag").map(str::to_string),
            last_modified: resp.header("Last-Modified").map(str::to_string),
        };
        let content_type = resp
            .header("Content-Type")
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|ct| !ct.is_empty());
        let mut bytes = Vec::new();
        let read = resp
            .into_reader()
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes);
        tally.bytes += bytes.len() as u64;
        if let Err(e) = read {
            return Err(self.io_error(url, e));
        }
        if bytes.len() as u64 > cap {
            return Err(FeedError::TooLarge {
                url: url.to_string(),
                limit: cap,
            });
        }
        Ok(Fetched::Body(Body {
            bytes,
            url: final_url,
            validators,
            content_type,
        }))
    }

    fn classify(&self, url: &Url, e: ureq::Error) -> FeedError {
        match e {
            ureq::Error::Status(status, _) => FeedError::Status {
                url: url.to_string(),
                status,
            },
            ureq::Error::Transport(t) => match t.kind() {
                ureq::ErrorKind::TooManyRedirects => FeedError::TooManyRedirects {
                    url: url.to_string(),
                    max: self.limits.max_redirects,
                },
                ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => FeedError::BadUrl {
                    url: url.to_string(),
                    message: t.to_string(),
                },
                _ => {
                    let timed_out = std::error::Error::source(&t)
                        .and_then(|s| s.downcast_ref::<std::io::Error>())
                        .is_some_and(is_timeout);
                    if timed_out {
                        self.timeout(url)
                    } else {
                        FeedError::Network {
                            url: url.to_string(),
                            message: t.to_string(),
                        }
                    }
                }
            },
        }
    }

    fn io_error(&self, url: &Url, e: std::io::Error) -> FeedError {
        if is_timeout(&e) {
            self.timeout(url)
        } else {
            FeedError::Network {
                url: url.to_string(),
                message: e.to_string(),
            }
        }
    }

    fn timeout(&self, url: &Url) -> FeedError {
        FeedError::Timeout {
            url: url.to_string(),
            secs: self.limits.timeout.as_secs_f64(),
        }
    }
}

/// What [`send_following`] got to: the answer and the URL it came from, or
/// the request's own failure.
pub(crate) type Sent = std::result::Result<(ureq::Response, Url), Box<ureq::Error>>;

/// Send a GET for `url` with `agent` (built with `.redirects(0)`),
/// following redirects by hand: every hop is checked by [`redirect_target`]
/// (http(s) with a host, nothing else) before it is requested, at most
/// `max_redirects` of them, all before `deadline` if one is given (it then
/// bounds each request as a whole, body included, as ureq's `timeout`
/// does; without one the agent's own timeouts apply). `prepare` sets the
/// headers of each hop's request. Redirects are followed here, not by
/// ureq: ureq 2 panics on a `Location` without a host (`file:///etc/passwd`,
/// `data:...`), and every hop must be checked anyway.
///
/// The answer and the URL it came from; a refused or overlong chain is the
/// outer error (`None`: the deadline passed), a failed request the inner
/// one, for the caller to classify.
pub(crate) fn send_following(
    agent: &ureq::Agent,
    url: &Url,
    max_redirects: u32,
    deadline: Option<std::time::Instant>,
    prepare: &dyn Fn(ureq::Request) -> ureq::Request,
) -> std::result::Result<Sent, Option<FeedError>> {
    let mut current = url.clone();
    let mut hops = 0u32;
    loop {
        let mut req = agent.request_url("GET", &current);
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(None);
            }
            req = req.timeout(left);
        }
        let req = prepare(req);
        let resp = match req.call() {
            Ok(r) => r,
            Err(e) => return Ok(Err(Box::new(e))),
        };
        if !matches!(resp.status(), 301 | 302 | 303 | 307 | 308) {
            return Ok(Ok((resp, current)));
        }
        let next = redirect_target(url, &current, resp.header("Location")).map_err(Some)?;
        // Let the connection go back to the pool.
        let _ = std::io::copy(&mut resp.into_reader().take(64 << 10), &mut std::io::sink());
        hops += 1;
        if hops > max_redirects {
            return Err(Some(FeedError::TooManyRedirects {
                url: url.to_string(),
                max: max_redirects,
            }));
        }
        current = next;
    }
}

/// Where a redirect from `current` (reached from `url`) points, if podsift
/// follows it: a `Location` (absolute, or relative to `current`) that is an
/// http(s) URL with a host.
fn redirect_target(url: &Url, current: &Url, location: Option<&str>) -> Result<Url> {
    let refuse = |to: &str, why: &str| FeedError::Redirect {
        url: url.to_string(),
        to: to.to_string(),
        message: if to.is_empty() {
            format!("a redirect podsift does not follow: {why}")
        } else {
            format!("redirected to '{to}', which podsift does not follow: {why}")
        },
    };
    let location = location
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| refuse("", "it has no Location"))?;
    let next = current
        .join(location)
        .map_err(|e| refuse(location, &format!("not a URL ({e})")))?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(refuse(
            next.as_str(),
            "only http and https redirects are followed",
        ));
    }
    if next.host_str().is_none_or(str::is_empty) {
        return Err(refuse(next.as_str(), "it names no host"));
    }
    Ok(next)
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// Read a local file under the cap; its validator is `size-mtime_ns`.
fn read_file(
    url: &Url,
    validators: Option<&Validators>,
    cap: u64,
    tally: &mut Tally,
) -> Result<Fetched> {
    let path = url.to_file_path().map_err(|()| FeedError::BadUrl {
        url: url.to_string(),
        message: "not a local file path".into(),
    })?;
    let file = std::fs::File::open(&path).map_err(|e| FeedError::io(&path, e))?;
    let meta = file.metadata().map_err(|e| FeedError::io(&path, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let stamp = format!("{}-{mtime}", meta.len());
    if validators.and_then(|v| v.etag.as_deref()) == Some(stamp.as_str()) {
        return Ok(Fetched::NotModified);
    }
    if meta.len() > cap {
        return Err(FeedError::TooLarge {
            url: url.to_string(),
            limit: cap,
        });
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| FeedError::io(&path, e))?;
    tally.bytes += bytes.len() as u64;
    if bytes.len() as u64 > cap {
        return Err(FeedError::TooLarge {
            url: url.to_string(),
            limit: cap,
        });
    }
    Ok(Fetched::Body(Body {
        bytes,
        url: url.clone(),
        validators: Validators {
            etag: Some(stamp),
            last_modified: None,
        },
        content_type: None,
    }))
}

/// Resolve `href` (absolute, or relative to the document at `base`) and
/// check that it may be fetched:
/// - http and https always;
/// - `file://` only from a feed that is itself a local file, and only a file
///   inside that feed file's own folder (or below it), after resolving `..`
///   and symbolic links: a feed someone sent you (`~/Downloads/feed.xml`)
///   must not pull `../../.ssh/id_ed25519` or `/etc/passwd` into the index,
///   where it could end up in an emailed brief. `allow_local_files` (the
///   user's `--allow-local-files`) lifts the folder rule for local feeds;
/// - never a local file from a feed on the web, whatever the flag says.
///
/// An allowed local link comes back as the resolved file's own URL, so what
/// is read is the file that was checked.
pub fn check_link(base: &Url, href: &str, allow_local_files: bool) -> Result<Url> {
    let url = base.join(href.trim()).map_err(|e| FeedError::BadUrl {
        url: href.to_string(),
        message: e.to_string(),
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        "file" if base.scheme() == "file" => local_link(base, url, allow_local_files),
        "file" => Err(FeedError::LocalFile {
            url: url.to_string(),
            message: format!("a feed on the web ({base}) may not link to a local file"),
            allowable: false,
        }),
        other => Err(FeedError::BadUrl {
            url: url.to_string(),
            message: format!("unsupported scheme '{other}' (http, https and file are)"),
        }),
    }
}

/// A `file://` link of the local feed at `base` (see [`check_link`]).
fn local_link(base: &Url, url: Url, allow_local_files: bool) -> Result<Url> {
    let refuse = |message: String| FeedError::LocalFile {
        url: url.to_string(),
        message,
        allowable: false,
    };
    let path = url
        .to_file_path()
        .map_err(|()| refuse("not a local file path".into()))?;
    let folder = base
        .to_file_path()
        .ok()
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        .ok_or_else(|| refuse(format!("the feed {base} is not in a folder")))?;
    let folder = std::fs::canonicalize(&folder).unwrap_or(folder);
    // The URL parser has resolved `.` and `..` already; canonicalising
    // resolves symbolic links. A file that does not exist is checked as
    // written (reading it then fails with "not found").
    let resolved = std::fs::canonicalize(&path).unwrap_or(path);
    if !allow_local_files && !resolved.starts_with(&folder) {
        return Err(FeedError::LocalFile {
            url: url.to_string(),
            message: format!(
                "outside the feed file's folder {}; a local feed may only link to files in \
                 its own folder",
                folder.display()
            ),
            allowable: true,
        });
    }
    Url::from_file_path(&resolved).map_err(|()| refuse("not an absolute path".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_podsift_and_version() {
        assert!(USER_AGENT.starts_with("podsift/"));
        assert!(USER_AGENT.len() > "podsift/".len());
    }

    #[test]
    fn links_resolve_and_web_feeds_cannot_read_local_files() {
        let web = Url::parse("https://example.com/show/feed.xml").unwrap();
        assert_eq!(
            check_link(&web, "ep1.vtt", false).unwrap().as_str(),
            "https://example.com/show/ep1.vtt"
        );
        for allow in [false, true] {
            assert!(matches!(
                check_link(&web, "file:///etc/passwd", allow),
                Err(FeedError::LocalFile { .. })
            ));
        }
        assert!(check_link(&web, "ftp://example.com/x", false).is_err());
        let local = Url::parse("file:///home/me/feed.xml").unwrap();
        assert_eq!(
            check_link(&local, "t/ep1.vtt", false).unwrap().as_str(),
            "file:///home/me/t/ep1.vtt"
        );
        assert_eq!(
            check_link(&local, "https://example.com/ep1.vtt", false)
                .unwrap()
                .as_str(),
            "https://example.com/ep1.vtt"
        );
    }

    #[test]
    fn redirects_are_followed_only_to_web_urls_with_a_host() {
        let from = Url::parse("http://127.0.0.1:8080/show/feed.xml").unwrap();
        let to = |l: &str| redirect_target(&from, &from, Some(l)).map(|u| u.to_string());
        assert_eq!(to("/other.xml").unwrap(), "http://127.0.0.1:8080/other.xml");
        assert_eq!(to("../x.xml").unwrap(), "http://127.0.0.1:8080/x.xml");
        assert_eq!(to("//example.com/f").unwrap(), "http://example.com/f");
        assert_eq!(
            to("https://example.com/f").unwrap(),
            "https://example.com/f"
        );
        for bad in [
            "file:///etc/passwd",
            "data:text/plain,x",
            "ftp://example.com/x",
            "mailto:a@example.com",
            "javascript:alert(1)",
            "  ",
        ] {
            let e = to(bad).unwrap_err();
            assert!(matches!(e, FeedError::Redirect { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("does not follow"), "{e}");
        }
        assert!(redirect_target(&from, &from, None).is_err());
    }

    #[test]
    fn a_local_feed_links_only_inside_its_own_folder() {
        let dir = tempfile::tempdir().unwrap();
        let feeds = dir.path().join("downloads");
        let secret = dir.path().join("secret");
        std::fs::create_dir_all(feeds.join("t")).unwrap();
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::write(feeds.join("t/ep1.vtt"), "WEBVTT\n").unwrap();
        std::fs::write(secret.join("creds.txt"), "hunter2").unwrap();
        std::os::unix::fs::symlink(secret.join("creds.txt"), feeds.join("t/link.vtt")).unwrap();
        let base = Url::from_file_path(feeds.join("feed.xml")).unwrap();
        let inside = check_link(&base, "t/ep1.vtt", false).unwrap();
        assert_eq!(
            inside.to_file_path().unwrap(),
            std::fs::canonicalize(feeds.join("t/ep1.vtt")).unwrap()
        );
        let creds = Url::from_file_path(secret.join("creds.txt")).unwrap();
        for href in [
            "../secret/creds.txt",
            "t/../../secret/creds.txt",
            "t/link.vtt",
            "file:///etc/passwd",
            creds.as_str(),
        ] {
            let err = check_link(&base, href, false).unwrap_err();
            assert!(matches!(err, FeedError::LocalFile { .. }), "{href}: {err}");
            assert!(
                matches!(
                    err,
                    FeedError::LocalFile {
                        allowable: true,
                        ..
                    }
                ),
                "{err}"
            );
        }
        // The opt-in lifts the folder rule; the symlink resolves to its target.
        let via_link = check_link(&base, "t/link.vtt", true).unwrap();
        assert_eq!(
            via_link.to_file_path().unwrap(),
            std::fs::canonicalize(secret.join("creds.txt")).unwrap()
        );
    }

    #[test]
    fn transient_failures_are_the_retryable_ones() {
        let status = |s| FeedError::Status {
            url: "u".into(),
            status: s,
        };
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!FeedError::TooLarge {
            url: "u".into(),
            limit: 1
        }
        .is_transient());
    }

    #[test]
    fn local_files_are_capped_and_conditional() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("feed.xml");
        std::fs::write(&p, b"0123456789").unwrap();
        let url = Url::from_file_path(&p).unwrap();
        let client = Client::new(Limits::default());
        let mut tally = Tally::default();
        assert!(matches!(
            client.get(&url, None, 5, &mut tally),
            Err(FeedError::TooLarge { limit: 5, .. })
        ));
        let Fetched::Body(body) = client.get(&url, None, 100, &mut tally).unwrap() else {
            panic!("expected a body");
        };
        assert_eq!(body.bytes, b"0123456789");
        assert!(matches!(
            client
                .get(&url, Some(&body.validators), 100, &mut tally)
                .unwrap(),
            Fetched::NotModified
        ));
        assert_eq!(tally.requests, 0);
    }
}
