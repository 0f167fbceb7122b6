"""BM25 text analysis: case and accent folding, stop words and Snowball stemming for en/fr/es/de.

Pure functions; the postings live in memory (see ``index.lexical``).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from functools import lru_cache

_STEMMERS = {"en": "english", "fr": "french", "es": "spanish", "de": "german", "it": "italian",
             "pt": "portuguese", "nl": "dutch"}

_STOPWORDS = {
    "en": "a an and are as at be by for from has have he her his i in is it its of on or she that the "
          "their them they this to was were what when where which who whom why how with did does do "
          "you your we our not but been had will would can could",
    "fr": "a au aux avec ce ces dans de des du elle en et eux il ils je la le les leur lui ma mais me "
          "meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te "
          "tes toi ton tu un une vos votre vous c d j l m n s t y ete est sont etait quel quelle "
          "quels quelles comment pourquoi quand",
    "es": "a al algo como con de del el ella ellas ellos en era es esta este esto la las le les lo los "
          "mas me mi no nos o para pero por que quien se si sin su sus te tu un una uno y ya cual "
          "cuales cuando donde fue",
    "de": "aber als am an auch auf aus bei bin bis das dass dem den der des die du ein eine einem einen "
          "einer er es fur hat hatte ich ihr im in ist mit nach nicht noch oder sich sie sind so uber "
          "um und von vor war was wer wie wird wo zu zum zur welche welcher wann",
}


class _Marks(dict[int, int | None]):
    """A ``str.translate`` table deleting combining marks, filled in as characters are met."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_MARKS = _Marks()


def fold(text: str) -> str:
    """Lowercase and strip accents: "Élysée" -> "elysee"."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text.casefold()).translate(_MARKS)


_local = threading.local()  # a Snowball stemmer keeps its state on itself: one per thread


def _stemmer(lang: str):  # type: ignore[no-untyped-def]
    import snowballstemmer

    stemmers = _local.__dict__.setdefault("stemmers", {})
    if lang not in stemmers:
        name = _STEMMERS.get(lang)
        stemmers[lang] = snowballstemmer.stemmer(name) if name else None
    return stemmers[lang]


@lru_cache(maxsize=500_000)
def _stem(lang: str, word: str) -> str:
    """Stemming is pure Python and slow; vocabularies repeat, so each word is stemmed once."""
    return str(_stemmer(lang).stemWord(word))


@lru_cache(maxsize=16)
def _stopwords(lang: str) -> frozenset[str]:
    return frozenset(_STOPWORDS.get(lang, "").split())


def tokenize(text: str, lang: str) -> list[str]:
    """Index terms of ``text`` in language ``lang``."""
    words = re.findall(r"\w+", fold(text))
    stop = _stopwords(lang)
    words = [w for w in words if w not in stop and (len(w) > 1 or w.isdigit())]
    return [_stem(lang, w) for w in words] if lang in _STEMMERS else words


def idf(df: int, n_docs: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def bm25_weight(tf: int, df: int, n_docs: int, doc_len: int, avg_len: float,
                k1: float = 1.2, b: float = 0.75) -> float:
    return idf(df, n_docs) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / max(avg_len, 1e-9)))
