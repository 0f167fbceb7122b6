"""The library: article records, BM25 postings (SQLite), chunk and sentence vectors (Chroma), kept in step.

Write order makes every step re-runnable: vectors are upserted under deterministic ids first, then
the article row and its postings are committed in one SQLite transaction. Only committed articles
are searchable, so an interrupted run leaves nothing visible half-written; re-running repairs it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.bm25 import bm25_weight, term_counts, tokenize
from index.errors import ModelMismatchError, NotFoundError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, url TEXT NOT NULL,
    language TEXT NOT NULL, published TEXT NOT NULL, author TEXT NOT NULL,
    ingested_at TEXT NOT NULL, hash TEXT NOT NULL, chunks INTEGER NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL, language TEXT NOT NULL, length INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS postings (term TEXT NOT NULL, chunk_id TEXT NOT NULL, tf INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS postings_term ON postings(term);
CREATE INDEX IF NOT EXISTS postings_chunk ON postings(chunk_id);
"""


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    title: str
    source: str
    url: str
    language: str
    published: str
    author: str
    ingested_at: str
    hash: str
    chunks: int
    text: str = field(repr=False, default="")


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


def chunk_id(article_id: str, index: int) -> str:
    return f"{article_id}-{index:04d}"


def sentence_id(article_id: str, start: int) -> str:
    """Keyed by the sentence's offset in the article, so the overlap's repeats share one id."""
    return f"{article_id}@{start}"


