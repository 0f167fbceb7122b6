"""Passage vectors kept between runs: a second run of the benchmark embeds only the questions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.embed import Embedder, Kind

Progress = Callable[[str, float], None]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class CachedEmbedder:
    """Passage vectors kept in memory and in ``.npz`` files; queries go straight to the model.

    Reads every file in ``also`` too (the per-corpus caches a mixed collection draws on); writes only
    ``path``.
    """

    def __init__(self, inner: Embedder, path: Path | None, also: Sequence[Path] = ()) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.dirty = False
        for source in [*also, *([path] if path else [])]:
            if source.exists():
                with np.load(source) as data:
                    self.vectors.update(zip(data["keys"].tolist(), data["vectors"]))

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind != "passage":
            return self.inner.embed(texts, kind)
        keys = [_text_key(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self.vectors))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing, kind)):
                self.vectors[_text_key(text)] = vector
            self.dirty = True
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(self.vectors)), vectors=np.stack(list(self.vectors.values())))
        tmp.replace(self.path)
        self.dirty = False


def embed_in_batches(embedder: Embedder, texts: Sequence[str], label: str, progress: Progress | None,
                     batch: int = 64) -> None:
    """Warm ``embedder``'s cache in batches (one big call pads less than many small ones)."""
    texts = list(dict.fromkeys(texts))
    for start in range(0, len(texts), batch):
        if progress:
            progress(f"embedding {label} {start}/{len(texts)}", start / max(len(texts), 1))
        embedder.embed(texts[start:start + batch], "passage")
