//! The PostgreSQL store (issue 17) against a real server: each test starts
//! its own throw-away PostgreSQL with pgvector (`scripts/pg start`, on a
//! free 127.0.0.1 port, in a temporary folder) and stops it when done, on
//! failure too. Where the server is not installed (`scripts/pg install`;
//! `scripts/test` runs it) the tests say so on stderr and are skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{copy_tree, corpus, json_lines, repo, run, stdout_ok, Model, TestDir};

/// A running throw-away server; stopped on drop.
struct Server {
    // Dropped first: the server stops before its folder is removed.
    _stop: Stopper,
    _dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    url: String,
    bin: PathBuf,
}

impl Server {
    /// Start one, or say why not and return `None`.
    fn start(test: &str) -> Option<Server> {
        let script = repo().join("scripts/pg");
        let out = Command::new(&script).arg("bin").output().unwrap();
        if !out.status.success() {
            eprintln!(
                "note: skipping {test}: no PostgreSQL with pgvector here ({}); run scripts/pg install",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let dir = tempfile::Builder::new()
            .prefix("podsift-pg-")
            .tempdir()
            .unwrap();
        // The server runs as an unprivileged user when the tests run as root.
        set_mode(dir.path(), 0o755);
        let data = dir.path().join("data");
        let port = free_port();
        let url = stdout_ok(
            Command::new(&script)
                .args(["start"])
                .arg(&data)
                .arg(port.to_string()),
        )
        .trim()
        .to_string();
        Some(Server {
            _stop: Stopper(data.clone()),
            _dir: dir,
            data,
            port,
            url,
            bin,
        })
    }

    /// psql running `sql` as `user` on the test database.
    fn psql(&self, user: &str, sql: &str) -> Command {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args(["-X", "-At", "-h", "127.0.0.1", "-U", user, "-d", "podsift"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg(sql);
        cmd
    }

    /// Assert that `term_stats` and `postings` (kept up to date by each
    /// push's transactions) are what the passages now stored give.
    fn assert_derived_tables_match_passages(&self) {
        let diff = self.sql(
            "with now as (
                 select u.lexeme as term, p.show,
                        count(*) filter (where 'A' = any(u.weights)) as a,
                        count(*) filter (where 'B' = any(u.weights)) as b,
                        count(*) filter (where 'C' = any(u.weights)) as c,
                        count(*) filter (where 'D' = any(u.weights)) as d
                 from passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights)
                 group by 1, 2)
             select count(*) from now full join term_stats s using (term, show)
             where coalesce(now.a, 0) <> coalesce(s.df_text, 0)
                or coalesce(now.b, 0) <> coalesce(s.df_context, 0)
                or coalesce(now.c, 0) <> coalesce(s.df_title, 0)
                or coalesce(now.d, 0) <> coalesce(s.df_chapter, 0)",
        );
        assert_eq!(
            diff, "0",
            "term_stats differs from the passages in {diff} rows"
        );
        assert_ne!(self.sql("select count(*) from term_stats"), "0");
        let diff = self.sql(
            "with now as (
                 select u.lexeme as term, p.id as passage,
                        cardinality(array_positions(u.weights, 'A')) as a,
                        cardinality(array_positions(u.weights, 'B')) as b,
                        cardinality(array_positions(u.weights, 'C')) as c,
                        cardinality(array_positions(u.weights, 'D')) as d,
                        p.norm_text, p.norm_context, p.norm_title, p.norm_chapter
                 from passages p cross join lateral unnest(p.terms) as u(lexeme, positions, weights))
             select count(*) from now full join postings o using (term, passage)
             where now.term is null or o.term is null
                or (now.a, now.b, now.c, now.d) <> (o.tf_text, o.tf_context, o.tf_title, o.tf_chapter)
                or (now.norm_text, now.norm_context, now.norm_title, now.norm_chapter)
                   <> (o.norm_text, o.norm_context, o.norm_title, o.norm_chapter)",
        );
        assert_eq!(
            diff, "0",
            "postings differ from the passages in {diff} rows"
        );
    }

    /// One value from `sql`, by psql as the owner.
    fn sql(&self, sql: &str) -> String {
        stdout_ok(&mut self.psql("podsift", sql)).trim().to_string()
    }
}

/// `store init URL`, HNSW index included.
fn init(t: &TestDir, url: &str) -> (i32, String, String) {
    run(t.command(Model::None).args(["store", "init", url]))
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The demo corpus (or the named shows of it) indexed with the real model
/// into `t`'s index.
fn index_demo(t: &TestDir, shows: Option<&[&str]>) {
    let src = repo().join("tests/demo");
    let dst = t.path().join("pods");
    match shows {
        None => copy_tree(&src, &dst),
        Some(list) => {
            for s in list {
                copy_tree(&src.join(s), &dst.join(s));
            }
        }
    }
    let (code, _, err) = run(t.command(Model::Real).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
}

const QUERIES: &[&str] = &[
    "why would a cloud company build its own AI chips",
    "Vandermolen",
    "how do I avoid injuries when I start running",
    "fees eating into retirement savings",
    "sourdough starter",
];

/// Hit ids of a `search --json`, local or through `--store`.
fn ids(t: &TestDir, store: Option<&str>, mode: &str, query: &str) -> Vec<String> {
    let args = ["--json", "search", "--mode", mode, "-n", "10", query];
    line_ids(t, Model::Real, &args, store, "hit")
}

/// The ids of the `kind` lines that the command `args` prints, run locally
/// or with `--store URL`.
fn line_ids(
    t: &TestDir,
    model: Model,
    args: &[&str],
    store: Option<&str>,
    kind: &str,
) -> Vec<String> {
    let mut cmd = t.command(model);
    cmd.args(args);
    if let Some(url) = store {
        cmd.args(["--store", url]);
    }
    let (code, out, err) = run(&mut cmd);
    assert!(code == 0 || code == 1, "{args:?} failed ({code}): {err}");
    json_lines(&out)
        .into_iter()
        .filter(|v| v["type"] == kind)
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every demo query in every mode: the same ids in the same order.
fn assert_same_as_local(t: &TestDir, url: &str) {
    assert_same_for(t, url, QUERIES);
}

/// `queries` in every mode: the same ids in the same order, local and
/// through the store at `url`; and `related` of each query's best
/// passage the same.
fn assert_same_for(t: &TestDir, url: &str, queries: &[&str]) {
    for mode in ["keyword", "semantic", "hybrid"] {
        for q in queries {
            let local = ids(t, None, mode, q);
            let remote = ids(t, Some(url), mode, q);
            assert!(
                !local.is_empty() || mode == "keyword",
                "{mode} {q}: no hits"
            );
            assert_eq!(local, remote, "{mode} '{q}': local vs store");
        }
    }
    let mut related_any = false;
    for q in queries {
        let seed = ids(t, None, "hybrid", q).remove(0);
        let local = related(t, None, &seed);
        assert_eq!(
            local,
            related(t, Some(url), &seed),
            "related {seed} ('{q}'): local vs store"
        );
        related_any |= !local.is_empty();
    }
    assert!(related_any, "no seed had related passages");
    // Top insights, by worth and for interests, with their related ones.
    for interests in [&[][..], &queries[..2]] {
        let local = top(t, None, interests);
        assert!(!local.is_empty(), "top {interests:?}: no insights");
        assert_eq!(
            local,
            top(t, Some(url), interests),
            "top {interests:?}: local vs store"
        );
    }
    // The brief, for a profile of the first two queries (a dry run: nothing
    // recorded).
    let profile = t.path().join("profile.toml");
    std::fs::write(
        &profile,
        format!(
            "interests = [{:?}, {:?}]\nsince = \"1d\"\n",
            queries[0], queries[1]
        ),
    )
    .unwrap();
    let local = brief(t, None, &profile);
    assert!(!local.is_empty(), "the brief has no insights");
    assert_eq!(
        local,
        brief(t, Some(url), &profile),
        "brief: local vs store"
    );
}

/// `brief --dry-run --json` for `profile`: each insight's id followed by
/// its related ids.
fn brief(t: &TestDir, store: Option<&str>, profile: &Path) -> Vec<Vec<String>> {
    let mut cmd = t.command(Model::Real);
    cmd.args(["--json", "brief", "--dry-run", "--profile"])
        .arg(profile);
    if let Some(url) = store {
        cmd.args(["--store", url]);
    }
    insight_ids(run(&mut cmd))
}

/// `top --json` over every episode (all indexed and pushed in this test):
/// each insight's id followed by its related ids.
fn top(t: &TestDir, store: Option<&str>, interests: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = t.command(Model::Real);
    cmd.args(["--json", "top", "--since", "1d", "-n", "5"]);
    for i in interests {
        cmd.args(["--for", i]);
    }
    if let Some(url) = store {
        cmd.args(["--store", url]);
    }
    insight_ids(run(&mut cmd))
}

/// The insights of `top` or `brief` JSON output (a run's code, stdout and
/// stderr): each insight's id followed by its related ids.
fn insight_ids((code, out, err): (i32, String, String)) -> Vec<Vec<String>> {
    assert!(code == 0 || code == 1, "failed ({code}): {err}");
    json_lines(&out)
        .into_iter()
        .filter(|v| v["type"] == "insight")
        .map(|v| {
            let mut ids = vec![v["id"].as_str().unwrap().to_string()];
            for r in v["related"].as_array().unwrap() {
                ids.push(r["id"].as_str().unwrap().to_string());
            }
            ids
        })
        .collect()
}

/// `related SEED --json` ids, local or through `--store`.
fn related(t: &TestDir, store: Option<&str>, seed: &str) -> Vec<String> {
    let args = ["--json", "related", "-n", "5", seed];
    line_ids(t, Model::None, &args, store, "related")
}

fn push(t: &TestDir, url: &str) -> String {
    let (code, _, err) = run(t.command(Model::None).args(["push", url]));
    assert_eq!(code, 0, "push failed: {err}");
    err
}

/// A server and the demo corpus indexed, or `None` (said) without a server.
fn server_and_demo(test: &str) -> Option<(Server, TestDir)> {
    let pg = Server::start(test)?;
    let t = TestDir::new();
    index_demo(&t, None);
    Some((pg, t))
}

#[test]
fn pushed_demo_searches_like_the_local_index_and_a_second_push_changes_nothing() {
    let Some((pg, t)) = server_and_demo("pushed_demo_searches_like_the_local_index") else {
        return;
    };
    // A database without the schema: a clean error that says what to run.
    let (code, _, err) = run(t
        .command(Model::None)
        .args(["search", "--mode", "keyword", "chips", "--store", &pg.url]));
    assert_eq!(code, 2);
    assert!(err.contains("podsift store init"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (code, _, err) = init(&t, &pg.url);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied migration 1"), "{err}");
    let (code, _, err) = init(&t, &pg.url);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("schema up to date"), "{err}");
    assert_eq!(
        pg.sql("select count(*) from pg_roles where rolname = 'podsift_reader'"),
        "1"
    );

    let err = push(&t, &pg.url);
    assert!(err.contains("pushed 7 episodes"), "{err}");
    let passages = pg.sql("select count(*) from passages");
    let stats = stdout_ok(t.command(Model::None).args(["--json", "stats"]));
    assert!(
        stats.contains(&format!("\"chunks\":{passages}")),
        "store has {passages} passages; local stats: {stats}"
    );
    let before =
        pg.sql("select max(pushed_at)::text || ' ' || sum(xmin::text::bigint) from episodes");
    let err = push(&t, &pg.url);
    assert!(
        err.contains("nothing to push: 7 episodes up to date"),
        "{err}"
    );
    assert_eq!(
        pg.sql("select max(pushed_at)::text || ' ' || sum(xmin::text::bigint) from episodes"),
        before
    );

    assert_same_as_local(&t, &pg.url);

    // An episode changed and one gone: the push replaces the one, deletes
    // the other, and the term statistics follow.
    let pods = t.path().join("pods");
    let roads = pods.join("history-bites/roman-roads.txt");
    let mut text = std::fs::read_to_string(&roads).unwrap();
    text.push_str("\n\nOne more thought on milestones: every Roman mile was a thousand paces of a legionary, and the stones told travellers the distance to the next town.\n");
    std::fs::write(&roads, text).unwrap();
    // The show keeps an episode: a push deletes only episodes of the shows
    // its index holds.
    std::fs::remove_file(pods.join("the-long-run/marathon-training.md")).unwrap();
    std::fs::write(
        pods.join("the-long-run/recovery-week.txt"),
        "A recovery week means running about half your usual distance, all of it easy, so the legs absorb the training of the weeks before.\n\nSleep matters more than any gadget: most runners who get hurt in their first year were tired long before they were injured.\n",
    )
    .unwrap();
    let (code, _, err) = run(t.command(Model::Real).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
    let err = push(&t, &pg.url);
    assert!(
        err.contains("pushed 2 episodes") && err.contains("1 deleted"),
        "{err}"
    );
    assert_eq!(pg.sql("select count(*) from episodes"), "7");
    pg.assert_derived_tables_match_passages();
    // Against an index built afresh from the same files: `t`'s full-text
    // index still counts the replaced passages in its keyword statistics
    // until it merges (docs/SCALE.md), the store never does.
    let fresh = TestDir::new();
    copy_tree(&pods, &fresh.path().join("pods"));
    let (code, _, err) = run(fresh.command(Model::Real).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
    assert_same_as_local(&fresh, &pg.url);

    // The reader role may read, not write.
    let out = pg
        .psql("podsift_reader", "delete from passages")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the reader deleted passages");
    assert_eq!(
        stdout_ok(&mut pg.psql("podsift_reader", "select count(*) > 0 from term_stats")).trim(),
        "t"
    );

    // A store pushed before migration 3 (no postings, nor what came after):
    // `store init` fills them from the stored passages, and the keyword
    // arm answers as before.
    let speakers = "select string_agg(id || ':' || array_to_string(speakers, '|'), ',' order by id) from episodes";
    let pushed = stdout_ok(&mut pg.psql("podsift_reader", speakers));
    pg.sql(
        "drop table postings; alter table episodes drop column speakers; \
         delete from podsift_migrations where version >= 3",
    );
    let (code, _, err) = init(&fresh, &pg.url);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied migration 3, 4"), "{err}");
    pg.assert_derived_tables_match_passages();
    assert_same_as_local(&fresh, &pg.url);
    assert_eq!(
        stdout_ok(&mut pg.psql("podsift_reader", "select count(*) > 0 from postings")).trim(),
        "t"
    );

    // Migration 4 recorded the episodes' speakers from the stored
    // passages as the push had.
    assert!(pushed.contains("Nadia Petrov"), "{pushed}");
    assert_eq!(stdout_ok(&mut pg.psql("podsift_reader", speakers)), pushed);
}

#[test]
fn a_push_killed_mid_way_resumes_without_loss_or_duplicates() {
    let Some((pg, t)) = server_and_demo("a_push_killed_mid_way_resumes") else {
        return;
    };
    assert_eq!(init(&t, &pg.url).0, 0);
    // One episode per transaction, a pause after each: killed after the
    // first commit, mid-push.
    let mut child = t
        .command(Model::None)
        .args(["push", "--batch-rows", "1", "--pause-ms", "2000", &pg.url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while pg.sql("select count(*) from episodes") == "0" {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the push wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    let partial: usize = pg.sql("select count(*) from episodes").parse().unwrap();
    assert!(
        (1..6).contains(&partial),
        "{partial} episodes after the kill"
    );
    // Each episode is whole: its passage count is what its row says.
    assert_eq!(
        pg.sql("select count(*) from episodes e where passages <> (select count(*) from passages p where p.episode = e.id)"),
        "0"
    );
    let err = push(&t, &pg.url);
    assert!(
        err.contains(&format!("{} unchanged", partial)),
        "the resumed push rewrote finished episodes: {err}"
    );
    assert_eq!(pg.sql("select count(*) from episodes"), "7");
    assert_eq!(
        pg.sql("select count(*) = count(distinct id) and count(*) = (select sum(passages) from episodes) from passages"),
        "t"
    );
    pg.assert_derived_tables_match_passages();
    assert_same_as_local(&t, &pg.url);
}

#[test]
fn two_pushers_at_once_on_disjoint_shows() {
    let Some(pg) = Server::start("two_pushers_at_once_on_disjoint_shows") else {
        return;
    };
    let (a, b, all) = (TestDir::new(), TestDir::new(), TestDir::new());
    index_demo(
        &a,
        Some(&["silicon-weekly", "garden-hour", "history-bites"]),
    );
    index_demo(&b, Some(&["money-talk", "the-long-run", "build-log"]));
    index_demo(&all, None);
    assert_eq!(init(&all, &pg.url).0, 0);
    let spawn = |t: &TestDir| {
        t.command(Model::None)
            .args(["push", "--batch-rows", "1", &pg.url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(pg.sql("select count(*) from episodes"), "7");
    assert_eq!(pg.sql("select count(*) from shows"), "6");
    // Each pusher again: its own shows are up to date, the other's untouched.
    let err = push(&a, &pg.url);
    assert!(
        err.contains("nothing to push: 3 episodes up to date"),
        "{err}"
    );
    pg.assert_derived_tables_match_passages();
    assert_same_as_local(&all, &pg.url);
}

/// Queries for `../shared/corpus/sample`, written from the kinds of talk
/// its shows hold (technology, product, Indian economy and policy), not
/// from its passages: the test compares the store with the local index,
/// not relevance.
const SAMPLE_QUERIES: &[&str] = &[
    "how to price a product",
    "open source maintainers burning out",
    "economic reform in India",
    "hiring your first engineers",
    "machine learning in production",
];

/// Keyword hits `(id, score)` through the store at `url`, with a postings
/// budget of `budget` (so a small store takes the pruned path: with 150,
/// two of the five sample queries did when this was written).
fn keyword_hits(
    t: &TestDir,
    url: &str,
    query: &str,
    budget: u64,
    exact: bool,
) -> Vec<(String, f64)> {
    let mut cmd = t.command(Model::None);
    cmd.env("PODSIFT_PG_POSTINGS", budget.to_string()).args([
        "--json", "search", "--mode", "keyword", "-n", "10", "--store", url, query,
    ]);
    if exact {
        cmd.arg("--exact");
    }
    let (code, out, err) = run(&mut cmd);
    assert!(code == 0 || code == 1, "{query}: {err}");
    json_lines(&out)
        .into_iter()
        .filter(|v| v["type"] == "hit")
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The keyword arm when a query's commonest terms exceed the postings
/// budget: `--exact` still answers as the local index does; the pruned
/// answer scores each passage it returns exactly, and its best hit is in
/// the exhaustive top 10.
fn assert_pruned_keyword_arm(t: &TestDir, url: &str, queries: &[&str]) {
    for q in queries {
        let local = ids(t, None, "keyword", q);
        let exact = keyword_hits(t, url, q, 150, true);
        let exact_ids: Vec<String> = exact.iter().map(|h| h.0.clone()).collect();
        assert_eq!(exact_ids, local, "'{q}': --exact vs local");
        let pruned = keyword_hits(t, url, q, 150, false);
        assert!(!pruned.is_empty(), "'{q}': the pruned arm found nothing");
        assert!(
            exact_ids.contains(&pruned[0].0),
            "'{q}': {pruned:?} vs {exact:?}"
        );
        for (id, score) in &pruned {
            if let Some((_, s)) = exact.iter().find(|h| &h.0 == id) {
                assert!(
                    (s - score).abs() <= 1e-3 * s.abs().max(1.0),
                    "'{q}' {id}: {score} vs {s}"
                );
            }
        }
    }
}

#[test]
fn a_streaming_replica_answers_reads_of_the_pushed_sample_corpus() {
    let Some(shared) = corpus() else {
        return;
    };
    let Some(pg) = Server::start("a_streaming_replica_answers_reads") else {
        return;
    };
    let t = TestDir::new();
    let (code, _, err) = run(t
        .command(Model::Real)
        .arg("index")
        .arg(shared.join("sample")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(init(&t, &pg.url).0, 0);
    push(&t, &pg.url);
    let passages = pg.sql("select count(*) from passages");

    // A hot standby of the primary, on its own port.
    let replica_data = pg.data.with_file_name("replica");
    let replica_port = free_port();
    let replica_url = stdout_ok(
        Command::new(repo().join("scripts/pg"))
            .arg("replica")
            .arg(pg.port.to_string())
            .arg(&replica_data)
            .arg(replica_port.to_string()),
    )
    .trim()
    .to_string();
    let _stop = Stopper(replica_data);
    assert_ne!(replica_url, pg.url);
    let on_replica = |sql: &str| {
        let mut cmd = Command::new(pg.bin.join("psql"));
        cmd.args([
            "-X",
            "-At",
            "-h",
            "127.0.0.1",
            "-U",
            "podsift",
            "-d",
            "podsift",
        ])
        .arg("-p")
        .arg(replica_port.to_string())
        .arg("-c")
        .arg(sql);
        stdout_ok(&mut cmd).trim().to_string()
    };
    assert_eq!(on_replica("select pg_is_in_recovery()"), "t");
    assert_eq!(on_replica("select count(*) from passages"), passages);

    // Reads through the replica are the local index's answers.
    assert_same_for(&t, &replica_url, SAMPLE_QUERIES);
    assert_pruned_keyword_arm(&t, &pg.url, SAMPLE_QUERIES);
    // It is read-only: a push to it is refused in one line.
    let (code, _, err) = run(t.command(Model::None).args(["push", &replica_url]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// Stops the server in a data folder when dropped.
struct Stopper(PathBuf);

impl Drop for Stopper {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/pg"))
            .arg("stop")
            .arg(&self.0)
            .output();
    }
}

#[test]
fn an_unreachable_or_malformed_store_is_one_clean_line() {
    let t = TestDir::new();
    let port = free_port();
    for url in [
        format!("postgres://podsift@127.0.0.1:{port}/podsift"),
        "postgres://podsift@127.0.0.1:notaport/podsift".to_string(),
        "postgres://u:secret\u{1b}]52;c;@127.0.0.1:1/db\u{7}".to_string(),
    ] {
        let (code, out, err) = run(t
            .command(Model::None)
            .args(["search", "--mode", "keyword", "chips", "--store", &url]));
        assert_eq!(code, 2, "{url}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("podsift: PostgreSQL store"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.chars().any(|c| c.is_control() && c != '\n'), "{err:?}");
        assert!(!err.contains("secret"), "{err}");
    }
}
