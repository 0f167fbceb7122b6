"""Embedders: one required method, a factory keyed by a settings string, and a fake beside the real one."""

from __future__ import annotations

import hashlib
import queue
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from index.config import EmbedSettings

Kind = Literal["query", "passage"]
Progress = Callable[[str, float], None]  # (message, fraction done 0..1)


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors. ``name`` identifies the model an index was built with."""

    name: str

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray: ...


class HashEmbedder:
    """Deterministic bag-of-words hashing embedder: the fake for tests that need no semantics."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hash-{dim}"

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            folded = unicodedata.normalize("NFKD", text.lower())
            for word in re.findall(r"\w+", folded):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


class QueryBatches:
    """Questions asked at the same moment by many threads, embedded together.

    One question per model call costs ~1.5x the CPU of the same question in a batch of 8 (the call's fixed
    work is shared). The first question waits for nobody: a daemon thread takes whatever is queued when it
    is free, so batches form only while it is busy, i.e. under load."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], max_batch: int = 16) -> None:
        self._embed = embed
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def vector(self, text: str) -> np.ndarray:
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="articlebot-queries", daemon=True)
                    self._thread.start()
        return future.result()

    def waiting(self) -> int:
        """Questions queued behind the call in progress."""
        return self._queue.qsize()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                vectors = self._embed([text for text, _ in batch])
            except BaseException as exc:  # each waiting caller gets the error
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)


class SentenceTransformerEmbedder:
    """A sentence-transformers model; the query/passage prompts travel with the model folder. One question
    at a time (a server's many askers) goes through ``QueryBatches``."""

    def __init__(self, model: object, name: str, batch_size: int = 16) -> None:
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.queries = QueryBatches(lambda texts: self._encode(texts, "query"))

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if kind == "query" and len(texts) == 1:
            return self.queries.vector(texts[0])[None, :]
        return self._encode(texts, kind)

    def _encode(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        prompts = getattr(self.model, "prompts", {}) or {}
        return self.model.encode(  # type: ignore[attr-defined]
            list(texts),
            prompt_name=kind if kind in prompts else None,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)


def make_embedder(cfg: EmbedSettings, models_dir: Path, progress: Progress | None = None) -> Embedder:
    """Pick the backend from ``cfg.model``: "hash" (fake), a pack name, a local folder or a hub name."""
    if cfg.model.startswith("hash"):
        return HashEmbedder(_hash_dim(cfg.model))
    from index.models import load_sentence_transformer  # heavy: torch, transformers

    model, name = load_sentence_transformer(cfg, models_dir, progress)
    return SentenceTransformerEmbedder(model, name, cfg.batch_size)


def _hash_dim(model: str) -> int:
    return int(model.split("-", 1)[1]) if "-" in model else 256


def configured_name(cfg: EmbedSettings) -> str:
    """The identity ``make_embedder(cfg, ...)`` will report, known without loading (or converting) anything."""
    if cfg.model.startswith("hash"):
        return f"hash-{_hash_dim(cfg.model)}"
    from index.models import configured_identity  # light: no torch

    return configured_identity(cfg)


class LazyEmbedder:
    """The configured embedder, loaded on the first ``embed`` (or ``load``): commands that only read or
    delete records (``articlebot list``, ``delete``, an empty question) never pay the model's load."""

    def __init__(self, cfg: EmbedSettings, models_dir: Path, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.models_dir = models_dir
        self.progress = progress
        self.name = configured_name(cfg)
        self._loaded: Embedder | None = None
        self._lock = threading.Lock()  # many first questions at once load it once

    def load(self) -> Embedder:
        with self._lock:
            if self._loaded is None:
                self._loaded = make_embedder(self.cfg, self.models_dir, self.progress)
            return self._loaded

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        return (self._loaded or self.load()).embed(texts, kind)
