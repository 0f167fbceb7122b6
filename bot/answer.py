"""The extractive answerer: quote the retrieved sentences that answer the question, verbatim."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from langchain_core.documents import Document

from bot import messages
from bot.config import AnswerSettings
from bot.types import Answer, Source
from index.bm25 import fold, tokenize
from index.chunk import chunk_sentences
from index.embed import Embedder, Kind
from index.store import sentence_id


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


def query_vector(cache: VectorLRU, embedder: Embedder, query: str) -> np.ndarray:
    return cache.embed(embedder, [query], "query")[0]


StoredSentences = Callable[[Sequence[str]], dict[str, tuple[str, np.ndarray]]]


class Answerer(Protocol):
    def answer(self, question: str, query: str, docs: Sequence[Document], lang: str,
               avoid: Sequence[str] = ()) -> Answer: ...


@dataclass(frozen=True)
class Candidate:
    doc: Document
    start: int  # offsets inside the chunk text
    end: int

    @property
    def text(self) -> str:
        return self.doc.page_content[self.start:self.end]

    @property
    def id(self) -> str:
        """The id the library stores this sentence's vector under."""
        meta = self.doc.metadata
        return sentence_id(meta.get("article_id", ""), int(meta.get("start", 0)) + self.start)


def candidates(docs: Sequence[Document], min_chars: int = 15) -> list[Candidate]:
    """Every sentence of the retrieved chunks (each sentence once, even where chunks overlap)."""
    pieces = [(d.metadata.get("article_id", ""), d.page_content, int(d.metadata.get("start", 0))) for d in docs]
    return [Candidate(docs[i], span.start, span.end) for i, span in chunk_sentences(pieces, min_chars)]


def overlap(question: str, sentence: str, lang_q: str, lang_s: str) -> float:
    """Share of the question's content words that the sentence contains (same-language only)."""
    if lang_q != lang_s:
        return 0.0
    q_terms = set(tokenize(question, lang_q))
    if not q_terms:
        return 0.0
    return len(q_terms & set(tokenize(sentence, lang_s))) / len(q_terms)


# Questions whose answer is a number, a date or a quantity (en, fr, es, de).
_WANTS_NUMBER = re.compile(
    r"\b(how (many|much|long|old|far|big|large|tall|high|often)|what (year|percentage|percent|date)"
    r"|which year|in what year|when|combien|quand|en quelle ann[ée]e|quel [âa]ge|quelle date"
    r"|cu[áa]nt[oa]s?|cu[áa]ndo|en qu[ée] a[ñn]o|wie (viele?|lange|alt|hoch|gro[ßs])|wann|in welchem jahr)\b",
    re.IGNORECASE)
_NAME_OR_NUMBER = re.compile(r"\b(?:\d[\d.,]*\d|\d|[A-ZÀ-ÖØ-Þ][\w'’-]*)")


def wants_number(question: str) -> bool:
    return bool(_WANTS_NUMBER.search(question))


