"""The library: a thin facade over the store's parts, each with one job.

- ``index.records``: article records and the store's meta rows (model, generation), in Chroma;
- ``index.vectors``: the chunk and sentence vector collections;
- ``index.lexical``: the BM25 postings, in memory, rebuilt from the terms stored with the chunks.

Everything lives in one Chroma store (embedded in the data directory, or a Chroma server that replicas
share). Write order makes every step re-runnable: vectors are upserted under deterministic ids first,
then the article record (the commit), then the generation is bumped. Only committed articles are
searchable, so an interrupted run leaves nothing visible half-written; re-running repairs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.chroma import Owner, open_client
from index.errors import ModelMismatchError, NotFoundError
from index.lexical import LexicalChunk, LexicalHit, LexicalIndex, index_terms
from index.records import ArticleRecord, ArticleRecords, newest_first
from index.vectors import (
    ArticleVectors,
    ChunkRecord,
    Hit,
    SentenceRecord,
    VectorCollections,
    chunk_article,
    chunk_id,
    sentence_id,
    sentences_of,
)

__all__ = ["ArticleRecord", "ChunkRecord", "Hit", "LexicalHit", "Library", "SentenceRecord", "chunk_article",
           "chunk_id", "sentence_id", "sentences_of"]


class Library:
    """Opened on a data directory (and optionally a Chroma server's URL). Safe to use from many threads."""

    def __init__(self, home: Path, collection: str, model_name: str, chroma_url: str = "") -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.model_name = model_name
        self.shared = bool(chroma_url)
        self.client = open_client(home, chroma_url)
        self.owner = Owner(home, shared=self.shared)
        self.records = ArticleRecords(self.client, collection)
        self.vectors = VectorCollections(self.client, collection)
        self.lexical = LexicalIndex()
        # The live articles' records without their text, as of the lexical index's generation: a question
        # reads titles, links and languages from here instead of one store read per article.
        self._live: dict[str, ArticleRecord] = {}
        self._languages: frozenset[str] = frozenset()
        self._sentences = 0  # stored sentences, as of the same generation
        self._articles = 0  # stored articles, as of the same generation
        self._model: str | None = None  # the index's model, as of the last ``sync``
        self._layout = self.records.layout()
        # Two writes of one article must not interleave their vector and record steps; reads never take it.
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._reading = threading.local()  # set while this thread answers one question (see ``reading``)
        if not self.shared:
            from index.legacy import migrate_sqlite

            migrate_sqlite(home, self.records, self.owner)

    # -- model identity -------------------------------------------------------------------------
    def indexed_model(self) -> str | None:
        return self.records.indexed_model()

    def check_model(self) -> None:
        """Refuse to mix vectors of two models in one index (read now: writers call it)."""
        self._refuse_other_model(self.indexed_model(), self.count())

    def ready_for_questions(self) -> bool:
        """Before a question: whether there are articles at all; refuses an index of another model, as
        ``check_model`` does, from the state ``sync`` read (inside ``reading``: no read of its own)."""
        self.sync()
        self._refuse_other_model(self._model, self._articles)
        return self._articles > 0

    def _refuse_other_model(self, indexed: str | None, articles: int) -> None:
        if indexed and indexed != self.model_name and articles > 0:
            raise ModelMismatchError(
                f"This index was built with the embedding model '{indexed}', but '{self.model_name}' "
                "is configured.",
                "Run `articlebot reindex` to rebuild it with the configured model, or set "
                "ARTICLEBOT_INDEX__EMBED__MODEL back to the model it was built with.",
            )

    def check_writable(self) -> None:
        """Refuse up front when another process owns the embedded store (see ``index.chroma.Owner``)."""
        self.owner.require()

    # -- articles -------------------------------------------------------------------------------
    def count(self) -> int:
        return self.records.count()

    def get(self, article_id: str) -> ArticleRecord | None:
        return self.records.get(article_id)

    def live(self, article_id: str) -> ArticleRecord | None:
        """A searchable article's record without its text, as of the last search or ``sync`` (None when it
        is not searchable: deleted, uncommitted, or waiting for a reindex). Reads nothing from the store."""
        return self._live.get(article_id)

    def articles(self) -> list[ArticleRecord]:
        return newest_first(self.records.all())

    def summaries(self) -> dict[str, ArticleRecord]:
        """Every committed article by id, without its text."""
        return {r.id: r for r in self.records.all(with_text=False)}

    def find_by_url(self, url: str) -> ArticleRecord | None:
        return self.records.find_by_url(url)

    def find_by_text(self, text: str) -> ArticleRecord | None:
        """An article whose cleaned text is exactly ``text`` (ingest refuses to store it twice)."""
        return self.records.find_by_text(text)

    def put(self, article: ArticleRecord, chunks: Sequence[ChunkRecord], vectors: np.ndarray,
            sentences: Sequence[SentenceRecord] = (), sentence_vectors: np.ndarray | None = None) -> None:
        """Store (or replace) an article with its chunks, its sentences and their vectors."""
        self.put_many([(article, chunks, vectors, sentences, sentence_vectors)])

    def put_many(self, items: Sequence[tuple[ArticleRecord, Sequence[ChunkRecord], np.ndarray,
                                             Sequence[SentenceRecord], np.ndarray | None]]) -> None:
        """``put`` for several articles in a few store calls; they become searchable together."""
        self.owner.require()
        self.check_model()
        batch = [ArticleVectors(a.id, a.language, chunks, vectors,
                                [index_terms(a.title, c.text, a.language) for c in chunks],
                                sentences if sentence_vectors is not None else (), sentence_vectors)
                 for a, chunks, vectors, sentences, sentence_vectors in items]
        with self._write_lock:
            if self.records.indexed_model() != self.model_name:
                self.records.set_model(self.model_name)
            self.vectors.put(batch)
            self.records.put([replace(a, chunks=len(chunks)) for a, chunks, *_ in items])
            self.records.bump()

    def delete(self, article_id: str) -> ArticleRecord:
        self.owner.require()
        article = self.get(article_id)
        if article is None:
            raise NotFoundError(f"No article with id '{article_id}'.",
                                "Run `articlebot list` to see the ids.")
        with self._write_lock:
            self.records.delete(article_id)  # invisible at once; its vectors go next
            self.vectors.delete_article(article_id)
            self.records.bump()
        return article

    def clear(self, model_name: str) -> None:
        """Drop every vector (articles are kept) before a reindex with ``model_name``."""
        self.owner.require()
        with self._write_lock:
            self.vectors.reset()
            self.records.forget_vectors()
            self.records.set_model(model_name)
            self.records.bump(layout=True)
            self.model_name = model_name

    # -- keeping up with the store --------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[None]:
        """One question's searches: the store's generation is read once, at the start, instead of before
        each search (a write landing meanwhile is seen by the next question)."""
        if getattr(self._reading, "active", False):
            yield
            return
        self.sync()
        self._reading.active = True
        try:
            yield
        finally:
            self._reading.active = False

    def sync(self) -> None:
        """Bring the lexical index (and the collection handles) up to the store's generation: only the
        articles whose hash changed are re-read. Cheap when nothing changed (one small read); nothing at
        all inside ``reading``."""
        if getattr(self._reading, "active", False):
            return
        state = self.records.state()
        self._model = state.model
        if state.generation == self.lexical.generation:
            return
        with self._sync_lock:
            state = self.records.state()
            self._model = state.model
            generation = state.generation
            if generation == self.lexical.generation:
                return
            if state.layout != self._layout:  # another process rebuilt the collections (reindex)
                self.vectors.reopen()
                self._layout = state.layout
            # Read after the generation: a write landing meanwhile bumps it again and is caught next time.
            current = {r.id: r for r in self.records.all(with_text=False) if r.hash}
            known = self.lexical.hashes()
            for gone in known.keys() - current.keys():
                self.lexical.remove(gone)
            changed = [aid for aid, r in current.items() if known.get(aid) != r.hash]
            stored: dict[str, list[LexicalChunk]] = {aid: [] for aid in changed}
            for c in self.vectors.chunks_of(changed):
                terms = c.terms
                if terms is None:  # stored by an older version
                    record = current[c.article_id]
                    terms = index_terms(record.title, c.text, record.language)
                stored[c.article_id].append(LexicalChunk(c.id, terms))
            for aid in changed:
                self.lexical.put(aid, current[aid].hash, current[aid].language, stored[aid])
            self._live = current
            self._languages = frozenset(r.language for r in current.values())
            # Counting is a scan in Chroma (72 ms at 480,000 sentences): once per generation, not per question.
            self._sentences = self.vectors.sentence_count()
            self._articles = self.records.count()
            self.lexical.generation = generation

    # -- search ---------------------------------------------------------------------------------
    def languages(self) -> frozenset[str]:
        """The languages of the searchable articles."""
        self.sync()
        return self._languages

    def dense_search(self, vector: np.ndarray, k: int, article_id: str | None = None) -> list[Hit]:
        self.sync()
        hits: list[Hit] = []
        for chunk, score in self.vectors.nearest_chunks(vector, k, article_id):
            if self.lexical.is_live(chunk.article_id):  # not vectors of an uncommitted or deleted article
                hits.append(Hit(chunk, score, len(hits) + 1))
        return hits

    def sentence_search(self, vector: np.ndarray, k: int, article_id: str | None = None
                        ) -> list[tuple[str, float]]:
        """(chunk id, cosine) of the chunks holding the ``k`` sentences most like ``vector``, best first,
        each chunk once (at its best sentence)."""
        self.sync()
        best: dict[str, float] = {}
        for aid, chunk_ids, score in self.vectors.nearest_sentences(vector, k, article_id):
            if self.lexical.is_live(aid):
                for cid in chunk_ids:
                    best.setdefault(cid, score)
        return list(best.items())

    def lacks_sentence_vectors(self) -> bool:
        """True for a library built before sentence vectors were stored (`articlebot reindex` adds them)."""
        return self.count() > 0 and self.vectors.sentence_count() == 0

    def sentence_count(self) -> int:
        """Sentence vectors stored (counted once per store generation: Chroma's count scans)."""
        self.sync()
        return self._sentences

    def best_sentences(self, chunks: Sequence[ChunkRecord], vector: np.ndarray) -> dict[str, float]:
        """Each chunk's best cosine of one of its stored sentences with ``vector`` (read by id: no search;
        a sentence the overlap repeats is read once)."""
        by_article: dict[str, list[ChunkRecord]] = {}
        for c in chunks:
            by_article.setdefault(c.article_id, []).append(c)
        sentences = [s for group in by_article.values() for s in sentences_of(group)]
        stored = self.vectors.sentence_vectors([s.id for s in sentences])
        best: dict[str, float] = {}
        for s in sentences:
            if s.id in stored:
                cosine = float(stored[s.id][1] @ vector)
                for cid in s.chunk_ids:
                    best[cid] = max(best.get(cid, -1.0), cosine)
        return best

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, tuple[str, np.ndarray]]:
        """Stored sentences by id: (text, vector). Absent ids (an index built before sentences were
        stored) are simply missing; the caller embeds those."""
        return self.vectors.sentence_vectors(ids)

    def chunk_similarities(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine of ``vector`` with the stored vectors of these chunks."""
        return self.vectors.chunk_similarities(ids, vector)

    def chunks_with_similarities(self, ids: Sequence[str], vector: np.ndarray
                                 ) -> dict[str, tuple[ChunkRecord, float]]:
        """These chunks' records and the cosine of ``vector`` with their stored vectors, in one read
        (absent ids are missing)."""
        return self.vectors.chunks_with_similarities(ids, vector)

    def bm25_search(self, query: str, lang: str, k: int, article_id: str | None = None) -> list[LexicalHit]:
        """BM25 over chunks in language ``lang`` (a lexical match across languages is noise). From the
        postings in memory alone: the caller reads the records of the chunks it keeps."""
        self.sync()
        return self.lexical.search(query, lang, k, article_id)

    def get_chunks(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        return self.vectors.get_chunks(ids)

    def close(self) -> None:
        self.owner.release()
