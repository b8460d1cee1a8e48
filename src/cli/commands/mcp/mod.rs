//! `podsift mcp`: a Model Context Protocol server on stdin/stdout, so an AI
//! assistant can search the index, read a moment in context, follow related
//! moments and ask for the top insights or a brief, and quote and cite what
//! it finds (show, episode, speaker, time, deep link, text).
//!
//! The protocol is rmcp's (the official Rust SDK): the `initialize`
//! handshake with version negotiation (2024-11-05 to 2025-11-25) and the
//! per-request era of 2026-07-28 (`server/discover`), `ping`, `tools/list`,
//! `tools/call`, notifications and cancellation. The transport
//! ([`transport`]) is ours, so that a malformed or oversized line gets an
//! error answer rather than silence, and so that the end of input ends the
//! session only after every request has been answered. The tools
//! ([`tools`]) run on tokio's blocking threads; stdout carries only protocol
//! messages, and everything else goes to stderr.
//!
//! Errors, by the version the client negotiated: an unknown tool or a
//! malformed request is always a JSON-RPC error (`-32602`). Arguments that
//! do not fit are a JSON-RPC error up to 2025-06-18, as those versions of
//! the specification say, and from 2025-11-25 a tool result with `isError`
//! (SEP-1303: the model reads the message and can correct itself); the
//! message is the same. A tool that runs and fails (no index, no model) is a
//! result with `isError`.

mod schema;
pub mod tools;
pub mod transport;

use std::sync::Arc;

use anyhow::{Context, Result};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities,
    ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer, ServiceExt};
use rmcp::ServerHandler;
use schemars::JsonSchema;

use super::Exit;
use crate::cli::config::Config;
use tools::{Engine, ToolError};

/// What the server tells the assistant about itself.
const INSTRUCTIONS: &str = "podsift searches podcast transcripts indexed on this machine. \
Use `search` to find the moments where something was said (hybrid by default; keyword for \
names and exact terms). Each result carries what a citation needs: show, episode title, \
speaker, `start` (HH:MM:SS), `link` (a deep link to that second, when the episode has a URL) \
and the passage `text` to quote. `show` gives a passage with its neighbours, `related` the \
moments in other episodes that say something related, `top` the top insights of recent \
episodes, `brief` a preview of the daily brief (it never marks anything as sent), `stats` \
what the index holds.";

/// The tool list: names, descriptions, argument and result schemas.
fn tool_list() -> Vec<Tool> {
    fn input<T: JsonSchema>() -> Arc<rmcp::model::JsonObject> {
        match serde_json::to_value(schemars::schema_for!(T)) {
            Ok(serde_json::Value::Object(o)) => Arc::new(o),
            _ => unreachable!("a schema is an object"),
        }
    }
    let read_only = |title: &str| {
        ToolAnnotations::with_title(title)
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(false)
    };
    vec![
        Tool::new(
            "search",
            "Find moments in podcast transcripts by meaning and keywords. Returns hits with \
             show, episode title, speaker, start time (HH:MM:SS), deep link and passage text.",
            input::<tools::SearchArgs>(),
        )
        .with_title("Search podcast transcripts")
        .with_raw_output_schema(schema::hits())
        .with_annotations(read_only("Search podcast transcripts")),
        Tool::new(
            "show",
            "A passage by id with its neighbouring passages (context), to read around a hit.",
            input::<tools::ShowArgs>(),
        )
        .with_title("Read a passage in context")
        .with_raw_output_schema(schema::passages())
        .with_annotations(read_only("Read a passage in context")),
        Tool::new(
            "related",
            "Moments in other episodes that say something related to a passage (by id, or by \
             transcript file and time). No model call.",
            input::<tools::RelatedArgs>(),
        )
        .with_title("Related moments")
        .with_raw_output_schema(schema::hits())
        .with_annotations(read_only("Related moments")),
        Tool::new(
            "top",
            "The top insights of episodes added or published recently, optionally for some \
             interests, each with related insights from the archive.",
            input::<tools::TopArgs>(),
        )
        .with_title("Top insights")
        .with_raw_output_schema(schema::insights())
        .with_annotations(read_only("Top insights")),
        Tool::new(
            "brief",
            "Preview the daily brief for a profile file or for interests: the top insights new \
             since the last brief. A dry run: it never marks insights as sent.",
            input::<tools::BriefArgs>(),
        )
        .with_title("Preview the daily brief")
        .with_raw_output_schema(schema::insights())
        .with_annotations(read_only("Preview the daily brief")),
        Tool::new(
            "stats",
            "What the index holds: shows, episodes, passages, hours, model.",
            input::<tools::StatsArgs>(),
        )
        .with_title("Index statistics")
        .with_raw_output_schema(schema::stats())
        .with_annotations(read_only("Index statistics")),
    ]
}

/// The server: the engine and the tool list.
#[derive(Clone)]
struct Server {
    engine: Arc<Engine>,
    tools: Arc<Vec<Tool>>,
}

/// Whether `v` reports bad arguments as tool results (SEP-1303, 2025-11-25
/// on) rather than as JSON-RPC errors.
fn arguments_errors_are_results(v: Option<&ProtocolVersion>) -> bool {
    v.is_none_or(|v| v.as_str() >= ProtocolVersion::V_2025_11_25.as_str())
}

fn error_result(message: String) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message)]).into()
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("podsift", env!("CARGO_PKG_VERSION"))
                    .with_title("podsift: search podcast transcripts"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let args = request.arguments.unwrap_or_default();
        let engine = Arc::clone(&self.engine);
        let tool = name.clone();
        let outcome = tokio::task::spawn_blocking(move || engine.call(&tool, args)).await;
        match outcome {
            Ok(Ok(value)) => {
                let text = serde_json::to_string(&value).expect("results serialise");
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(value);
                Ok(result.into())
            }
            Ok(Err(ToolError::Unknown(n))) => Err(ErrorData::invalid_params(
                format!(
                    "unknown tool '{}' (tools: search, show, related, top, brief, stats)",
                    podsift::mail::clean(&n)
                ),
                None,
            )),
            Ok(Err(ToolError::Invalid(m))) => {
                if arguments_errors_are_results(context.protocol_version().as_ref()) {
                    Ok(error_result(m))
                } else {
                    Err(ErrorData::invalid_params(m, None))
                }
            }
            Ok(Err(ToolError::Failed(m))) => Ok(error_result(format!("{name} failed: {m}"))),
            Err(join) => {
                errln!("podsift mcp: tool '{name}' panicked: {join}");
                Err(ErrorData::internal_error(
                    format!("tool '{name}' failed unexpectedly (see the server's stderr)"),
                    None,
                ))
            }
        }
    }
}

/// Run `mcp`: serve until stdin ends.
pub fn run(config: &Config) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("starting the MCP server")?;
    let server = Server {
        engine: Arc::new(Engine::new(config.clone())),
        tools: Arc::new(tool_list()),
    };
    runtime.block_on(async move {
        let (transport, writer) = transport::StdioLines::stdio();
        match server.serve(transport).await {
            Ok(running) => {
                if let Err(e) = running.waiting().await {
                    errln!("podsift mcp: {e}");
                }
            }
            // Input ended before a session began: nothing to do.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => {}
            Err(e) => errln!("podsift mcp: {e}"),
        }
        writer.finish().await;
    });
    // The stdin thread may still be blocked in a read; don't wait for it.
    runtime.shutdown_background();
    Ok(Exit::Success)
}
