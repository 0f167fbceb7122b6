"""The evaluator: metric functions (pure) and a tiny end-to-end run with the hash embedder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.config import AnswerSettings, BotSettings
from bot.evaluation.bench import Question, corpus_family, limit_questions, load_benchmark, out_of_scope
from bot.evaluation.metrics import Outcome, contains_answer, gold_rank, normalize, summarize
from bot.evaluation.run import run_eval
from index.config import EmbedSettings, IndexSettings
from index.embed import HashEmbedder


def test_normalize_folds_case_accents_punctuation_and_spaces():
    assert normalize("  L'Élysée,\tPARIS!  ") == "l elysee paris"


@pytest.mark.parametrize(("answer", "golds", "expected"), [
    ("Jared Allen had 136 career sacks. [1]", ["136"], True),
    ("He had 1360 sacks.", ["136"], False),  # whole words only
    ("Le président Macron l'a dit.", ["president macron"], True),
    ("Nothing here.", ["Denver Broncos", "Broncos"], False),
    ("Anything", [""], False),
])
def test_contains_answer(answer: str, golds: list[str], expected: bool):
    assert contains_answer(answer, golds) is expected


def test_gold_rank():
    assert gold_rank(["a", "b", "c"], "b") == 2
    assert gold_rank(["a"], "z") is None


def _outcome(rank_of: str, answer: str = "x", abstained: bool = False, ms: float = 10.0) -> Outcome:
    return Outcome("hybrid", "s", "id", "q?", ("gold",), "g", tuple(rank_of), answer, abstained, ms)


def test_summarize_rates_are_percentages_and_mrr_a_fraction():
    outcomes = [_outcome("gab", "the gold"), _outcome("abcdefg", "nope"), _outcome("ab", "gold", abstained=True)]
    row = summarize(outcomes)
    assert row["n"] == 3
    assert row["hit@1"] == 33.3 and row["hit@5"] == 33.3 and row["hit@20"] == 66.7
    assert row["mrr"] == round((1 + 1 / 7) / 3, 3)
    assert row["answer_contains"] == 33.3  # an abstention never counts as containing the gold
    assert row["abstained"] == 33.3
    assert row["p50_ms"] == 10.0
    assert row["answer_chars"] == (len("the gold") + len("nope")) / 2  # answered ones only
    assert summarize([_outcome("g", "A quote. [1] Another. [2]")])["answer_chars"] == len("A quote. Another.")


def test_limit_takes_the_first_n_per_slice():
    qs = [Question(str(i), s, "q", "en", "c", "p", ("a",)) for i, s in enumerate("aabbb")]
    assert [q.id for q in limit_questions(qs, 1)] == ["0", "2"]
    assert len(limit_questions(qs, None)) == 5


def test_out_of_scope_aims_at_another_family_once_per_question(tmp_path: Path):
    bench = _write_bench(tmp_path)
    assert corpus_family("corpus_xquad_en.jsonl") == "xquad"
    moved = out_of_scope(bench, bench.questions)
    assert {(q.slice, q.corpus) for q in moved} == {("out_of_scope", "corpus_other_en.jsonl"),
                                                     ("out_of_scope", "corpus_xquad_en.jsonl")}
    assert all(q.gold_pid == "" for q in moved)


def _write_bench(root: Path) -> object:
    corpora = {
        "corpus_xquad_en.jsonl": [{"pid": "x0", "lang": "en", "title": "Super_Bowl_50", "text":
                                   "The Denver Broncos won Super Bowl 50. The game was played in "
                                   "Santa Clara, California, in February 2016."}],
        "corpus_other_en.jsonl": [{"pid": "o0", "lang": "en", "title": "Photosynthesis", "text":
                                   "Photosynthesis turns light into chemical energy. Chlorophyll absorbs "
                                   "mostly blue and red light in green plants."}],
    }
    for name, rows in corpora.items():
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    questions = [
        {"id": "q1", "slice": "a_en2en", "question": "Who won Super Bowl 50?", "question_lang": "en",
         "context_lang": "en", "corpus": "corpus_xquad_en.jsonl", "gold_pid": "x0",
         "answers": ["Denver Broncos"], "answers_en": ["Denver Broncos"]},
        {"id": "q2", "slice": "b_en2en", "question": "What does chlorophyll absorb?", "question_lang": "en",
         "context_lang": "en", "corpus": "corpus_other_en.jsonl", "gold_pid": "o0",
         "answers": ["blue and red light"], "answers_en": None},
    ]
    (root / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return load_benchmark(root)


def test_tiny_end_to_end_run_with_the_hash_embedder(tmp_path: Path):
    bench = _write_bench(tmp_path)
    bot_cfg = BotSettings(answer=AnswerSettings(min_score=-10.0))  # hash scores mean nothing: answer
    result = run_eval(bench, HashEmbedder(), IndexSettings(), bot_cfg, ["hybrid", "bm25"],
                      cache_dir=tmp_path / "cache", mixed=True, small=True)
    data = result.to_json()
    assert set(data["systems"]) == {"hybrid", "bm25"}
    row = data["slices"]["a_en2en"]
    assert row["n"] == 1 and row["hit@1"] == 100.0 and row["answer_contains"] == 100.0
    assert row["answer@1"] == 100.0
    assert data["out_of_scope"]["n"] == 2
    assert {"a_en2en@mixed", "a_en2en@small", "b_en2en@small"} <= set(data["slices"])  # ours only
    assert "a_en2en@small" not in data["systems"]["bm25"]["slices"]
    assert set(data["out_of_scope_by_kind"]) == {"out_of_scope", "out_of_scope@page", "out_of_scope@small"}
    assert list((tmp_path / "cache").glob("*.npz"))  # passage vectors cached for the next run


def test_cli_json_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from ui.evalcmd import cmd_eval
    from ui.settings import Settings

    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    _write_bench(bench_dir)
    settings = Settings(home=tmp_path / "home", index=IndexSettings(embed=EmbedSettings(model="hash")))
    report = tmp_path / "out" / "eval.html"
    args = argparse.Namespace(dir=bench_dir, json=True, limit=1, report=report, mode=None, mixed=True,
                              small=True, skip_standard=False, answerer=None)
    assert cmd_eval(settings, args) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["systems"]) >= {"hybrid", "dense", "bm25"}
    assert {"hit@1", "hit@5", "hit@20", "mrr", "answer_contains", "abstained", "p50_ms", "p95_ms"} <= \
        set(data["slices"]["a_en2en"])
    page = report.read_text(encoding="utf-8")
    assert "a_en2en" in page and "<link" not in page and "src=" not in page  # self-contained


def test_report_escapes_every_text():
    from bot.evaluation.run import EvalResult
    from ui.evalcmd import render_report

    nasty = Outcome("hybrid", "s", "id", "<script>alert(1)</script>?", ("<b>",), "g", (), "<i>no</i>",
                    False, 1.0)
    result = EvalResult(["hybrid"], {"hybrid": [nasty]})
    page = render_report(result.to_json(), result, Path("<dir>"))
    assert "<script>" not in page and "<i>no" not in page and "<dir>" not in page
    assert "&lt;script&gt;" in page


def test_answer_signals_across_languages():
    from bot.answer import name_overlap, names_and_numbers
    from bot.numbers import wanted_kinds

    names = names_and_numbers("How many sacks did Jared Allen have in 2015?")
    assert names == {"jared", "allen", "2015"}  # the question's first word is not a name
    assert name_overlap(names, "Jared Allen hatte 2015 insgesamt 136 Sacks.") == 1.0
    assert wanted_kinds("Combien de joueurs ?") and wanted_kinds("¿Cuándo empezó?")
    assert not wanted_kinds("Who confirmed the attack?")


def _passages(prefix: str, lang: str, articles: int) -> list:
    from bot.evaluation.bench import Passage

    return [Passage(f"{prefix}-{lang}-a{a:03d}-p{p:02d}", lang, f"T{a}", f"text {a} {p}")
            for a in range(articles) for p in range(2)]


def test_mixed_collections_put_the_other_half_in_the_other_languages():
    from bot.evaluation.bench import Benchmark, mixed_collections

    corpora = {f"corpus_xquad_{lang}.jsonl": _passages("xquad", lang, 4) for lang in ("en", "es", "de")}
    corpora["corpus_piaf10_fr.jsonl"] = _passages("piaf10", "fr", 3)
    questions = [Question(f"q{a}", "xquad_en2es", "q?", "en", "corpus_xquad_es.jsonl", f"xquad-es-a{a:03d}-p00",
                          ("x",)) for a in range(4)]
    questions.append(Question("f", "piaf_fr2fr", "q ?", "fr", "corpus_piaf10_fr.jsonl", "piaf10-fr-a000-p00", ("x",)))
    plan = mixed_collections(Benchmark(Path("."), corpora, questions), questions)
    by_name = {c.name: c for c in plan}
    half = by_name["xquad_en2es@mixed#0"]
    langs = {(p.lang, int(p.pid.split("-a")[1][:3]) % 2) for p in half.passages}
    assert langs == {("es", 0), ("en", 1), ("de", 1), ("fr", 0), ("fr", 1)}  # the question's half in Spanish only
    assert {q.gold_pid for q in half.asked} == {"xquad-es-a000-p00", "xquad-es-a002-p00"}
    assert {q.slice for c in plan for q in c.asked} == {"xquad_en2es@mixed", "piaf_fr2fr@mixed"}
    assert len(by_name["piaf_fr2fr@mixed"].passages) == 6 + 3 * 8  # PIAF with every XQuAD corpus


def test_small_collections_hold_each_gold_among_at_most_nine_others():
    from bot.evaluation.bench import Benchmark, small_collections

    corpora = {"corpus_xquad_en.jsonl": _passages("xquad", "en", 20), "corpus_other_en.jsonl": _passages("o", "en", 3)}
    questions = [Question(f"q{i}", "s", "q?", "en", "corpus_xquad_en.jsonl", p.pid, ("x",))
                 for i, p in enumerate(corpora["corpus_xquad_en.jsonl"])]
    foreign = [Question("f", "out_of_scope", "q?", "en", "corpus_xquad_en.jsonl", "", ("x",))]
    plan = small_collections(Benchmark(Path("."), corpora, questions), questions, foreign)
    assert all(1 <= len(c.passages) <= 10 for c in plan)
    for c in plan:
        assert all(q.gold_pid in {p.pid for p in c.passages} for q in c.asked if q.gold_pid)
    asked = [q for c in plan for q in c.asked]
    assert len(asked) == 41 and {q.slice for q in asked} == {"s@small", "out_of_scope@small"}


def test_answer_at_1_reads_the_first_sentence_only():
    from bot.evaluation.metrics import Outcome
    from bot.types import Answer

    assert Answer("Bek confirmed it. [1] The city fell. [2]", False).first_sentence() == "Bek confirmed it."
    assert Answer("The articles don't say.", True).first_sentence() == ""
    second = Outcome("hybrid", "s", "id", "q?", ("fell",), "g", ("g",), "Bek confirmed it. [1] The city fell. [2]",
                     False, 1.0, first="Bek confirmed it.")
    row = summarize([second])
    assert row["answer_contains"] == 100.0 and row["answer@1"] == 0.0
