"""Fit the extractive answerer's sentence score and don't-know rule on training data; measure on others.

Step 1 collects, once, every candidate sentence's signals (``ExtractiveAnswerer.features``) through the
real retriever, for in-scope and out-of-scope questions, in the collections users have (one corpus,
mixed languages, small), from a benchmark-format folder:

    .venv/bin/python scripts/fit_answerer.py collect TRAIN_DIR --out train.pkl --mixed --small --across
    .venv/bin/python scripts/fit_answerer.py collect ../shared/bench/dev --out dev.pkl --mixed --small

Step 2 fits on the training cases only and prints the figures the answerer would reach on each file
(answer@1, in-scope and out-of-scope abstention, per slice), replayed offline:

    .venv/bin/python scripts/fit_answerer.py fit train.pkl --check dev.pkl

The fitted weights go into bot/config.py (AnswerSettings) by hand, with the command that produced them.
Fit on public training data, never on ../shared/bench (it only measures).

``ceiling`` measures how far any don't-know rule on these signals could go: classifiers fitted on the
cases given, each slice's in-scope abstention at 90% and 92% out-of-scope abstention. On dev cases it is an
upper bound for the signals (what a rule fitted on dev itself would reach); nothing it learns is kept:

    .venv/bin/python scripts/fit_answerer.py ceiling dev.pkl
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answer import EVIDENCE, candidates, combine, confidence, evidence, number_signals
from bot.config import AnswerSettings, BotSettings, RetrievalSettings
from bot.crowd import Crowd
from bot.evaluation.bench import OUT_OF_SCOPE, limit_questions, load_benchmark, out_of_scope
from bot.evaluation.metrics import contains_answer
from bot.evaluation.run import Workspace, bot_for, plan_collections, scratch_dir
from index.ingest import article_id_for
from index.lang import detect
from ui.settings import Settings

SCORE_FEATURES = ("lift", "chunk_lift", "lexical", "names", "type", "previous")


@dataclass
class Case:
    """One question's candidate sentences with their signals and whether each holds the gold."""

    slice: str
    question: str
    features: dict[str, np.ndarray]
    gold: np.ndarray  # bool per candidate
    texts: tuple[str, ...] = ()  # the candidates' sentences (signals tried later are computed from them)

    @property
    def in_scope(self) -> bool:
        return not self.slice.startswith(OUT_OF_SCOPE)


def collect(bench_dir: Path, home: Path, limit: int | None, mixed: bool, small: bool,
            cross: bool) -> list[Case]:
    from index.embed import make_embedder

    settings = Settings(home=home)
    bench = load_benchmark(bench_dir)
    base = make_embedder(settings.index.embed, home / "models")
    questions = limit_questions(bench.questions, limit)
    foreign = out_of_scope(bench, questions)
    if cross:  # every second question's: enough to weigh, half the time
        seen = {(q.text, q.corpus) for q in foreign}
        foreign += [q for q in out_of_scope(bench, questions, other_language=True)[::2]
                    if (q.text, q.corpus) not in seen]
    bot_cfg = BotSettings(retrieval=RetrievalSettings(), answer=AnswerSettings())
    crowd = Crowd(base, home / "eval-cache")
    cases: list[Case] = []
    with scratch_dir() as tmp:
        space = Workspace(tmp, bench, base, settings.index, home / "eval-cache")
        for collection, _ in plan_collections(bench, questions, foreign, ["hybrid"], mixed, small):
            embedder = space.embedder_for(collection)
            with space.corpus(collection, embedder) as built:
                bot = bot_for(built, settings.index, bot_cfg, "hybrid", crowd)
                for q in collection.asked:
                    page = article_id_for(q.page_url) if q.page_url else None
                    retrieval = bot.retriever.retrieve(q.text, prefer_article=page)
                    cands = candidates(retrieval.passages)
                    if not cands:
                        cases.append(Case(q.slice, q.text, {}, np.zeros(0, dtype=bool)))
                        continue
                    feats = bot.answerer.features(q.text, detect(q.text), cands, retrieval.sentences)
                    gold_article = article_id_for(q.gold_pid) if q.gold_pid else ""
                    gold = np.array([c.passage.article_id == gold_article and contains_answer(c.text, q.answers)
                                     for c in cands], dtype=bool)
                    cases.append(Case(q.slice, q.text, feats, gold, tuple(c.text for c in cands)))
            embedder.save()
            print(f"{collection.name}: {len(collection.asked)} questions", file=sys.stderr)
        space.close()
    return cases


# ----------------------------------------------------------------------------- fitting


def load_cases(path: Path) -> list[Case]:
    """The text signals are computed again from the sentences' texts where the cases keep them (collected
    before a signal existed or changed)."""
    cases: list[Case] = pickle.loads(path.read_bytes())
    for c in cases:
        if c.texts:
            c.features |= number_signals(c.question, c.texts)
    return cases


