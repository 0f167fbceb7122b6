"""Measure retrieval and answers on a QA benchmark (``../shared/bench/dev`` format), through the real chain.

Format: ``corpus_*.jsonl`` passages ``{pid, lang, title, text}`` and ``questions.jsonl`` records
``{id, slice, question, question_lang, corpus, gold_pid, answers, answers_en}``.

Each corpus is ingested once into a throwaway library (a temp dir) and reused by every slice and system.
Passage-side vectors (chunks, sentences, baseline chunks) are cached on disk, keyed by the model name and
the corpus file's hash, so a second run embeds only the questions.

Units: every rate is a percentage (0-100, one decimal); ``mrr`` is a fraction (0-1, three decimals);
``answer_chars`` is the mean length of an answer (the quoted text, without citation markers);
latencies are milliseconds per question through ``Bot.ask`` with warm passage-side caches (the question
itself is embedded on every ask).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import BotSettings
from bot.service import Bot
from index.config import IndexSettings
from index.embed import Embedder, Kind
from index.ingest import article_id_for, prepare, sentences_of, store_article
from index.load import RawArticle
from index.store import Library

Progress = Callable[[str, float], None]
SYSTEMS = ("hybrid", "dense", "bm25", "baseline")
DEPTH = 20  # passages retrieved for the rank metrics (hit@20)


# ----------------------------------------------------------------------------- the benchmark


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


def out_of_scope(bench: Benchmark, questions: Sequence[Question]) -> list[Question]:
    """Each question re-aimed at a corpus of another family (which cannot answer it), deduplicated.

    The foreign corpus in the question's own language is preferred (the lexical retriever then votes
    too, the harder case), then English, then the first by name.
    """
    out: dict[tuple[str, str], Question] = {}
    for q in questions:
        family = corpus_family(q.corpus)
        foreign = [name for name in bench.corpora if corpus_family(name) != family]
        if not foreign:
            continue
        foreign.sort(key=lambda n: (corpus_lang(bench.corpora[n]) != q.lang,
                                    corpus_lang(bench.corpora[n]) != "en", n))
        target = foreign[0]
        out.setdefault((q.text, target), replace(q, slice="out_of_scope", corpus=target, gold_pid=""))
    return list(out.values())


# ----------------------------------------------------------------------------- metrics (pure)


def normalize(text: str) -> str:
    """Case, accents, punctuation and spacing folded away: "L'Élysée,  Paris" -> "l elysee paris"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


def contains_answer(answer: str, golds: Iterable[str]) -> bool:
    """True when a gold string appears in the answer as whole words, after normalization."""
    haystack = f" {normalize(answer)} "
    return any(needle and f" {needle} " in haystack for needle in map(normalize, golds))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def gold_rank(ranked: Sequence[str], gold: str) -> int | None:
    """1-based position of ``gold`` in ``ranked`` (distinct passages), None when absent."""
    try:
        return ranked.index(gold) + 1
    except ValueError:
        return None


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def pct(flags: Sequence[bool]) -> float:
    return round(100.0 * sum(flags) / len(flags), 1) if flags else 0.0


@dataclass(frozen=True)
class Outcome:
    """One question through one system."""

    system: str
    slice: str
    qid: str
    question: str
    answers: tuple[str, ...]
    gold_pid: str
    ranked: tuple[str, ...]  # distinct passages, best first
    answer: str
    abstained: bool
    ms: float
    score: float = 0.0  # the answerer's score of its best sentence (when it answered)

    @property
    def rank(self) -> int | None:
        return gold_rank(self.ranked, self.gold_pid)

    @property
    def contains(self) -> bool:
        return not self.abstained and contains_answer(self.answer, self.answers)


def summarize(outcomes: Sequence[Outcome]) -> dict[str, float]:
    ranks = [o.rank for o in outcomes]
    ms = [o.ms for o in outcomes]
    return {
        "n": len(outcomes),
        "hit@1": pct([r is not None and r <= 1 for r in ranks]),
        "hit@5": pct([r is not None and r <= 5 for r in ranks]),
        "hit@20": pct([r is not None and r <= DEPTH for r in ranks]),
        "mrr": round(float(np.mean([1.0 / r if r else 0.0 for r in ranks])), 3) if ranks else 0.0,
        "answer_contains": pct([o.contains for o in outcomes]),
        # How much an answer asks the reader to read: characters quoted, citation markers aside.
        "answer_chars": round(float(np.mean(answered)), 1) if (answered := [
            len(re.sub(r"\s*\[\d+\]", "", o.answer)) for o in outcomes if not o.abstained]) else 0.0,
        "abstained": pct([o.abstained for o in outcomes]),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
    }


