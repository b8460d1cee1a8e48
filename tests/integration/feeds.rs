//! Following feeds: `podsift feed` and `podsift scan` against a small HTTP
//! server on 127.0.0.1 (a thread of this test process, on a random port)
//! that serves the fixture feeds in `tests/fixtures/feeds/` and a few
//! misbehaving endpoints. No test touches any other address.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{fixtures, json_lines, run, stdout_ok, Model, TestDir};

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    if_none_match: Option<String>,
    user_agent: Option<String>,
    status: u16,
}

/// The test server: fixture files with ETag/Last-Modified (and 304s), plus
/// `/slow.xml` (answers after 3 s), `/huge.xml` (a 33 MiB chunked body),
/// `/huge-transcript.vtt` (a 17 MiB Content-Length), `/loop.xml` (a
/// redirect loop), `/flaky.xml` (503 once, then the feed); anything else is
/// 404. `{{BASE}}` in a fixture is replaced by the server's address.
struct Server {
    base: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

const LAST_MODIFIED: &str = "Tue, 05 Mar 2024 10:00:00 GMT";

impl Server {
    fn start() -> Server {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let base = format!("http://127.0.0.1:{port}");
        let log = Arc::new(Mutex::new(Vec::new()));
        let flaky = Arc::new(AtomicUsize::new(0));
        let (b, l) = (base.clone(), log.clone());
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let (b, l, flaky) = (b.clone(), l.clone(), flaky.clone());
                std::thread::spawn(move || respond(req, &b, &l, &flaky));
            }
        });
        Server { base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    fn requests(&self, path: &str) -> Vec<Seen> {
        let want = format!("/{path}");
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == want)
            .cloned()
            .collect()
    }

    fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

fn header(req: &tiny_http::Request, name: &'static str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_string())
}

fn respond(req: tiny_http::Request, base: &str, log: &Mutex<Vec<Seen>>, flaky: &AtomicUsize) {
    use tiny_http::{Header, Response, StatusCode};
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let if_none_match = header(&req, "If-None-Match");
    let mut seen = Seen {
        path: path.clone(),
        if_none_match: if_none_match.clone(),
        user_agent: header(&req, "User-Agent"),
        status: 200,
    };
    let h = |k: &str, v: &str| Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap();
    let mut record = |status: u16| {
        seen.status = status;
        log.lock().unwrap().push(seen.clone());
    };
    match path.as_str() {
        "/slow.xml" => {
            record(200);
            std::thread::sleep(Duration::from_secs(3));
            let _ = req.respond(Response::from_string(fill(base, "tide.xml")));
        }
        "/huge.xml" => {
            record(200);
            let body = std::io::repeat(b' ').take(33 << 20);
            let _ = req.respond(Response::new(StatusCode(200), vec![], body, None, None));
        }
        "/huge-transcript.vtt" => {
            record(200);
            let body = std::io::repeat(b' ').take(17 << 20);
            let _ = req.respond(Response::new(
                StatusCode(200),
                vec![],
                body,
                Some(17 << 20),
                None,
            ));
        }
        "/loop.xml" | "/loop2.xml" => {
            record(302);
            let to = if path == "/loop.xml" {
                "/loop2.xml"
            } else {
                "/loop.xml"
            };
            let _ = req
                .respond(Response::empty(302).with_header(h("Location", &format!("{base}{to}"))));
        }
        p if p.starts_with("/moved/") => {
            record(301);
            // A reference without scheme or host, resolved against the request.
            let to = p.trim_start_matches("/moved");
            let _ = req.respond(Response::empty(301).with_header(h("Location", to)));
        }
        p if p.starts_with("/to-file.") => {
            record(302);
            let _ =
                req.respond(Response::empty(302).with_header(h("Location", "file:///etc/passwd")));
        }
        p if p.starts_with("/to-data.") => {
            record(302);
            let _ =
                req.respond(Response::empty(302).with_header(h("Location", "data:text/plain,x")));
        }
        p if p.starts_with("/no-location.") => {
            record(302);
            let _ = req.respond(Response::empty(302));
        }
        "/flaky.xml" if flaky.fetch_add(1, Ordering::SeqCst) == 0 => {
            record(503);
            let _ = req.respond(Response::empty(503));
        }
        _ => {
            let rel = path.trim_start_matches('/');
            let file = fixtures().join("feeds").join(rel);
            if rel.contains("..") || !file.is_file() {
                record(404);
                let _ = req.respond(Response::empty(404));
                return;
            }
            let body = fill(base, rel);
            let etag = format!("\"{}\"", &blake3::hash(body.as_bytes()).to_hex()[..16]);
            if if_none_match.as_deref() == Some(etag.as_str()) {
                record(304);
                let _ = req.respond(Response::empty(304).with_header(h("ETag", &etag)));
                return;
            }
            record(200);
            let _ = req.respond(
                Response::from_string(body)
                    .with_header(h("ETag", &etag))
                    .with_header(h("Last-Modified", LAST_MODIFIED)),
            );
        }
    }
}

