"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused by weighted reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from bot.answer import VectorLRU, query_vector
from bot.config import RetrievalSettings
from index.lang import detect
from index.store import ArticleRecord, Hit, Library


def fuse(rankings: Sequence[tuple[Sequence[str], float]], rrf_k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: score(d) = sum over rankings of w / (rrf_k + rank of d)."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, item in enumerate(ids, 1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over the library. ``search`` takes the per-call options."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Any  # index.store.Library (Any: pydantic needn't validate it)
    embedder: Any  # index.embed.Embedder
    settings: RetrievalSettings
    queries: Any = Field(default_factory=lambda: VectorLRU(256))  # question vectors, shared with the answerer

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        return self.search(query)

    def search(self, query: str, k: int | None = None, mode: str | None = None,
               prefer_article: str | None = None) -> list[Document]:
        """The ``k`` best chunks for ``query``; chunks of ``prefer_article`` come first when it matches."""
        k = k or self.settings.k
        vector = query_vector(self.queries, self.embedder, query)
        hits = rank(self.library, vector, query, self.settings, k, mode or self.settings.mode)
        if prefer_article:
            scoped = rank(self.library, vector, query, self.settings, 3,
                          mode or self.settings.mode, article_id=prefer_article)
            seen = {h.chunk.id for h in scoped}
            hits = (scoped + [h for h in hits if h.chunk.id not in seen])[:k]
        articles = {aid: self.library.get(aid) for aid in {h.chunk.article_id for h in hits}}
        return [to_document(articles[hit.chunk.article_id], hit, preferred=hit.chunk.article_id == prefer_article)
                for hit in hits]


def rank(library: Library, vector: np.ndarray, query: str, cfg: RetrievalSettings, k: int,
         mode: str, article_id: str | None = None) -> list[Hit]:
    """Fused ranking of chunks. Dense scores (cosine) are kept on the hits for calibration."""
    dense: list[Hit] = []
    lexical: list[Hit] = []
    if mode in ("dense", "hybrid"):
        dense = library.dense_search(vector, cfg.fetch_k, article_id)
    if mode in ("bm25", "hybrid"):
        lexical = library.bm25_search(query, detect(query), cfg.fetch_k, article_id)
    if mode == "dense":
        return dense[:k]
    if mode == "bm25":
        return lexical[:k]
    fused = fuse([([h.chunk.id for h in dense], cfg.dense_weight),
                  ([h.chunk.id for h in lexical], cfg.bm25_weight)], cfg.rrf_k)
    by_id = {h.chunk.id: h for h in lexical} | {h.chunk.id: h for h in dense}
    dense_ids = {h.chunk.id for h in dense}
    out = []
    for position, (cid, _score) in enumerate(fused[:k], 1):
        hit = by_id[cid]
        # Lexical-only hits have no cosine: mark them 0 so calibration never trusts BM25 alone.
        out.append(Hit(hit.chunk, hit.score if cid in dense_ids else 0.0, position))
    return out


def to_document(article: ArticleRecord | None, hit: Hit, preferred: bool = False) -> Document:
    meta = {
        "chunk_id": hit.chunk.id, "article_id": hit.chunk.article_id, "start": hit.chunk.start,
        "end": hit.chunk.end, "score": hit.score, "rank": hit.rank, "preferred": preferred,
        "title": article.title if article else "", "url": article.url if article else "",
        "language": article.language if article else "", "published": article.published if article else "",
        "ingested_at": article.ingested_at if article else "",
    }
    return Document(page_content=hit.chunk.text, metadata=meta)
