"""Example questions made from the articles' own sentences: questions a reader would ask, which the
articles answer.

A news sentence usually names who did or said something. Three shapes are recognised, per language (the
verbs and templates are data, in prompts.toml):

- a speaker, then a reporting verb: "Council engineer Maya Okafor said ..." -> "What did Maya Okafor say?";
- a reporting verb at the end: "..., the city council announced on Tuesday." -> "What did the city council
  announce?";
- a subject, then an action verb and its object: "The weather service issued an orange flood warning for
  ..." -> "Who issued an orange flood warning?".

Each article gives at most one question (from its first sentence that fits), in its own language: there is
no translation here, and the bot answers across languages anyway. Articles in the asker's language come
first. An article with no such sentence is asked about by its title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot import messages
from index.chunk import split_sentences

if TYPE_CHECKING:
    from index.store import ArticleRecord

MAX_OBJECT_WORDS = 7
MAX_SPEAKER_WORDS = 6
_NAME = r"[A-ZÀ-ÖØ-Þ][\w'’-]+(?: (?:[A-ZÀ-ÖØ-Þ][\w'’-]+|de|van|von|da|di|du|el|al|bin))*"
_NAME_AT_END = re.compile(r"((?:[A-ZÀ-ÖØ-Þ][\w'’-]+ )+[A-ZÀ-ÖØ-Þ][\w'’-]+)$")
_APPOSITION = re.compile(rf"^.+?, ({_NAME}),$")


@dataclass(frozen=True)
class Patterns:
    lang: str
    about_title: str
    said_what: str
    did_what: str
    reporting: dict[str, str]
    action: frozenset[str]
    stops: frozenset[str]
    times: frozenset[str]


@lru_cache(maxsize=8)
def patterns(lang: str) -> Patterns | None:
    table: dict[str, Any] | None = messages.table("examples").get(lang)
    if table is None:
        return None
    return Patterns(lang, table["about_title"], table["said_what"], table["did_what"], dict(table["reporting"]),
                    frozenset(table["action"]), frozenset(table["stops"]), frozenset(table["times"]))


def _words(text: str) -> list[str]:
    return text.split()


def _drop_times(words: list[str], p: Patterns, at_start: bool) -> list[str]:
    """Drop time words ("on Tuesday", "mardi") from one end of a phrase."""
    while words and words[0 if at_start else -1].lower().strip(",.") in p.times:
        words = words[1:] if at_start else words[:-1]
    return words


def _speaker(who: str, p: Patterns) -> str | None:
    """Who said it, as a question names them: the name inside an apposition ("The deputy mayor, Tomas Reyes,"
    -> "Tomas Reyes"), a name that ends the phrase ("Council engineer Maya Okafor" -> "Maya Okafor"), or a
    short phrase ("the city council"); None for a pronoun or a long clause."""
    who = who.strip()
    if (m := _APPOSITION.match(who + ",")) or (m := _APPOSITION.match(who)):
        return m.group(1)
    words = _drop_times(_words(who), p, at_start=False)
    if len(words) < 2 or len(words) > MAX_SPEAKER_WORDS or any(w.endswith(",") for w in words):
        return None
    phrase = " ".join(words)
    if (m := _NAME_AT_END.search(phrase)) and len(m.group(1).split()) >= 2:
        return m.group(1)
    return phrase[0].lower() + phrase[1:]  # "The city council" -> "the city council"


def _object(text: str, p: Patterns) -> str | None:
    """The object of an action: up to the first comma, cut at a preposition or a clause when long."""
    words = _drop_times(_words(re.split(r"[,;:.!?«»“”\"]", text, maxsplit=1)[0]), p, at_start=True)
    if len(words) > MAX_OBJECT_WORDS:
        cut = [i for i, w in enumerate(words[:MAX_OBJECT_WORDS + 1]) if w.lower() in p.stops and i >= 2]
        words = words[:cut[-1]] if cut else words[:MAX_OBJECT_WORDS]
    words = _drop_times(words, p, at_start=False)
    while words and words[-1].lower() in p.stops:
        words = words[:-1]
    return " ".join(words) if len(words) >= 2 else None


def _reporting(p: Patterns) -> str:
    return "|".join(re.escape(v) for v in sorted(p.reporting, key=len, reverse=True))


def question_en(sentence: str, p: Patterns) -> str | None:
    verbs = _reporting(p)
    if m := re.match(rf"^(?P<who>[A-Z][^\"“«]*?) (?P<verb>{verbs})\b", sentence):
        who = _speaker(m.group("who"), p)
        if who:
            return p.said_what.format(who=who, verb=p.reporting[m.group("verb")])
    if m := re.search(rf", (?P<who>[^,\"“”]+?) (?P<verb>{verbs})(?P<tail>(?: \w+){{0,3}})\.?$", sentence):
        tail = _drop_times(_words(m.group("tail")), p, at_start=True)
        who = _speaker(m.group("who"), p)
        if who and not tail:
            return p.said_what.format(who=who, verb=p.reporting[m.group("verb")])
    actions = "|".join(re.escape(v) for v in p.action)
    if m := re.match(rf"^[A-Z][^,\"“«]*? (?P<verb>{actions}) (?P<rest>.+)$", sentence):
        obj = _object(m.group("rest"), p)
        if obj:
            return p.did_what.format(verb=m.group("verb"), object=obj)
    return None


def question_fr(sentence: str, p: Patterns) -> str | None:
    verbs = _reporting(p)
    if m := re.match(rf"^(?P<who>[A-ZÀ-ÖØ-Þ][^«\"“]*?) (?P<aux>a|ont) (?P<verb>{verbs})\b", sentence):
        who = _speaker(m.group("who"), p)
        if who:
            return p.said_what.format(que="Qu’", aux=m.group("aux"), verb=p.reporting[m.group("verb")], who=who)
    if m := re.search(rf", (?P<aux>a|ont) (?P<verb>{verbs}) (?P<who>[^,.«»]+?)\.?$", sentence):
        who = _speaker(m.group("who"), p)
        if who:
            return p.said_what.format(que="Qu’", aux=m.group("aux"), verb=p.reporting[m.group("verb")], who=who)
    actions = "|".join(re.escape(v) for v in p.action)
    if m := re.match(rf"^[A-ZÀ-ÖØ-Þ][^,«\"“]*? (?:a|ont) (?P<verb>{actions}) (?P<rest>.+)$", sentence):
        obj = _object(m.group("rest"), p)
        if obj:
            return p.did_what.format(aux="a", verb=m.group("verb"), object=obj)
    return None


MAKERS = {"en": question_en, "fr": question_fr}


def question_from(article: ArticleRecord) -> str | None:
    """A question the article's own sentences answer, in its language; None when none fits."""
    p, make = patterns(article.language), MAKERS.get(article.language)
    if p is None or make is None:
        return None
    for span in split_sentences(article.text)[:12]:
        sentence = " ".join(article.text[span.start:span.end].split())
        if sentence == article.title.strip():
            continue
        if question := make(sentence, p):
            return question
    return None


def example_questions(articles: Sequence[ArticleRecord], n: int, lang: str = "en") -> list[str]:
    """Up to ``n`` questions, one per article, the asker's language (``lang``) first; then, if too few,
    questions about the titles of the articles that gave none."""
    ordered = sorted(articles, key=lambda a: a.language != lang)  # stable: newest first within each
    questions: list[str] = []
    untouched: list[ArticleRecord] = []
    for article in ordered:
        question = question_from(article)
        if question is None:
            untouched.append(article)
        elif question not in questions:
            questions.append(question)
    about = (patterns(lang) or patterns("en")).about_title  # type: ignore[union-attr]
    questions += [about.format(title=a.title.strip()) for a in untouched]
    return questions[:n]
