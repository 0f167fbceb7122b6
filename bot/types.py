"""Typed contracts between the stages: what the retriever hands the answerer, and what the bot returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal


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
    # Sentence vectors in the collection searched (the don't-know rule treats small collections apart).
    sentences: int = 0


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
class Support:
    """How far one cited passage backs one sentence of a generated answer (bot/citations.py)."""

    cited: int  # the passage number as the model wrote it
    supported: bool
    reason: str  # why not ("" when supported)
    lift: float = 0.0  # best cosine of the sentence with a sentence of the passage, above the crowd
    overlap: float = 0.0  # share of the sentence's content words in the passage (same language)
    names: float = 1.0  # share of its names and numbers found in the passage
    quote: str = ""  # the passage's sentence that backs it best

    def to_json(self) -> dict[str, object]:
        return {"cited": self.cited, "supported": self.supported, "reason": self.reason,
                "lift": round(self.lift, 4), "overlap": round(self.overlap, 3), "names": round(self.names, 3),
                "quote": self.quote}


Verdict = Literal["supported", "unsupported", "uncited", "no_claim"]


@dataclass(frozen=True)
class Check:
    """One sentence of a generated answer and the check of its citations."""

    sentence: str  # as generated, citation markers removed
    verdict: Verdict  # unsupported / uncited sentences are marked in the answer
    kept: tuple[int, ...] = ()  # its citations in the final answer (renumbered as cited)
    supports: tuple[Support, ...] = ()  # one per citation the model wrote

    def to_json(self) -> dict[str, object]:
        return {"sentence": self.sentence, "verdict": self.verdict, "kept": list(self.kept),
                "citations": [s.to_json() for s in self.supports]}


@dataclass(frozen=True)
class Answer:
    answer: str
    abstained: bool
    sources: list[Source] = field(default_factory=list)
    query: str = ""  # the standalone question that was searched
    question: str = ""  # what the user typed
    note: str = ""  # e.g. "searched this page first"
    # A generated answer: each sentence and how its citations were checked (empty for quoted answers).
    checks: tuple[Check, ...] = ()

    def first_sentence(self) -> str:
        """What a reader meets first: the answer up to its first citation."""
        return "" if self.abstained else _CITATION.split(self.answer, maxsplit=1)[0].strip()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"answer": self.answer, "abstained": self.abstained,
                                  "sources": [s.to_json() for s in self.sources], "query": self.query}
        if self.checks:
            out["checks"] = [c.to_json() for c in self.checks]
        return out
