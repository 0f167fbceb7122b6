"""Benchmark one embedding model under torch, ONNX fp32 and ONNX int8 in a single run.

    .venv/bin/python scripts/bench_embed.py                    # 200 passages, 100 queries
    .venv/bin/python scripts/bench_embed.py --quality          # + hit@1/@5 on the piaf fr2fr slice
    .venv/bin/python scripts/bench_embed.py --model all-minilm-l6-v2 --variants torch,int8

Load times include a one-off conversion/export when the models dir is empty (shown separately
on a second run). Reads the dev bench from ../shared/bench/dev (see its README).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.config import EmbedSettings  # noqa: E402
from index.models import load_sentence_transformer  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench" / "dev"
VARIANTS = {"torch": ("torch", False), "onnx": ("onnx", False), "int8": ("onnx", True)}


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def encode(model: object, texts: list[str], kind: str, batch_size: int) -> np.ndarray:
    prompts = getattr(model, "prompts", {}) or {}
    return model.encode(  # type: ignore[attr-defined]
        texts,
        prompt_name=kind if kind in prompts else None,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )


def hit_at(questions: list[dict], q_vecs: np.ndarray, pids: list[str], p_vecs: np.ndarray, k: int) -> float:
    order = np.argsort(-(q_vecs @ p_vecs.T), axis=1)[:, :k]
    hits = [q["gold_pid"] in {pids[j] for j in row} for q, row in zip(questions, order, strict=True)]
    return 100.0 * sum(hits) / len(hits)


def bench_variant(name: str, args: argparse.Namespace, passages: list[str], queries: list[str]) -> dict:
    backend, quantized = VARIANTS[name]
    cfg = EmbedSettings(
        model=args.model, backend=backend, quantized=quantized, threads=args.threads, batch_size=args.batch_size
    )
    t0 = time.perf_counter()
    model, identity = load_sentence_transformer(cfg, args.models_dir, lambda m, _f: print(f"    [{name}] {m}"))
    load_s = time.perf_counter() - t0
    encode(model, passages[:4], "passage", args.batch_size)  # warm-up (first-call allocations)

    t0 = time.perf_counter()
    p_vecs = encode(model, passages, "passage", args.batch_size)
    passages_s = len(passages) / (time.perf_counter() - t0)

    latencies = []
    for q in queries:  # one at a time, as the chatbot embeds them
        t1 = time.perf_counter()
        encode(model, [q], "query", 1)
        latencies.append(time.perf_counter() - t1)
    row = {
        "variant": name,
        "identity": identity,
        "load_s": load_s,
        "passages_s": passages_s,
        "queries_s": len(queries) / sum(latencies),
        "query_ms_median": 1000 * statistics.median(latencies),
        "vectors": p_vecs,
    }
    if args.quality:
        corpus = read_jsonl(BENCH / "corpus_piaf10_fr.jsonl")
        qs = [q for q in read_jsonl(BENCH / "questions.jsonl") if q["slice"] == "piaf_fr2fr"]
        cv = encode(model, [p["text"] for p in corpus], "passage", args.batch_size)
        qv = encode(model, [q["question"] for q in qs], "query", args.batch_size)
        pids = [p["pid"] for p in corpus]
        row["hit1"], row["hit5"] = hit_at(qs, qv, pids, cv, 1), hit_at(qs, qv, pids, cv, 5)
    del model
    return row


def print_table(rows: list[dict], quality: bool) -> None:
    base = next((r for r in rows if r["variant"] == "torch"), rows[0])
    head = (
        f"{'variant':8} {'identity':46} {'load s':>7} {'pass/s':>7} {'×torch':>6} {'q/s':>6} {'×torch':>6} {'q ms':>6}"
    )
    head += f" {'cos vs ' + base['variant']:>13}" + (f" {'fr2fr @1':>8} {'@5':>5}" if quality else "")
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        cos = float(np.min(np.sum(r["vectors"] * base["vectors"], axis=1)))
        line = (
            f"{r['variant']:8} {r['identity']:46} {r['load_s']:7.1f} {r['passages_s']:7.1f} "
            f"{r['passages_s'] / base['passages_s']:6.2f} {r['queries_s']:6.1f} "
            f"{r['queries_s'] / base['queries_s']:6.2f} {r['query_ms_median']:6.1f} {cos:13.4f}"
        )
        if quality:
            line += f" {r['hit1']:8.1f} {r['hit5']:5.1f}"
        print(line)
    print("(cos = the lowest cosine over the benchmarked passages against the first/torch variant)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="multilingual-e5-small")
    ap.add_argument("--models-dir", type=Path, default=Path("~/.cache/articlebot/models").expanduser())
    ap.add_argument("--corpus", type=Path, default=BENCH / "corpus_piaf10_fr.jsonl")
    ap.add_argument("-n", "--passages", type=int, default=200)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--variants", default="torch,onnx,int8", help="comma list of torch, onnx, int8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--quality", action="store_true", help="also hit@1/@5 on the piaf_fr2fr slice")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # this script is an entry point
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    passages = [p["text"] for p in read_jsonl(args.corpus)[: args.passages]]
    questions = [q["question"] for q in read_jsonl(BENCH / "questions.jsonl")]
    queries = questions[: args.queries]
    print(f"{len(passages)} passages from {args.corpus.name}, {len(queries)} queries, {args.threads} thread(s)")
    import sentence_transformers  # noqa: F401 - import cost must not count as the first variant's load time

    rows = []
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        if name not in VARIANTS:
            ap.error(f"unknown variant {name!r}")
        print(f"  {name} ...", flush=True)
        rows.append(bench_variant(name, args, passages, queries))
    print_table(rows, args.quality)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
