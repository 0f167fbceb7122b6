"""The benchmark on disk and the collections its questions are asked of.

Format: ``corpus_*.jsonl`` passages ``{pid, lang, title, text}`` and ``questions.jsonl`` records
``{id, slice, question, question_lang, corpus, gold_pid, answers, answers_en}``.

Besides one collection per corpus (the standard slices), users' collections are planned here:
- ``NAME@mixed``: the slice's passages share one store with passages in other languages on other topics
  (XQuAD's articles split in two halves: the question's half in the slice's language, the other half in
  the other languages, plus every corpus of another family), so text in the question's language that does
  not answer competes.
- ``NAME@small``: the gold passage among 0-9 others; out-of-scope questions are asked of the same small
  collections.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Passage:
    pid: str
    lang: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    slice: str
    text: str
    lang: str
    corpus: str
    gold_pid: str
    answers: tuple[str, ...]  # gold strings in the passage's language, then the English ones
    page_url: str = ""  # asked from this article's page (the widget's "this page first")


@dataclass(frozen=True)
class Benchmark:
    root: Path
    corpora: dict[str, list[Passage]]  # file name -> passages
    questions: list[Question]

    def slices(self) -> dict[str, list[Question]]:
        out: dict[str, list[Question]] = {}
        for q in self.questions:
            out.setdefault(q.slice, []).append(q)
        return out


@dataclass(frozen=True)
class Collection:
    """One store to build and the questions to ask of it: in-scope ones and ones it cannot answer."""

    name: str
    passages: list[Passage]
    asked: list[Question] = field(default_factory=list)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_benchmark(root: Path) -> Benchmark:
    corpora = {p.name: [Passage(r["pid"], r["lang"], r["title"], r["text"]) for r in read_jsonl(p)]
               for p in sorted(root.glob("corpus_*.jsonl"))}
    questions = [Question(r["id"], r["slice"], r["question"], r.get("question_lang") or "",
                          r["corpus"], r["gold_pid"],
                          tuple(dict.fromkeys((r.get("answers") or []) + (r.get("answers_en") or []))))
                 for r in read_jsonl(root / "questions.jsonl")]
    missing = {q.corpus for q in questions} - corpora.keys()
    if missing:
        raise FileNotFoundError(f"questions name corpora that are not in {root}: {sorted(missing)}")
    return Benchmark(root, corpora, questions)


def limit_questions(questions: Sequence[Question], limit: int | None) -> list[Question]:
    """The first ``limit`` questions of every slice (all when ``limit`` is None)."""
    seen: dict[str, int] = {}
    out = []
    for q in questions:
        seen[q.slice] = seen.get(q.slice, 0) + 1
        if limit is None or seen[q.slice] <= limit:
            out.append(q)
    return out


def corpus_family(name: str) -> str:
    """``corpus_xquad_en.jsonl`` -> ``xquad``: corpora of one family hold the same facts."""
    return re.sub(r"(_[a-z]{2})?\.jsonl$", "", name.removeprefix("corpus_"))


def corpus_lang(passages: Sequence[Passage]) -> str:
    return passages[0].lang if passages else ""


def out_of_scope(bench: Benchmark, questions: Sequence[Question], other_language: bool = False
                 ) -> list[Question]:
    """Each question re-aimed at a corpus of another family (which cannot answer it), deduplicated.

    The foreign corpus in the question's own language is preferred (the lexical retriever then votes
    too, the harder case), then English, then the first by name. ``other_language``: only corpora in
    another language than the question's (an English question to French articles on other topics).
    """
    out: dict[tuple[str, str], Question] = {}
    for q in questions:
        family = corpus_family(q.corpus)
        foreign = [name for name in bench.corpora if corpus_family(name) != family
                   and not (other_language and corpus_lang(bench.corpora[name]) == q.lang)]
        if not foreign:
            continue
        foreign.sort(key=lambda n: (corpus_lang(bench.corpora[n]) != q.lang,
                                    corpus_lang(bench.corpora[n]) != "en", n))
        target = foreign[0]
        out.setdefault((q.text, target), replace(q, slice=OUT_OF_SCOPE, corpus=target, gold_pid=""))
    return list(out.values())


def page_scoped(questions: Sequence[Question], passages: Sequence[Passage]) -> list[Question]:
    """Out-of-scope questions asked from the page of an unrelated article of the collection: being on a
    page must not make the bot answer what no article says."""
    return [replace(q, slice=f"{OUT_OF_SCOPE}@page", page_url=passages[i % len(passages)].pid)
            for i, q in enumerate(questions)] if passages else []


def standard_collections(bench: Benchmark, questions: Sequence[Question], foreign: Sequence[Question],
                         ) -> list[Collection]:
    """One collection per corpus: its slices' questions, and the out-of-scope ones aimed at it (also
    asked page-scoped)."""
    out = []
    for name, passages in bench.corpora.items():
        alien = [q for q in foreign if q.corpus == name]
        asked = [q for q in questions if q.corpus == name] + alien + page_scoped(alien, passages)
        if asked:
            out.append(Collection(name, list(passages), asked))
    return out


# ----------------------------------------------------------------------------- users' collections

_ARTICLE = re.compile(r"-a(\d+)-")


def article_of(pid: str) -> int:
    """The article index in a pid like ``xquad-es-a012-p03`` (parallel corpora share it)."""
    match = _ARTICLE.search(pid)
    return int(match.group(1)) if match else 0


def mixed_collections(bench: Benchmark, questions: Sequence[Question]) -> list[Collection]:
    """For each slice, its corpus shares a store with other languages on other topics.

    A family with parallel corpora in several languages (XQuAD) is split by article into two halves: one
    collection holds half A in the slice's language plus half B in every other language (and every other
    family's corpora), and the other the reverse; each question is asked of the one holding its passage in
    its slice's language. A family with one corpus (PIAF) shares the store with every other corpus.
    """
    out = []
    for slice_name, qs in _by_slice(questions).items():
        corpus = qs[0].corpus
        family = corpus_family(corpus)
        siblings = [n for n in bench.corpora if corpus_family(n) == family and n != corpus]
        others = [p for n, ps in bench.corpora.items() if corpus_family(n) != family for p in ps]
        mixed = [replace(q, slice=f"{slice_name}@mixed") for q in qs]
        if not siblings:
            out.append(Collection(f"{slice_name}@mixed", bench.corpora[corpus] + others, mixed))
            continue
        for half in (0, 1):
            own = [p for p in bench.corpora[corpus] if article_of(p.pid) % 2 == half]
            rest = [p for n in siblings for p in bench.corpora[n] if article_of(p.pid) % 2 != half]
            asked = [q for q in mixed if article_of(q.gold_pid) % 2 == half]
            if asked:
                out.append(Collection(f"{slice_name}@mixed#{half}", own + rest + others, asked))
    return out


def small_collections(bench: Benchmark, questions: Sequence[Question], foreign: Sequence[Question],
                      seed: int = 0) -> list[Collection]:
    """Each corpus cut into random groups of 1-10 passages (the gold plus 0-9 others): every question is
    asked of the group holding its passage, and each out-of-scope question of one group of its target
    corpus (``out_of_scope@small``)."""
    rng = random.Random(seed)
    out = []
    for name, passages in bench.corpora.items():
        asked = [replace(q, slice=f"{q.slice}@small") for q in questions if q.corpus == name]
        alien = [replace(q, slice=f"{OUT_OF_SCOPE}@small") for q in foreign if q.corpus == name]
        if not asked and not alien:
            continue
        order = list(passages)
        rng.shuffle(order)
        groups: list[list[Passage]] = []
        while order:
            size = rng.randint(1, 10)
            groups.append(order[:size])
            order = order[size:]
        where = {p.pid: i for i, group in enumerate(groups) for p in group}
        plan: list[list[Question]] = [[] for _ in groups]
        for q in asked:
            plan[where[q.gold_pid]].append(q)
        for i, q in enumerate(alien):
            plan[i % len(groups)].append(q)
        out += [Collection(f"{name}@small#{i}", group, qs) for i, (group, qs) in enumerate(zip(groups, plan))
                if qs]
    return out


def _by_slice(questions: Sequence[Question]) -> dict[str, list[Question]]:
    out: dict[str, list[Question]] = {}
    for q in questions:
        out.setdefault(q.slice, []).append(q)
    return out