class Library:
    """Opened on a data directory; one per process (Chroma wants a single client per path)."""

    def __init__(self, home: Path, collection: str, model_name: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.model_name = model_name
        self.db = sqlite3.connect(home / "library.sqlite3", check_same_thread=False)
        self.db.executescript(_SCHEMA)
        self.client = chromadb.PersistentClient(
            path=str(home / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self._open_collections(collection)

    def _open_collections(self, name: str) -> None:
        """The chunk vectors under ``name`` and the sentence vectors beside them."""
        def get(collection: str, ef_search: int) -> Any:  # chromadb.Collection, imported lazily
            return self.client.get_or_create_collection(
                collection, configuration={"hnsw": {"space": "cosine", "ef_search": ef_search}},
                embedding_function=None)

        self.collection = get(name, 100)
        # A wider search: the salience reads the 100th sentence, past the default search breadth (100).
        self.sentences = get(f"{name}_sentences", 256)

    # -- model identity -------------------------------------------------------------------------
    def indexed_model(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key='embed_model'").fetchone()
        return row[0] if row else None

    def check_model(self) -> None:
        """Refuse to mix vectors of two models in one index."""
        indexed = self.indexed_model()
        if indexed and indexed != self.model_name and self.count() > 0:
            raise ModelMismatchError(
                f"This index was built with the embedding model '{indexed}', but '{self.model_name}' "
                "is configured.",
                "Run `articlebot reindex` to rebuild it with the configured model, or set "
                "ARTICLEBOT_INDEX__EMBED__MODEL back to the model it was built with.",
            )

    # -- articles -------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def get(self, article_id: str) -> ArticleRecord | None:
        row = self.db.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
        return ArticleRecord(*row) if row else None

    def articles(self) -> list[ArticleRecord]:
        rows = self.db.execute("SELECT * FROM articles ORDER BY ingested_at DESC, title").fetchall()
        return [ArticleRecord(*row) for row in rows]

    def find_by_url(self, url: str) -> ArticleRecord | None:
        row = self.db.execute("SELECT * FROM articles WHERE url=? OR source=?", (url, url)).fetchone()
        return ArticleRecord(*row) if row else None

    def find_by_text(self, text: str) -> ArticleRecord | None:
        """An article whose cleaned text is exactly ``text`` (ingest refuses to store it twice)."""
        row = self.db.execute("SELECT * FROM articles WHERE text=? LIMIT 1", (text,)).fetchone()
        return ArticleRecord(*row) if row else None

    def put(self, article: ArticleRecord, chunks: Sequence[ChunkRecord], vectors: np.ndarray,
            sentences: Sequence[SentenceRecord] = (), sentence_vectors: np.ndarray | None = None) -> None:
        """Store (or replace) an article with its chunks, its sentences and their vectors."""
        self.check_model()
        if sentences and sentence_vectors is not None:
            self.sentences.upsert(
                ids=[s.id for s in sentences], embeddings=sentence_vectors.astype(np.float32),
                documents=[s.text for s in sentences],
                metadatas=[{"article_id": article.id, "chunk_ids": ",".join(s.chunk_ids)} for s in sentences],
            )
        if chunks:
            self.collection.upsert(
                ids=[c.id for c in chunks],
                embeddings=vectors.astype(np.float32),
                documents=[c.text for c in chunks],
                metadatas=[{"article_id": c.article_id, "index": c.index, "start": c.start,
                            "end": c.end, "language": article.language} for c in chunks],
            )
        self._delete_vectors(article.id, keep=len(chunks), sentences={s.id for s in sentences})
        with self.db:
            self._delete_postings(article.id)
            self.db.execute("INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
                article.id, article.title, article.source, article.url, article.language,
                article.published, article.author, article.ingested_at, article.hash,
                len(chunks), article.text))
            for c in chunks:
                counts, length = term_counts(article.title + "\n" + c.text, article.language)
                self.db.execute("INSERT INTO chunks VALUES (?,?,?,?)",
                                (c.id, article.id, article.language, length))
                self.db.executemany("INSERT INTO postings VALUES (?,?,?)",
                                    [(term, c.id, tf) for term, tf in counts.items()])
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('embed_model', ?)", (self.model_name,))

    def delete(self, article_id: str) -> ArticleRecord:
        article = self.get(article_id)
        if article is None:
            raise NotFoundError(f"No article with id '{article_id}'.",
                                "Run `articlebot list` to see the ids.")
        with self.db:
            self._delete_postings(article_id)
            self.db.execute("DELETE FROM articles WHERE id=?", (article_id,))
        self._delete_vectors(article_id, keep=0, sentences=set())
        return article

    def clear(self, model_name: str) -> None:
        """Drop every vector and posting (articles are kept) before a reindex with ``model_name``."""
        name = self.collection.name
        for old in (self.collection, self.sentences):
            self.client.delete_collection(old.name)
        self._open_collections(name)
        with self.db:
            self.db.execute("DELETE FROM postings")
            self.db.execute("DELETE FROM chunks")
            self.db.execute("UPDATE articles SET hash='', chunks=0")
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('embed_model', ?)", (model_name,))
        self.model_name = model_name

    def _delete_postings(self, article_id: str) -> None:
        self.db.execute("DELETE FROM postings WHERE chunk_id IN "
                        "(SELECT id FROM chunks WHERE article_id=?)", (article_id,))
        self.db.execute("DELETE FROM chunks WHERE article_id=?", (article_id,))

    def _delete_vectors(self, article_id: str, keep: int, sentences: set[str]) -> None:
        """Drop the article's chunk vectors from index ``keep`` on, and its sentences not in ``sentences``."""
        stale = self.collection.get(
            where={"$and": [{"article_id": article_id}, {"index": {"$gte": keep}}]}, include=[]
        )
        if stale["ids"]:
            self.collection.delete(ids=stale["ids"])
        old = self.sentences.get(where={"article_id": article_id}, include=[])["ids"]
        if gone := [i for i in old if i not in sentences]:
            self.sentences.delete(ids=gone)

    # -- search ---------------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int, article_id: str | None = None) -> list[Hit]:
        total = self.collection.count()
        if total == 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector.astype(np.float32)], n_results=min(k, total),
            where={"article_id": article_id} if article_id else None,
            include=["documents", "metadatas", "distances"],
        )
        live = self._live_articles()
        hits = []
        for cid, doc, meta, dist in zip(result["ids"][0], result["documents"][0],
                                        result["metadatas"][0], result["distances"][0]):
            if meta["article_id"] not in live:  # vectors of an uncommitted or deleted article
                continue
            chunk = ChunkRecord(cid, str(meta["article_id"]), int(meta["index"]), doc,
                                int(meta["start"]), int(meta["end"]))
            hits.append(Hit(chunk, 1.0 - float(dist), len(hits) + 1))
        return hits

    def sentence_search(self, vector: np.ndarray, k: int, article_id: str | None = None
                        ) -> list[tuple[str, float]]:
        """(chunk id, cosine) of the chunks holding the ``k`` sentences most like ``vector``, best first,
        each chunk once (at its best sentence)."""
        total = self.sentences.count()
        if total == 0:
            return []
        result = self.sentences.query(
            query_embeddings=[vector.astype(np.float32)], n_results=min(k, total),
            where={"article_id": article_id} if article_id else None, include=["metadatas", "distances"],
        )
        live = self._live_articles()
        best: dict[str, float] = {}
        for meta, dist in zip(result["metadatas"][0], result["distances"][0]):
            if meta["article_id"] in live:
                for cid in str(meta["chunk_ids"]).split(","):
                    best.setdefault(cid, 1.0 - float(dist))
        return list(best.items())

    def lacks_sentence_vectors(self) -> bool:
        """True for a library built before sentence vectors were stored (`articlebot reindex` adds them)."""
        return self.count() > 0 and self.sentences.count() == 0

    def sentence_salience(self, vector: np.ndarray, n: int) -> float | None:
        """How far the sentence most like ``vector`` stands out: its cosine minus the ``n``-th best's.

        A question the collection answers has one sentence well above the crowd; an unrelated one meets a
        flat crowd. None when the collection has under 3n sentences (too few to tell a crowd).
        """
        if self.sentences.count() < 3 * n:
            return None
        got = self.sentences.query(query_embeddings=[vector.astype(np.float32)], n_results=n,
                                   include=["distances"])
        distances = got["distances"][0]
        return float(distances[-1] - distances[0]) if len(distances) == n else None

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Stored sentences by id: (text, vector). Absent ids (an index built before sentences were
        stored) are simply missing; the caller embeds those."""
        if not ids:
            return {}
        got = self.sentences.get(ids=list(dict.fromkeys(ids)), include=["documents", "embeddings"])
        return {sid: (doc, np.asarray(vec, dtype=np.float32))
                for sid, doc, vec in zip(got["ids"], got["documents"], got["embeddings"])}

    def chunk_similarities(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine of ``vector`` with the stored vectors of these chunks."""
        if not ids:
            return {}
        got = self.collection.get(ids=list(dict.fromkeys(ids)), include=["embeddings"])
        return {cid: float(np.asarray(vec) @ vector) for cid, vec in zip(got["ids"], got["embeddings"])}

    def bm25_search(self, query: str, lang: str, k: int, article_id: str | None = None) -> list[Hit]:
        """BM25 over chunks in language ``lang`` (a lexical match across languages is noise)."""
        terms = set(tokenize(query, lang))
        if not terms:
            return []
        n_docs, avg_len = self.db.execute(
            "SELECT COUNT(*), AVG(length) FROM chunks WHERE language=?", (lang,)).fetchone()
        if not n_docs:
            return []
        scores: dict[str, float] = {}
        for term in terms:
            rows = self.db.execute(
                "SELECT p.chunk_id, p.tf, c.length FROM postings p JOIN chunks c ON c.id=p.chunk_id "
                "WHERE p.term=? AND c.language=?" + (" AND c.article_id=?" if article_id else ""),
                (term, lang, article_id) if article_id else (term, lang)).fetchall()
            for cid, tf, length in rows:
                scores[cid] = scores.get(cid, 0.0) + bm25_weight(tf, len(rows), n_docs, length, avg_len)
        best = sorted(scores.items(), key=lambda item: -item[1])[:k]
        chunks = self.get_chunks([cid for cid, _ in best])
        return [Hit(chunks[cid], score, rank) for rank, (cid, score) in enumerate(best, 1)
                if cid in chunks]

    def get_chunks(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        if not ids:
            return {}
        got = self.collection.get(ids=list(dict.fromkeys(ids)), include=["documents", "metadatas"])
        return {cid: ChunkRecord(cid, str(m["article_id"]), int(m["index"]), doc, int(m["start"]),
                                 int(m["end"]))
                for cid, doc, m in zip(got["ids"], got["documents"], got["metadatas"])}

    def _live_articles(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM articles")}

    def close(self) -> None:
        self.db.close()
