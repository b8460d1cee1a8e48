//! Downloading an episode's audio (its enclosure) to a file, for
//! transcription: streamed to disk, never held in memory, under its own
//! limits ([`AudioLimits`]: a size cap, a connect timeout, a stall timeout
//! and an overall deadline long enough for an hour of audio), and
//! resumable: the bytes land in `<dest>.part`, and a later try asks the
//! server for the rest (`Range: bytes=N-`); a server that answers `200`
//! instead of `206` is read from the start again.
//!
//! Requests name podsift in the `User-Agent` and follow at most
//! [`AudioLimits::max_redirects`] redirects through the feed client's own
//! checked path (`http::send_following`): every hop must be an
//! http(s) URL with a host, so an enclosure cannot redirect to `file:` or
//! `data:`. `file://` URLs are only ever passed in from a local
//! feed (the caller checks links with [`super::http::check_link`]); they
//! are used in place, not copied.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use url::Url;

use super::error::{FeedError, Result};
use super::http::{send_following, Tally, USER_AGENT};

/// The limits of an audio download.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioLimits {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Deadline for the connection.
    pub connect_timeout: Duration,
    /// A read that receives nothing for this long fails (and may resume).
    pub stall_timeout: Duration,
    /// Deadline for the whole download.
    pub deadline: Duration,
    /// Most redirects followed.
    pub max_redirects: u32,
    /// Further tries after a transient failure, each resuming.
    pub retries: u32,
}

impl Default for AudioLimits {
    fn default() -> AudioLimits {
        AudioLimits {
            // Ten hours at 192 kbit/s is 864 MB.
            max_bytes: 1 << 30,
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(30 * 60),
            max_redirects: 5,
            retries: 2,
        }
    }
}

/// A downloaded (or local) audio file.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Where it is.
    pub path: PathBuf,
    /// Whether it is a download the caller may delete when done (a local
    /// file is not).
    pub is_download: bool,
    /// The `Content-Type`, lower case, without parameters.
    pub content_type: Option<String>,
}

/// Download `url` to `dest` (a `file://` URL is returned in place).
pub fn download(url: &Url, dest: &Path, limits: &AudioLimits, tally: &mut Tally) -> Result<Audio> {
    if url.scheme() == "file" {
        let path = url.to_file_path().map_err(|()| FeedError::BadUrl {
            url: url.to_string(),
            message: "not a local path".into(),
        })?;
        let len = std::fs::metadata(&path)
            .map_err(|source| FeedError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        if len > limits.max_bytes {
            return Err(FeedError::TooLarge {
                url: url.to_string(),
                limit: limits.max_bytes,
            });
        }
        return Ok(Audio {
            path,
            is_download: false,
            content_type: None,
        });
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FeedError::BadUrl {
            url: url.to_string(),
            message: format!(
                "unsupported scheme '{}' (http, https and file are)",
                url.scheme()
            ),
        });
    }
    let agent = ureq::AgentBuilder::new()
        .user_agent(USER_AGENT)
        .timeout_connect(limits.connect_timeout)
        .timeout_read(limits.stall_timeout)
        // Followed by hand, each hop checked ([`send_following`]).
        .redirects(0)
        .build();
    let part = part_path(dest);
    let t0 = Instant::now();
    let mut attempt = 0;
    loop {
        match fetch_once(&agent, url, &part, limits, t0, tally) {
            Ok(content_type) => {
                std::fs::rename(&part, dest).map_err(|source| FeedError::Io {
                    path: dest.to_path_buf(),
                    source,
                })?;
                return Ok(Audio {
                    path: dest.to_path_buf(),
                    is_download: true,
                    content_type,
                });
            }
            Err(e)
                if e.is_transient()
                    && attempt < limits.retries
                    && t0.elapsed() < limits.deadline =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(500 << attempt.min(4)));
            }
            Err(e) => return Err(e),
        }
    }
}

