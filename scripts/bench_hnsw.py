"""Is a Chroma HNSW index reproducible, and how close to exact search is it?

    .venv/bin/python scripts/bench_hnsw.py                  # 16,000 vectors, 300 queries

Builds the same collection twice per setting (same synthetic clustered 384-d vectors, same order and
batches), queries both, and prints how many queries got the same top 30 in both builds and their
recall@30 against exact search. The evaluator's mixed stores are built anew each run, so their figures
move by as much as the builds differ (README "Quality, measured").
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

import chromadb
import numpy as np

SETTINGS: dict[str, dict[str, Any]] = {
    "default (ef_search 256)": {"ef_search": 256},
    "num_threads 1": {"ef_search": 256, "num_threads": 1},
    "num_threads 1, ef_construction 200, max_neighbors 32": {
        "ef_search": 256, "num_threads": 1, "ef_construction": 200, "max_neighbors": 32},
    "num_threads 1, ef_search 1000": {"ef_search": 1000, "num_threads": 1},
}


def data(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(200, 384))
    x = centers[rng.integers(0, 200, n)] + 0.6 * rng.normal(size=(n, 384))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    q = (x[rng.integers(0, n, queries)] + 0.3 * rng.normal(size=(queries, 384))).astype(np.float32)
    return x, q


def build_and_query(x: np.ndarray, q: np.ndarray, hnsw: dict[str, Any], k: int) -> list[tuple[str, ...]]:
    with tempfile.TemporaryDirectory() as path:
        client = chromadb.PersistentClient(path=path)
        col = client.get_or_create_collection("bench", configuration={"hnsw": {"space": "cosine", **hnsw}},
                                              embedding_function=None)
        ids = [f"v{i}" for i in range(len(x))]
        for start in range(0, len(x), 1000):
            col.add(ids=ids[start:start + 1000], embeddings=x[start:start + 1000])
        got = col.query(query_embeddings=q, n_results=k, include=[])
        return [tuple(row) for row in got["ids"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=16_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=30)
    args = parser.parse_args()
    x, q = data(args.vectors, args.queries)
    exact = [tuple(f"v{i}" for i in np.argsort(-(x @ v))[:args.k]) for v in q]
    for name, hnsw in SETTINGS.items():
        a, b = build_and_query(x, q, hnsw, args.k), build_and_query(x, q, hnsw, args.k)
        same = sum(ra == rb for ra, rb in zip(a, b))
        recall = np.mean([len(set(r) & set(e)) / args.k for r, e in zip(a, exact)])
        print(f"{name:55} same top {args.k} in both builds: {same}/{len(q)}   recall@{args.k}: {recall:.3f}",
              flush=True)


if __name__ == "__main__":
    main()
