"""Sentence splitting and chunking: pure functions over text, with character offsets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Words that end with a period without ending a sentence (en/fr/es/de).
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "no", "fig",
    "inc", "ltd", "co", "corp", "gen", "col", "lt", "sgt", "gov", "sen", "rep", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "m", "mm", "mme", "mlle", "me",
    "p", "pp", "cf", "env", "sra", "srta", "dña", "ud", "uds", "hr", "fr", "frau", "nr", "bzw",
    "ca", "vgl", "z.b", "u.a", "d.h", "usw", "u.s", "u.k", "a.m", "p.m",
}
_BOUNDARY = re.compile(r"[.!?…]+[\"'»”’)\]]*\s+|\n\s*\n|\n(?=\s*[-*•#])")
_LAST_WORD = re.compile(r"([\w.]+)$")
_OPENING = re.compile(r"[\"'«“‘(\[¿¡\-–—]*\s*[A-ZÀ-ÖØ-Þ0-9ÉÈÊÎÔÛÇ]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int
    end: int


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or an initial, not a sentence."""
    # Only the last few characters: searching all of text[:dot] made long articles quadratic.
    word = _LAST_WORD.search(text, max(0, dot - 40), dot)
    if not word:
        return False
    token = word.group(1).lower().strip(".")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def split_sentences(text: str) -> list[Span]:
    """Sentence spans (start, end) over ``text``, trimmed of surrounding whitespace."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        boundary_text = match.group(0)
        if "\n" not in boundary_text:
            if not _OPENING.match(text, end):
                continue  # the next word is lowercase: "a.m. and", "3.5 million", etc.
            if boundary_text.startswith(".") and _is_abbreviation(text, match.start()):
                continue
        spans.append(Span(start, end))
        start = end
    spans.append(Span(start, len(text)))
    return [s for s in (_trim(text, s) for s in spans) if s.end > s.start]


def _trim(text: str, span: Span) -> Span:
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end)


def _split_long(span: Span, size: int) -> list[Span]:
    """Cut a sentence longer than ``size`` at spaces so no chunk exceeds the size much."""
    pieces: list[Span] = []
    start = span.start
    while span.end - start > size:
        pieces.append(Span(start, start + size))
        start += size
    pieces.append(Span(start, span.end))
    return pieces


def chunk(text: str, size: int, overlap: int) -> list[Chunk]:
    """Pack whole sentences into chunks of about ``size`` characters.

    Consecutive chunks share the trailing sentences of the previous chunk, up to ``overlap``
    characters, so an answer that spans a chunk boundary is still found whole in one chunk.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    sentences = [piece for s in split_sentences(text) for piece in _split_long(s, size)]
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j = i
        while j + 1 < len(sentences) and sentences[j + 1].end - sentences[i].start <= size:
            j += 1
        start, end = sentences[i].start, sentences[j].end
        chunks.append(Chunk(text[start:end], start, end))
        if j + 1 >= len(sentences):
            break
        # Step back over trailing sentences that fit in the overlap, but always move forward.
        k = j + 1
        while k - 1 > i and end - sentences[k - 1].start <= overlap:
            k -= 1
        i = k
    return chunks


def chunk_sentences(pieces: Sequence[tuple[str, str, int]], min_chars: int = 15) -> list[tuple[int, Span]]:
    """Each sentence of overlapping chunks once, as (index of the first piece holding it, its span there).

    ``pieces`` are (group, text, start): chunks of one or many articles (``group``), each with its start
    offset in the article, so a sentence repeated by the chunk overlap is recognised by its article offset.
    Sentences shorter than ``min_chars`` (headings, stray numbers) are left out: they answer nothing.
    """
    seen: set[tuple[str, int]] = set()
    out = []
    for i, (group, text, start) in enumerate(pieces):
        for span in split_sentences(text):
            key = (group, start + span.start)
            if span.end - span.start < min_chars or key in seen:
                continue
            seen.add(key)
            out.append((i, span))
    return out
