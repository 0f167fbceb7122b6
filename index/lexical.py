"""The lexical (BM25) index: in memory in each process, rebuilt from the shared store.

Chroma 1.5.9 refuses sparse/BM25 indexes outside its cloud, so the postings cannot live in the store.
Each chunk's index terms are stored with its vector instead; a process builds its postings from them at
start and, when the store's generation changes, re-reads only the articles whose hash changed. Every
replica thus ranks over what the shared store holds, and the postings never disagree with it for long.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from index.bm25 import bm25_weight, idf, tokenize


def index_terms(title: str, text: str, language: str) -> str:
    """A chunk's index terms as stored beside its vector (space-separated, repeats kept)."""
    return " ".join(tokenize(title + "\n" + text, language))


@dataclass(frozen=True)
class LexicalChunk:
    id: str
    terms: str


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float  # BM25
    coverage: float  # the share of the question's term weight (IDF) the chunk holds


@dataclass
class _Article:
    hash: str
    language: str
    chunks: list[str]


class LexicalIndex:
    """BM25 postings per language. A small lock guards the dictionaries: updates and searches are
    short (no I/O under it), so a search never waits for a write to the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._articles: dict[str, _Article] = {}
        self._postings: dict[str, dict[str, dict[str, int]]] = {}  # language -> term -> chunk id -> tf
        self._chunks: dict[str, tuple[str, int]] = {}  # chunk id -> (article id, length in terms)
        self._totals: dict[str, list[int]] = {}  # language -> [chunks, total length]
        self.generation: str | None = None  # the store generation these postings reflect

    def is_live(self, article_id: str) -> bool:
        return article_id in self._articles

    def hashes(self) -> dict[str, str]:
        with self._lock:
            return {aid: a.hash for aid, a in self._articles.items()}

    def chunk_ids(self) -> set[str]:
        with self._lock:
            return set(self._chunks)

    def put(self, article_id: str, article_hash: str, language: str, chunks: Iterable[LexicalChunk]) -> None:
        counted = [(c.id, Counter(c.terms.split())) for c in chunks]
        with self._lock:
            self._remove(article_id)
            postings = self._postings.setdefault(language, {})
            totals = self._totals.setdefault(language, [0, 0])
            for cid, counts in counted:
                length = sum(counts.values())
                for term, tf in counts.items():
                    postings.setdefault(term, {})[cid] = tf
                self._chunks[cid] = (article_id, length)
                totals[0] += 1
                totals[1] += length
            self._articles[article_id] = _Article(article_hash, language, [cid for cid, _ in counted])

    def remove(self, article_id: str) -> None:
        with self._lock:
            self._remove(article_id)

    def _remove(self, article_id: str) -> None:
        old = self._articles.pop(article_id, None)
        if old is None:
            return
        postings, totals = self._postings[old.language], self._totals[old.language]
        for cid in old.chunks:
            _, length = self._chunks.pop(cid)
            totals[0] -= 1
            totals[1] -= length
        gone = set(old.chunks)
        for term in [t for t, docs in postings.items() if not gone.isdisjoint(docs)]:
            docs = postings[term]
            for cid in gone.intersection(docs):
                del docs[cid]
            if not docs:
                del postings[term]

    def search(self, query: str, language: str, k: int, article_id: str | None = None
               ) -> list[LexicalHit]:
        """The best ``k`` chunks in ``language`` (of one article if given).

        Coverage: the share of the question's term weight (IDF) the chunk holds. A chunk matching one
        common word of the question still ranks somewhere; coverage says how much of the question it
        matched, so a fusion can weigh a weak match as one.
        """
        terms = set(tokenize(query, language))
        scores: dict[str, float] = {}
        matched: dict[str, float] = {}
        with self._lock:
            n_docs, total = self._totals.get(language, (0, 0))
            if not terms or not n_docs:
                return []
            postings = self._postings[language]
            weight_of = {term: idf(len(postings.get(term, {})), n_docs) for term in terms}
            for term in terms:
                docs = postings.get(term, {})
                if article_id:
                    docs = {cid: tf for cid, tf in docs.items() if self._chunks[cid][0] == article_id}
                for cid, tf in docs.items():
                    weight = bm25_weight(tf, len(docs), n_docs, self._chunks[cid][1], total / n_docs)
                    scores[cid] = scores.get(cid, 0.0) + weight
                    matched[cid] = matched.get(cid, 0.0) + weight_of[term]
        whole = sum(weight_of.values())
        best = sorted(scores.items(), key=lambda item: -item[1])[:k]
        return [LexicalHit(cid, score, matched[cid] / whole) for cid, score in best]