def summarize_scope(outcomes: Sequence[Outcome]) -> dict[str, float]:
    return {"n": len(outcomes), "abstained": pct([o.abstained for o in outcomes])}


def worst_misses(outcomes: Sequence[Outcome], n: int = 15) -> list[Outcome]:
    """Answered-but-wrong first (a confident wrong quote is worse than a don't-know), gold ranked low first."""
    misses = [o for o in outcomes if not o.contains and o.slice != "out_of_scope"]
    misses.sort(key=lambda o: (o.abstained, -(o.rank or DEPTH + 1), -o.score))
    return misses[:n]


# ----------------------------------------------------------------------------- vectors cache


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class CachedEmbedder:
    """Passage vectors kept in memory and in one ``.npz`` file; queries go straight to the model."""

    def __init__(self, inner: Embedder, path: Path | None) -> None:
        self.inner = inner
        self.name = inner.name
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.dirty = False
        if path is not None and path.exists():
            with np.load(path) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"]))

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind != "passage":
            return self.inner.embed(texts, kind)
        keys = [_text_key(t) for t in texts]
        missing = unique(t for t, k in zip(texts, keys) if k not in self.vectors)
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
    texts = unique(texts)
    for start in range(0, len(texts), batch):
        if progress:
            progress(f"embedding {label} {start}/{len(texts)}", start / max(len(texts), 1))
        embedder.embed(texts[start:start + batch], "passage")


# ----------------------------------------------------------------------------- our system


@dataclass
class CorpusIndex:
    name: str
    library: Library
    embedder: CachedEmbedder
    pid_of: dict[str, str]  # article id -> passage id


def passage_article(p: Passage) -> RawArticle:
    # Titles are Wikipedia page names ("Super_Bowl_50"): shown as words, as a user's article would be.
    return RawArticle(title=p.title.replace("_", " "), text=p.text, source=p.pid, language=p.lang)


def build_corpus(name: str, passages: Sequence[Passage], home: Path, embedder: CachedEmbedder,
                 index_cfg: IndexSettings, progress: Progress | None = None) -> CorpusIndex:
    """Ingest every passage as an article, embedding chunks and their sentences in big batches first."""
    library = Library(home, "eval", embedder.name)
    raws = [passage_article(p) for p in passages]
    prepared = [prepare(raw, index_cfg, embedder.name) for raw in raws]
    # The same texts store_article embeds: title + chunk, and each sentence once.
    chunk_texts = [f"{rec.title}\n{c.text}" for rec, chunks in prepared for c in chunks]
    embed_in_batches(embedder, chunk_texts, "chunks", progress)
    embed_in_batches(embedder, [s.text for _, chunks in prepared for s in sentences_of(chunks)], "sentences",
                     progress)
    for done, raw in enumerate(raws):
        if progress and done % 50 == 0:
            progress(f"ingesting {name}", done / len(raws))
        store_article(library, embedder, raw, index_cfg)
    embedder.save()
    return CorpusIndex(name, library, embedder, {article_id_for(p.pid): p.pid for p in passages})


def ask_ours(bot: Bot, corpus: CorpusIndex, q: Question, system: str) -> Outcome:
    bot.queries.clear()  # each ask pays for embedding its question, as a new question would
    start = time.perf_counter()
    answer = bot.ask(q.text)
    ms = 1000.0 * (time.perf_counter() - start)
    docs = bot.retriever.search(q.text, k=DEPTH, mode=system)
    ranked = unique(corpus.pid_of.get(d.metadata["article_id"], "") for d in docs)
    score = answer.sources[0].score if answer.sources else 0.0
    return Outcome(system, q.slice, q.id, q.text, q.answers, q.gold_pid, tuple(ranked), answer.answer,
                   answer.abstained, ms, score)


def bot_for(corpus: CorpusIndex, index_cfg: IndexSettings, bot_cfg: BotSettings, mode: str) -> Bot:
    cfg = bot_cfg.model_copy(update={"retrieval": bot_cfg.retrieval.model_copy(update={"mode": mode})})
    return Bot(corpus.library, corpus.embedder, index_cfg, cfg)


# ----------------------------------------------------------------------------- the baseline


