#!/usr/bin/env python3
"""Replace one named section of BENCHMARKS.md with the text on stdin.

Sections are delimited by `<!-- NAME:begin -->` and `<!-- NAME:end -->`; a
missing section is appended. Used by scripts/bench* and scripts/eval so each
benchmark rewrites only its own part.
"""
import pathlib
import sys

name = sys.argv[1]
path = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "BENCHMARKS.md")
body = sys.stdin.read().rstrip() + "\n"
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
text = path.read_text() if path.exists() else "# Benchmarks\n\nEvery figure here was written by a script under `scripts/`; each section names its command.\n"
block = f"{begin}\n{body}{end}\n"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    rest = tail.lstrip("\n")
    text = head + block + ("\n" + rest if rest else "")
else:
    text = text.rstrip() + "\n\n" + block
path.write_text(text)
