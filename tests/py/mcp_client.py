#!/usr/bin/env python3
"""Drive `podsift mcp` with the official MCP Python SDK (a real client).

    mcp_client.py PODSIFT_BIN INDEX_DIR

Run by tests/integration/mcp.rs against an index of the demo corpus (the
model in the repository's models/). Connects twice: with the initialize
handshake (mode="legacy", the SDK offers 2025-11-25) and with the SDK's
default (mode="auto": it probes `server/discover` and speaks 2026-07-28).
Lists the tools, calls each, checks the results (the SDK itself checks every
structuredContent against the tool's outputSchema) and the errors, and checks
that the server keeps serving after each error. Prints one line per check;
exits non-zero on the first failure.
"""
import asyncio
import json
import os
import sys

from mcp import Client, MCPError, StdioServerParameters

BIN, INDEX = sys.argv[1], sys.argv[2]
TOOLS = {"search", "show", "related", "top", "brief", "stats"}


def ok(what):
    print(f"ok: {what}", flush=True)


def check(cond, what, detail=""):
    if not cond:
        raise AssertionError(f"{what}: {detail}")
    ok(what)


def params():
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "RAYON_NUM_THREADS")}
    env["HF_HUB_OFFLINE"] = "1"
    return StdioServerParameters(command=BIN, args=["--index", INDEX, "mcp"], env=env)


async def expect_error(client, version, name, args, needle):
    """Bad arguments: a JSON-RPC error up to 2025-06-18, an isError result from 2025-11-25."""
    try:
        r = await client.call_tool(name, args)
    except MCPError as e:
        check(version < "2025-11-25" and needle in str(e), f"{name} {needle!r} is a JSON-RPC error", str(e))
        return
    text = r.content[0].text if r.content else ""
    check(r.is_error and needle in text and r.structured_content is None,
          f"{name} {needle!r} is a tool error ({version})", text)


async def session(mode):
    async with Client(params(), mode=mode, read_timeout_seconds=120) as client:
        version = client.protocol_version
        print(f"-- mode={mode}: protocol {version}", flush=True)
        if mode == "legacy":
            check(version == "2025-11-25", "legacy handshake negotiates 2025-11-25", version)
        else:
            check(version == "2026-07-28", "auto mode speaks 2026-07-28", version)
        check("search" in (client.instructions or ""), "instructions mention search")

        tools = (await client.list_tools()).tools
        names = {t.name for t in tools}
        check(names == TOOLS, "tools/list names the six tools", names)
        for t in tools:
            check(t.input_schema.get("type") == "object" and t.output_schema and t.description,
                  f"{t.name} has input and output schemas")
        search = next(t for t in tools if t.name == "search")
        check(search.input_schema["required"] == ["query"], "search requires query", search.input_schema)
        for k in ("query", "mode", "limit", "show", "speaker", "since", "until"):
            check(k in search.input_schema["properties"], f"search schema has {k}")

        # Keyword search: no model needed, answers at once.
        r = await client.call_tool("search", {"query": "Vandermolen", "mode": "keyword", "limit": 2})
        hits = r.structured_content["hits"]
        h = hits[0]
        check(not r.is_error and h["type"] == "hit" and "Vandermolen" in h["text"], "keyword search finds the name", h)
        for k in ("show", "title", "episode_id", "speaker", "start", "start_ms", "link", "path", "text", "id"):
            check(k in h, f"a hit carries {k}")
        check(json.loads(r.content[0].text) == r.structured_content, "text content is the structured result as JSON")
        check(r.structured_content["summary"]["mode"] == "keyword", "summary says keyword")

        # Hybrid search: loads the model on first use.
        r = await client.call_tool("search", {"query": "why would a cloud company build its own AI chips", "limit": 3})
        hits = r.structured_content["hits"]
        check(hits and hits[0]["show"] == "silicon-weekly", "hybrid search finds the paraphrase", hits[:1])
        chip = hits[0]
        r = await client.call_tool("search", {"query": "injuries", "show": "the-long-run", "mode": "semantic"})
        check(all(x["show"] == "the-long-run" for x in r.structured_content["hits"]), "show filter holds")

        # show: the passage and its neighbours.
        r = await client.call_tool("show", {"id": chip["id"], "context": 1})
        ps = r.structured_content["passages"]
        targets = [p for p in ps if p["is_target"]]
        check(len(targets) == 1 and targets[0]["id"] == chip["id"] and 1 <= len(ps) <= 3, "show gives the passage in context", ps)

        # related: other episodes, no model call.
        r = await client.call_tool("related", {"id": chip["id"], "limit": 3})
        rel = r.structured_content["hits"]
        check(rel and all(x["type"] == "related" and x["of"] == chip["id"] for x in rel), "related hits name their seed", rel[:1])
        check(all(x["episode_id"] != chip["episode_id"] for x in rel), "related hits are from other episodes")
        r = await client.call_tool("related", {"file": chip["path"], "at": chip["start"], "limit": 2})
        check(r.structured_content["hits"], "related by file and time", r.content)

        # top and brief: insights with statements and citations.
        r = await client.call_tool("top", {"since": "30d", "for": "custom AI chips", "limit": 2})
        ins = r.structured_content["insights"]
        check(ins and ins[0]["statement"] and "start" in ins[0] and "link" in ins[0], "top gives insights", ins[:1])
        state = os.path.join(INDEX, "brief-state.json")
        before = os.path.exists(state)
        r = await client.call_tool("brief", {"interests": ["saving for retirement", "AI chips"], "since": "30d", "limit": 3})
        ins = r.structured_content["insights"]
        check(ins and r.structured_content["summary"]["insights"] == len(ins), "brief gives insights", r.structured_content["summary"])
        check(os.path.exists(state) == before, "brief never writes the brief state")

        r = await client.call_tool("stats", {})
        check(r.structured_content["episodes"] == 7 and r.structured_content["shows"] == 6, "stats counts the demo", r.structured_content)

        # Errors, and the server keeps serving after each.
        await expect_error(client, version, "search", {"query": "x", "mode": "fuzzy"}, "unknown variant `fuzzy`")
        await expect_error(client, version, "search", {"query": "x" * 1_000_000}, "at most 2000")
        await expect_error(client, version, "search", {"qurey": "x"}, "unknown field `qurey`")
        await expect_error(client, version, "search", {"query": "x", "limit": 0}, "from 1 to 50")
        await expect_error(client, version, "show", {"id": "not-an-id"}, "16 hex digits")
        await expect_error(client, version, "show", {"id": "00000000000000ff"}, "no passage")
        await expect_error(client, version, "related", {}, "give either 'id'")
        await expect_error(client, version, "brief", {"profile": "/nonexistent/profile.toml"}, "argument 'profile'")
        await expect_error(client, version, "top", {"since": "last tuesday"}, "since 'last tuesday'")
        try:
            await client.call_tool("no_such_tool", {})
            check(False, "an unknown tool is refused")
        except MCPError as e:
            check(e.code == -32602 and "unknown tool 'no_such_tool'" in str(e), "an unknown tool is a JSON-RPC error", str(e))
        if mode == "legacy":
            await client.send_ping()
            ok("ping after the errors")
        r = await client.call_tool("search", {"query": "compost", "mode": "keyword", "limit": 1})
        check(r.structured_content["hits"][0]["show"] == "garden-hour", "still serving after the errors")


async def main():
    await session("legacy")
    await session("auto")
    print("all checks passed", flush=True)


asyncio.run(main())
