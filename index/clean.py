"""Remove page furniture that is not the article: comment forms, share bars, cookie notices."""

from __future__ import annotations

import re
import unicodedata

# A line that starts the comment section or another page footer: everything from it on is dropped.
_TAIL_MARKERS = re.compile(
    r"^\s*(laisser un commentaire|laissez un commentaire|leave a (comment|reply)|post a comment|"
    r"add a comment|comments?\s*\(\d+\)|\d+ comments?|kommentar (schreiben|hinterlassen)|"
    r"deja un comentario|deja una respuesta|related (articles|posts)|articles similaires|"
    r"à lire aussi|lire aussi|read more|you may also like)\s*:?\s*$",
    re.IGNORECASE,
)
# Lines that are furniture wherever they stand.
_NOISE_LINES = re.compile(
    r"^\s*(votre adresse (e-?mail|de messagerie) ne sera pas publiée.*|"
    r"your email address will not be published.*|required fields are marked.*|"
    r"les champs obligatoires sont indiqués.*|share (this|on).*|partager( sur)?.*|"
    r"tweet|imprimer|print|subscribe.*|abonnez-vous.*|"
    r"we use cookies.*|nous utilisons des cookies.*|accept(er)? (all )?cookies.*|"
    r"advertisement|publicité|sponsored|"
    r"[\W_]{1,3})\s*$",
    re.IGNORECASE,
)


def normalize_whitespace(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean(text: str) -> str:
    """Article text without its page furniture; paragraphs separated by blank lines."""
    kept: list[str] = []
    for line in normalize_whitespace(text).split("\n"):
        if _TAIL_MARKERS.match(line):
            break
        if line and _NOISE_LINES.match(line):
            continue
        kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
