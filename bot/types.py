"""What the bot returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    n: int
    article_id: str
    title: str
    url: str
    quote: str  # the cited sentence, verbatim
    score: float
    passage: str = ""  # the chunk the quote was found in
    quote_start: int = 0  # the quote's offsets inside ``passage``
    quote_end: int = 0
    language: str = ""
    published: str = ""
    ingested_at: str = ""

    def to_json(self) -> dict[str, object]:
        return {"n": self.n, "article_id": self.article_id, "title": self.title, "url": self.url,
                "quote": self.quote, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    answer: str
    abstained: bool
    sources: list[Source] = field(default_factory=list)
    query: str = ""  # the standalone question that was searched
    question: str = ""  # what the user typed
    note: str = ""  # e.g. "searched this page first"

    def to_json(self) -> dict[str, object]:
        return {"answer": self.answer, "abstained": self.abstained,
                "sources": [s.to_json() for s in self.sources], "query": self.query}
