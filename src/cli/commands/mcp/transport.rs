//! The stdio transport of `podsift mcp`: one JSON-RPC message per line on
//! stdin and stdout (the MCP stdio transport), checked here before rmcp sees
//! it.
//!
//! rmcp's own stdio transport drops a line that is not JSON without a word
//! (to avoid error storms with peers that echo) and answers a message whose
//! parameters do not fit with an error that has no id, so the client waits
//! for its answer forever. We answer both, and keep serving:
//!
//! - not JSON: `-32700` (parse error), without an id (none can be read; MCP
//!   2026-07-28 omits it, as rmcp does);
//! - a batch (JSON array), a non-object, a bad `jsonrpc`, `id` or `method`:
//!   `-32600` (invalid request), with the id when it can be read;
//! - parameters that do not fit the method: `-32602`, with the id;
//! - a line over [`MAX_FRAME`] bytes: `-32600` without an id; the line is
//!   skipped without being held in memory;
//! - a malformed or unknown notification: nothing (JSON-RPC never answers a
//!   notification), one line on stderr.
//!
//! Stdout carries nothing but these lines: one writer task owns it and
//! writes whole lines, so replies from concurrent tool calls never
//! interleave. At end of input the transport waits until every request it
//! passed on has been answered (a client that writes its requests and
//! closes stdin still gets every answer), then ends the session.

use std::collections::HashSet;
use std::io::BufRead;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use podsift::output::safe;
use rmcp::model::{ErrorCode, ErrorData, JsonRpcMessage, RequestId};
use rmcp::service::{RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Notify};

/// The longest line read, in bytes: a 1 MB argument, JSON-escaped, fits
/// with room to spare.
pub const MAX_FRAME: usize = 8 << 20;

/// How long the end of input waits for answers still being worked on.
const DRAIN: Duration = Duration::from_secs(300);

/// One line from stdin.
enum Frame {
    Line(Vec<u8>),
    TooLong(usize),
    End,
}

/// Requests passed on and not yet answered.
#[derive(Default)]
struct Pending {
    ids: Mutex<HashSet<RequestId>>,
    answered: Notify,
}

impl Pending {
    fn insert(&self, id: RequestId) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
    }

    fn remove(&self, id: &RequestId) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        self.answered.notify_waiters();
    }

    fn is_empty(&self) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

/// The transport: lines in from a reader thread, lines out through a
/// writer task.
pub struct StdioLines {
    frames: mpsc::Receiver<Frame>,
    out: mpsc::UnboundedSender<Vec<u8>>,
    pending: Arc<Pending>,
    /// Whether a request has been passed on: rmcp ends a session that
    /// opens with a notification, so one that comes first is dropped.
    started: bool,
}

/// Handle on the writer task: awaiting it waits until everything sent has
/// been written and flushed.
pub struct Writer(tokio::task::JoinHandle<()>);

impl Writer {
    /// Wait for the last line to be written.
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}

impl StdioLines {
    /// The transport over this process's stdin and stdout. Must be called
    /// inside a tokio runtime.
    pub fn stdio() -> (StdioLines, Writer) {
        let (tx, frames) = mpsc::channel(16);
        std::thread::Builder::new()
            .name("mcp-stdin".into())
            .spawn(move || read_lines(std::io::stdin().lock(), MAX_FRAME, &tx))
            .expect("spawning a thread");
        let (out, mut lines) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer = tokio::spawn(async move {
            let mut stdout = tokio::io::stdout();
            while let Some(line) = lines.recv().await {
                if stdout.write_all(&line).await.is_err() || stdout.flush().await.is_err() {
                    // The client is gone; nothing more can be said.
                    break;
                }
            }
        });
        (
            StdioLines {
                frames,
                out,
                pending: Arc::default(),
                started: false,
            },
            Writer(writer),
        )
    }

    /// Queue `message` as one line. Passages, titles and the client's own
    /// words echoed in an error come from outside: DEL and C1 controls,
    /// which serde_json passes through raw, are written as `\u00XX`
    /// escapes ([`safe::json`]; the same JSON value), as every JSON line
    /// podsift prints.
    fn write(&self, message: &TxJsonRpcMessage<RoleServer>) {
        let text = serde_json::to_string(message).expect("protocol messages serialise");
        let mut line = safe::json(&text).into_owned().into_bytes();
        line.push(b'\n');
        let _ = self.out.send(line);
    }