class Baseline:
    """The LangChain default: RecursiveCharacterTextSplitter(1000, 200) + Chroma top-4, same embedder;
    the answer is the top chunk, whole. It never abstains."""

    def __init__(self, passages: Sequence[Passage], home: Path, embedder: CachedEmbedder,
                 progress: Progress | None = None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        pieces = [(p.pid, text) for p in passages for text in splitter.split_text(p.text)]
        self.embedder = embedder
        embed_in_batches(embedder, [t for _, t in pieces], "baseline chunks", progress)
        client = chromadb.PersistentClient(path=str(home), settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = client.get_or_create_collection(
            "baseline", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        for start in range(0, len(pieces), 500):
            part = pieces[start:start + 500]
            self.collection.add(ids=[f"c{start + i}" for i in range(len(part))],
                                embeddings=embedder.embed([t for _, t in part], "passage"),
                                documents=[t for _, t in part], metadatas=[{"pid": pid} for pid, _ in part])
        embedder.save()

    def search(self, question: str, k: int) -> list[tuple[str, str]]:
        vector = self.embedder.embed([question], "query")
        got = self.collection.query(query_embeddings=vector, n_results=min(k, self.collection.count()),
                                    include=["documents", "metadatas"])
        return [(str(m["pid"]), doc) for m, doc in zip(got["metadatas"][0], got["documents"][0])]

    def ask(self, q: Question) -> Outcome:
        start = time.perf_counter()
        top = self.search(q.text, 4)
        ms = 1000.0 * (time.perf_counter() - start)
        ranked = unique(pid for pid, _ in self.search(q.text, DEPTH))
        return Outcome("baseline", q.slice, q.id, q.text, q.answers, q.gold_pid, tuple(ranked),
                       top[0][1] if top else "", not top, ms)


# ----------------------------------------------------------------------------- the run


@dataclass
class EvalResult:
    systems: list[str]
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)  # system -> in-scope outcomes
    scope: dict[str, list[Outcome]] = field(default_factory=dict)  # system -> out-of-scope outcomes
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        systems = {}
        for name in self.systems:
            by_slice: dict[str, list[Outcome]] = {}
            for o in self.outcomes.get(name, []):
                by_slice.setdefault(o.slice, []).append(o)
            systems[name] = {"slices": {s: summarize(os) for s, os in by_slice.items()},
                             "out_of_scope": summarize_scope(self.scope.get(name, []))}
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


def run_eval(bench: Benchmark, base_embedder: Embedder, index_cfg: IndexSettings, bot_cfg: BotSettings,
             systems: Sequence[str], limit: int | None = None, cache_dir: Path | None = None,
             progress: Progress | None = None, scope: bool = True) -> EvalResult:
    """Every selected question through every system; corpora are ingested once each."""
    questions = limit_questions(bench.questions, limit)
    foreign = out_of_scope(bench, questions) if scope else []
    result = EvalResult(list(systems))
    total = len(systems) * (len(questions) + len(foreign))
    done = 0

    def build_progress(message: str, _fraction: float) -> None:  # keep the bar on questions done
        if progress:
            progress(message, done / max(total, 1))

    with scratch_dir() as tmp:
        for name, passages in bench.corpora.items():
            asked = [q for q in questions if q.corpus == name]
            alien = [q for q in foreign if q.corpus == name]
            if not asked and not alien:
                continue
            cache = cache_dir / f"{base_embedder.name.replace('/', '_')}-{file_hash(bench.root / name)}.npz" \
                if cache_dir else None
            embedder = CachedEmbedder(base_embedder, cache)
            built: CorpusIndex | None = None
            for system in systems:
                if system == "baseline":
                    try:
                        runner: Callable[[Question], Outcome] = Baseline(
                            passages, tmp / f"baseline-{name}", embedder, build_progress).ask
                    except ImportError:
                        result.notes.append("baseline skipped: langchain-text-splitters is not installed")
                        done += len(asked) + len(alien)
                        continue
                else:
                    if built is None:
                        built = build_corpus(name, passages, tmp / name, embedder, index_cfg, build_progress)
                    bot = bot_for(built, index_cfg, bot_cfg, system)
                    runner = _ours_runner(bot, built, system)
                for q in asked + alien:
                    outcome = runner(q)
                    target = result.scope if q.slice == "out_of_scope" else result.outcomes
                    target.setdefault(system, []).append(outcome)
                    done += 1
                    if progress:
                        progress(f"{system} {q.slice} ({name})", done / max(total, 1))
            embedder.save()
            if built is not None:
                built.library.close()
    if progress:
        progress("done", 1.0)
    return result


def _ours_runner(bot: Bot, corpus: CorpusIndex, system: str) -> Callable[[Question], Outcome]:
    return lambda q: ask_ours(bot, corpus, q, system)
