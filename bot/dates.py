"""Quotes from articles of different dates: the newest article's lead, and the answer says as of when.

Which of two quoted articles is right is not judged here (no contradiction detection): when the sentences
an answer quotes come from articles that state different dates, the newest one is taken as the current
word and put first when it answers about as well as the best, and its date is said, so an older figure
quoted after it reads as the older one."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.types import Passage

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day(value: str) -> str:
    """The YYYY-MM-DD an ISO 8601 date or timestamp starts with ("" for anything else)."""
    match = _DAY.match(value.strip())
    return match.group(0) if match else ""


def newest_first(passages: Sequence[Passage], scores: Sequence[float], tie: float) -> tuple[list[int], str]:
    """An order of the quoted sentences (given by their passages and scores, best first) that puts the
    newest article's first when one of them scores within ``tie`` of the best (the sentence that answers
    best stays first otherwise); and the date the answer is as of: the newest, when it leads. ("" and the
    same order when the quotes do not come from at least two articles with different dates.)"""
    dates = {p.article_id: day(p.published) for p in passages}
    known = set(dates.values()) - {""}
    order = list(range(len(passages)))
    if len(known) < 2:
        return order, ""
    newest = max(known)
    best = max(scores)
    if not any(dates[p.article_id] == newest and score >= best - tie for p, score in zip(passages, scores)):
        return order, ""
    return sorted(order, key=lambda i: dates[passages[i].article_id] != newest), newest
