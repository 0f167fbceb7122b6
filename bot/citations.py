"""The citation check of a generated answer: every sentence must be backed by the passage it cites.

A sentence's citation is kept when the cited passage exists, every number the sentence states is in it,
and the sentence is close to one of its sentences: the embedder's cosine above the crowd of the passage's
language reaching ``min_lift`` (multilingual: an English claim about a French passage is compared as is,
against the lower ``min_lift_cross``), or most of its content words found there (same language).
Unsupported citations are dropped and the sentence marked; a claim with no citation is marked; sources
list only the passages kept, numbered in the order the answer cites them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.answer import (
    Candidate,
    ExtractiveAnswerer,
    candidates,
    make_source,
    name_overlap,
    names_and_numbers,
    overlap,
)
from bot.config import LLMSettings
from bot.crowd import Crowd
from bot.types import Check, Passage, Source, Support
from index.bm25 import fold, tokenize
from index.embed import Embedder

# [1], [1, 2], [1][2]; the model's own numbering of the passages.
CITATION = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
MARK = "[?]"  # after a sentence no passage backs
_BOUNDARY = re.compile(r"(?<=[.!?…。])\s+|\n+")
_LEADING_CITES = re.compile(r"^(?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])+")
_FINAL_STOP = re.compile(r"(.*?)([.!?…。]*)$", re.DOTALL)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def split_sentences(text: str) -> list[str]:
    """The answer's sentences, each with the citations written after its full stop ("… it. [1]")."""
    pieces = [p.strip() for p in _BOUNDARY.split(text.strip()) if p and p.strip()]
    out: list[str] = []
    for piece in pieces:
        lead = _LEADING_CITES.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end():].strip()
        if piece:
            out.append(piece)
    return out


def cited_numbers(sentence: str) -> list[int]:
    return list(dict.fromkeys(int(n) for group in CITATION.findall(sentence) for n in re.split(r"[,;]", group)))


def strip_citations(sentence: str) -> str:
    bare = CITATION.sub("", sentence).replace(MARK, "")
    return re.sub(r"\s+([.,;:!?…])", r"\1", re.sub(r"\s+", " ", bare)).strip()


def numbers(text: str) -> set[str]:
    """Numbers as written with digits, separators dropped ("1,200" and "1.200" are one number)."""
    return {re.sub(r"[.,]", "", m) for m in _NUMBER.findall(text)}


def word_overlap(claim: str, lang: str, passage: Passage) -> float:
    """Share of the claim's content words in the passage (0 across languages: spelled differently)."""
    return overlap(set(tokenize(claim, lang)), passage.text, lang, passage.language)


@dataclass(frozen=True)
class Checked:
    """The answer after the check: its text with kept (renumbered) citations and marks, and what was done."""

    text: str
    sources: list[Source]
    checks: tuple[Check, ...]

    @property
    def supported(self) -> int:
        return sum(c.verdict == "supported" for c in self.checks)

    @property
    def marked(self) -> int:
        return sum(c.verdict in ("unsupported", "uncited") for c in self.checks)


class CitationChecker:
    def __init__(self, embedder: Embedder, sentences: ExtractiveAnswerer, crowd: Crowd | None,
                 cfg: LLMSettings) -> None:
        self.embedder = embedder
        self.sentences = sentences  # the stored sentence vectors of the passages (embedded at ingest)
        self.crowd = crowd
        self.cfg = cfg

    def check(self, text: str, passages: Sequence[Passage], lang: str, not_claims: Sequence[str] = ()) -> Checked:
        """``text``: the generated answer citing ``passages`` as [1]..[n]; ``lang``: its language;
        ``not_claims``: sentences that state nothing about the articles (the don't-know sentence)."""
        sentences = split_sentences(text)
        bare = [strip_citations(s) for s in sentences]
        skip = {fold(strip_citations(t)).strip(" .") for t in not_claims}
        claims = [i for i, b in enumerate(bare) if b and fold(b).strip(" .") not in skip and re.search(r"\w", b)]
        vectors = self.embedder.embed([bare[i] for i in claims], "query") if claims else np.zeros((0, 0))
        vector_of = dict(zip(claims, vectors))
        per_passage = {n: candidates([p]) for n, p in enumerate(passages, 1)}
        cand_vectors = {n: self.sentences.sentence_vectors(c) for n, c in per_passage.items() if c}
        numbering: dict[int, int] = {}  # the model's number -> the answer's
        quoted: dict[int, list[Candidate]] = {}
        scores: dict[int, float] = {}
        checks: list[Check] = []
        out: list[str] = []
        for i, sentence in enumerate(sentences):
            cited = cited_numbers(sentence)
            if i not in vector_of:
                checks.append(Check(bare[i], "no_claim"))
                if bare[i]:
                    out.append(bare[i])
                continue
            supports = []
            for n in cited:
                support, best = self.support(bare[i], vector_of[i], lang, n, passages, per_passage, cand_vectors)
                supports.append(support)
                if support.supported and best is not None:
                    numbering.setdefault(n, len(numbering) + 1)
                    if best not in quoted.setdefault(n, []):
                        quoted[n].append(best)
                    scores[n] = max(scores.get(n, float("-inf")), support.lift)
            kept = tuple(dict.fromkeys(numbering[s.cited] for s in supports if s.supported))
            verdict = "supported" if kept else "unsupported" if cited else "uncited"
            checks.append(Check(bare[i], verdict, kept, tuple(supports)))
            marks = "".join(f"[{k}]" for k in kept) if kept else MARK
            body, stop = _FINAL_STOP.match(bare[i]).groups()  # type: ignore[union-attr]
            out.append(f"{body} {marks}{stop}")
        sources = [make_source(numbering[n], quoted[n], scores[n]) for n in sorted(numbering, key=numbering.get)]
        return Checked(" ".join(out), sources, tuple(checks))

    def support(self, claim: str, vector: np.ndarray, lang: str, n: int, passages: Sequence[Passage],
                per_passage: dict[int, list[Candidate]], cand_vectors: dict[int, np.ndarray]
                ) -> tuple[Support, Candidate | None]:
        """Support of ``claim`` by passage ``n``, and the passage's sentence that backs it best."""
        if not 1 <= n <= len(passages) or not per_passage.get(n):
            return Support(n, False, f"there is no passage [{n}]"), None
        passage, cands = passages[n - 1], per_passage[n]
        sims = cand_vectors[n] @ vector
        best = int(np.argmax(sims))
        level = self.crowd.level(vector, passage.language) if self.crowd else 0.0
        lift = float(sims[best]) - level
        shared = word_overlap(claim, lang, passage)
        wanted = names_and_numbers(claim)
        names = name_overlap(wanted, passage.text) if wanted else 1.0
        missing = sorted(numbers(claim) - numbers(passage.text))
        if missing:
            reason = f"the passage does not state {', '.join(missing)}"
        elif lift < (self.cfg.min_lift if lang == passage.language else self.cfg.min_lift_cross) \
                and shared < self.cfg.min_overlap:
            reason = "the passage does not say this"
        else:
            reason = ""
        return (Support(n, not reason, reason, lift, shared, names, " ".join(cands[best].text.split())),
                cands[best])
