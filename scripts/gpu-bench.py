#!/usr/bin/env python3
"""GPU side of `scripts/bench-gpu` (runs on the GPU host: PyTorch and
sentence-transformers there, no Rust, no network).

    python3 gpu-bench.py DIR OUT

DIR holds `podsift` (the cuda build), `run-cuda.sh`, `passages.jsonl` and
`model/` (the model's config and tokenizer files, no weights). Writes random
weights of the model's exact shape into model/ (throughput does not depend on
them), then measures, side by side on the same passages and weights:
sentence-transformers fp32 (batch 128) and fp16 (batch 512), and podsift's
cuda build (bf16 and f32 weights, several batch sizes); and the cosine of
each podsift vector against sentence-transformers fp32. Writes OUT/gpu.json.
"""
import json, os, pathlib, statistics, subprocess, sys, time

d = pathlib.Path(sys.argv[1]).resolve()
out = pathlib.Path(sys.argv[2]).resolve()
out.mkdir(parents=True, exist_ok=True)
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DEV = os.environ.get("DEVICE", "cuda")  # cpu: a dry run of this script anywhere
LIMIT = int(os.environ.get("LIMIT", "0"))
model = d / "model"
lines = [l for l in (d / "passages.jsonl").read_text().splitlines() if l.strip()]
if LIMIT:
    lines = lines[:LIMIT]
    (d / "passages.jsonl").write_text("\n".join(lines) + "\n")
texts = [json.loads(l)["text"] for l in lines]
result = {"passages": len(texts), "rounds": ROUNDS}

import numpy as np
import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
if not (model / "model.safetensors").exists():
    BertModel(BertConfig.from_pretrained(model), add_pooling_layer=False).save_pretrained(model, safe_serialization=True)
    # save_pretrained rewrites config.json; that is fine (same shape).
result["gpu"] = torch.cuda.get_device_name(0) if DEV == "cuda" else "cpu (dry run)"
result["torch"] = torch.__version__

from sentence_transformers import SentenceTransformer
import sentence_transformers
result["sentence_transformers"] = sentence_transformers.__version__

def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def st_bench(half, batch):
    m = SentenceTransformer(str(model), device=DEV)
    if half:
        m = m.half()
    m.encode(texts[:256], batch_size=batch, normalize_embeddings=True)
    sync()
    rates, emb = [], None
    for _ in range(ROUNDS):
        t = time.perf_counter()
        emb = m.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
        sync()
        rates.append(len(texts) / (time.perf_counter() - t))
    del m
    if DEV == "cuda":
        torch.cuda.empty_cache()
    return rates, emb

rows = []
r, ref = st_bench(False, 128)
rows.append({"engine": "sentence-transformers fp32", "batch": 128, "rates": r})
r, _ = st_bench(True, 512)
rows.append({"engine": "sentence-transformers fp16", "batch": 512, "rates": r})
r, _ = st_bench(False, 256)
rows.append({"engine": "sentence-transformers fp32", "batch": 256, "rates": r})
ref = ref.astype(np.float32)
np.save(out / "st-fp32.npy", ref)

def podsift(args, env=None, vectors=False):
    cmd = ["bash", str(d / "run-cuda.sh"), str(d / "podsift"), "--model", str(model), "--device", DEV, "--json", "embed",
           "--input", str(d / "passages.jsonl")] + args
    if vectors:
        cmd.append("--vectors")
    e = dict(os.environ, **(env or {}))
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=300)
    (out / "podsift.stderr").open("a").write(" ".join(cmd) + f" env={env}\n" + p.stderr[-4000:] + "\n")
    if p.returncode != 0:
        return None, None, p.stderr[-800:]
    runs, vecs = [], {}
    for l in (p.stdout + "\n" + p.stderr).splitlines():
        l = l.strip()
        if not l.startswith("{"):
            continue
        try:
            j = json.loads(l)
        except ValueError:
            continue
        if j.get("type") == "run":
            runs.append(j)
        elif j.get("type") == "vector":
            vecs[j["id"]] = j["vector"]
    return runs, vecs, None

# Warm-up process: the first one JIT-compiles candle's PTX.
t = time.perf_counter()
runs, _, err = podsift(["--repeat", "1", "--batch-size", "256"])
result["podsift_first_process_s"] = time.perf_counter() - t
if err:
    result["podsift_error"] = err
for dtype, env in (("bf16", {}), ("f32", {"PODSIFT_GPU_F32": "1"})):
    for batch in ((64, 128, 256, 512) if dtype == "bf16" else (128, 256)):
        runs, _, err = podsift(["--repeat", str(ROUNDS + 1), "--batch-size", str(batch)], env)
        if err:
            rows.append({"engine": f"podsift cuda {dtype}", "batch": batch, "error": err})
            continue
        rows.append({"engine": f"podsift cuda {dtype}", "batch": batch,
                     "rates": [r["texts_per_sec"] for r in runs[1:]], "first": runs[0]["texts_per_sec"]})
    # Cosine against sentence-transformers fp32 on the same weights.
    runs, vecs, err = podsift(["--repeat", "1", "--batch-size", "256"], env, vectors=True)
    if vecs:
        ids = [json.loads(l)["id"] for l in (d / "passages.jsonl").read_text().splitlines() if l.strip()]
        v = np.array([vecs[i] for i in ids], dtype=np.float32)
        cos = (v * ref).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(ref, axis=1))
        result[f"cosine_{dtype}"] = {"min": float(cos.min()), "mean": float(cos.mean()), "p01": float(np.percentile(cos, 1))}
    elif err:
        result[f"cosine_{dtype}_error"] = err
for r in rows:
    if "rates" in r:
        r["median"] = statistics.median(r["rates"])
result["rows"] = rows
(out / "gpu.json").write_text(json.dumps(result, indent=1))
print(json.dumps(result, indent=1))
