"""Quotes from articles of different dates: the newest article's lead, and the answer says as of when.

Which of two quoted articles is right is not judged here (no contradiction detection): when the sentences
an answer quotes come from articles that state different dates, the newest one is taken as the current
word and put first, and its date is said, so an older figure quoted after it reads as the older one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.types import Passage

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day(value: str) -> str:
    """The YYYY-MM-DD an ISO 8601 date or timestamp starts with ("" for anything else)."""
    match = _DAY.match(value.strip())
    return match.group(0) if match else ""


def newest_first(passages: Sequence[Passage]) -> tuple[list[int], str]:
    """An order of the quoted sentences (given by their passages) that puts those of the newest article
    first, the rest in their order; and the date to say the answer is as of. ("" and the same order when
    the quotes do not come from at least two articles with different dates.)"""
    dates = {p.article_id: day(p.published) for p in passages}
    known = set(dates.values()) - {""}
    order = list(range(len(passages)))
    if len(known) < 2:
        return order, ""
    newest = max(known)
    return sorted(order, key=lambda i: dates[passages[i].article_id] != newest), newest
