"""The extractive answerer: quote the retrieved sentences that answer the question, verbatim."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bot import messages
from bot.config import AnswerSettings
from bot.crowd import Crowd
from bot.dates import newest_first
from bot.numbers import holds_wanted, wanted_kinds
from bot.types import Answer, Passage, Retrieval, Source
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
    def answer(self, question: str, query: str, retrieval: Retrieval, lang: str,
               avoid: Sequence[str] = ()) -> Answer: ...


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int  # offsets inside the chunk text
    end: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]

    @property
    def id(self) -> str:
        """The id the library stores this sentence's vector under."""
        return sentence_id(self.passage.article_id, self.passage.start + self.start)


def candidates(passages: Sequence[Passage], min_chars: int = 15) -> list[Candidate]:
    """Every sentence of the retrieved chunks (each sentence once, even where chunks overlap)."""
    pieces = [(p.article_id, p.text, p.start) for p in passages]
    return [Candidate(passages[i], span.start, span.end) for i, span in chunk_sentences(pieces, min_chars)]


def overlap(q_terms: set[str], sentence: str, lang_q: str, lang_s: str) -> float:
    """Share of the question's content words (``q_terms``, its index terms) that the sentence contains
    (same-language only)."""
    if lang_q != lang_s or not q_terms:
        return 0.0
    return len(q_terms & set(tokenize(sentence, lang_s))) / len(q_terms)


_NAME_OR_NUMBER = re.compile(r"\b(?:\d[\d.,]*\d|\d|[A-ZÀ-ÖØ-Þ][\w'’-]*)")


_DIGIT = re.compile(r"\d")


def has_number(text: str) -> bool:
    return _DIGIT.search(text) is not None


