"""Measure, per pair of languages, how much less similar the same content reads across them than the
crowds account for; writes the table the retriever adds to a chunk in another language (bot/languages.toml).

Parallel text: FLORES-200 dev (the same 997 Wikinews/Wikivoyage/Wikibooks sentences in 200 languages,
CC BY-SA 4.0; a folder holding ``dev/LANG_Script.dev`` and ``metadata_dev.tsv``, kept outside the
repository). Each document of three sentences or more gives two pairs: its first sentence as the
question and the others as the passage, and its last sentence and the ones before. For a question in A
and the passage in B:

    bonus(A, B) = [cos(q_A, P_A) - cos(q_A, P_B)] - [level_A(q_A) - level_B(q_A)]

the drop in similarity across languages, less the part the crowds' levels (bot/crowd.py) already take
back. Averaged over the pairs.

    .venv/bin/python scripts/measure_languages.py FLORES_DIR --out bot/languages.toml
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.crowd import Crowd
from index.embed import make_embedder
from ui.settings import Settings

# FLORES-200's names of the languages measured (ISO 639-1 -> FLORES code): the benchmark's, the training
# sets', and neighbours of the first (Italian, Portuguese).
FLORES = {"en": "eng_Latn", "fr": "fra_Latn", "de": "deu_Latn", "es": "spa_Latn", "it": "ita_Latn",
          "pt": "por_Latn", "ru": "rus_Cyrl", "ar": "arb_Arab", "fi": "fin_Latn", "id": "ind_Latn",
          "ko": "kor_Hang"}

HEADER = """\
# Added to the lift of a chunk in another language than the question's, per "question>passage" language:
# the drop in similarity of the same content across the two languages that the crowds' levels do not
# account for. Measured by scripts/measure_languages.py on FLORES-200 dev (parallel text, CC BY-SA 4.0;
# not ../shared/bench) with multilingual-e5-small. Pairs not listed get RetrievalSettings.cross_language_bonus."""


def pairs(flores: Path) -> tuple[list[tuple[int, list[int]]], dict[str, list[str]]]:
    """(question sentence, passage sentences) by line number, and each language's lines."""
    urls = [line.split("\t")[0] for line in (flores / "metadata_dev.tsv").read_text("utf-8").splitlines()[1:]]
    lines = {lang: (flores / "dev" / f"{code}.dev").read_text("utf-8").splitlines() for lang, code in FLORES.items()}
    docs = [list(group) for _, group in itertools.groupby(range(len(urls)), key=lambda i: urls[i])]
    docs = [d for d in docs if len(d) >= 3]
    return [(d[0], d[1:]) for d in docs] + [(d[-1], d[:-1]) for d in docs], lines


def measure(flores: Path, home: Path) -> dict[str, float]:
    settings = Settings(home=home)
    embedder = make_embedder(settings.index.embed, home / "models")
    crowd = Crowd(embedder, home / "eval-cache")
    asked, lines = pairs(flores)
    print(f"{len(asked)} question/passage pairs in {len(FLORES)} languages", file=sys.stderr)
    questions: dict[str, np.ndarray] = {}
    passages: dict[str, np.ndarray] = {}
    for lang in FLORES:
        questions[lang] = np.asarray(embedder.embed([lines[lang][q] for q, _ in asked], "query"))
        passages[lang] = np.asarray(embedder.embed([" ".join(lines[lang][i] for i in rest) for _, rest in asked],
                                                   "passage"))
        print(f"  {lang} embedded", file=sys.stderr)
    # Each language's questions against each crowd, once (a pair reads two of these).
    levels = {(a, b): np.array([crowd.level(v, b) for v in questions[a]]) for a in FLORES for b in FLORES}
    table = {}
    for a, b in itertools.permutations(FLORES, 2):
        q = questions[a]
        drop = np.sum(q * passages[a], axis=1) - np.sum(q * passages[b], axis=1)
        crowds = levels[a, a] - levels[a, b]
        table[f"{a}>{b}"] = round(float(np.mean(drop - crowds)), 3) + 0.0  # no "-0.0"
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("flores", type=Path, help="FLORES-200: dev/*.dev and metadata_dev.tsv")
    parser.add_argument("--home", type=Path, default=Path("/tmp/articlebot-fit"), help="models and crowd cache")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    table = measure(args.flores, args.home)
    body = "\n".join(f'"{pair}" = {value}' for pair, value in table.items())
    args.out.write_text(f"{HEADER}\n[cross_language_bonus]\n{body}\n", "utf-8")
    print(f"{len(table)} pairs written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