    fn reply_error(&self, id: Option<RequestId>, code: ErrorCode, message: String) {
        if let Some(id) = &id {
            self.pending.remove(id);
        }
        self.write(&JsonRpcMessage::error(
            ErrorData::new(code, message, None),
            id,
        ));
    }

    /// Wait (a while) until every request passed on has been answered.
    async fn drain(&self) {
        let wait = async {
            loop {
                let answered = self.pending.answered.notified();
                if self.pending.is_empty() {
                    break;
                }
                answered.await;
            }
        };
        if tokio::time::timeout(DRAIN, wait).await.is_err() {
            errln!(
                "podsift mcp: input ended; gave up waiting for answers after {} s",
                DRAIN.as_secs()
            );
        }
    }
}

/// Read `input` line by line into `tx`, never holding more than `max`
/// bytes of one line: the rest of a longer line is skipped.
fn read_lines(mut input: impl BufRead, max: usize, tx: &mpsc::Sender<Frame>) {
    let mut line = Vec::new();
    let mut over = 0usize; // bytes skipped of an over-long line
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                errln!("podsift mcp: reading stdin: {e}");
                break;
            }
        };
        if buf.is_empty() {
            break;
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if over > 0 || line.len() + chunk.len() > max {
            over += line.len() + chunk.len();
            line.clear();
        } else {
            line.extend_from_slice(chunk);
        }
        let used = done.unwrap_or(buf.len());
        input.consume(used);
        if done.is_some() {
            let frame = if over > 0 {
                Frame::TooLong(std::mem::take(&mut over))
            } else {
                Frame::Line(std::mem::take(&mut line))
            };
            if tx.blocking_send(frame).is_err() {
                return;
            }
        }
    }
    // A last line without a newline still counts.
    if over > 0 {
        let _ = tx.blocking_send(Frame::TooLong(over));
    } else if !line.is_empty() {
        let _ = tx.blocking_send(Frame::Line(line));
    }
    let _ = tx.blocking_send(Frame::End);
}

/// What to do with one line.
#[derive(Debug)]
pub enum Checked {
    /// Pass it on.
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    /// Answer it with an error.
    Reply(Option<RequestId>, ErrorCode, String),
    /// Say nothing (an empty line; a notification we cannot use).
    Ignore(Option<String>),
}

/// Check one line (without its newline).
pub fn check(line: &[u8]) -> Checked {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Checked::Ignore(None);
    }
    let invalid =
        |id: Option<RequestId>, m: &str| Checked::Reply(id, ErrorCode::INVALID_REQUEST, m.into());
    let value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => {
            return Checked::Reply(
                None,
                ErrorCode::PARSE_ERROR,
                format!("parse error: not JSON ({e}); send one JSON-RPC message per line"),
            )
        }
    };
    let obj = match &value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return invalid(
                None,
                "batches (JSON arrays) are not supported: send one message per line",
            )
        }
        _ => return invalid(None, "a JSON-RPC message must be a JSON object"),
    };
    let id = match obj.get("id") {
        None => None,
        Some(Value::String(s)) => Some(RequestId::String(s.as_str().into())),
        Some(Value::Number(n)) if n.as_i64().is_some() => {
            Some(RequestId::Number(n.as_i64().expect("checked")))
        }
        Some(_) => return invalid(None, "id must be a string or an integer"),
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id, "jsonrpc must be \"2.0\"");
    }
    let method = match obj.get("method") {
        Some(Value::String(m)) => Some(m.as_str()),
        Some(_) => return invalid(id, "method must be a string"),
        None => None,
    };
    if method.is_none() && !obj.contains_key("result") && !obj.contains_key("error") {
        return invalid(
            id,
            "a message needs a method (or, as a response, a result or error)",
        );
    }
    if let Some(params) = obj.get("params") {
        if !params.is_object() {
            let m = method.unwrap_or("?");
            return match id {
                Some(id) => Checked::Reply(
                    Some(id),
                    ErrorCode::INVALID_PARAMS,
                    format!("params of '{m}' must be a JSON object"),
                ),
                None => Checked::Ignore(Some(format!(
                    "ignored notification '{m}': params is not an object"
                ))),
            };
        }
    }
    match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value.clone()) {
        Ok(m) => Checked::Message(Box::new(m)),
        Err(e) => match (id, method) {
            (Some(id), Some(m)) => Checked::Reply(
                Some(id),
                ErrorCode::INVALID_PARAMS,
                format!("invalid params for '{m}': {e}"),
            ),
            (Some(id), None) => invalid(Some(id), &format!("not a valid response: {e}")),
            (None, m) => Checked::Ignore(Some(format!(
                "ignored notification '{}': {e}",
                m.unwrap_or("?")
            ))),
        },
    }
}

