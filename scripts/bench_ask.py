"""Question -> answer latency at a given corpus size (10,000 and 100,000 chunks by default).

The corpus is generated: articles of random words from a 20,000-word vocabulary, cut by the real chunker
into chunks and sentences. Embedding 100,000 chunks and their ~400,000 sentences with the real model would
take days on this machine, so passage vectors are random unit vectors of the model's dimension: Chroma's
search work (HNSW over as many vectors, same dimension) and BM25's are the real ones, the hits are not.
Questions go through the whole ``Bot.ask`` (the real model embeds each question unless --model hash).

    .venv/bin/python scripts/bench_ask.py --chunks 10000 100000 --questions 100

Prints, per size: build time, cold start to first answer, p50/p95/max latency of two kinds of question
(sentences of the generated corpus; real English questions of ../shared/bench/dev), peak memory (RSS).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.config import BotSettings
from bot.service import Bot
from index.chroma import batched
from index.config import EmbedSettings, IndexSettings
from index.embed import make_embedder
from index.ingest import prepare, sentences_of
from index.lexical import index_terms
from index.load import RawArticle
from index.store import Library

CHUNKS_PER_ARTICLE = 20
BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "dev"


def vocabulary(rng: random.Random, n: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(n)]


def sentence(rng: random.Random, words: list[str]) -> str:
    body = " ".join(rng.choice(words) for _ in range(rng.randint(8, 22)))
    return body[0].upper() + body[1:] + "."


def build(library: Library, n_chunks: int, dim: int, cfg: IndexSettings, seed: int = 1, group: int = 100
          ) -> list[str]:
    """Fill ``library`` with about ``n_chunks`` chunks; returns some of its sentences (to ask about).

    Written ``group`` articles per Chroma call (the store's largest batches), not one article at a time as
    ingest does: the corpus is only the stage here, and per-article writes of 500,000 vectors take an hour.
    The rows are the ones ingest writes (same ids, metadata, index terms)."""
    rng, vectors = random.Random(seed), np.random.default_rng(seed)
    words = vocabulary(rng)
    asked: list[str] = []
    article = 0
    chunks_done = library.vectors.chunk_count()
    while chunks_done < n_chunks:
        chunk_rows: dict[str, list] = {"ids": [], "documents": [], "metadatas": []}
        sentence_rows: dict[str, list] = {"ids": [], "documents": [], "metadatas": []}
        records = []
        for _ in range(group):
            text = " ".join(sentence(rng, words) for _ in range(CHUNKS_PER_ARTICLE * 5))
            raw = RawArticle(title=f"Article {article}", text=text, source=f"bench:{article}", language="en")
            record, chunks = prepare(raw, cfg, library.model_name)
            sentences = sentences_of(chunks)
            chunk_rows["ids"] += [c.id for c in chunks]
            chunk_rows["documents"] += [c.text for c in chunks]
            chunk_rows["metadatas"] += [{"article_id": c.article_id, "index": c.index, "start": c.start,
                                         "end": c.end, "language": "en",
                                         "terms": index_terms(record.title, c.text, "en")} for c in chunks]
            sentence_rows["ids"] += [s.id for s in sentences]
            sentence_rows["documents"] += [s.text for s in sentences]
            sentence_rows["metadatas"] += [{"article_id": record.id, "chunk_ids": ",".join(s.chunk_ids),
                                            "language": "en"} for s in sentences]
            records.append(replace(record, chunks=len(chunks)))
            asked.append(rng.choice(sentences).text)
            article += 1
        for collection, rows in ((library.vectors.chunks, chunk_rows), (library.vectors.sentences, sentence_rows)):
            vs = vectors.standard_normal((len(rows["ids"]), dim)).astype(np.float32)
            vs /= np.linalg.norm(vs, axis=1, keepdims=True)
            batched(library.client, collection.upsert, rows["ids"], embeddings=vs,
                    documents=rows["documents"], metadatas=rows["metadatas"])
        library.records.set_model(library.model_name)
        library.records.put(records)
        library.records.bump()
        chunks_done += len(chunk_rows["ids"])
        print(f"  {chunks_done:,} chunks", file=sys.stderr)
    return asked


def real_questions(n: int) -> list[str]:
    """The first ``n`` English questions of ../shared/bench/dev (read for their length and wording only)."""
    rows = (json.loads(line) for line in (BENCH / "questions.jsonl").open(encoding="utf-8"))
    return [r["question"] for r in rows if r.get("corpus") == "corpus_xquad_en.jsonl"][:n]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--questions", type=int, default=100, help="of each kind")
    parser.add_argument("--model", default="multilingual-e5-small", help="embeds the questions (or 'hash')")
    parser.add_argument("--models-dir", type=Path, default=Path(".cache/models"))
    parser.add_argument("--dir", type=Path, default=None, help="keep the generated store here (reused if present)")
    args = parser.parse_args()

    cfg = IndexSettings(embed=EmbedSettings(model=args.model))
    embedder = make_embedder(cfg.embed, args.models_dir)
    dim = int(embedder.embed(["x"], "query").shape[1])
    for n in args.chunks:
        home = (args.dir / f"c{n}") if args.dir else Path(tempfile.mkdtemp(prefix=f"bench-ask-{n}-"))
        started = time.perf_counter()
        library = Library(home, "bench", embedder.name)
        asked = build(library, n, dim, cfg) if library.vectors.chunk_count() < n else \
            [a.text.split(". ")[3] + "." for a in library.articles()[:args.questions]]
        built = time.perf_counter() - started
        library.close()
        # Cold start: a fresh process-side library (lexical index rebuilt from the store) to the first answer.
        started = time.perf_counter()
        bot = Bot(Library(home, "bench", embedder.name), embedder, cfg, BotSettings())
        bot.ask(asked[0])
        cold = time.perf_counter() - started
        # Two kinds of question, timed in the same run: a sentence of the corpus (its random "words" cost the
        # model ~4 tokens each, ~90 tokens a question, and BM25 finds postings for every word), and real
        # English questions of the benchmark (their usual length; their words are not in this corpus, so
        # BM25 does little).
        kinds = {"corpus sentences": [f"What about: {s}" for s in random.Random(2).choices(asked, k=args.questions)],
                 "benchmark questions": real_questions(args.questions)}
        timings = {}
        for kind, questions in kinds.items():
            latencies = []
            for q in questions:
                t = time.perf_counter()
                bot.ask(q)
                latencies.append((time.perf_counter() - t) * 1000)
            timings[kind] = (f"{len(latencies)} {kind}: p50 {percentile(latencies, 50):.0f} ms, "
                             f"p95 {percentile(latencies, 95):.0f} ms, max {max(latencies):.0f} ms "
                             f"(mean {statistics.mean(latencies):.0f})")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{bot.library.vectors.chunk_count():,} chunks, {bot.library.vectors.sentence_count():,} sentences, "
              f"{bot.library.count():,} articles: built in {built:.0f} s; cold start to first answer "
              f"{cold:.1f} s; {'; '.join(timings.values())}; peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