/// `<dest>.part`, where an unfinished download waits to be resumed.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// One request: resume `part` if it has bytes, append the body to it.
fn fetch_once(
    agent: &ureq::Agent,
    url: &Url,
    part: &Path,
    limits: &AudioLimits,
    t0: Instant,
    tally: &mut Tally,
) -> Result<Option<String>> {
    let io = |source: std::io::Error| FeedError::Io {
        path: part.to_path_buf(),
        source,
    };
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    tally.requests += 1;
    let sent = send_following(
        agent,
        url,
        limits.max_redirects,
        // The stall timeout bounds each read; the deadline is checked
        // between reads below (a per-request deadline would replace the
        // stall timeout).
        None,
        &|req| {
            if have > 0 {
                req.set("Range", &format!("bytes={have}-"))
            } else {
                req
            }
        },
    )
    .map_err(|e| {
        e.unwrap_or_else(|| FeedError::Timeout {
            url: url.to_string(),
            secs: limits.deadline.as_secs_f64(),
        })
    })?;
    if t0.elapsed() > limits.deadline {
        return Err(FeedError::Timeout {
            url: url.to_string(),
            secs: limits.deadline.as_secs_f64(),
        });
    }
    let resp = match sent.map_err(|e| *e) {
        Ok((r, _)) if (200..300).contains(&r.status()) => r,
        Ok((r, _)) => {
            return Err(FeedError::Status {
                url: url.to_string(),
                status: r.status(),
            })
        }
        // The part is already complete (or the server's file shrank).
        Err(ureq::Error::Status(416, _)) if have > 0 => {
            let _ = std::fs::remove_file(part);
            return Err(FeedError::Network {
                url: url.to_string(),
                message: "the server refused to resume; starting over".into(),
            });
        }
        Err(ureq::Error::Status(status, _)) => {
            return Err(FeedError::Status {
                url: url.to_string(),
                status,
            })
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(FeedError::Network {
                url: url.to_string(),
                message: t.to_string(),
            })
        }
    };
    let resumed = resp.status() == 206 && have > 0 && content_range_start(&resp) == Some(have);
    let start = if resumed { have } else { 0 };
    let total = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|n| n + start);
    if total.is_some_and(|t| t > limits.max_bytes) {
        return Err(FeedError::TooLarge {
            url: url.to_string(),
            limit: limits.max_bytes,
        });
    }
    let content_type = resp
        .header("Content-Type")
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .filter(|ct| !ct.is_empty());
    let file = if resumed {
        OpenOptions::new().append(true).open(part).map_err(io)?
    } else {
        File::create(part).map_err(io)?
    };
    let written = append_body(
        resp.into_reader(),
        file,
        part,
        url,
        limits,
        t0,
        start,
        tally,
    )?;
    if total.is_some_and(|t| written < t) {
        return Err(FeedError::Network {
            url: url.to_string(),
            message: format!(
                "the connection ended after {written} of {} bytes",
                total.unwrap_or(0)
            ),
        });
    }
    Ok(content_type)
}

/// Copy the body from `reader` to `file` (the download at `part`, which
/// holds `start` bytes already), checking the deadline between reads and
/// the size cap after each, then sync it; returns the bytes `part` then
/// holds. A part over the cap is closed and removed.
#[allow(clippy::too_many_arguments)]
fn append_body(
    mut reader: impl Read,
    mut file: File,
    part: &Path,
    url: &Url,
    limits: &AudioLimits,
    t0: Instant,
    start: u64,
    tally: &mut Tally,
) -> Result<u64> {
    let io = |source: std::io::Error| FeedError::Io {
        path: part.to_path_buf(),
        source,
    };
    let mut buf = vec![0u8; 256 << 10];
    let mut written = start;
    loop {
        if t0.elapsed() > limits.deadline {
            return Err(FeedError::Timeout {
                url: url.to_string(),
                secs: limits.deadline.as_secs_f64(),
            });
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = file.flush();
                return Err(
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                    ) {
                        FeedError::Timeout {
                            url: url.to_string(),
                            secs: limits.stall_timeout.as_secs_f64(),
                        }
                    } else {
                        FeedError::Network {
                            url: url.to_string(),
                            message: e.to_string(),
                        }
                    },
                );
            }
        };
        written += n as u64;
        tally.bytes += n as u64;
        if written > limits.max_bytes {
            drop(file);
            let _ = std::fs::remove_file(part);
            return Err(FeedError::TooLarge {
                url: url.to_string(),
                limit: limits.max_bytes,
            });
        }
        file.write_all(&buf[..n]).map_err(io)?;
    }
    file.sync_all().map_err(io)?;
    Ok(written)
}

