"""Ingest throughput against the raw encode of the same texts and against LangChain's Chroma.from_documents.

One run, one corpus (the first N passages of each ../shared/bench/dev corpus, written as .txt files),
one model. Prints articles/s and texts/s for:
  - raw encode of exactly the texts our ingest embeds (chunks with their title, and sentences);
  - `articlebot ingest` of the folder (Bot.ingest: load, clean, chunk, embed, Chroma, BM25 terms);
  - LangChain: RecursiveCharacterTextSplitter(1000, 200) + Chroma.from_documents, same embedder.

    .venv/bin/python scripts/bench_ingest.py --per-corpus 15
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bot.config import BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.embed import Embedder, make_embedder
from index.ingest import prepare, sentences_of
from index.lang import detect
from index.load import RawArticle
from index.store import Library

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "dev"


def write_corpus(folder: Path, per_corpus: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for corpus in sorted(BENCH.glob("corpus_*.jsonl")):
        with corpus.open(encoding="utf-8") as rows:
            for i, line in zip(range(per_corpus), rows):
                row = json.loads(line)
                path = folder / f"{row['pid']}.txt"
                path.write_text(f"{row['title'].replace('_', ' ')} {i}\n\n{row['text']}", encoding="utf-8")
                paths.append(path)
    return paths


class LangChainEmbeddings:
    """LangChain's Embeddings interface over our embedder (the same model for both pipelines)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts, "passage").tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text], "query")[0].tolist()


def timed(label: str, articles: int, texts: int, work) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{label:58} {seconds:7.1f} s  {articles / seconds:6.2f} articles/s  {texts / seconds:6.1f} texts/s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-corpus", type=int, default=15, help="passages from each of the 4 corpora")
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--models-dir", type=Path, default=Path(".cache/models"))
    args = parser.parse_args()

    cfg = IndexSettings(embed=EmbedSettings(model=args.model))
    embedder = make_embedder(cfg.embed, args.models_dir)
    embedder.embed(["warm-up"], "passage")
    detect("warm up the language identifier")  # a one-off load, not per-article work
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    paths = write_corpus(work / "corpus", args.per_corpus)
    raws = [RawArticle(title=p.read_text("utf-8").split("\n", 1)[0], text=p.read_text("utf-8"), source=str(p))
            for p in paths]
    texts: list[str] = []
    for raw in raws:
        record, chunks = prepare(raw, cfg, embedder.name)
        texts += [f"{record.title}\n{c.text}" for c in chunks] + [s.text for s in sentences_of(chunks)]
    n = len(paths)
    print(f"{n} articles, {len(texts)} texts embedded by our ingest ({args.model}, "
          f"{cfg.embed.backend}{' int8' if cfg.embed.quantized else ''})")

    encode = timed("raw encode of the same texts", n, len(texts), lambda: embedder.embed(texts, "passage"))
    bot = Bot(Library(work / "home", "articles", embedder.name), embedder, cfg, BotSettings())
    ours = timed("articlebot ingest (Bot.ingest)", n, len(texts), lambda: bot.ingest([str(work / "corpus")]))
    assert bot.library.count() == n

    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = splitter.split_documents([Document(r.text, metadata={"source": r.source}) for r in raws])
    lc = timed(f"LangChain Chroma.from_documents ({len(docs)} chunks only)", n, len(docs),
               lambda: Chroma.from_documents(docs, LangChainEmbeddings(embedder), collection_name="langchain",
                                             persist_directory=str(work / "lc")))
    print(f"pipeline overhead: ingest takes {ours / encode:.2f}x the raw encode of its texts; "
          f"from_documents is {ours / lc:.2f}x faster than ours per article (it embeds no sentences)")


if __name__ == "__main__":
    main()
