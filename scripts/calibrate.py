"""Calibrate and tune the extractive answerer on a benchmark (default ../shared/bench/dev).

Collects, once, every candidate sentence's signals (``ExtractiveAnswerer.features``) for each in-scope
question and each out-of-scope question (asked of a corpus that cannot answer it), through the real
retriever; then replays the answerer's choice offline for many settings, which is instant.

    .venv/bin/python scripts/calibrate.py ../shared/bench/dev --home /tmp/ab-home   # sweep thresholds
    .venv/bin/python scripts/calibrate.py ../shared/bench/dev --grid                 # + weight grid

Prints, per threshold on the confidence feature, the in-scope and out-of-scope abstention rates and
answer-contains-gold; the chosen defaults live in bot/config.py (AnswerSettings).
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answer import candidates, combine, confidence
from bot.config import AnswerSettings, BotSettings, RetrievalSettings
from bot.evaluate import (
    CachedEmbedder,
    Question,
    bot_for,
    build_corpus,
    contains_answer,
    file_hash,
    limit_questions,
    load_benchmark,
    out_of_scope,
    scratch_dir,
)
from index.config import IndexSettings
from index.lang import detect
from ui.settings import Settings


@dataclass
class Case:
    """One question's candidate sentences with their signals and whether each holds the gold."""

    slice: str
    question: str
    features: dict[str, np.ndarray]
    gold: np.ndarray  # bool per candidate
    gold_chunk_rank: int  # rank of the first chunk of the gold passage, 0 when not retrieved


def collect(bench_dir: Path, home: Path, k: int, limit: int | None) -> list[Case]:
    from index.embed import make_embedder

    settings = Settings(home=home)
    bench = load_benchmark(bench_dir)
    base = make_embedder(settings.index.embed, home / "models")
    questions = limit_questions(bench.questions, limit)
    asked = questions + out_of_scope(bench, questions)
    index_cfg: IndexSettings = settings.index
    bot_cfg = BotSettings(retrieval=RetrievalSettings(k=k), answer=AnswerSettings(min_score=-1e9))
    cases: list[Case] = []
    with scratch_dir() as tmp:
        for name, passages in bench.corpora.items():
            mine = [q for q in asked if q.corpus == name]
            if not mine:
                continue
            embedder = CachedEmbedder(base, home / "eval-cache" / f"{base.name}-{file_hash(bench_dir / name)}.npz")
            bot = bot_for(build_corpus(name, passages, tmp / name, embedder, index_cfg), index_cfg, bot_cfg,
                          "hybrid")
            for q in mine:
                cases.append(one_case(bot, q))
            embedder.save()
            print(f"{name}: {len(mine)} questions", file=sys.stderr)
    return cases


def one_case(bot: object, q: Question) -> Case:
    from index.ingest import article_id_for

    docs = bot.retriever.search(q.text, k=bot.cfg.retrieval.k)  # type: ignore[attr-defined]
    cands = candidates(docs)
    feats = bot.answerer.features(q.text, detect(q.text), cands)  # type: ignore[attr-defined]
    gold_article = article_id_for(q.gold_pid) if q.gold_pid else ""
    gold = np.array([c.doc.metadata["article_id"] == gold_article and contains_answer(c.text, q.answers)
                     for c in cands], dtype=bool)
    ranks = [d.metadata["rank"] for d in docs if d.metadata["article_id"] == gold_article]
    return Case(q.slice, q.text, feats, gold, min(ranks) if ranks else 0)


# ----------------------------------------------------------------------------- offline replay


def choose(cfg: AnswerSettings, f: dict[str, np.ndarray], k: int) -> tuple[list[int], float]:
    """The answerer's pick (indices) among candidates from the top ``k`` chunks, and its confidence."""
    keep = np.flatnonzero(f["rank"] <= k)
    if keep.size == 0:
        return [], -np.inf
    sub = {name: v[keep] for name, v in f.items()}
    scores = combine(cfg, sub)
    order = np.argsort(-scores)
    best = scores[order[0]]
    chosen = [int(keep[i]) for i in order[:cfg.max_sentences] if scores[i] >= best - cfg.second_margin]
    return chosen, confidence(cfg, sub, scores)


@dataclass
class Replay:
    contains: dict[str, float]  # slice -> % answers holding the gold, when never abstaining
    in_conf: np.ndarray  # confidences of in-scope questions
    in_ok: np.ndarray  # whether each in-scope answer held the gold
    in_slice: np.ndarray
    out_conf: np.ndarray
    sentences: float  # quoted per in-scope answer


