"""Checks on what a user types, light enough to run before anything heavy is imported or loaded."""

from __future__ import annotations

from index.errors import InputError

MAX_CHARS = 2000


def checked_text(text: str | None, what: str, hint: str) -> str:
    """A question or query, stripped; empty or overlong ones are refused with a reason."""
    text = (text or "").strip()
    if not text:
        raise InputError(f"The {what} is empty.", hint)
    if len(text) > MAX_CHARS:
        raise InputError(f"The {what} is too long (over {MAX_CHARS} characters).", "Shorten it.")
    return text


def checked_question(question: str | None) -> str:
    return checked_text(question, "question", "Type a question about the articles.")
