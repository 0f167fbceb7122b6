"""Hybrid retrieval: chunk vectors, sentence vectors (Chroma) and BM25, fused by weighted reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from bot.answer import VectorLRU, query_vector
from bot.config import RetrievalSettings
from bot.types import Passage, Retrieval
from index.lang import detect
from index.store import ArticleRecord, ChunkRecord, Hit, Library, chunk_article

Ranking = tuple[Sequence[tuple[str, float]], float]  # (item, strength of this vote) best first; weight


def fuse(rankings: Sequence[Ranking], rrf_k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: score(d) = sum over rankings of w x strength / (rrf_k + rank of d)."""
    scores: dict[str, float] = {}
    for items, weight in rankings:
        for rank, (item, strength) in enumerate(items, 1):
            scores[item] = scores.get(item, 0.0) + weight * strength / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over the library. ``search`` takes the per-call options."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Any  # index.store.Library (Any: pydantic needn't validate it)
    embedder: Any  # index.embed.Embedder
    settings: RetrievalSettings
    queries: Any = Field(default_factory=lambda: VectorLRU(256))  # question vectors, shared with the answerer
    crowd: Any = None  # bot.crowd.Crowd: the vector rankings order chunks by their lift above it

    def lifts(self, vector: np.ndarray, lang: str) -> Callable[[str, float], float] | None:
        """``lift(chunk id, cosine)``: the cosine above the crowd of the chunk's language, so that a chunk in
        the question's own language does not outrank a better one in another language. A chunk in another
        language than the question's (``lang``) gains that pair's bonus: the same content reads less similar
        across languages than the crowd's levels account for."""
        if self.crowd is None:
            return None
        levels: dict[str, float] = {}

        def lift(chunk: str, cosine: float) -> float:
            found = self.library.live(chunk_article(chunk))
            chunk_lang = found.language if found else ""
            if chunk_lang not in levels:
                levels[chunk_lang] = self.crowd.level(vector, chunk_lang)
            if found is None or chunk_lang == lang:
                return cosine - levels[chunk_lang]
            cfg = self.settings
            return cosine - levels[chunk_lang] + cfg.pair_bonus.get(f"{lang}>{chunk_lang}", cfg.cross_language_bonus)

        return lift

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        return [as_document(p) for p in self.retrieve(query).passages]

    def retrieve(self, query: str, k: int | None = None, mode: str | None = None,
                 prefer_article: str | None = None) -> Retrieval:
        """The ``k`` best chunks for ``query``; chunks of ``prefer_article`` come first when it matches."""
        k = k or self.settings.k
        mode = mode or self.settings.mode
        vector = query_vector(self.queries, self.embedder, query)
        lang = detect(query)
        lift = self.lifts(vector, lang)
        with self.library.reading():
            hits = rank(self.library, vector, query, lang, self.settings, k, mode, lift=lift)
            if prefer_article:
                scoped = rank(self.library, vector, query, lang, self.settings, 3, mode,
                              article_id=prefer_article, lift=lift)
                seen = {h.chunk.id for h in scoped}
                hits = (scoped + [h for h in hits if h.chunk.id not in seen])[:k]
            passages = [to_passage(article, hit, preferred=hit.chunk.article_id == prefer_article)
                        for hit in hits if (article := self.library.live(hit.chunk.article_id)) is not None]
            sentences = self.library.sentence_count()
        return Retrieval(query, passages, sentences)


