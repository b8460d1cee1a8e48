//! `podsift mcp`: the Model Context Protocol server over stdio, driven with
//! raw JSON-RPC lines (framing, errors, end of input) and by the official
//! MCP Python SDK (`tests/py/mcp_client.py`, a real client).

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::{copy_tree, python_script, repo, run, Model, TestDir};

/// A transcript with a C1 CSI (`U+009B`) and an OSC 52 sequence in its
/// text (ingest turns them into spaces; a rare word finds it).
const HOSTILE: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:30.000\n<v Mallory>The zanzibarite \u{9b}2J sample \u{1b}]52;c;aGk=\u{7} tested at 68 degrees.\n";

/// The demo corpus, with the hostile transcript when `hostile`.
fn demo(t: &TestDir, model: Model, hostile: bool) {
    copy_tree(&repo().join("tests/demo"), &t.path().join("pods"));
    if hostile {
        t.create("pods/odd-show/hostile.vtt", HOSTILE);
    }
    let (code, _, err) = run(t.command(model).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
}

fn request(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn call(id: u64, tool: &str, args: Value) -> String {
    request(id, "tools/call", json!({"name": tool, "arguments": args}))
}

/// Write `lines` to `podsift mcp`, close its stdin, and return its stdout
/// lines (each must be JSON), its stderr and how long it took to exit.
fn session(t: &TestDir, lines: &[String]) -> (Vec<Value>, String, Duration) {
    let t0 = Instant::now();
    let mut child = t
        .command(Model::Tiny)
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).unwrap();
        // Dropped here: end of input.
    });
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    writer.join().unwrap();
    assert!(status.success(), "podsift mcp exited {status}: {err}");
    let values = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout not JSON ({e}): {l}")))
        .collect();
    (values, err, t0.elapsed())
}

fn answer(values: &[Value], id: u64) -> &Value {
    let found: Vec<&Value> = values.iter().filter(|v| v["id"] == id).collect();
    assert_eq!(found.len(), 1, "one answer to request {id}: {values:#?}");
    found[0]
}

#[test]
fn stdio_server_answers_everything_and_exits_at_end_of_input() {
    let t = TestDir::new();
    demo(&t, Model::Tiny, true);
    let big = "x".repeat(1 << 20);
    let lines = vec![
        request(
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}),
        ),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        request(2, "tools/list", json!({})),
        call(
            3,
            "search",
            json!({"query": "zanzibarite", "mode": "keyword", "limit": 2}),
        ),
        call(4, "search", json!({"query": big})),
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",".to_string(),
        call(6, "search", json!({"query": "x", "mode": "fuzzy"})),
        call(7, "no_such_tool", json!({})),
        call(8, "show", json!({"id": "not-an-id"})),
        format!("{{\"pad\":\"{}\"}}", "y".repeat(9 << 20)),
        call(9, "stats", json!({})),
        request(10, "ping", json!({})),
        call(
            11,
            "search",
            json!({"query": "compost", "mode": "keyword", "limit": 1}),
        ),
    ];
    let (values, err, took) = session(&t, &lines);
    assert!(took < Duration::from_secs(60), "{took:?}");

    let init = answer(&values, 1);
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "podsift");

    let tools = answer(&values, 2)["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["search", "show", "related", "top", "brief", "stats"]
    );
    for tool in tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["outputSchema"].is_object(), "{tool}");
    }

    // Keyword search: the hit carries what a citation needs; the hostile
    // text's controls are escaped on the wire, never raw.
    let r = &answer(&values, 3)["result"];
    assert_ne!(r["isError"], true, "{r}");
    let hit = &r["structuredContent"]["hits"][0];
    for k in [
        "show",
        "title",
        "episode_id",
        "start",
        "link",
        "path",
        "text",
        "id",
    ] {
        assert!(hit.get(k).is_some(), "{k} in {hit}");
    }
    assert_eq!(hit["show"], "odd-show");
    assert!(hit["text"].as_str().unwrap().contains("zanzibarite"));

    // Errors: JSON-RPC errors with clear messages (2025-06-18 era).
    let e = &answer(&values, 4)["error"];
    assert_eq!(e["code"], -32602, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("'query' is 1048576 characters long; at most 2000"),
        "{e}"
    );
    let e = &answer(&values, 6)["error"];
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant `fuzzy`"),
        "{e}"
    );
    let e = &answer(&values, 7)["error"];
    assert_eq!(e["code"], -32602);
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("unknown tool 'no_such_tool'"));
    assert!(answer(&values, 8)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("16 hex digits"));
    // The malformed frame and the 9 MiB line: errors without an id.
    let anonymous: Vec<&Value> = values.iter().filter(|v| v["id"].is_null()).collect();
    assert_eq!(anonymous.len(), 2, "{anonymous:#?}");
    assert_eq!(anonymous[0]["error"]["code"], -32700);
    assert_eq!(anonymous[1]["error"]["code"], -32600);
    assert!(anonymous[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("over the limit"));

    // And it kept serving.
    assert_eq!(
        answer(&values, 9)["result"]["structuredContent"]["episodes"],
        8
    );
    assert!(answer(&values, 10)["result"].is_object());
    assert_eq!(
        answer(&values, 11)["result"]["structuredContent"]["hits"][0]["show"],
        "garden-hour"
    );
    // Twelve requests, twelve answers and the two anonymous errors; the
    // id-5 request never parsed, so it has none.
    assert_eq!(values.len(), 12, "{values:#?}");
    assert!(!err.contains('\u{1b}'), "{err}");
}

#[test]
fn stdout_carries_no_raw_control_character() {
    let t = TestDir::new();
    demo(&t, Model::Tiny, true);
    let mut child = t
        .command(Model::Tiny)
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for l in [
            request(
                1,
                "initialize",
                json!({"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "0"}}),
            ),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
            call(
                2,
                "search",
                json!({"query": "zanzibarite", "mode": "keyword"}),
            ),
            call(3, "show", json!({"id": "\u{9b}2J\u{1b}[31m"})),
        ] {
            writeln!(stdin, "{l}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters on stdout: {text:?}"
    );
    // The client's own words echoed in an error: C1 escaped on the wire,
    // the same JSON value when decoded.
    assert!(text.contains("\\u009b2J"), "{text}");
    let values: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let shown = answer(&values, 3);
    let message = shown["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(shown["result"]["isError"], true, "{shown}");
    assert!(
        message.contains("16 hex digits") && message.contains('\u{9b}'),
        "{message:?}"
    );
}

/// The official MCP Python SDK as the client: list the tools, call each,
/// check results and errors, over both protocol eras.
#[test]
fn python_sdk_client_drives_the_server() {
    if crate::util::python().is_none() {
        return;
    }
    let t = TestDir::new();
    crate::util::real_model();
    demo(&t, Model::Real, false);
    python_script(
        "mcp_client.py",
        &[
            std::ffi::OsStr::new(env!("CARGO_BIN_EXE_podsift")),
            t.index().as_os_str(),
        ],
    );
}
