"""Article records and the store's small metadata (model, generation), in Chroma collections.

They live beside the vectors, in the same store, so every process sharing a Chroma server shares them.
An article's record is written last: it is the commit that makes the article's vectors searchable.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from index.chroma import batched

_FIELDS = ("title", "source", "url", "language", "published", "author", "ingested_at", "hash", "chunks", "updated",
           "site_name")


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
    updated: str = ""  # last modified (ISO 8601), when the source tells
    site_name: str = ""

    def date(self) -> str:
        """The date the article speaks as of: last updated, else published ("" when unknown)."""
        return self.updated or self.published


@dataclass(frozen=True)
class StoreState:
    """generation: changes after every committed write by any process (a random token, so writers never
    need to agree on a counter); layout: changes when the vector collections are rebuilt; model: the
    embedding model the vectors were made with (None before the first article)."""

    generation: str
    layout: str
    model: str | None


def _dummy(n: int) -> list[list[float]]:
    """Records are looked up by id and metadata only; Chroma still wants a vector per row."""
    return [[1.0]] * n


class ArticleRecords:
    """One row per committed article (metadata + its cleaned text), and the store's meta rows."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.table = client.get_or_create_collection(f"{name}_articles", embedding_function=None)
        self.meta = client.get_or_create_collection(f"{name}_meta", embedding_function=None)

    # -- articles -------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.table.count())

    def get(self, article_id: str) -> ArticleRecord | None:
        got = self.table.get(ids=[article_id], include=["metadatas", "documents"])
        return _record(got["ids"][0], got["metadatas"][0], got["documents"][0]) if got["ids"] else None

    def all(self, with_text: bool = True) -> list[ArticleRecord]:
        got = self._page(["metadatas", "documents"] if with_text else ["metadatas"])
        texts = got.get("documents") or [""] * len(got["ids"])
        return [_record(i, m, t) for i, m, t in zip(got["ids"], got["metadatas"], texts)]

    def find_by_url(self, url: str) -> ArticleRecord | None:
        got = self.table.get(where={"$or": [{"url": url}, {"source": url}]}, limit=1,
                             include=["metadatas", "documents"])
        return _record(got["ids"][0], got["metadatas"][0], got["documents"][0]) if got["ids"] else None

    def find_by_text(self, text: str) -> ArticleRecord | None:
        got = self.table.get(where={"text_hash": text_hash(text)}, limit=1, include=["metadatas", "documents"])
        return _record(got["ids"][0], got["metadatas"][0], got["documents"][0]) if got["ids"] else None

    def put(self, articles: Sequence[ArticleRecord]) -> None:
        batched(self.client, self.table.upsert, [a.id for a in articles], embeddings=_dummy(len(articles)),
                documents=[a.text for a in articles], metadatas=[_metadata(a) for a in articles])

    def delete(self, article_id: str) -> None:
        self.table.delete(ids=[article_id])

    def forget_vectors(self) -> None:
        """Mark every article as not indexed (hash and chunk count cleared) before a reindex."""
        records = [replace(r, hash="", chunks=0) for r in self.all(with_text=False)]
        batched(self.client, self.table.update, [r.id for r in records],
                metadatas=[_metadata(r) for r in records])

    def _page(self, include: list[str], size: int = 5000) -> dict[str, list[Any]]:
        """Every row, fetched in pages (one huge response would hold every article's text at once)."""
        out: dict[str, list[Any]] = {"ids": [], "metadatas": [], "documents": []}
        offset = 0
        while True:
            got = self.table.get(include=include, limit=size, offset=offset)
            for key in out:
                out[key] += got.get(key) or []
            if len(got["ids"]) < size:
                return out
            offset += size

    # -- meta -----------------------------------------------------------------------------------
    def indexed_model(self) -> str | None:
        return self._meta("embed_model")

    def set_model(self, name: str) -> None:
        self._set_meta("embed_model", name)

    def state(self) -> StoreState:
        """The store's meta rows, in one read."""
        got = self.meta.get(ids=["generation", "layout", "embed_model"], include=["documents"])
        values = dict(zip(got["ids"], got["documents"]))
        model = values.get("embed_model")
        return StoreState(str(values.get("generation", "")), str(values.get("layout", "")),
                          None if model is None else str(model))

    def layout(self) -> str:
        return self.state().layout

    def bump(self, layout: bool = False) -> None:
        token = uuid.uuid4().hex
        self._set_meta("generation", token)
        if layout:
            self._set_meta("layout", token)

    def _meta(self, key: str) -> str | None:
        got = self.meta.get(ids=[key], include=["documents"])
        return str(got["documents"][0]) if got["ids"] else None

    def _set_meta(self, key: str, value: str) -> None:
        self.meta.upsert(ids=[key], embeddings=_dummy(1), documents=[value])


def _metadata(article: ArticleRecord) -> dict[str, str | int]:
    return {**{name: getattr(article, name) for name in _FIELDS}, "text_hash": text_hash(article.text)}


def text_hash(text: str) -> str:
    """Finds an article by its cleaned text (ingest refuses to store one text twice)."""
    return hashlib.sha256(text.encode()).hexdigest()


def _record(article_id: str, meta: dict[str, Any], text: str | None) -> ArticleRecord:
    values = {name: str(meta.get(name, "")) for name in _FIELDS if name != "chunks"}
    return ArticleRecord(article_id, **values, chunks=int(meta.get("chunks", 0)), text=text or "")


def newest_first(records: Sequence[ArticleRecord]) -> list[ArticleRecord]:
    by_title = sorted(records, key=lambda r: r.title)
    return sorted(by_title, key=lambda r: r.ingested_at, reverse=True)