def rank(library: Library, vector: np.ndarray, query: str, lang: str, cfg: RetrievalSettings, k: int,
         mode: str, article_id: str | None = None, lift: Callable[[str, float], float] | None = None
         ) -> list[Hit]:
    """Fused ranking of chunks: chunk vectors, sentence vectors ("dense": both) and BM25 ("bm25").

    Every hit keeps its chunk's cosine with the question (the answerer's chunk lift reads it),
    also when only the sentence vectors or BM25 found it.
    """
    rankings: list[Ranking] = []
    cosines: dict[str, float] = {}
    chunks: dict[str, ChunkRecord] = {}
    dense_ids: set[str] = set()
    if mode in ("dense", "hybrid"):
        dense = library.dense_search(vector, cfg.fetch_k, article_id)
        dense_ids = {h.chunk.id for h in dense}
        chunks |= {h.chunk.id: h.chunk for h in dense}
        cosines |= {h.chunk.id: h.score for h in dense}
        by_sentence = library.sentence_search(vector, cfg.fetch_k, article_id)
        several = article_id is None and len(library.languages()) > 1
        if cfg.chunk_hits_by_sentence and lift is not None and several:
            # By raw cosine the sentences in the question's own language crowd those of another language out
            # of the sentence search, also where a chunk vector found the chunk that answers: the chunk-vector
            # hits are scored at their best stored sentence too, and every candidate ranked by its lift.
            found = {cid for cid, _ in by_sentence}
            by_sentence += library.best_sentences([h.chunk for h in dense if h.chunk.id not in found], vector).items()
        dense_order = [(h.chunk.id, h.score) for h in dense]
        if cfg.sentence_hits_by_chunk and lift is not None and several:
            # The other way round: the nearest chunk vectors by raw cosine are mostly in the question's own
            # language, so a chunk in another language whose sentence the sentence search found is scored by
            # its chunk vector too.
            extra = library.chunk_similarities([cid for cid, _ in by_sentence if cid not in dense_ids], vector)
            dense_order += extra.items()
            cosines |= extra
        if lift is not None:  # best lift first (a stable sort keeps the cosine order among equals)
            dense_order.sort(key=lambda item: -lift(*item))
            by_sentence = sorted(by_sentence, key=lambda item: -lift(*item))
        rankings += [([(cid, 1.0) for cid, _ in dense_order], cfg.dense_weight),
                     ([(cid, 1.0) for cid, _ in by_sentence], cfg.sentence_weight)]
    if mode in ("bm25", "hybrid"):
        lexical = library.bm25_search(query, lang, cfg.fetch_k, article_id)
        # A vote as strong as the share of the question it matched: in a collection mixing languages, the
        # chunks in the question's language that share a word or two with it must not outvote the one in
        # another language that answers (BM25 cannot see that one).
        rankings.append(([(h.chunk_id, h.coverage) for h in lexical], cfg.bm25_weight))
    top = [cid for cid, _ in fuse(rankings, cfg.rrf_k)[:k]]
    # One read for the kept chunks found by sentences or BM25 only (a chunk of a stale posting is absent).
    read = library.chunks_with_similarities([cid for cid in top if cid not in chunks], vector)
    chunks |= {cid: chunk for cid, (chunk, _) in read.items()}
    cosines |= {cid: cosine for cid, (_, cosine) in read.items() if cid not in cosines}
    return [Hit(chunks[cid], cosines.get(cid, 0.0), position, cid in dense_ids)
            for position, cid in enumerate((c for c in top if c in chunks), 1)]


def to_passage(article: ArticleRecord, hit: Hit, preferred: bool = False) -> Passage:
    return Passage(chunk_id=hit.chunk.id, article_id=hit.chunk.article_id, text=hit.chunk.text,
                   start=hit.chunk.start, end=hit.chunk.end, rank=hit.rank, score=hit.score,
                   by_chunk_vector=hit.by_chunk_vector, title=article.title, url=article.url,
                   language=article.language, ingested_at=article.ingested_at, preferred=preferred,
                   published=article.published or article.updated)  # a wiki page's date: its last revision


def as_document(passage: Passage) -> Document:
    """For LangChain callers of the retriever: the passage as a Document."""
    meta = {"chunk_id": passage.chunk_id, "article_id": passage.article_id, "title": passage.title,
            "url": passage.url, "language": passage.language, "published": passage.published,
            "score": passage.score, "rank": passage.rank, "start": passage.start, "end": passage.end}
    return Document(page_content=passage.text, metadata=meta)
