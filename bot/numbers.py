"""The kind of number a question asks for, and the kinds of the numbers a sentence holds (en, fr, es, de).

"How much of the withdrawal was completed?" wants a share or an amount: a sentence holding "90 %" answers
it, one holding only "20 ans" or "11 septembre" does not, although both hold digits.
"""

from __future__ import annotations

import re

Kind = str  # "percent", "money", "duration", "date", "year", "count"

_MONTHS = (r"january|february|march|april|may|june|july|august|september|october|november|december"
           r"|janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre"
           r"|decembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
           r"|noviembre|diciembre|januar|jänner|februar|märz|maerz|juni|juli|oktober|dezember")
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?")
_AFTER = [
    ("percent", re.compile(r"\s?(%|percent\b|per cent\b|pour ?cent\b|por ciento\b|prozent\b)", re.I)),
    ("money", re.compile(r"\s?(\$|€|£|dollars?\b|euros?\b|pounds?\b|usd\b|eur\b|dólares\b|dolares\b"
                         r"|(million|billion|milliard|millones|millardes|milliarden?|millionen?|mio\.?|mrd\.?)"
                         r"\s+(of\s+|de\s+)?(dollars?|euros?|pounds?|dólares|dolares))", re.I)),
    ("duration", re.compile(r"\s?(-\s?)?(years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centur(y|ies)"
                            r"|ans?|années?|mois|semaines?|jours?|heures?|siècles?|décennies?"
                            r"|años?|meses|mes|semanas?|días?|dias?|horas?|minutos?|siglos?|décadas?"
                            r"|jahre?n?|monate?n?|wochen?|tage?n?|stunden?|minuten?|jahrhunderte?n?)\b", re.I)),
    ("date", re.compile(rf"(\.|er|st|nd|rd|th)?\s?(de\s+)?({_MONTHS})\b", re.I)),
]
_BEFORE_MONEY = re.compile(r"(\$|€|£|US\$|USD|EUR)\s?$")
_BEFORE_DATE = re.compile(rf"\b({_MONTHS})\s+$", re.I)
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")

# Question openings and the kinds that answer them; the first pattern that matches decides.
_WANTED: list[tuple[re.Pattern[str], frozenset[Kind]]] = [
    (re.compile(r"\b(what (percentage|percent|share|proportion)|quel(le)? (pourcentage|part|proportion)"
                r"|qu[ée] (porcentaje|proporci[óo]n)|wie viel prozent|welche[nr]? (anteil|prozentsatz))\b", re.I),
     frozenset({"percent"})),
    (re.compile(r"\b(how long|combien de temps|pendant combien|depuis combien|cu[áa]nto tiempo|wie lange"
                r"|how many (years|months|weeks|days|hours|minutes|decades|centuries)"
                r"|combien d['’]?(ann[ée]es|ans|mois|semaines|jours|heures)"
                r"|cu[áa]nt[oa]s (a[ñn]os|meses|semanas|d[íi]as|horas)|wie viele (jahre|monate|wochen|tage|stunden))\b",
                re.I), frozenset({"duration"})),
    (re.compile(r"\b(how old|quel [âa]ge|qu[ée] edad|wie alt)\b", re.I), frozenset({"duration", "count"})),
    (re.compile(r"\b(what year|which year|in what year|en quelle ann[ée]e|quelle ann[ée]e|en qu[ée] a[ñn]o"
                r"|qu[ée] a[ñn]o|in welchem jahr|welches jahr)\b", re.I), frozenset({"year", "date"})),
    (re.compile(r"\b(when|what date|which date|quand|quelle date|[àa] quelle date|cu[áa]ndo|qu[ée] fecha"
                r"|wann|an welchem tag|welches datum)\b", re.I), frozenset({"year", "date"})),
    (re.compile(r"\b(how much|combien co[ûu]te|cu[áa]nto cuesta|wie viel kostet|what (price|cost|amount)"
                r"|quel (prix|montant|co[ûu]t)|qu[ée] (precio|cantidad)|welche[nr]? (preis|betrag))\b", re.I),
     frozenset({"percent", "money", "count"})),
    (re.compile(r"\b(how (many|much|far|big|large|tall|high|often)|combien|cu[áa]nt[oa]s?"
                r"|wie (viele?|hoch|gro[ßs]|weit|oft))\b", re.I), frozenset({"count", "percent", "money"})),
]


def wanted_kinds(question: str) -> frozenset[Kind]:
    """The kinds of number that answer ``question`` (empty: it does not ask for a number)."""
    for pattern, kinds in _WANTED:
        if pattern.search(question):
            return kinds
    return frozenset()


def number_kinds(text: str) -> set[Kind]:
    """The kind of each number in ``text``, read from the words around it."""
    kinds: set[Kind] = set()
    for m in _NUMBER.finditer(text):
        after, before = text[m.end():m.end() + 40], text[max(0, m.start() - 12):m.start()]
        kind = next((k for k, pattern in _AFTER if pattern.match(after)), None)
        if kind is None:
            if _BEFORE_MONEY.search(before):
                kind = "money"
            elif _YEAR.match(m.group(0)):
                kind = "year"
            elif _BEFORE_DATE.search(before):
                kind = "date"
            else:
                kind = "count"
        kinds.add(kind)
    return kinds


def holds_wanted(wanted: frozenset[Kind], text: str) -> bool:
    """Whether ``text`` holds a number of a kind in ``wanted`` (``wanted_kinds`` of the question)."""
    return bool(wanted) and bool(wanted & number_kinds(text))
