"""The two vector collections: chunk vectors and sentence vectors (multi-vector retrieval).

Writes are sliced under Chroma's largest batch, so an article of any size fits. Ids are deterministic
(article id + position), so re-writing an article overwrites its rows and the stale tail is deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.chroma import batched
from index.chunk import chunk_sentences


@dataclass(frozen=True)
class ChunkRecord:
    id: str
    article_id: str
    index: int
    text: str
    start: int  # character offsets in the article's cleaned text
    end: int


@dataclass
class Hit:
    chunk: ChunkRecord
    score: float  # retriever-specific: cosine similarity for dense, BM25 for lexical
    rank: int = 0
    by_chunk_vector: bool = True  # among the nearest chunk vectors (not found by sentences or BM25 only)


@dataclass(frozen=True)
class SentenceRecord:
    """A sentence of a chunk, embedded on its own: a question often matches one sentence better than
    the whole chunk around it (multi-vector retrieval), and the answerer quotes sentences."""

    id: str
    chunk_ids: tuple[str, ...]  # every chunk holding it (the overlap repeats sentences)
    text: str


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the lexical index reads it back: its terms (None for a chunk stored before terms were)."""

    id: str
    article_id: str
    text: str
    terms: str | None


@dataclass(frozen=True)
class ArticleVectors:
    """What one article writes to the vector collections."""

    article_id: str
    language: str
    chunks: Sequence[ChunkRecord]
    vectors: np.ndarray
    terms: Sequence[str]  # each chunk's index terms (see index.lexical)
    sentences: Sequence[SentenceRecord] = ()
    sentence_vectors: np.ndarray | None = None


def chunk_id(article_id: str, index: int) -> str:
    return f"{article_id}-{index:04d}"


def chunk_article(chunk: str) -> str:
    """The article id inside a ``chunk_id``."""
    return chunk.rsplit("-", 1)[0]


def sentence_id(article_id: str, start: int) -> str:
    """Keyed by the sentence's offset in the article, so the overlap's repeats share one id."""
    return f"{article_id}@{start}"


def sentences_of(chunks: Sequence[ChunkRecord]) -> list[SentenceRecord]:
    """The sentences of one article's chunks, each once, with every chunk holding it (the answerer splits
    retrieved chunks the same way)."""
    out = []
    for i, span in chunk_sentences([(c.article_id, c.text, c.start) for c in chunks]):
        start, end = chunks[i].start + span.start, chunks[i].start + span.end
        holders = tuple(c.id for c in chunks if c.start <= start and end <= c.end)
        out.append(SentenceRecord(sentence_id(chunks[i].article_id, start), holders,
                                  chunks[i].text[span.start:span.end]))
    return out


def _chunk(cid: str, doc: str, meta: dict[str, Any]) -> ChunkRecord:
    return ChunkRecord(cid, str(meta["article_id"]), int(meta["index"]), doc, int(meta["start"]), int(meta["end"]))


