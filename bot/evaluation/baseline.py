"""The setup tutorials teach, run side by side with ours."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.evaluation.bench import Passage, Question
from bot.evaluation.cache import CachedEmbedder, embed_in_batches
from bot.evaluation.metrics import DEPTH, Outcome, unique

Progress = Callable[[str, float], None]


class Baseline:
    """The LangChain default: RecursiveCharacterTextSplitter(1000, 200) + Chroma top-4, same embedder;
    the answer is the top chunk, whole. It never abstains."""

    def __init__(self, passages: Sequence[Passage], home: Path, embedder: CachedEmbedder,
                 progress: Progress | None = None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        pieces = [(p.pid, text) for p in passages for text in splitter.split_text(p.text)]
        self.embedder = embedder
        embed_in_batches(embedder, [t for _, t in pieces], "baseline chunks", progress)
        client = chromadb.PersistentClient(path=str(home), settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = client.get_or_create_collection(
            "baseline", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        for start in range(0, len(pieces), 500):
            part = pieces[start:start + 500]
            self.collection.add(ids=[f"c{start + i}" for i in range(len(part))],
                                embeddings=embedder.embed([t for _, t in part], "passage"),
                                documents=[t for _, t in part], metadatas=[{"pid": pid} for pid, _ in part])
        embedder.save()

    def search(self, question: str, k: int) -> list[tuple[str, str]]:
        vector = self.embedder.embed([question], "query")
        got = self.collection.query(query_embeddings=vector, n_results=min(k, self.collection.count()),
                                    include=["documents", "metadatas"])
        return [(str(m["pid"]), doc) for m, doc in zip(got["metadatas"][0], got["documents"][0])]

    def ask(self, q: Question) -> Outcome:
        start = time.perf_counter()
        top = self.search(q.text, 4)
        ms = 1000.0 * (time.perf_counter() - start)
        ranked = unique(pid for pid, _ in self.search(q.text, DEPTH))
        answer = top[0][1] if top else ""
        return Outcome("baseline", q.slice, q.id, q.text, q.answers, q.gold_pid, tuple(ranked), answer,
                       not top, ms, first=answer)
