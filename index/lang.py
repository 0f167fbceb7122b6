"""Language detection (ISO 639-1 codes)."""

from __future__ import annotations

import threading
from functools import lru_cache

SUPPORTED = ("en", "fr", "es", "de", "it", "pt", "nl")
_loading = threading.Lock()


def _identifier():  # type: ignore[no-untyped-def]
    # One load for all threads: lru_cache alone let 20 concurrent first questions load it 20 times
    # (a second of CPU each), which the load benchmark saw as 26 s answers.
    with _loading:
        return _load()


@lru_cache(maxsize=1)
def _load():  # type: ignore[no-untyped-def]
    from py3langid.langid import _load_identifier

    return _load_identifier(norm_probs=True, langs=list(SUPPORTED))


def detect(text: str, default: str = "en") -> str:
    """The text's language among SUPPORTED, or ``default`` when the text is too short to tell."""
    sample = text[:2000]
    if sum(ch.isalpha() for ch in sample) < 3:
        return default
    lang, _prob = _identifier().classify(sample)
    return str(lang)
