#!/usr/bin/env python3
"""A loopback podcast host for scripts/bench-feeds: FEEDS feeds of ITEMS items,
each item with a WebVTT transcript and JSON chapters, all generated
deterministically in memory. Serves on 127.0.0.1 only, with ETag and
Last-Modified (and 304s), HTTP/1.1 keep-alive, and counts what it served.

    bench-feeds-server.py FEEDS ITEMS     # prints the port, then serves

GET /__stats returns {"requests", "bytes", "not_modified"} (not counted).
GET /__opml returns the subscription list. The server stops by itself after
LIFETIME seconds (default 900), so a crashed benchmark leaves nothing behind.
"""
import hashlib
import http.server
import json
import os
import random
import sys
import threading

FEEDS, ITEMS = int(sys.argv[1]), int(sys.argv[2])
LIFETIME = float(os.environ.get("LIFETIME", "900"))
LAST_MODIFIED = "Tue, 05 Mar 2024 10:00:00 GMT"
WORDS = ("tide kelp current reef otter urchin anemone barnacle limpet wave shore "
         "harbour lighthouse storm plankton whale gull crab sand rock salt fog "
         "boat net fisher keeper lantern chart compass north south river delta").split()

stats = {"requests": 0, "bytes": 0, "not_modified": 0}
lock = threading.Lock()
docs = {}


def vtt(rng):
    out, t = ["WEBVTT", ""], 0.0
    for _ in range(30):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
        end = t + rng.uniform(3, 7)
        out += [f"{fmt(t)} --> {fmt(end)}", f"<v Host {rng.randint(1, 2)}>{words.capitalize()}.", ""]
        t = end
    return "\n".join(out)


def fmt(s):
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h):02}:{int(m):02}:{sec:06.3f}"


def build(base):
    opml = ['<?xml version="1.0"?>', '<opml version="2.0"><head><title>bench</title></head><body>']
    for f in range(FEEDS):
        rng = random.Random(f)
        items = []
        for i in range(ITEMS):
            docs[f"/t/{f}/{i}.vtt"] = (vtt(rng), "text/vtt")
            docs[f"/c/{f}/{i}.json"] = (json.dumps({"version": "1.2.0", "chapters": [
                {"startTime": 0, "title": "Opening"},
                {"startTime": 60, "title": f"{rng.choice(WORDS).title()} and {rng.choice(WORDS)}"}]}),
                "application/json")
            day = 28 - (i % 28)
            items.append(f"""<item><title>Episode {i}: the {rng.choice(WORDS)} question</title>
<guid isPermaLink="false">bench-{f}-{i}</guid><pubDate>Tue, {day:02} Feb 2024 08:00:00 GMT</pubDate>
<enclosure url="{base}/a/{f}/{i}.mp3" length="1" type="audio/mpeg"/>
<podcast:person role="host">Host {f}</podcast:person>
<podcast:transcript url="{base}/t/{f}/{i}.vtt" type="text/vtt" language="en"/>
<podcast:chapters url="{base}/c/{f}/{i}.json" type="application/json+chapters"/></item>""")
        docs[f"/feed/{f}.xml"] = (f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Bench Show {f}</title><language>en</language>
{"".join(items)}
</channel></rss>""", "application/rss+xml")
        opml.append(f'<outline type="rss" text="Bench Show {f}" xmlUrl="{base}/feed/{f}.xml"/>')
    opml.append("</body></opml>")
    docs["/__opml"] = ("\n".join(opml), "text/x-opml")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle and the
    # client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", ctype=None, etag=None):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        if etag:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__stats":
            with lock:
                return self.send(200, json.dumps(stats).encode(), "application/json")
        doc = docs.get(self.path)
        counted = self.path != "/__opml"
        if doc is None:
            with lock:
                stats["requests"] += counted
            return self.send(404)
        body = doc[0].encode()
        etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            with lock:
                stats["requests"] += counted
                stats["not_modified"] += counted
            return self.send(304, etag=etag)
        with lock:
            stats["requests"] += counted
            stats["bytes"] += len(body) if counted else 0
        self.send(200, body, doc[1], etag)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
port = server.server_address[1]
build(f"http://127.0.0.1:{port}")
print(port, flush=True)
timer = threading.Timer(LIFETIME, server.shutdown)
timer.daemon = True
timer.start()
server.serve_forever()
