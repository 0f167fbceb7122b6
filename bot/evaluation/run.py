"""The benchmark run: build each planned collection once, ask its questions through every system."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import BotSettings
from bot.crowd import Crowd
from bot.evaluation.baseline import Baseline
from bot.evaluation.bench import (
    OUT_OF_SCOPE,
    Benchmark,
    Collection,
    Passage,
    Question,
    limit_questions,
    mixed_collections,
    out_of_scope,
    small_collections,
    standard_collections,
)
from bot.evaluation.cache import CachedEmbedder, embed_in_batches, file_hash
from bot.evaluation.metrics import DEPTH, Outcome, summarize, summarize_scope, unique
from bot.service import Bot
from index.config import IndexSettings
from index.embed import Embedder
from index.ingest import article_id_for, prepare, sentences_of, store_article
from index.load import RawArticle
from index.store import Library

Progress = Callable[[str, float], None]
SYSTEMS = ("hybrid", "dense", "bm25", "baseline")


@dataclass
class CorpusIndex:
    name: str
    library: Library
    embedder: CachedEmbedder
    pid_of: dict[str, str]  # article id -> passage id


def passage_article(p: Passage) -> RawArticle:
    # Titles are Wikipedia page names ("Super_Bowl_50"): shown as words, as a user's article would be.
    return RawArticle(title=p.title.replace("_", " "), text=p.text, source=p.pid, language=p.lang)


def warm(passages: Sequence[Passage], embedder: CachedEmbedder, index_cfg: IndexSettings,
         progress: Progress | None) -> list[RawArticle]:
    """Embed what ``store_article`` will embed (title + chunk, each sentence once) in big batches."""
    raws = [passage_article(p) for p in passages]
    prepared = [prepare(raw, index_cfg, embedder.name) for raw in raws]
    embed_in_batches(embedder, [f"{rec.title}\n{c.text}" for rec, chunks in prepared for c in chunks], "chunks",
                     progress)
    embed_in_batches(embedder, [s.text for _, chunks in prepared for s in sentences_of(chunks)], "sentences",
                     progress)
    return raws


def build_corpus(name: str, passages: Sequence[Passage], home: Path, embedder: CachedEmbedder,
                 index_cfg: IndexSettings, progress: Progress | None = None) -> CorpusIndex:
    """Ingest every passage as an article into a new library under ``home``."""
    library = Library(home, "eval", embedder.name)
    for done, raw in enumerate(warm(passages, embedder, index_cfg, progress)):
        if progress and done % 50 == 0:
            progress(f"ingesting {name}", done / max(len(passages), 1))
        store_article(library, embedder, raw, index_cfg)
    embedder.save()
    return CorpusIndex(name, library, embedder, {article_id_for(p.pid): p.pid for p in passages})


def ask_ours(bot: Bot, corpus: CorpusIndex, q: Question, system: str) -> Outcome:
    bot.forget_questions()  # each ask pays for embedding its question, as a new question would
    start = time.perf_counter()
    answer = bot.ask(q.text, page_url=q.page_url or None)
    ms = 1000.0 * (time.perf_counter() - start)
    ranked = unique(corpus.pid_of.get(hit.article_id, "") for hit in bot.search(q.text, k=DEPTH, mode=system))
    score = answer.sources[0].score if answer.sources else 0.0
    citations = [s for check in answer.checks for s in check.supports]
    return Outcome(system, q.slice, q.id, q.text, q.answers, q.gold_pid, tuple(ranked), answer.answer,
                   answer.abstained, ms, score, answer.first_sentence(), len(citations),
                   sum(s.supported for s in citations))


def bot_for(corpus: CorpusIndex, index_cfg: IndexSettings, bot_cfg: BotSettings, mode: str,
            crowd: Crowd | None = None) -> Bot:
    cfg = bot_cfg.model_copy(update={"retrieval": bot_cfg.retrieval.model_copy(update={"mode": mode})})
    return Bot(corpus.library, corpus.embedder, index_cfg, cfg, crowd)


@dataclass
class EvalResult:
    systems: list[str]
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)  # system -> in-scope outcomes
    scope: dict[str, list[Outcome]] = field(default_factory=dict)  # system -> out-of-scope outcomes
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        target = self.scope if outcome.slice.startswith(OUT_OF_SCOPE) else self.outcomes
        target.setdefault(outcome.system, []).append(outcome)

    def to_json(self) -> dict[str, Any]:
        systems = {}
        for name in self.systems:
            by_slice: dict[str, list[Outcome]] = {}
            for o in self.outcomes.get(name, []):
                by_slice.setdefault(o.slice, []).append(o)
            by_scope: dict[str, list[Outcome]] = {}
            for o in self.scope.get(name, []):
                by_scope.setdefault(o.slice, []).append(o)
            systems[name] = {
                "slices": {s: summarize(os) for s, os in by_slice.items()},
                # The standard out-of-scope run (each question asked of another family's corpus) ...
                "out_of_scope": summarize_scope(by_scope.get(OUT_OF_SCOPE, [])),
                # ... and every kind of it: @page (asked from an unrelated article's page), @small.
                "out_of_scope_by_kind": {s: summarize_scope(os) for s, os in by_scope.items()},
            }
        default = systems[self.systems[0]] if self.systems else {"slices": {}, "out_of_scope": {}}
        return {"system": self.systems[0] if self.systems else "", **default, "systems": systems,
                "units": "rates in percent (0-100); mrr 0-1; answer_chars in characters; latency in ms per question",
                "notes": self.notes}


def systems_for(mode: str | None, default_mode: str) -> list[str]:
    """``--mode M`` runs that one system; no mode runs the default first, then the others."""
    if mode:
        if mode not in SYSTEMS:
            raise ValueError(f"unknown mode '{mode}': choose one of {', '.join(SYSTEMS)}")
        return [mode]
    return [default_mode] + [s for s in SYSTEMS if s != default_mode]


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="articlebot-eval-") as tmp:
        yield Path(tmp)


def cache_path(cache_dir: Path | None, bench: Benchmark, corpus: str, model: str) -> Path | None:
    return cache_dir / f"{model.replace('/', '_')}-{file_hash(bench.root / corpus)}.npz" if cache_dir else None


class Workspace:
    """Where collections are built (a temp dir) and their passage vectors come from.

    A standard collection (one corpus) reads and writes its corpus's vector cache; the users' collections
    read every corpus's cache. Small collections share one library, filled and emptied for each.
    """

    def __init__(self, tmp: Path, bench: Benchmark, base: Embedder, index_cfg: IndexSettings,
                 cache_dir: Path | None, progress: Progress | None = None) -> None:
        self.tmp = tmp
        self.bench = bench
        self.base = base
        self.index_cfg = index_cfg
        self.cache_dir = cache_dir
        self.progress = progress
        self.every_cache = [p for name in bench.corpora if (p := cache_path(cache_dir, bench, name, base.name))]
        self.shared: CorpusIndex | None = None

    def embedder_for(self, collection: Collection) -> CachedEmbedder:
        if collection.name in self.bench.corpora:
            return CachedEmbedder(self.base, cache_path(self.cache_dir, self.bench, collection.name, self.base.name))
        return CachedEmbedder(self.base, None, also=self.every_cache)

    @contextmanager
    def corpus(self, collection: Collection, embedder: CachedEmbedder) -> Iterator[CorpusIndex]:
        """The collection's passages in a library, for the time of the ``with`` block."""
        if "@small#" not in collection.name:
            built = build_corpus(collection.name, collection.passages, self.tmp / collection.name, embedder,
                                 self.index_cfg, self.progress)
            try:
                yield built
            finally:
                built.library.close()
            return
        if self.shared is None:
            self.shared = CorpusIndex("small", Library(self.tmp / "small", "eval", embedder.name), embedder, {})
        shared = self.shared
        shared.embedder = embedder
        for raw in warm(collection.passages, embedder, self.index_cfg, None):
            store_article(shared.library, embedder, raw, self.index_cfg)
        shared.pid_of = {article_id_for(p.pid): p.pid for p in collection.passages}
        try:
            yield shared
        finally:
            for article_id in shared.pid_of:
                shared.library.delete(article_id)
            shared.pid_of = {}

    def close(self) -> None:
        if self.shared is not None:
            self.shared.library.close()


