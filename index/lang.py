"""Language detection (ISO 639-1 codes)."""

from __future__ import annotations

from functools import lru_cache

SUPPORTED = ("en", "fr", "es", "de", "it", "pt", "nl")


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import _load_identifier

    return _load_identifier(norm_probs=True, langs=list(SUPPORTED))


def detect(text: str, default: str = "en") -> str:
    """The text's language among SUPPORTED, or ``default`` when the text is too short to tell."""
    sample = text[:2000]
    if sum(ch.isalpha() for ch in sample) < 3:
        return default
    lang, _prob = _identifier().classify(sample)
    return str(lang)
