"""Typed contracts between the stages: what the retriever hands the answerer, and what the bot returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with everything the answerer and the sources panel read."""

    chunk_id: str
    article_id: str
    text: str
    start: int  # the chunk's offsets in the article's cleaned text
    end: int
    rank: int  # 1-based, in the fused ranking
    score: float  # cosine of the question with the chunk vector
    by_chunk_vector: bool  # found by the chunk vectors (not only by sentences or BM25)
    title: str
    url: str
    language: str
    published: str = ""
    ingested_at: str = ""
    preferred: bool = False  # of the page the question was asked from


@dataclass(frozen=True)
class Retrieval:
    """The retriever's result for one query."""

    query: str
    passages: list[Passage]
    # How far the collection's best sentence stands out from its crowd (None: too few sentences to tell).
    salience: float | None = None


@dataclass(frozen=True)
class Source:
    n: int
    article_id: str
    title: str
    url: str
    quote: str  # the first cited sentence of this passage, verbatim
    score: float
    passage: str = ""  # the chunk the quotes were found in
    quote_start: int = 0  # the first quote's offsets inside ``passage``
    quote_end: int = 0
    language: str = ""
    published: str = ""
    ingested_at: str = ""
    # Every quoted span of this passage (offsets inside ``passage``), in reading order.
    quotes: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"n": self.n, "article_id": self.article_id, "title": self.title, "url": self.url,
                "quote": self.quote, "score": round(self.score, 4)}


_CITATION = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class Answer:
    answer: str
    abstained: bool
    sources: list[Source] = field(default_factory=list)
    query: str = ""  # the standalone question that was searched
    question: str = ""  # what the user typed
    note: str = ""  # e.g. "searched this page first"

    def first_sentence(self) -> str:
        """What a reader meets first: the answer up to its first citation."""
        return "" if self.abstained else _CITATION.split(self.answer, maxsplit=1)[0].strip()

    def to_json(self) -> dict[str, object]:
        return {"answer": self.answer, "abstained": self.abstained,
                "sources": [s.to_json() for s in self.sources], "query": self.query}