def replay(cases: Sequence[Case], cfg: AnswerSettings, k: int) -> Replay:
    rows = []
    for case in cases:
        chosen, conf = choose(cfg, case.features, k)
        rows.append((case.slice, bool(chosen) and bool(case.gold[chosen].any()), conf, len(chosen)))
    slices = np.array([r[0] for r in rows])
    ok = np.array([r[1] for r in rows])
    conf = np.array([r[2] for r in rows])
    inside = slices != "out_of_scope"
    contains = {s: round(100 * ok[slices == s].mean(), 1) for s in dict.fromkeys(slices[inside])}
    quoted = np.array([r[3] for r in rows])
    return Replay(contains, conf[inside], ok[inside], slices[inside], conf[~inside], float(quoted[inside].mean()))


def sweep(r: Replay, thresholds: Sequence[float]) -> list[str]:
    lines = [f"{'threshold':>9} {'in-scope abst%':>14} {'max slice':>9} {'out-of-scope abst%':>18} "
             f"{'contains%':>9} {'wrong answered%':>15}"]
    for t in thresholds:
        answered = r.in_conf >= t
        per_slice = max(100 * (~answered[r.in_slice == s]).mean() for s in set(r.in_slice))
        lines.append(f"{t:9.3f} {100 * (~answered).mean():14.1f} {per_slice:9.1f} "
                     f"{100 * (r.out_conf < t).mean():18.1f} {100 * (answered & r.in_ok).mean():9.1f} "
                     f"{100 * (answered & ~r.in_ok).mean():15.1f}")
    return lines


def best_threshold(r: Replay, max_in: float = 10.0) -> float:
    """The highest threshold that keeps every slice's in-scope abstention at or under ``max_in`` %."""
    best = -np.inf
    for t in np.unique(np.round(r.in_conf, 4)):
        answered = r.in_conf >= t
        if all(100 * (~answered[r.in_slice == s]).mean() <= max_in for s in set(r.in_slice)):
            best = max(best, float(t))
    return best


GRID = {  # setting -> values tried (w_sentence stays 1: the weights are relative to it)
    "w_chunk": [0.5, 1.0, 1.5],
    "w_lexical": [0.0, 0.1, 0.2],
    "w_names": [0.0, 0.1],
    "w_type": [0.0, 0.03],
    "max_sentences": [2, 3],
    "second_margin": [0.03, 0.05, 0.07],
}


def grid(cases: Sequence[Case], base: AnswerSettings, k_values: Sequence[int], top: int = 12) -> None:
    """Settings by mean answer-contains over the slices (no abstention), with the sentences quoted per
    answer: more sentences always contain more, so read the two together."""
    results = []
    for k, *values in itertools.product(k_values, *GRID.values()):
        cfg = base.model_copy(update=dict(zip(GRID, values)))
        r = replay(cases, cfg, k)
        scores = list(r.contains.values())
        results.append((float(np.mean(scores)), r.sentences, k, dict(zip(GRID, values)), r.contains))
    results.sort(key=lambda row: -row[0])
    for mean, sentences, k, settings, contains in results[:top]:
        print(f"mean {mean:.1f} sentences/answer {sentences:.2f} k={k} {settings} "
              f"{({str(s): float(v) for s, v in contains.items()})}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, nargs="?", default=Path("../shared/bench/dev"))
    parser.add_argument("--home", type=Path, default=Settings().home, help="data dir (models, eval-cache)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--collect-k", type=int, default=8, help="chunks retrieved per question when collecting")
    parser.add_argument("--cases", type=Path, default=None, help="pickle of collected cases (read or written)")
    parser.add_argument("--grid", action="store_true", help="also search the scoring weights")
    args = parser.parse_args(argv)
    if args.cases and args.cases.exists():
        cases = pickle.loads(args.cases.read_bytes())
    else:
        cases = collect(args.bench, args.home, args.collect_k, args.limit)
        if args.cases:
            args.cases.write_bytes(pickle.dumps(cases))
    cfg = AnswerSettings()
    k = BotSettings().retrieval.k
    if args.grid:
        grid(cases, cfg, sorted({k, 3, 5, 8} - {v for v in (8,) if v > args.collect_k}))
    r = replay(cases, cfg, k)
    print(f"current settings, k={k}: answer-contains without abstaining {r.contains}, "
          f"{r.sentences:.2f} sentences per answer")
    qs = np.quantile(np.concatenate([r.in_conf, r.out_conf]), np.linspace(0.05, 0.95, 19))
    print("\n".join(sweep(r, sorted({*np.round(qs, 3), cfg.min_score}))))
    t = best_threshold(r)
    print(f"\nhighest threshold with every slice's in-scope abstention <= 10%: {t:.4f} "
          f"(out-of-scope abstention there: {100 * (r.out_conf < t).mean():.1f}%; current min_score "
          f"{cfg.min_score})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