class VectorCollections:
    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self.reopen()

    def reopen(self) -> None:
        """(Re)bind the collections by name: another process may have rebuilt them (reindex)."""
        def get(collection: str, ef_search: int) -> Any:  # chromadb.Collection, imported lazily
            return self.client.get_or_create_collection(
                collection, configuration={"hnsw": {"space": "cosine", "ef_search": ef_search}},
                embedding_function=None)

        self.chunks = get(self.name, 100)
        # A wider search breadth for the sentences: the sentence ranking was measured with it.
        self.sentences = get(f"{self.name}_sentences", 256)

    def reset(self) -> None:
        """Drop both collections (a reindex may change the vectors' dimension)."""
        for old in (self.chunks, self.sentences):
            self.client.delete_collection(old.name)
        self.reopen()

    # -- writes ---------------------------------------------------------------------------------
    def put(self, articles: Sequence[ArticleVectors]) -> None:
        """Upsert articles' vectors (a few calls for many articles: each call has a fixed cost), then delete
        the ones their previous versions had beyond them."""
        sentences = [(a, s) for a in articles for s in a.sentences]
        if sentences:
            batched(self.client, self.sentences.upsert, [s.id for _, s in sentences],
                    embeddings=np.vstack([a.sentence_vectors for a in articles if a.sentences]).astype(np.float32),
                    documents=[s.text for _, s in sentences],
                    metadatas=[{"article_id": a.article_id, "chunk_ids": ",".join(s.chunk_ids),
                                "language": a.language} for a, s in sentences])
        chunks = [(a, c, t) for a in articles for c, t in zip(a.chunks, a.terms)]
        if chunks:
            batched(self.client, self.chunks.upsert, [c.id for _, c, _ in chunks],
                    embeddings=np.vstack([a.vectors for a in articles if a.chunks]).astype(np.float32),
                    documents=[c.text for _, c, _ in chunks],
                    metadatas=[{"article_id": c.article_id, "index": c.index, "start": c.start, "end": c.end,
                                "language": a.language, "terms": t} for a, c, t in chunks])
        for a in articles:
            self.delete_article(a.article_id, keep_chunks=len(a.chunks), keep_sentences={s.id for s in a.sentences})

    def delete_article(self, article_id: str, keep_chunks: int = 0, keep_sentences: frozenset[str] | set[str]
                       = frozenset()) -> None:
        """Drop the article's chunk vectors from index ``keep_chunks`` on and its other sentences."""
        stale = self.chunks.get(where={"$and": [{"article_id": article_id}, {"index": {"$gte": keep_chunks}}]},
                                include=[])["ids"]
        batched(self.client, self.chunks.delete, stale)
        old = self.sentences.get(where={"article_id": article_id}, include=[])["ids"]
        batched(self.client, self.sentences.delete, [i for i in old if i not in keep_sentences])

    # -- reads ----------------------------------------------------------------------------------
    def chunk_count(self) -> int:
        return int(self.chunks.count())

    def sentence_count(self) -> int:
        return int(self.sentences.count())

    def nearest_chunks(self, vector: np.ndarray, k: int, article_id: str | None
                       ) -> list[tuple[ChunkRecord, float]]:
        # n_results may exceed the collection's size: Chroma returns what it has (no count() call needed).
        got = self.chunks.query(query_embeddings=[vector.astype(np.float32)], n_results=k,
                                where={"article_id": article_id} if article_id else None,
                                include=["documents", "metadatas", "distances"])
        return [(_chunk(cid, doc, meta), 1.0 - float(dist)) for cid, doc, meta, dist in
                zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])]

    def nearest_sentences(self, vector: np.ndarray, k: int, article_id: str | None
                          ) -> list[tuple[str, tuple[str, ...], float]]:
        """(article id, chunk ids holding it, cosine) of the ``k`` sentences nearest ``vector``."""
        got = self.sentences.query(query_embeddings=[vector.astype(np.float32)], n_results=k,
                                   where={"article_id": article_id} if article_id else None,
                                   include=["metadatas", "distances"])
        return [(str(m["article_id"]), tuple(str(m["chunk_ids"]).split(",")), 1.0 - float(d))
                for m, d in zip(got["metadatas"][0], got["distances"][0])]

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        if not ids:
            return {}
        got = self.sentences.get(ids=list(dict.fromkeys(ids)), include=["documents", "embeddings"])
        return {sid: (doc, np.asarray(vec, dtype=np.float32))
                for sid, doc, vec in zip(got["ids"], got["documents"], got["embeddings"])}

    def chunk_similarities(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        if not ids:
            return {}
        got = self.chunks.get(ids=list(dict.fromkeys(ids)), include=["embeddings"])
        return {cid: float(np.asarray(vec) @ vector) for cid, vec in zip(got["ids"], got["embeddings"])}

    def chunks_with_similarities(self, ids: Sequence[str], vector: np.ndarray
                                 ) -> dict[str, tuple[ChunkRecord, float]]:
        if not ids:
            return {}
        got = self.chunks.get(ids=list(dict.fromkeys(ids)), include=["documents", "metadatas", "embeddings"])
        return {cid: (_chunk(cid, doc, m), float(np.asarray(vec) @ vector))
                for cid, doc, m, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])}

    def get_chunks(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        if not ids:
            return {}
        got = self.chunks.get(ids=list(dict.fromkeys(ids)), include=["documents", "metadatas"])
        return {cid: _chunk(cid, doc, m) for cid, doc, m in zip(got["ids"], got["documents"], got["metadatas"])}

    def chunks_of(self, article_ids: Sequence[str], batch: int = 200) -> Iterator[StoredChunk]:
        """The stored chunks of these articles, with their terms (for the lexical index)."""
        for start in range(0, len(article_ids), batch):
            ids = list(article_ids[start:start + batch])
            where = {"article_id": ids[0]} if len(ids) == 1 else {"article_id": {"$in": ids}}
            got = self.chunks.get(where=where, include=["documents", "metadatas"])
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                terms = meta.get("terms")
                yield StoredChunk(cid, str(meta["article_id"]), doc, None if terms is None else str(terms))

    def article_ids(self) -> set[str]:
        """Every article that has a chunk or a sentence vector (to find orphans)."""
        found: set[str] = set()
        for collection in (self.chunks, self.sentences):
            offset = 0
            while True:
                got = collection.get(include=["metadatas"], limit=5000, offset=offset)
                found |= {str(m["article_id"]) for m in got["metadatas"]}
                if len(got["ids"]) < 5000:
                    break
                offset += 5000
        return found