/// A fixture's text with `{{BASE}}` replaced.
fn fill(base: &str, rel: &str) -> String {
    std::fs::read_to_string(fixtures().join("feeds").join(rel))
        .unwrap()
        .replace("{{BASE}}", base)
}

fn feed_add(t: &TestDir, url: &str, name: Option<&str>) {
    let mut cmd = t.command(Model::None);
    cmd.args(["feed", "add", url]);
    if let Some(n) = name {
        cmd.args(["--name", n]);
    }
    stdout_ok(&mut cmd);
}

/// `scan --json` with short limits; returns (exit code, feed lines by name,
/// summary, stderr).
fn scan(
    t: &TestDir,
    extra: &[&str],
) -> (
    i32,
    std::collections::BTreeMap<String, serde_json::Value>,
    serde_json::Value,
    String,
) {
    let mut cmd = t.command(Model::Tiny);
    cmd.args(["--json", "scan", "--timeout", "1"]).args(extra);
    if !extra.contains(&"--retries") {
        cmd.args(["--retries", "0"]);
    }
    let (code, out, err) = run(&mut cmd);
    let lines = json_lines(&out);
    let feeds = lines
        .iter()
        .filter(|l| l["type"] == "feed")
        .map(|l| (l["name"].as_str().unwrap().to_string(), l.clone()))
        .collect();
    let summary = lines
        .iter()
        .find(|l| l["type"] == "summary")
        .unwrap_or_else(|| panic!("no summary\n--- stdout\n{out}\n--- stderr\n{err}"))
        .clone();
    (code, feeds, summary, err)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn sidecar(path: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stats(t: &TestDir) -> serde_json::Value {
    let out = stdout_ok(t.command(Model::None).args(["--json", "stats"]));
    json_lines(&out).remove(0)
}

fn keyword_hits(t: &TestDir, query: &str) -> Vec<serde_json::Value> {
    let (_, out, _) = run(t
        .command(Model::None)
        .args(["--json", "search", "--mode", "keyword", query]));
    json_lines(&out)
        .into_iter()
        .filter(|l| l["type"] == "hit")
        .collect()
}

#[test]
fn scan_downloads_the_best_transcript_of_each_item_and_indexes_it() {
    let server = Server::start();
    let t = TestDir::new();
    // No --name: the show is named after the feed's title.
    feed_add(&t, &server.url("tide.xml"), None);
    let list = stdout_ok(t.command(Model::None).args(["--json", "feed", "list"]));
    assert_eq!(json_lines(&list)[0]["name"], "tide-pool-radio");

    let (code, feeds, summary, err) = scan(&t, &[]);
    assert_eq!(code, 0, "{err}");
    let tide = &feeds["tide-pool-radio"];
    assert_eq!(tide["status"], "fetched");
    assert_eq!(tide["new_episodes"], 7);
    assert_eq!(tide["transcripts_fetched"], 6);
    assert_eq!(tide["without_transcript"], 1);
    assert_eq!(summary["indexed"], 6, "{err}");

    let show = t.path().join("library/tide-pool-radio");
    assert_eq!(
        files_in(&show),
        [
            "2024-02-29-nudibranch-colours.meta.json",
            // rel="captions" typed text/plain: sniffed, saved as WebVTT.
            "2024-02-29-nudibranch-colours.vtt",
            "2024-03-01-limpet-homing.meta.json",
            "2024-03-01-limpet-homing.txt",
            "2024-03-02-urchin-barrens.html",
            "2024-03-02-urchin-barrens.meta.json",
            "2024-03-03-barnacle-glue.meta.json",
            "2024-03-03-barnacle-glue.srt",
            // The English VTT, not the Spanish JSON.
            "2024-03-04-anemones-up-close.meta.json",
            "2024-03-04-anemones-up-close.vtt",
            // JSON preferred over VTT.
            "2024-03-05-kelp-forests-currents.json",
            "2024-03-05-kelp-forests-currents.meta.json",
        ]
    );
    let side = sidecar(show.join("2024-03-05-kelp-forests-currents.meta.json"));
    assert_eq!(side["title"], "Kelp Forests & Currents");
    assert_eq!(side["date"], "2024-03-05");
    assert_eq!(side["url"], "https://media.example.com/tide/001.mp3");
    assert_eq!(side["link"], "https://tidepool.example.com/episodes/1");
    assert_eq!(
        side["enclosure_url"],
        "https://media.example.com/tide/001.mp3"
    );
    assert_eq!(side["guid"], "tide-001");
    assert_eq!(side["duration_s"], 2470);
    assert_eq!(side["guests"], serde_json::json!(["Dario Lenz"]));
    assert_eq!(side["hosts"], serde_json::json!(["Wren Hollis"]));
    assert_eq!(side["persons"][1]["role"], "guest");
    assert_eq!(
        side["persons"][1]["href"],
        "https://example.com/people/dario"
    );
    assert_eq!(side["chapters_url"], server.url("tide/ep1-chapters.json"));
    assert_eq!(
        side["chapters"],
        serde_json::json!([
            {"start_s": 0.0, "title": "Welcome"},
            {"start_s": 6.5, "title": "How fast kelp grows"},
            {"start_s": 95.0, "title": "Holdfasts and fronds"}
        ])
    );
    assert_eq!(side["transcript"]["type"], "application/json");
    let side2 = sidecar(show.join("2024-03-04-anemones-up-close.meta.json"));
    assert_eq!(side2["transcript"]["language"], "en-US");
    assert_eq!(side2["hosts"], serde_json::json!(["Wren Hollis"]));

    // Every request named podsift.
    let ua = format!("podsift/{}", env!("CARGO_PKG_VERSION"));
    assert!(server
        .log
        .lock()
        .unwrap()
        .iter()
        .all(|s| s.user_agent.as_deref() == Some(ua.as_str())));

    // The index has the episodes, with the sidecar's metadata.
    let s = stats(&t);
    assert_eq!(s["episodes"], 6);
    let hits = keyword_hits(&t, "holdfast");
    assert!(!hits.is_empty());
    assert_eq!(hits[0]["show"], "tide-pool-radio");
    assert_eq!(hits[0]["title"], "Kelp Forests & Currents");
    assert_eq!(hits[0]["date"], "2024-03-05");
    assert_eq!(hits[0]["speaker"], "Dario Lenz");
    // Each passage carries the chapter it falls in, and chapter titles are
    // searchable.
    assert!(hits[0]["chapter"].is_string(), "{:?}", hits[0]);
    let by_chapter = keyword_hits(&t, "fronds");
    assert!(by_chapter
        .iter()
        .any(|h| h["chapter"] == "Holdfasts and fronds"));
    assert!(hits[0]["link"]
        .as_str()
        .unwrap()
        .starts_with("https://media.example.com/tide/001.mp3#t="));
    assert_eq!(
        keyword_hits(&t, "urchin barrens")[0]["title"],
        "Urchin Barrens"
    );
    assert!(keyword_hits(&t, "script text must never").is_empty());
    assert!(keyword_hits(&t, "anémonas").is_empty(), "the Spanish file");

    // A second scan asks "changed?", gets 304, fetches and indexes nothing.
    let before = server.count();
    let generation = s["generation"].clone();
    let t0 = Instant::now();
    let (code, feeds, summary, err) = scan(&t, &[]);
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{err}");
    assert_eq!(feeds["tide-pool-radio"]["status"], "not-modified");
    assert_eq!(summary["requests"], 1);
    assert_eq!(summary["new_episodes"], 0);
    assert_eq!(summary["indexed"], 0);
    assert_eq!(server.count(), before + 1);
    let last = server.requests("tide.xml").pop().unwrap();
    assert!(last.if_none_match.is_some());
    assert_eq!(last.status, 304);
    assert_eq!(stats(&t)["generation"], generation);
    assert!(secs < 5.0, "a scan with nothing new took {secs:.2} s");
}

#[test]
fn one_bad_feed_never_stops_the_others_and_the_scan_exits_2() {
    let server = Server::start();
    let t = TestDir::new();
    feed_add(&t, &server.url("missing.xml"), Some("missing"));
    feed_add(&t, &server.url("slow.xml"), Some("slow"));
    feed_add(&t, &server.url("huge.xml"), Some("huge"));
    feed_add(&t, &server.url("bad.xml"), Some("malformed"));
    feed_add(&t, &server.url("bomb.xml"), Some("bomb"));
    feed_add(&t, &server.url("loop.xml"), Some("loop"));
    feed_add(&t, &server.url("tide.xml"), Some("tide"));
    let t0 = Instant::now();
    let (code, feeds, summary, err) = scan(&t, &["--jobs", "2"]);
    assert_eq!(code, 2, "{err}");
    assert!(t0.elapsed() < Duration::from_secs(60));
    let error = |name: &str| {
        assert_eq!(feeds[name]["status"], "failed", "{name}: {:?}", feeds[name]);
        feeds[name]["error"].as_str().unwrap().to_string()
    };
    assert!(error("missing").contains("HTTP status 404"));
    assert!(error("slow").contains("no complete answer within 1 s"));
    assert!(error("huge").contains("cap"));
    assert!(error("malformed").contains("not a readable RSS feed"));
    assert!(error("bomb").contains("ENTITY"));
    assert!(error("loop").contains("redirects"));
    // At most 5 redirects, then it stops.
    let hops = server.requests("loop.xml").len() + server.requests("loop2.xml").len();
    assert!(hops <= 6, "{hops} requests in the redirect loop");
    assert_eq!(feeds["tide"]["transcripts_fetched"], 6);
    assert_eq!(summary["failed_feeds"], 6);
    assert_eq!(summary["indexed"], 6);
    assert_eq!(files_in(&t.path().join("library/tide")).len(), 12);
    // The bomb's feed is refused, so nothing was expanded or saved.
    assert!(!t.path().join("library/bomb").exists());
    // The human lines name each feed.
    let (code, _, err) =
        run(t
            .command(Model::Tiny)
            .args(["scan", "--timeout", "1", "--retries", "0"]));
    assert_eq!(code, 2);
    assert!(err.contains("podsift: missing: failed:"), "{err}");
    assert!(err.contains("podsift: tide: not modified"), "{err}");
}

#[test]
fn redirects_to_local_or_data_urls_fail_one_feed_or_item_never_the_scan() {
    let server = Server::start();
    let t = TestDir::new();
    // `feed add` follows the same rules (it fetched the title and crashed).
    for bad in ["to-file.xml", "to-data.xml", "no-location.xml"] {
        let (code, _, err) = run(t
            .command(Model::None)
            .args(["feed", "add", &server.url(bad)]));
        assert_eq!(code, 2, "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("podsift does not follow"), "{err}");
    }
    feed_add(&t, &server.url("to-file.xml"), Some("to-file"));
    feed_add(&t, &server.url("to-data.xml"), Some("to-data"));
    feed_add(&t, &server.url("redirects.xml"), Some("detour"));
    // A relative redirect is followed, and the feed's links resolve
    // against where it ended up.
    feed_add(&t, &server.url("moved/tide.xml"), Some("tide"));
    let (code, feeds, summary, err) = scan(&t, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for name in ["to-file", "to-data"] {
        assert_eq!(feeds[name]["status"], "failed");
        let e = feeds[name]["error"].as_str().unwrap();
        assert!(
            e.contains("only http and https redirects are followed"),
            "{e}"
        );
    }
    assert_eq!(feeds["tide"]["transcripts_fetched"], 6);
    let d = &feeds["detour"];
    assert_eq!(d["status"], "fetched");
    assert_eq!(d["transcripts_fetched"], 1, "{d:?}");
    let failures: Vec<&str> = d["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures.iter().any(|f| f.contains("'file:///etc/passwd'")));
    assert!(failures.iter().any(|f| f.contains("'data:text/plain,x'")));
    assert!(failures.iter().any(|f| f.contains("it has no Location")));
    assert_eq!(summary["indexed"], 7, "{err}");
    assert!(keyword_hits(&t, "passwd").is_empty());
    assert!(keyword_hits(&t, "root").is_empty());
    // Every feed's state was saved, the failed ones' too.
    let list = json_lines(&stdout_ok(
        t.command(Model::None).args(["--json", "feed", "list"]),
    ));
    assert_eq!(list.len(), 4);
    for f in &list {
        assert!(f["last_scan"].is_string(), "{f:?}");
    }
    let saved = |name: &str| {
        list.iter().find(|f| f["name"] == name).unwrap()["episodes"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(saved("tide"), 6);
    assert_eq!(saved("detour"), 1);
}

#[test]
fn a_local_feed_reads_only_files_in_its_own_folder() {
    let t = TestDir::new();
    let absolute = url::Url::from_file_path(t.path().join("secret/other.txt")).unwrap();
    t.create(
        "downloads/feed.xml",
        local_feed(&[
            "ep1.vtt",
            "../secret/creds.txt",
            absolute.as_str(),
            "inside/../../secret/creds.txt",
        ]),
    );
    t.create(
        "downloads/ep1.vtt",
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nThe lighthouse keeper climbs the stairs.\n",
    );
    t.create("secret/creds.txt", "The vault password is swordfish.\n");
    t.create("secret/other.txt", "The safe combination is marmalade.\n");
    feed_add(&t, "downloads/feed.xml", Some("downloads"));
    let (code, feeds, _, err) = scan(&t, &[]);
    assert_eq!(code, 2, "{err}");
    let d = &feeds["downloads"];
    assert_eq!(d["transcripts_fetched"], 1);
    let failures = d["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 3, "{failures:?}");
    for f in failures {
        let f = f.as_str().unwrap();
        assert!(f.contains("outside the feed file's folder"), "{f}");
        assert!(f.contains("--allow-local-files"), "{f}");
    }
    assert!(keyword_hits(&t, "swordfish").is_empty());
    assert!(keyword_hits(&t, "marmalade").is_empty());
    assert_eq!(keyword_hits(&t, "lighthouse").len(), 1);
    // The explicit opt-in reads them.
    let (code, feeds, _, err) = scan(&t, &["--allow-local-files"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(feeds["downloads"]["transcripts_fetched"], 3, "{err}");
    assert_eq!(keyword_hits(&t, "swordfish").len(), 1, "{err}");
    assert_eq!(keyword_hits(&t, "marmalade").len(), 1, "{err}");
}

/// A local feed whose items link to `links`, one item each.
fn local_feed(links: &[&str]) -> String {
    let mut items = String::new();
    for (i, l) in links.iter().enumerate() {
        items.push_str(&format!(
            "<item><title>Item {i}</title><guid>local-{i}</guid>\
             <pubDate>Thu, 11 Apr 2024 08:00:00 GMT</pubDate>\
             <podcast:transcript url=\"{l}\" type=\"text/plain\"/></item>\n"
        ));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" \
         xmlns:podcast=\"https://podcastindex.org/namespace/1.0\"><channel>\
         <title>Downloads</title>\n{items}</channel></rss>\n"
    )
}

#[test]
fn item_failures_are_reported_retried_and_then_given_up() {
    let server = Server::start();
    let t = TestDir::new();
    feed_add(&t, &server.url("mixed.xml"), Some("mixed"));
    let (code, feeds, _, err) = scan(&t, &[]);
    assert_eq!(code, 2, "{err}");
    let m = &feeds["mixed"];
    assert_eq!(m["status"], "fetched");
    assert_eq!(m["new_episodes"], 5);
    assert_eq!(m["transcripts_fetched"], 2);
    let failures: Vec<&str> = m["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures[0].contains("no-such-file.vtt: HTTP status 404"));
    assert!(failures[1].contains("huge-transcript.vtt: larger than the 16777216-byte cap"));
    assert!(failures[2].contains("may not link to a local file"));
    // A missing chapters file is a warning: the transcript is kept.
    assert!(m["warnings"][0]
        .as_str()
        .unwrap()
        .contains("no-such-chapters.json"));
    let show = t.path().join("library/mixed");
    assert_eq!(
        files_in(&show),
        [
            "2024-04-06-falls-back-to-text.meta.json",
            // The JSON link served HTML: the text link was used instead.
            "2024-04-06-falls-back-to-text.txt",
            "2024-04-10-the-one-that-works.meta.json",
            "2024-04-10-the-one-that-works.vtt",
        ]
    );
    // After failures the feed is fetched in full again (no 304), the
    // failed items are retried, the saved ones are not fetched again.
    for scan_no in 2..=4 {
        let (code, feeds, _, err) = scan(&t, &[]);
        assert_eq!(
            code,
            if scan_no <= 3 { 2 } else { 0 },
            "scan {scan_no}: {err}"
        );
        assert_eq!(feeds["mixed"]["status"], "fetched");
        assert_eq!(feeds["mixed"]["new_episodes"], 0);
        assert_eq!(feeds["mixed"]["given_up"], if scan_no == 3 { 3 } else { 0 });
    }
    assert_eq!(server.requests("mixed/good.vtt").len(), 1);
    // Three tries, then given up.
    assert_eq!(server.requests("mixed/no-such-file.vtt").len(), 3);
    // With nothing left to try, the validators are kept: 304 next time.
    let (code, feeds, _, _) = scan(&t, &[]);
    assert_eq!(code, 0);
    assert_eq!(feeds["mixed"]["status"], "not-modified");
}

#[test]
fn transient_failures_are_retried_with_backoff() {
    let server = Server::start();
    let t = TestDir::new();
    feed_add(&t, &server.url("flaky.xml"), Some("flaky"));
    let (code, feeds, _, err) = scan(&t, &["--retries", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(feeds["flaky"]["transcripts_fetched"], 1);
    let tries: Vec<u16> = server
        .requests("flaky.xml")
        .iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(tries, [503, 200]);
}

#[test]
fn since_leaves_older_items_for_later() {
    let server = Server::start();
    let t = TestDir::new();
    feed_add(&t, &server.url("tide.xml"), Some("tide"));
    let (code, feeds, _, err) = scan(&t, &["--since", "2024-03-04", "--no-index"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(feeds["tide"]["transcripts_fetched"], 2);
    assert_eq!(feeds["tide"]["older"], 5);
    assert!(!t.index().join("CURRENT").exists(), "--no-index");
    // Without --since, the rest arrive (the feed is fetched in full, not
    // answered with 304), and the pending files are indexed too.
    let (code, feeds, summary, err) = scan(&t, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(feeds["tide"]["status"], "fetched");
    assert_eq!(feeds["tide"]["transcripts_fetched"], 4);
    assert_eq!(summary["indexed"], 6);
}

#[test]
fn a_second_scan_while_one_runs_exits_cleanly() {
    let server = Server::start();
    let t = TestDir::new();
    feed_add(&t, &server.url("slow.xml"), Some("slow"));
    let mut first = t
        .command(Model::Tiny)
        .args(["scan", "--timeout", "10", "--retries", "0", "--no-index"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while server.requests("slow.xml").is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the first scan never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, _, err) = run(t.command(Model::Tiny).args(["scan", "--wait", "0"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("still running"), "{err}");
    assert!(first.wait().unwrap().success());
    // With the first done, the lock is free again.
    let (code, _, err) =
        run(t
            .command(Model::Tiny)
            .args(["scan", "--wait", "0", "--no-index", "--timeout", "10"]));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("still running"), "{err}");
}

#[test]
fn feed_list_add_remove_import_and_local_files() {
    let server = Server::start();
    let t = TestDir::new();
    let (code, _, err) = run(t.command(Model::None).args(["feed", "list"]));
    assert_eq!(code, 1, "an empty list is no results");
    assert!(err.contains("no feeds"), "{err}");

    let opml = t.create(
        "subs.opml",
        fill(&server.base, "subscriptions.opml").as_bytes(),
    );
    let (code, out, err) = run(t
        .command(Model::None)
        .args(["--json", "feed", "import"])
        .arg(&opml));
    assert_eq!(code, 2, "one outline is not an http(s) feed: {err}");
    assert!(err.contains("imported 2 feeds"), "{err}");
    let names: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["tide-pool-radio", "flaky-waves"]);
    // Importing again adds nothing.
    let (_, _, err) = run(t.command(Model::None).args(["feed", "import"]).arg(&opml));
    assert!(err.contains("imported 0 feeds"), "{err}");
    assert!(err.contains("2 already followed"), "{err}");
    // No request was made: import and list are offline.
    assert_eq!(server.count(), 0);

    let (code, _, err) = run(t.command(Model::None).args([
        "feed",
        "add",
        &server.url("tide.xml"),
        "--name",
        "again",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("already followed as 'tide-pool-radio'"),
        "{err}"
    );
    let (code, _, err) = run(t.command(Model::None).args(["feed", "remove", "nope"]));
    assert_eq!(code, 2);
    assert!(err.contains("no feed named 'nope'"), "{err}");
    stdout_ok(
        t.command(Model::None)
            .args(["feed", "remove", "flaky-waves"]),
    );
    stdout_ok(
        t.command(Model::None)
            .args(["feed", "remove", "tide-pool-radio"]),
    );

    // A local RSS file, with a transcript link relative to it.
    t.copy_fixture("feeds/local", "harbour");
    feed_add(&t, "harbour/feed.xml", None);
    let list = json_lines(&stdout_ok(
        t.command(Model::None).args(["--json", "feed", "list"]),
    ));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "harbour-notes");
    assert!(list[0]["url"].as_str().unwrap().starts_with("file:///"));
    let (code, feeds, summary, err) = scan(&t, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(feeds["harbour-notes"]["transcripts_fetched"], 1);
    assert_eq!(summary["requests"], 0);
    assert_eq!(summary["indexed"], 1);
    assert_eq!(keyword_hits(&t, "lighthouse").len(), 1);
    let (_, feeds, _, _) = scan(&t, &[]);
    assert_eq!(feeds["harbour-notes"]["status"], "not-modified");
    assert_eq!(server.count(), 0);
}
