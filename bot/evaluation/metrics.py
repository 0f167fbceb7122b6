"""What one question through one system gave, and the figures over many (pure functions).

Units: every rate is a percentage (0-100, one decimal); ``mrr`` is a fraction (0-1, three decimals);
``answer_chars`` is the mean length of an answer (the quoted text, without citation markers); latencies
are milliseconds per question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

DEPTH = 20  # passages retrieved for the rank metrics (hit@20)


def normalize(text: str) -> str:
    """Case, accents, punctuation and spacing folded away: "L'Élysée,  Paris" -> "l elysee paris"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


def contains_answer(answer: str, golds: Iterable[str]) -> bool:
    """True when a gold string appears in the answer as whole words, after normalization."""
    haystack = f" {normalize(answer)} "
    return any(needle and f" {needle} " in haystack for needle in map(normalize, golds))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def gold_rank(ranked: Sequence[str], gold: str) -> int | None:
    """1-based position of ``gold`` in ``ranked`` (distinct passages), None when absent."""
    try:
        return ranked.index(gold) + 1
    except ValueError:
        return None


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def pct(flags: Sequence[bool]) -> float:
    return round(100.0 * sum(flags) / len(flags), 1) if flags else 0.0


@dataclass(frozen=True)
class Outcome:
    """One question through one system."""

    system: str
    slice: str
    qid: str
    question: str
    answers: tuple[str, ...]
    gold_pid: str
    ranked: tuple[str, ...]  # distinct passages, best first
    answer: str
    abstained: bool
    ms: float
    score: float = 0.0  # the answerer's score of its best sentence (when it answered)
    first: str = ""  # what the reader meets first: the first quoted sentence (the whole answer if one)
    # A generated answer's citations: those the model wrote on its claims, and those the check kept.
    cited: int = 0
    kept: int = 0

    @property
    def rank(self) -> int | None:
        return gold_rank(self.ranked, self.gold_pid)

    @property
    def contains(self) -> bool:
        return not self.abstained and contains_answer(self.answer, self.answers)

    @property
    def first_contains(self) -> bool:
        return not self.abstained and contains_answer(self.first or self.answer, self.answers)


def summarize(outcomes: Sequence[Outcome]) -> dict[str, float]:
    ranks = [o.rank for o in outcomes]
    ms = [o.ms for o in outcomes]
    return {
        "n": len(outcomes),
        # The first quoted sentence holds a gold answer: what a reader who reads one sentence gets.
        "answer@1": pct([o.first_contains for o in outcomes]),
        "hit@1": pct([r is not None and r <= 1 for r in ranks]),
        "hit@5": pct([r is not None and r <= 5 for r in ranks]),
        "hit@20": pct([r is not None and r <= DEPTH for r in ranks]),
        "mrr": round(float(np.mean([1.0 / r if r else 0.0 for r in ranks])), 3) if ranks else 0.0,
        "answer_contains": pct([o.contains for o in outcomes]),
        # How much an answer asks the reader to read: characters quoted, citation markers aside.
        "answer_chars": round(float(np.mean(answered)), 1) if (answered := [
            len(re.sub(r"\s*\[\d+\]", "", o.answer)) for o in outcomes if not o.abstained]) else 0.0,
        "abstained": pct([o.abstained for o in outcomes]),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        **citation_precision(outcomes),
    }


def citation_precision(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Generated answers only: the share of the model's citations that the check of the cited passage
    supports (micro-averaged over the slice); empty when nothing was generated."""
    cited = sum(o.cited for o in outcomes)
    return {"citation_precision": round(100.0 * sum(o.kept for o in outcomes) / cited, 1)} if cited else {}


def summarize_scope(outcomes: Sequence[Outcome]) -> dict[str, float]:
    return {"n": len(outcomes), "abstained": pct([o.abstained for o in outcomes])}


def worst_misses(outcomes: Sequence[Outcome], n: int = 15) -> list[Outcome]:
    """Answered-but-wrong first (a confident wrong quote is worse than a don't-know), gold ranked low first."""
    misses = [o for o in outcomes if not o.contains and not o.slice.startswith("out_of_scope")]
    misses.sort(key=lambda o: (o.abstained, -(o.rank or DEPTH + 1), -o.score))
    return misses[:n]
