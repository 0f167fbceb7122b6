"""``articlebot eval DIR``: run the benchmark, print a table or JSON, optionally write an HTML report."""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.evaluation.metrics import Outcome
    from bot.evaluation.run import EvalResult
    from ui.settings import Settings

COLUMNS = ("n", "answer@1", "hit@1", "hit@5", "hit@20", "mrr", "answer_contains", "answer_chars", "abstained", "p50_ms",
           "p95_ms")
WIDE = {"answer_contains": 15, "answer_chars": 12, "answer@1": 8}
CHART_METRICS = ("answer@1", "hit@5", "answer_contains")
COLOURS = {"hybrid": "#2b6cb0", "dense": "#38a169", "bm25": "#d69e2e", "baseline": "#a0aec0"}


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.evaluation.bench import load_benchmark
    from bot.evaluation.run import run_eval, systems_for
    from index.embed import make_embedder
    from index.errors import InputError
    from ui.progress import Bar

    if not (args.dir / "questions.jsonl").exists():
        raise InputError(f"{args.dir} is not a benchmark folder (no questions.jsonl).",
                         "Point it at a folder with corpus_*.jsonl and questions.jsonl, e.g. ../shared/bench/dev.")
    try:
        systems = systems_for(args.mode, settings.bot.retrieval.mode)
    except ValueError as exc:
        raise InputError(str(exc), "Leave --mode out to run all systems.") from exc
    answerer = args.answerer or settings.bot.answer.answerer
    if answerer != "extractive":
        llm = settings.bot.llm
        if not (llm.base_url and llm.model):
            raise InputError(f"--answerer {answerer} needs a model server.",
                             "Set ARTICLEBOT_LLM_BASE_URL and ARTICLEBOT_LLM_MODEL (README: Generative answers).")
        # A model answer takes seconds: one retrieval mode, through the generative path.
        systems = [s for s in systems if s != "baseline"][:1]
        answer = settings.bot.answer.model_copy(update={"answerer": answerer})
        settings = settings.model_copy(update={"bot": settings.bot.model_copy(update={"answer": answer})})
    bench = load_benchmark(args.dir)
    embedder = make_embedder(settings.index.embed, settings.home / "models", Bar("model"))
    result = run_eval(bench, embedder, settings.index, settings.bot, systems, limit=args.limit,
                      cache_dir=settings.home / "eval-cache", progress=Bar("eval"),
                      mixed=args.mixed, small=args.small, standard=not args.skip_standard)
    data = result.to_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_table(data))
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(render_report(data, result, args.dir), encoding="utf-8")
        print(f"report: {args.report}", file=sys.stderr)
    return 0