/// The first byte of a `Content-Range: bytes A-B/N` answer.
fn content_range_start(resp: &ureq::Response) -> Option<u64> {
    let v = resp.header("Content-Range")?;
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback server that answers `n` requests with `respond`.
    fn serve(
        n: usize,
        respond: impl Fn(&tiny_http::Request) -> tiny_http::ResponseBox + Send + 'static,
    ) -> (String, std::thread::JoinHandle<Vec<Option<String>>>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", server.server_addr().to_ip().unwrap());
        let h = std::thread::spawn(move || {
            let mut ranges = Vec::new();
            for _ in 0..n {
                let Ok(Some(req)) = server.recv_timeout(Duration::from_secs(10)) else {
                    break;
                };
                ranges.push(
                    req.headers()
                        .iter()
                        .find(|h| h.field.equiv("Range"))
                        .map(|h| h.value.to_string()),
                );
                let resp = respond(&req);
                let _ = req.respond(resp);
            }
            ranges
        });
        (addr, h)
    }

    #[test]
    fn resumes_a_partial_download_with_a_range_request() {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let b = body.clone();
        let (addr, h) = serve(1, move |req| {
            let range = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Range"))
                .map(|h| h.value.to_string());
            let from: usize = range
                .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
                .unwrap_or(0);
            let cr = format!("bytes {from}-{}/{}", b.len() - 1, b.len());
            tiny_http::Response::from_data(b[from..].to_vec())
                .with_status_code(206)
                .with_header(tiny_http::Header::from_bytes("Content-Range", cr).unwrap())
                .boxed()
        });
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("ep.mp3");
        std::fs::write(part_path(&dest), &body[..40_000]).unwrap();
        let mut tally = Tally::default();
        let url = Url::parse(&format!("{addr}/ep.mp3")).unwrap();
        let a = download(&url, &dest, &AudioLimits::default(), &mut tally).unwrap();
        assert_eq!(std::fs::read(&a.path).unwrap(), body);
        assert!(!part_path(&dest).exists());
        assert_eq!(tally.bytes, 60_000);
        assert_eq!(h.join().unwrap(), vec![Some("bytes=40000-".to_string())]);
    }

    #[test]
    fn redirects_are_checked_like_the_feed_clients() {
        let body = vec![9u8; 3000];
        let b = body.clone();
        // A relative redirect is followed; the audio arrives.
        let (addr, h) = serve(2, move |req| {
            if req.url() == "/old.mp3" {
                tiny_http::Response::empty(302)
                    .with_header(tiny_http::Header::from_bytes("Location", "/new.mp3").unwrap())
                    .boxed()
            } else {
                tiny_http::Response::from_data(b.clone()).boxed()
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let url = Url::parse(&format!("{addr}/old.mp3")).unwrap();
        let dest = dir.path().join("a.mp3");
        let a = download(&url, &dest, &AudioLimits::default(), &mut Tally::default()).unwrap();
        assert_eq!(std::fs::read(&a.path).unwrap(), body);
        h.join().unwrap();
        // A redirect to a local file or a data URL is refused, not followed.
        for to in ["file:///etc/passwd", "data:audio/mpeg;base64,AAAA"] {
            let (addr, h) = serve(1, move |_| {
                tiny_http::Response::empty(301)
                    .with_header(tiny_http::Header::from_bytes("Location", to).unwrap())
                    .boxed()
            });
            let url = Url::parse(&format!("{addr}/ep.mp3")).unwrap();
            let dest = dir.path().join("b.mp3");
            let e =
                download(&url, &dest, &AudioLimits::default(), &mut Tally::default()).unwrap_err();
            assert!(matches!(e, FeedError::Redirect { .. }), "{to}: {e}");
            assert!(!dest.exists(), "{to}");
            assert_eq!(h.join().unwrap().len(), 1, "{to}: followed");
        }
    }

    #[test]
    fn over_the_cap_is_refused_and_nothing_is_kept() {
        let (addr, h) = serve(1, |_| {
            tiny_http::Response::from_data(vec![7u8; 5000]).boxed()
        });
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("big.mp3");
        let limits = AudioLimits {
            max_bytes: 1000,
            ..AudioLimits::default()
        };
        let url = Url::parse(&format!("{addr}/big.mp3")).unwrap();
        let e = download(&url, &dest, &limits, &mut Tally::default()).unwrap_err();
        assert!(matches!(e, FeedError::TooLarge { .. }), "{e}");
        assert!(!dest.exists() && !part_path(&dest).exists());
        h.join().unwrap();
    }
}