def _padded(cases: Sequence[Case], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (cases x candidates x names), a mask of real candidates, and the gold mask."""
    width = max(len(c.gold) for c in cases)
    x = np.zeros((len(cases), width, len(names)))
    mask = np.zeros((len(cases), width), dtype=bool)
    gold = np.zeros((len(cases), width), dtype=bool)
    for i, c in enumerate(cases):
        n = len(c.gold)
        x[i, :n] = np.stack([c.features[name] for name in names], axis=1)
        mask[i, :n] = True
        gold[i, :n] = c.gold
    return x, mask, gold


GRID = {"chunk_lift": (0.5, 0.75, 1.0, 1.5), "lexical": (0.0, 0.05, 0.1, 0.2, 0.4),
        "type": (0.0, 0.03, 0.06, 0.12), "kind": (0.0, 0.03, 0.06, 0.12), "names": (0.0, 0.03, 0.06),
        "previous": (0.0, 0.1, 0.25)}


def fit_scorer(cases: Sequence[Case], names: Sequence[str]) -> dict[str, float]:
    """The weights (the sentence's own lift weighs 1, so scores stay in cosine units) that put a gold
    sentence first most often, over a grid of the others' weights."""
    usable = [c for c in cases if c.in_scope and c.gold.any()]
    x, mask, gold = _padded(usable, names)
    grids = [(1.0,) if name == "lift" else GRID[name] for name in names]
    best, best_w = -1.0, None
    for w in itertools.product(*grids):
        scores = np.where(mask, x @ np.array(w), -np.inf)
        top = scores.argmax(axis=1)
        hits = float(gold[np.arange(len(top)), top].mean())
        if hits > best:
            best, best_w = hits, w
    assert best_w is not None
    print(f"sentence choice on the training cases: gold first for {100 * best:.1f}%", file=sys.stderr)
    return {name: float(weight) for name, weight in zip(names, best_w)}


def evidence_matrix(cases: Sequence[Case], cfg: AnswerSettings) -> np.ndarray:
    rows = []
    for c in cases:
        if not len(c.gold):
            rows.append([np.nan] * len(EVIDENCE))
            continue
        e = evidence(cfg, c.features, combine(cfg, c.features))
        rows.append([e[name] for name in EVIDENCE])
    return np.array(rows)


def fit_confidence(cases: Sequence[Case], cfg: AnswerSettings, oos_target: float, names: Sequence[str] = EVIDENCE,
                   steps: int = 3000) -> tuple[dict[str, float], float]:
    """Logistic regression of in-scope against out-of-scope on the question-level evidence (balanced), then
    the threshold that abstains on ``oos_target`` of the out-of-scope training questions."""
    e = evidence_matrix(cases, cfg)[:, [EVIDENCE.index(name) for name in names]]
    ok = ~np.isnan(e).any(axis=1)
    y = np.array([c.in_scope for c in cases], dtype=float)[ok]
    x = e[ok]
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    # In-scope questions weigh alike per language pair (60 English questions about German text count as much
    # as 600 German ones: asking across languages is what the product is for), and as much as out-of-scope.
    pair = np.array([c.slice.split("@")[0] for c in cases])[ok]
    pairs = sorted(set(pair[y == 1]))
    weight = np.where(y == 1, 0.0, 0.5 / (1 - y.mean()))
    for name in pairs:
        here = (pair == name) & (y == 1)
        weight[here] = 0.5 * len(y) / len(pairs) / here.sum()
    w = np.zeros(z.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * weight
        w -= 0.1 * (z.T @ g / len(y) + 1e-3 * w)
        b -= 0.1 * g.mean()
    raw = {name: float(wi / si) for name, wi, si in zip(names, w, std)}  # on unstandardised evidence
    # The threshold from the standard and page-scoped out-of-scope questions: small collections are easier.
    hard = np.array([not c.slice.endswith("@small") for c in cases])[ok]
    out_scores = x[(y == 0) & hard] @ np.array(list(raw.values()))
    threshold = float(np.quantile(out_scores, oos_target))
    return {name: round(value, 3) for name, value in raw.items()}, round(threshold, 3)


# ----------------------------------------------------------------------------- ceiling


def question_signals(cases: Sequence[Case], cfg: AnswerSettings) -> np.ndarray:
    """The don't-know rule's evidence plus what else the candidates tell of the question: the best
    sentence's own signals, its margin over the second, the mean of the best three scores and lifts."""
    rows = []
    for c in cases:
        f = c.features
        scores = combine(cfg, f)
        e = evidence(cfg, f, scores)
        plain = scores - cfg.preferred_bonus * f["preferred"]
        top, ranked = int(plain.argmax()), np.sort(plain)[::-1]
        rows.append([*(e[name] for name in EVIDENCE), ranked[0] - ranked[min(1, len(ranked) - 1)], ranked[:3].mean(),
                     np.sort(f["lift"])[::-1][:3].mean(), len(plain),
                     *(f[name][top] for name in ("lift", "chunk_lift", "lexical", "names", "type", "kind"))])
    return np.array(rows)


def ceiling(cases: Sequence[Case], cfg: AnswerSettings, targets: Sequence[float]) -> None:
    """How well the signals could separate in-scope from out-of-scope questions at best: classifiers
    fitted on ``cases`` themselves, each slice weighing alike, thresholded at each out-of-scope
    abstention target; prints each slice's in-scope abstention. A measurement of the signals (run on dev
    it is an upper bound, not a rule): nothing it learns is kept. The boosted trees are scored on
    questions they did not see (5 folds; a question asked of several collections stays in one fold)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cases = [c for c in cases if len(c.gold)]
    x = question_signals(cases, cfg)
    y = np.array([c.in_scope for c in cases])
    slices = np.array([c.slice for c in cases])
    weight = np.array([1.0 / (slices == s).sum() for s in slices])
    groups = np.unique([c.question for c in cases], return_inverse=True)[1]
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    linear.fit(x, y, logisticregression__sample_weight=weight)
    rules = {"linear, fitted on these cases (in-sample)": linear.decision_function(x)}
    trees = np.zeros(len(y))
    for train, test in GroupKFold(5).split(x, y, groups):
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0)
        model.fit(x[train], y[train], sample_weight=weight[train])
        trees[test] = model.predict_proba(x[test])[:, 1]
    rules["boosted trees, held-out questions"] = trees
    hard = ~y & ~np.char.endswith(slices.astype(str), "@small")
    for name, score in rules.items():
        for target in targets:
            cut = np.quantile(score[hard], target)
            rates = "  ".join(f"{s} {100 * np.mean(score[slices == s] < cut):.1f}" for s in sorted(set(slices[y])))
            print(f"{name}, {100 * target:.0f}% out-of-scope abstention -> in-scope abstention: {rates}")


# ----------------------------------------------------------------------------- replay


def replay(cases: Sequence[Case], cfg: AnswerSettings) -> dict[str, dict[str, float]]:
    """Per slice: answer@1 (first sentence holds the gold), in-scope abstention; per out-of-scope kind,
    abstention."""
    rows: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for c in cases:
        if not len(c.gold):
            rows[c.slice].append((False, True))
            continue
        scores = combine(cfg, c.features)
        abstained = confidence(cfg, c.features, scores) < cfg.min_score
        row = (not abstained and bool(c.gold[int(np.argmax(scores))]), abstained)
        rows[c.slice].append(row)
        if not c.in_scope:  # and by the question's language, and whether it is the collection's
            rows[f"{c.slice}[{detect(c.question)}]"].append(row)
            rows[f"{c.slice}[{'same' if c.features['same_lang'].any() else 'across'}]"].append(row)
    return {name: {"n": len(r), "answer@1": round(100 * np.mean([a for a, _ in r]), 1),
                   "abstained": round(100 * np.mean([b for _, b in r]), 1)} for name, r in sorted(rows.items())}


def show(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    for name, row in table.items():
        print(f"  {name:32} n={row['n']:5}  answer@1 {row['answer@1']:5.1f}  abstained {row['abstained']:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("collect")
    p.add_argument("dir", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--home", type=Path, default=Path("/tmp/articlebot-fit"))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--mixed", action="store_true")
    p.add_argument("--small", action="store_true")
    p.add_argument("--across", action="store_true", help="out-of-scope questions in other languages too")
    p = sub.add_parser("fit")
    p.add_argument("train", type=Path, nargs="+")
    p.add_argument("--check", type=Path, action="append", default=[])
    p.add_argument("--oos-target", type=float, default=0.92, help="out-of-scope abstention on training data")
    p.add_argument("--features", default=",".join(SCORE_FEATURES))
    p.add_argument("--evidence", default=",".join(EVIDENCE), help="what the don't-know rule weighs")
    p = sub.add_parser("ceiling", help="the best in-scope abstention the signals allow (measures; fits nothing kept)")
    p.add_argument("cases", type=Path, nargs="+")
    p.add_argument("--oos-target", type=float, action="append", default=[])
    args = parser.parse_args()
    if args.command == "collect":
        cases = collect(args.dir, args.home, args.limit, args.mixed, args.small, args.across)
        args.out.write_bytes(pickle.dumps(cases))
        print(f"{len(cases)} cases -> {args.out}", file=sys.stderr)
        return
    if args.command == "ceiling":
        ceiling([case for path in args.cases for case in load_cases(path)], AnswerSettings(),
                args.oos_target or [0.90, 0.92])
        return
    train: list[Case] = [case for path in args.train for case in load_cases(path)]
    names = args.features.split(",")
    current = AnswerSettings()
    show("current settings on the training cases", replay(train, current))
    weights = fit_scorer(train, names)
    cfg = current.model_copy(update={"score_weights": weights})
    conf, threshold = fit_confidence(train, cfg, args.oos_target, args.evidence.split(","))
    cfg = cfg.model_copy(update={"confidence_weights": conf, "min_score": threshold})
    print(f"\nscore_weights = {weights}\nconfidence_weights = {conf}\nmin_score = {threshold}")
    show("fitted, on the training cases", replay(train, cfg))
    for path in args.check:
        cases = load_cases(path)
        show(f"current settings on {path}", replay(cases, current))
        show(f"fitted, on {path}", replay(cases, cfg))


if __name__ == "__main__":
    main()