def format_table(data: dict[str, Any]) -> str:
    """One row per system and slice, then out-of-scope abstention per system."""
    head = f"{'system':9} {'slice':19} " + " ".join(f"{c:>{WIDE.get(c, 7)}}" for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for system, block in data["systems"].items():
        for name, row in block["slices"].items():
            cells = " ".join(f"{row[c]:>{WIDE.get(c, 7)}}" for c in COLUMNS)
            lines.append(f"{system:9} {name:19} {cells}")
    lines.append("")
    for system, block in data["systems"].items():
        kinds = block.get("out_of_scope_by_kind") or {"out_of_scope": block["out_of_scope"]}
        lines.append(f"{system}: abstained on questions the collection cannot answer (should): " + ", ".join(
            f"{kind} {row.get('abstained', 0)}% of {row.get('n', 0)}" for kind, row in kinds.items()))
    for system, block in data["systems"].items():
        for name, row in block["slices"].items():
            if "citation_precision" in row:
                lines.append(f"{system} {name}: citation precision {row['citation_precision']}% (citations the "
                             "check of the cited passage supports)")
    lines.append(data["units"])
    lines += [f"note: {n}" for n in data.get("notes", [])]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- HTML report

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1a202c;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e2e8f0;padding:4px 6px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}.chart{display:grid;
grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:1rem}.slice{border:1px solid #e2e8f0;
border-radius:6px;padding:.6rem}.metric{font-size:12px;color:#4a5568;margin-top:.4rem}.row{display:flex;
align-items:center;gap:6px;font-size:12px}.row span.l{width:60px}.track{flex:1;background:#edf2f7;height:12px;
border-radius:3px}.bar{height:12px;border-radius:3px}.legend span{display:inline-block;margin-right:1rem}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}.miss td{font-size:13px}
.muted{color:#718096}
"""


def _bars(data: dict[str, Any], slice_name: str) -> str:
    out = []
    for metric in CHART_METRICS:
        out.append(f'<div class="metric">{html.escape(metric)}</div>')
        for system, block in data["systems"].items():
            value = float(block["slices"].get(slice_name, {}).get(metric, 0.0))
            colour = COLOURS.get(system, "#718096")
            out.append(f'<div class="row"><span class="l">{html.escape(system)}</span><div class="track">'
                       f'<div class="bar" style="width:{max(0.0, min(value, 100.0)):.1f}%;background:{colour}">'
                       f'</div></div><span>{value:.1f}</span></div>')
    return "".join(out)


def _summary_rows(data: dict[str, Any]) -> str:
    rows = []
    for system, block in data["systems"].items():
        for name, row in block["slices"].items():
            cells = "".join(f'<td class="num">{html.escape(str(row[c]))}</td>' for c in COLUMNS)
            rows.append(f"<tr><td>{html.escape(system)}</td><td>{html.escape(name)}</td>{cells}</tr>")
        for kind, scope in (block.get("out_of_scope_by_kind") or {"out_of_scope": block["out_of_scope"]}).items():
            rows.append(f'<tr><td>{html.escape(system)}</td><td>{html.escape(kind)}</td><td class="num">'
                        f'{scope.get("n", 0)}</td><td colspan="7"></td><td class="num">{scope.get("abstained", 0)}'
                        f'</td><td colspan="2"></td></tr>')
    return "".join(rows)


def _miss_rows(misses: Sequence[Outcome]) -> str:
    rows = []
    for o in misses:
        said = "(abstained)" if o.abstained else o.answer
        rows.append(f"<tr><td>{html.escape(o.slice)}</td><td>{html.escape(o.question)}</td>"
                    f"<td>{html.escape(' | '.join(o.answers))}</td><td>{html.escape(said)}</td>"
                    f'<td class="num">{o.rank or "–"}</td></tr>')
    return "".join(rows)


def render_report(data: dict[str, Any], result: EvalResult, bench_dir: Path) -> str:
    """A self-contained page: CSS bars per slice (systems side by side), the table, the worst misses."""
    from bot.evaluation.metrics import worst_misses

    slices = list(dict.fromkeys(s for block in data["systems"].values() for s in block["slices"]))
    legend = "".join(f'<span><i class="sw" style="background:{COLOURS.get(s, "#718096")}"></i>{html.escape(s)}'
                     "</span>" for s in data["systems"])
    charts = "".join(f'<div class="slice"><b>{html.escape(s)}</b>{_bars(data, s)}</div>' for s in slices)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("system", "slice", *COLUMNS))
    default = data.get("system", "")
    misses = worst_misses(result.outcomes.get(default, []))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>articlebot evaluation</title><style>{_CSS}</style></head><body>
<h1>articlebot evaluation</h1>
<p class="muted">Benchmark: {html.escape(str(bench_dir))}. {html.escape(data["units"])}.</p>
<h2>Per slice</h2><p class="legend">{legend}</p><div class="chart">{charts}</div>
<h2>Summary</h2><table><tr>{head}</tr>{_summary_rows(data)}</table>
<h2>Worst misses ({html.escape(default)})</h2>
<p class="muted">Confident wrong answers first; “rank” is the gold passage's rank (– = not in the top 20).</p>
<table class="miss"><tr><th>slice</th><th>question</th><th>gold answer</th><th>we answered</th><th>rank</th></tr>
{_miss_rows(misses)}</table>
{"".join(f'<p class="muted">note: {html.escape(n)}</p>' for n in data.get("notes", []))}
</body></html>
"""
