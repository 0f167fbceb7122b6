"""The extractive answerer: quote the retrieved sentences that answer the question, verbatim."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from langchain_core.documents import Document

from bot import messages
from bot.config import AnswerSettings
from bot.types import Answer, Source
from index.bm25 import tokenize
from index.chunk import split_sentences
from index.embed import Embedder, Kind


class VectorLRU:
    """A bounded map text -> vector, so repeated sentences and questions are embedded once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: Sequence[str], kind: Kind) -> np.ndarray:
        keys = [(embedder.name, kind, t) for t in texts]
        with self.lock:
            missing = list(dict.fromkeys(k[2] for k in keys if k not in self.items))
        if missing:
            fresh = embedder.embed(missing, kind)
            with self.lock:
                for text, vector in zip(missing, fresh):
                    self.items[(embedder.name, kind, text)] = vector
        with self.lock:
            rows = []
            for key in keys:
                self.items.move_to_end(key)
                rows.append(self.items[key])
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


# Shared by the retriever and the answerer: one embedding of the question per ask.
QUERY_VECTORS = VectorLRU(256)


def query_vector(embedder: Embedder, query: str) -> np.ndarray:
    return QUERY_VECTORS.embed(embedder, [query], "query")[0]


class Answerer(Protocol):
    def answer(self, question: str, query: str, docs: Sequence[Document], lang: str) -> Answer: ...


@dataclass(frozen=True)
class Candidate:
    doc: Document
    start: int  # offsets inside the chunk text
    end: int

    @property
    def text(self) -> str:
        return self.doc.page_content[self.start:self.end]


def candidates(docs: Sequence[Document], min_chars: int = 15) -> list[Candidate]:
    """Every sentence of the retrieved chunks (each sentence once, even where chunks overlap)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for doc in docs:
        for span in split_sentences(doc.page_content):
            key = (doc.metadata.get("article_id", ""), doc.metadata.get("start", 0) + span.start)
            if span.end - span.start < min_chars or key in seen:
                continue
            seen.add(key)
            out.append(Candidate(doc, span.start, span.end))
    return out


def overlap(question: str, sentence: str, lang_q: str, lang_s: str) -> float:
    """Share of the question's content words that the sentence contains (same-language only)."""
    if lang_q != lang_s:
        return 0.0
    q_terms = set(tokenize(question, lang_q))
    if not q_terms:
        return 0.0
    return len(q_terms & set(tokenize(sentence, lang_s))) / len(q_terms)


class ExtractiveAnswerer:
    """Scores sentences by embedding similarity, lexical overlap and chunk score; quotes the best."""

    def __init__(self, embedder: Embedder, cfg: AnswerSettings) -> None:
        self.embedder = embedder
        self.cfg = cfg
        self.sentences = VectorLRU(50_000)  # ~75 MB at 384-d: chunks are re-read across questions

    def embed_inputs_for(self, docs: Sequence[Document]) -> list[str]:
        """The sentence texts ``answer`` embeds for these chunks (lets a caller warm a cache in bulk)."""
        return [c.text for c in candidates(docs)]

    def score(self, query: str, lang: str, cands: Sequence[Candidate]) -> np.ndarray:
        q = query_vector(self.embedder, query)
        sents = self.sentences.embed(self.embedder, [c.text for c in cands], "passage")
        similarity = sents @ q
        lexical = np.array([overlap(query, c.text, lang, c.doc.metadata.get("language", ""))
                            for c in cands])
        chunk = np.array([float(c.doc.metadata.get("score", 0.0)) for c in cands])
        preferred = np.array([bool(c.doc.metadata.get("preferred")) for c in cands], dtype=float)
        cfg = self.cfg
        return (cfg.w_sentence * similarity + cfg.w_chunk * chunk + cfg.w_lexical * lexical
                + cfg.w_preferred * preferred)

    def answer(self, question: str, query: str, docs: Sequence[Document], lang: str) -> Answer:
        cands = candidates(docs)
        if not cands:
            return abstain(question, query, lang)
        scores = self.score(query, lang, cands)
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        if best < self.cfg.min_score:
            return abstain(question, query, lang)
        chosen = [int(i) for i in order[: self.cfg.max_sentences]
                  if scores[i] >= best - self.cfg.second_margin]
        chosen.sort(key=lambda i: (cands[i].doc.metadata.get("rank", 0), cands[i].start))
        sources = [make_source(n, cands[i], float(scores[i])) for n, i in enumerate(chosen, 1)]
        text = " ".join(f"{s.quote} [{s.n}]" for s in sources)
        return Answer(answer=text, abstained=False, sources=sources, query=query, question=question)


def make_source(n: int, cand: Candidate, score: float) -> Source:
    meta = cand.doc.metadata
    return Source(
        n=n, article_id=meta.get("article_id", ""), title=meta.get("title", ""),
        url=meta.get("url", ""), quote=re.sub(r"\s+", " ", cand.text), score=score,
        passage=cand.doc.page_content, quote_start=cand.start, quote_end=cand.end,
        language=meta.get("language", ""), published=meta.get("published", ""),
        ingested_at=meta.get("ingested_at", ""),
    )


def abstain(question: str, query: str, lang: str) -> Answer:
    return Answer(answer=messages.text("dont_know", lang), abstained=True, query=query, question=question)