def number_signals(question: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Per sentence: "type", the question asks for a number and the sentence holds a digit; "kind", it
    holds a number of a kind the question asks for."""
    wanted = wanted_kinds(question)
    return {"type": np.array([has_number(t) for t in texts], dtype=float) * bool(wanted),
            "kind": np.array([holds_wanted(wanted, t) for t in texts], dtype=float)}


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
                 stored: StoredSentences | None = None, crowd: Crowd | None = None) -> None:
        self.embedder = embedder
        self.cfg = cfg
        self.crowd = crowd
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

    def features(self, query: str, lang: str, cands: Sequence[Candidate],
                 sentences: int) -> dict[str, np.ndarray]:
        """Per-candidate signals; ``combine`` weighs them (kept apart so scripts/fit_answerer.py can fit).
        ``sentences``: how many the collection searched holds."""
        q = query_vector(self.queries, self.embedder, query)
        sents = self.sentence_vectors(cands)
        passages = [c.passage for c in cands]
        names = names_and_numbers(query)
        q_terms = set(tokenize(query, lang))
        sims = sents @ q
        chunk = np.array([p.score for p in passages])
        # The crowd's level for each candidate's language (0 without a crowd: raw cosines).
        levels = {lang: self.crowd.level(q, lang) if self.crowd else 0.0 for lang in {p.language for p in passages}}
        level = np.array([levels[p.language] for p in passages])
        return {
            "sentence": sims,
            "lift": sims - level,
            "chunk": chunk,
            "chunk_lift": chunk - level,
            "lexical": np.array([overlap(q_terms, c.text, lang, c.passage.language) for c in cands]),
            "preferred": np.array([p.preferred for p in passages], dtype=float),
            "names": np.array([name_overlap(names, c.text) for c in cands]),
            **number_signals(query, [c.text for c in cands]),
            "previous": previous_similarity(cands, sims - level),
            "same_lang": np.array([p.language == lang for p in passages], dtype=float),
            "small": np.full(len(cands), float(sentences < self.cfg.small_collection)),
        }

    def answer(self, question: str, query: str, retrieval: Retrieval, lang: str,
               avoid: Sequence[str] = ()) -> Answer:
        """The best sentence first, then up to ``max_sentences - 1`` more scoring within ``second_margin``.

        ``avoid``: texts already said (the previous answer, for a follow-up): their sentences yield to
        others that score about as well, but are quoted again when they answer best.
        """
        cands = candidates(retrieval.passages)
        if not cands:
            return abstain(question, query, lang)
        feats = self.features(query, lang, cands, retrieval.sentences)
        scores = combine(self.cfg, feats)
        if confidence(self.cfg, feats, scores) < self.cfg.min_score:
            return abstain(question, query, lang)
        said = np.array([any(" ".join(c.text.split()) in t for t in avoid) for c in cands], dtype=float)
        ranked = scores - SAID_PENALTY * said
        order = np.argsort(-ranked, kind="stable")
        best = float(ranked[order[0]])
        chosen = [int(i) for i in order[: self.cfg.max_sentences] if ranked[i] >= best - self.cfg.second_margin]
        newest, as_of = newest_first([cands[i].passage for i in chosen], [ranked[i] for i in chosen],
                                     self.cfg.date_tie)
        chosen = [chosen[j] for j in newest]
        sources, number = cite(cands, chosen, scores)
        text = " ".join(f"{flat(cands[i].text)} [{number[i]}]" for i in chosen)
        if as_of:
            text = f"{messages.text('as_of', lang, date=as_of)} {text}"
        return Answer(answer=text, abstained=False, sources=sources, query=query, question=question)


# A sentence the previous answer quoted yields to one scoring about as well, not to a weaker one.
SAID_PENALTY = 0.01


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def cite(cands: Sequence[Candidate], chosen: Sequence[int], scores: np.ndarray
         ) -> tuple[list[Source], dict[int, int]]:
    """One source per passage, numbered in the order the answer cites them (a passage quoted twice is
    listed once, with both quotes); and each chosen candidate's number."""
    by_passage: dict[str, list[int]] = {}
    for i in chosen:
        by_passage.setdefault(cands[i].passage.chunk_id, []).append(i)
    sources = [make_source(n, [cands[i] for i in group], float(scores[group[0]]))
               for n, group in enumerate(by_passage.values(), 1)]
    return sources, {i: n for n, group in enumerate(by_passage.values(), 1) for i in group}


def previous_similarity(cands: Sequence[Candidate], sims: np.ndarray) -> np.ndarray:
    """Each sentence's preceding sentence's similarity (same chunk): the context that leads to it."""
    out = np.zeros(len(cands))
    for i in range(1, len(cands)):
        if cands[i].passage is cands[i - 1].passage:
            out[i] = sims[i - 1]
    return out


def combine(cfg: AnswerSettings, f: dict[str, np.ndarray]) -> np.ndarray:
    """Each candidate sentence's score: the fitted weights over its signals, plus the page's preference."""
    score = cfg.preferred_bonus * f["preferred"]
    for name, weight in cfg.score_weights.items():
        score = score + weight * f[name]
    return score


# The question-level evidence the don't-know rule weighs.
EVIDENCE = ("best", "lift", "chunk_lift", "spread", "names", "lexical", "cross", "small", "level")


def evidence(cfg: AnswerSettings, f: dict[str, np.ndarray], scores: np.ndarray) -> dict[str, float]:
    """How well the best candidates answer, none of it counting the page's preference (a page the question
    has nothing to do with must not make the bot answer)."""
    plain = scores - cfg.preferred_bonus * f["preferred"]
    top = int(plain.argmax())
    return {"best": float(plain.max()), "lift": float(f["lift"].max()), "chunk_lift": float(f["chunk_lift"].max()),
            "spread": float(f["lift"].max() - f["lift"].mean()), "names": float(f["names"].max()),
            "lexical": float(f["lexical"].max()),
            # The best sentence is in another language than the question (cross-language cosines run lower).
            "cross": 1.0 - float(f["same_lang"][top]),
            # How close the question sits to any text of the best sentence's language (its crowd's level):
            # the embedder places some languages' questions nearer to everything, lowering every lift.
            "level": float(f["sentence"][top] - f["lift"][top]),
            "small": float(f["small"][0])}


def confidence(cfg: AnswerSettings, f: dict[str, np.ndarray], scores: np.ndarray) -> float:
    """How sure the answerer is that the articles answer at all; compared with ``cfg.min_score``."""
    if not scores.size:
        return float("-inf")
    e = evidence(cfg, f, scores)
    return sum(weight * e[name] for name, weight in cfg.confidence_weights.items())


def make_source(n: int, quoted: Sequence[Candidate], score: float) -> Source:
    """The source of passage ``quoted[0].passage``; ``quoted`` are its cited sentences, best first."""
    p = quoted[0].passage
    spans = tuple(sorted((c.start, c.end) for c in quoted))
    return Source(
        n=n, article_id=p.article_id, title=p.title, url=p.url, quote=flat(quoted[0].text),
        score=score, passage=p.text, quote_start=quoted[0].start, quote_end=quoted[0].end, language=p.language,
        published=p.published, ingested_at=p.ingested_at, quotes=spans,
    )


def abstain(question: str, query: str, lang: str) -> Answer:
    return Answer(answer=messages.text("dont_know", lang), abstained=True, query=query, question=question)