def has_number(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def names_and_numbers(question: str) -> set[str]:
    """Capitalised words (past the first) and numbers: they are spelled alike across languages."""
    found = [fold(m.group(0)).strip(".,") for m in _NAME_OR_NUMBER.finditer(question)]
    first = re.match(r"\W*(\w+)", question)
    skip = fold(first.group(1)) if first else ""
    return {w for w in found if w and w != skip and len(w) > 1}


def name_overlap(names: set[str], sentence: str) -> float:
    """Share of the question's names and numbers present in the sentence, in any language."""
    if not names:
        return 0.0
    words = set(re.findall(r"[\w'’-]+|\d[\d.,]*\d", fold(sentence)))
    return len(names & words) / len(names)


class ExtractiveAnswerer:
    """Scores sentences by embedding similarity, lexical overlap and chunk score; quotes the best."""

    def __init__(self, embedder: Embedder, cfg: AnswerSettings, queries: VectorLRU | None = None,
                 stored: StoredSentences | None = None) -> None:
        self.embedder = embedder
        self.cfg = cfg
        # Shared with the retriever (see Bot): the question is embedded once per ask.
        self.queries = queries or VectorLRU(256)
        # Sentence vectors come from the library (embedded at ingest); the rest are embedded here once.
        self.stored = stored
        self.sentences = VectorLRU(20_000)  # ~30 MB at 384-d

    def sentence_vectors(self, cands: Sequence[Candidate]) -> np.ndarray:
        if not cands:
            return np.zeros((0, 0), dtype=np.float32)
        known = self.stored([c.id for c in cands]) if self.stored else {}
        fresh = [c.text for c in cands if c.id not in known or known[c.id][0] != c.text]
        embedded = dict(zip(fresh, self.sentences.embed(self.embedder, fresh, "passage"))) if fresh else {}
        return np.stack([embedded[c.text] if c.text in embedded else known[c.id][1] for c in cands])

    def features(self, query: str, lang: str, cands: Sequence[Candidate]) -> dict[str, np.ndarray]:
        """Per-candidate signals; ``combine`` weighs them (kept apart so scripts/calibrate.py can tune)."""
        q = query_vector(self.queries, self.embedder, query)
        sents = self.sentence_vectors(cands)
        meta = [c.doc.metadata for c in cands]
        names = names_and_numbers(query)
        sims = sents @ q
        return {
            "sentence": sims,
            "chunk": np.array([float(m.get("score", 0.0)) for m in meta]),
            # The chunk's cosine where the chunk vectors themselves found it (the confidence's gap).
            "dense": np.array([float(m.get("score", 0.0)) * bool(m.get("by_chunk_vector", True)) for m in meta]),
            "rank": np.array([float(m.get("rank", 0) or 1) for m in meta]),
            "lexical": np.array([overlap(query, c.text, lang, m.get("language", ""))
                                 for c, m in zip(cands, meta)]),
            "preferred": np.array([bool(m.get("preferred")) for m in meta], dtype=float),
            "names": np.array([name_overlap(names, c.text) for c in cands]),
            "type": np.array([has_number(c.text) for c in cands], dtype=float) * wants_number(query),
            "previous": previous_similarity(cands, sims),
            "salience": np.array([np.nan if m.get("salience") is None else float(m["salience"]) for m in meta]),
        }

    def score(self, query: str, lang: str, cands: Sequence[Candidate]) -> np.ndarray:
        return combine(self.cfg, self.features(query, lang, cands))

    def answer(self, question: str, query: str, docs: Sequence[Document], lang: str,
               avoid: Sequence[str] = ()) -> Answer:
        """``avoid``: texts already said (the previous answer, for a follow-up): their sentences are
        not quoted again while other sentences remain."""
        cands = candidates(docs)
        if not cands:
            return abstain(question, query, lang)
        feats = self.features(query, lang, cands)
        scores = combine(self.cfg, feats)
        if confidence(self.cfg, feats, scores) < self.cfg.min_score:
            return abstain(question, query, lang)
        said = [i for i, c in enumerate(cands) if any(" ".join(c.text.split()) in t for t in avoid)]
        if len(said) < len(cands):
            scores = scores.copy()
            scores[said] = -np.inf
        order = np.argsort(-scores)
        best = float(scores[order[0]])
        chosen = [int(i) for i in order[: self.cfg.max_sentences]
                  if scores[i] >= best - self.cfg.second_margin]
        chosen.sort(key=lambda i: (cands[i].doc.metadata.get("rank", 0), cands[i].start))
        sources = [make_source(n, cands[i], float(scores[i])) for n, i in enumerate(chosen, 1)]
        text = " ".join(f"{s.quote} [{s.n}]" for s in sources)
        return Answer(answer=text, abstained=False, sources=sources, query=query, question=question)


def previous_similarity(cands: Sequence[Candidate], sims: np.ndarray) -> np.ndarray:
    """Each sentence's preceding sentence's similarity (same chunk): the context that leads to it."""
    out = np.zeros(len(cands))
    for i in range(1, len(cands)):
        if cands[i].doc is cands[i - 1].doc:
            out[i] = sims[i - 1]
    return out


def combine(cfg: AnswerSettings, f: dict[str, np.ndarray]) -> np.ndarray:
    return (cfg.w_sentence * f["sentence"] + cfg.w_chunk * f["chunk"] + cfg.w_lexical * f["lexical"]
            - cfg.w_rank * np.log(f["rank"]) + cfg.w_preferred * f["preferred"] + cfg.w_names * f["names"]
            + cfg.w_type * f["type"] + cfg.w_previous * f["previous"])


def confidence(cfg: AnswerSettings, f: dict[str, np.ndarray], scores: np.ndarray) -> float:
    """How sure the answerer is that the articles answer at all; compared with ``cfg.min_score``.

    Best sentence and best chunk similarity, how far the best chunk and the best sentence stand out
    from the others retrieved, and the question's names/numbers found: a question about something the
    articles never mention scores low and flat (scripts/calibrate.py).
    """
    if not scores.size:
        return float("-inf")
    sentence = np.sort(f["sentence"])
    dense = f["dense"][f["dense"] > 0]  # only hits of the chunk vectors: calibrated on their spread
    chunk_gap = float(dense.max() - dense.min()) if dense.size else 0.0
    sentence_gap = float(sentence[-1] - sentence[-2]) if sentence.size > 1 else 0.0
    salience = f["salience"][0] if "salience" in f and not np.isnan(f["salience"][0]) else cfg.salience_prior
    return float(sentence[-1] + cfg.c_chunk * f["chunk"].max() + cfg.c_names * f["names"].max()
                 + cfg.c_gap * chunk_gap + cfg.c_sentence_gap * sentence_gap + cfg.c_salience * salience)


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
