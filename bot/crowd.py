"""The crowd: generic text in each language, to measure a question's similarities against.

A multilingual embedder scores an unrelated sentence in the question's own language above a relevant one
in another language, and its cosines say little on their own about whether anything answers. Both are
read against the crowd: for each language, sentences of that language's frequent words (from wordfreq),
embedded once per model and cached on disk. A sentence's *lift* is its cosine with the question minus the
level the crowd of its language reaches (the mean of the crowd's best few cosines): comparable across
languages, and the same from a one-article collection to a large one.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from index.embed import Embedder

SIZE = 256  # sentences per language
WORDS = 14  # words per sentence
VOCABULARY = 3000  # drawn from the most frequent words
TOP = 8  # the crowd's level: the mean of its best TOP cosines


def crowd_sentences(lang: str, n: int = SIZE, seed: int = 0) -> list[str]:
    """``n`` sentences of frequent ``lang`` words, drawn by the square root of their frequency (function
    words and common content words both appear); the same every time."""
    import wordfreq

    words = wordfreq.top_n_list(lang, VOCABULARY)
    try:
        weights = [wordfreq.word_frequency(w, lang) ** 0.5 for w in words]
    except ImportError:  # its tokenizer for this language is not installed (MeCab for Japanese, Korean)
        table = wordfreq.get_frequency_dict(lang)
        weights = [table.get(w, 0.0) ** 0.5 for w in words]
    rng = random.Random(f"{lang}-{seed}")
    return [" ".join(rng.choices(words, weights, k=WORDS)).capitalize() + "." for _ in range(n)]


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


class Crowd:
    """Per-language crowd vectors for one embedder; built on first use, kept in ``cache_dir``."""

    def __init__(self, embedder: Embedder, cache_dir: Path | None) -> None:
        self.embedder = embedder
        self.cache_dir = cache_dir
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def vectors(self, lang: str) -> np.ndarray:
        with self._lock:
            if lang not in self._vectors:
                self._vectors[lang] = self._load_or_build(lang)
            return self._vectors[lang]

    def _load_or_build(self, lang: str) -> np.ndarray:
        path = self.cache_dir / f"crowd-{_safe(self.embedder.name)}-{lang}-{SIZE}x{WORDS}.npy" \
            if self.cache_dir else None
        if path is not None and path.exists():
            return np.load(path)
        try:
            texts = crowd_sentences(lang)
        except LookupError:  # a language wordfreq lacks: the crowd of every language it has, pooled
            texts = [s for other in ("en", "fr", "es", "de") for s in crowd_sentences(other, SIZE // 4)]
        vectors = np.asarray(self.embedder.embed(texts, "passage"), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(path)
        return vectors

    def warm(self, langs: Iterable[str]) -> None:
        for lang in set(langs):
            self.vectors(lang)

    def level(self, query: np.ndarray, lang: str) -> float:
        """How similar the question is to generic ``lang`` text: the mean of the crowd's best cosines."""
        sims = self.vectors(lang) @ query
        return float(np.mean(np.sort(sims)[-TOP:]))