def plan_collections(bench: Benchmark, questions: Sequence[Question], foreign: Sequence[Question],
                     systems: Sequence[str], mixed: bool, small: bool, standard: bool = True
                     ) -> list[tuple[Collection, list[str]]]:
    """The standard collections go through every system; the users' collections (``mixed``, ``small``)
    through the first of ours only (the one users get)."""
    plan = [(c, list(systems)) for c in standard_collections(bench, questions, foreign)] if standard else []
    ours = [s for s in systems if s != "baseline"][:1]
    if mixed and ours:
        plan += [(c, ours) for c in mixed_collections(bench, questions)]
    if small and ours:
        plan += [(c, ours) for c in small_collections(bench, questions, foreign)]
    return plan


def run_eval(bench: Benchmark, base_embedder: Embedder, index_cfg: IndexSettings, bot_cfg: BotSettings,
             systems: Sequence[str], limit: int | None = None, cache_dir: Path | None = None,
             progress: Progress | None = None, scope: bool = True, mixed: bool = False,
             small: bool = False, standard: bool = True) -> EvalResult:
    """Every selected question through every system, each collection built once. ``standard``: the
    one-corpus collections (their vectors cache the others draw on: run them once first)."""
    questions = limit_questions(bench.questions, limit)
    foreign = out_of_scope(bench, questions) if scope else []
    plan = plan_collections(bench, questions, foreign, systems, mixed, small, standard)
    result = EvalResult(list(systems))
    total = sum(len(c.asked) * len(s) for c, s in plan)
    done = 0

    def build_progress(message: str, _fraction: float) -> None:  # keep the bar on questions done
        if progress:
            progress(message, done / max(total, 1))

    def asked_one(system: str, collection: Collection) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(f"{system} ({collection.name})", done / max(total, 1))

    crowd = Crowd(base_embedder, cache_dir)
    with scratch_dir() as tmp:
        space = Workspace(tmp, bench, base_embedder, index_cfg, cache_dir, build_progress)
        for collection, names in plan:
            embedder = space.embedder_for(collection)
            if "baseline" in names:
                asked = [q for q in collection.asked if not q.page_url]  # it has no notion of a page
                try:
                    baseline = Baseline(collection.passages, tmp / f"baseline-{collection.name}", embedder,
                                        build_progress)
                except ImportError:
                    result.notes.append("baseline skipped: langchain-text-splitters is not installed")
                    asked = []
                for q in asked:
                    result.add(baseline.ask(q))
                    asked_one("baseline", collection)
                done += len(collection.asked) - len(asked)
            ours = [s for s in names if s != "baseline"]
            if ours:
                with space.corpus(collection, embedder) as built:
                    for system in ours:
                        bot = bot_for(built, index_cfg, bot_cfg, system, crowd)
                        for q in collection.asked:
                            result.add(ask_ours(bot, built, q, system))
                            asked_one(system, collection)
            embedder.save()
        space.close()
    if progress:
        progress("done", 1.0)
    return result