impl Transport<RoleServer> for StdioLines {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        let answered = match &item {
            JsonRpcMessage::Response(r) => Some(r.id.clone()),
            JsonRpcMessage::Error(e) => e.id.clone(),
            _ => None,
        };
        self.write(&item);
        if let Some(id) = answered {
            self.pending.remove(&id);
        }
        std::future::ready(Ok(()))
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            // Cancel-safe: rmcp polls this inside a select!, and a frame
            // taken from the channel is handled before the next await.
            let frame = self.frames.recv().await.unwrap_or(Frame::End);
            match frame {
                Frame::End => {
                    self.drain().await;
                    return None;
                }
                Frame::TooLong(n) => self.reply_error(
                    None,
                    ErrorCode::INVALID_REQUEST,
                    format!(
                        "message of {n} bytes is over the limit of {} MiB; it was skipped",
                        MAX_FRAME >> 20
                    ),
                ),
                Frame::Line(line) => match check(&line) {
                    Checked::Message(m) => match m.as_ref() {
                        JsonRpcMessage::Request(r) => {
                            self.pending.insert(r.id.clone());
                            self.started = true;
                            return Some(*m);
                        }
                        JsonRpcMessage::Notification(_) if !self.started => {
                            errln!("podsift mcp: ignored a notification before initialize");
                        }
                        _ => return Some(*m),
                    },
                    Checked::Reply(id, code, message) => self.reply_error(id, code, message),
                    Checked::Ignore(Some(why)) => errln!("podsift mcp: {why}"),
                    Checked::Ignore(None) => {}
                },
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Lines of `input` as [`read_lines`] frames them (tests).
#[cfg(test)]
fn frames(input: &[u8], max: usize) -> Vec<String> {
    let (tx, mut rx) = mpsc::channel(1024);
    read_lines(std::io::BufReader::with_capacity(7, input), max, &tx);
    let mut out = Vec::new();
    while let Ok(f) = rx.try_recv() {
        out.push(match f {
            Frame::Line(l) => format!("line {}", String::from_utf8_lossy(&l)),
            Frame::TooLong(n) => format!("too long {n}"),
            Frame::End => "end".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &str) -> (Option<RequestId>, i32, String) {
        match check(line.as_bytes()) {
            Checked::Reply(id, code, m) => (id, code.0, m),
            other => panic!("{line}: expected an error reply, got {other:?}"),
        }
    }

    #[test]
    fn lines_are_framed_and_long_ones_skipped() {
        assert_eq!(
            frames(b"abc\n0123456789abcdef\nxy\nlast", 10),
            ["line abc", "too long 16", "line xy", "line last", "end"]
        );
        assert_eq!(frames(b"", 10), ["end"]);
        assert_eq!(frames(b"0123456789abc", 10), ["too long 13", "end"]);
    }

    #[test]
    fn malformed_frames_are_answered() {
        let (id, code, m) = reply("{\"jsonrpc\":\"2.0\",\"id\":1,");
        assert_eq!((id, code), (None, -32700));
        assert!(m.starts_with("parse error: not JSON"), "{m}");
        assert_eq!(reply("[1,2]").1, -32600);
        assert_eq!(reply("42").1, -32600);
        let (id, code, m) = reply("{\"jsonrpc\":\"1.0\",\"id\":\"a\",\"method\":\"ping\"}");
        assert_eq!((id, code), (Some(RequestId::String("a".into())), -32600));
        assert_eq!(m, "jsonrpc must be \"2.0\"");
        assert_eq!(
            reply("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}").1,
            -32600
        );
        let (id, code, m) =
            reply("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":[1]}");
        assert_eq!((id, code), (Some(RequestId::Number(7)), -32602));
        assert_eq!(m, "params of 'tools/call' must be a JSON object");
        // A well-framed call with a wrong argument type (`"name": 5`) passes
        // the frame check (rmcp 3.11 reads it as a custom request); the
        // server answers it with -32602, which tests/integration/mcp.rs
        // checks end to end.
    }

    #[test]
    fn good_messages_and_notifications_pass() {
        for line in [
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
            "\u{feff}{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/list\"}\r",
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"no/such/method\"}",
        ] {
            assert!(
                matches!(check(line.as_bytes()), Checked::Message(_)),
                "{line}"
            );
        }
        assert!(matches!(check(b"   "), Checked::Ignore(None)));
    }
}
