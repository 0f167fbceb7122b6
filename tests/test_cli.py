"""The command line, end to end with the fake embedder (the real model is covered in test_answer_real)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ui.cli import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARTICLEBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARTICLEBOT_INDEX__EMBED__MODEL", "hash")
    monkeypatch.setenv("ARTICLEBOT_BOT__ANSWER__MIN_SCORE", "0")
    return tmp_path / "home"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ingest_ask_list_delete_json(home: Path, sample_article: Path, capsys: pytest.CaptureFixture[str]):
    code, out, _ = run(capsys, "ingest", str(sample_article), "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "added"

    code, out, _ = run(capsys, "ask", "Qui a confirmé l'agression ?", "--json", "-k", "3")
    answer = json.loads(out)
    assert code == 0
    assert set(answer) == {"answer", "abstained", "sources", "query"}
    assert answer["abstained"] is False and answer["query"] == "Qui a confirmé l'agression ?"
    for source in answer["sources"]:
        assert set(source) == {"n", "article_id", "title", "url", "quote", "score"}
        assert f"{source['quote']} [{source['n']}]" in answer["answer"]
        assert source["url"] == str(sample_article.resolve())

    code, out, _ = run(capsys, "list", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 1
    assert set(rows[0]) == {"id", "title", "language", "chunks", "source", "ingested_at"}
    assert rows[0]["language"] == "fr" and rows[0]["chunks"] > 3

    code, out, _ = run(capsys, "delete", rows[0]["id"])
    assert code == 0 and "deleted" in out
    code, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_data_dir_flag_wins_over_the_environment(home: Path, tmp_path: Path, sample_article: Path,
                                                 capsys: pytest.CaptureFixture[str]):
    other = tmp_path / "other"
    run(capsys, "--data-dir", str(other), "ingest", str(sample_article))
    assert (other / "chroma").exists() and not home.exists()


def test_ingest_summary_counts_and_failure_exit_code(home: Path, sample_article: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, out, _ = run(capsys, "ingest", str(sample_article), str(empty), str(tmp_path / "nope.md"))
    assert code == 1
    assert "1 added, 0 updated, 0 unchanged, 2 failed" in out
    assert "is empty" in out and "no such file or folder" in out
    code, out, _ = run(capsys, "ingest", str(sample_article))
    assert code == 0 and "0 added, 0 updated, 1 unchanged, 0 failed" in out


def test_errors_are_one_line_with_a_hint(home: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "delete", "nope")
    assert code == 2 and err.startswith("articlebot: No article with id 'nope'.")
    assert "articlebot list" in err and err.count("\n") == 1
    code, _, err = run(capsys, "ask", "   ")
    assert code == 2 and "empty" in err


def test_empty_collection_says_so(home: Path, capsys: pytest.CaptureFixture[str]):
    _, out, _ = run(capsys, "ask", "Who confirmed the attack?", "--json")
    answer = json.loads(out)
    assert answer["abstained"] is True and "no articles yet" in answer["answer"]


def test_help_is_instant_because_imports_are_lazy():
    done = subprocess.run([sys.executable, "-c", "import sys, ui.cli; ui.cli.build_parser();"
                           "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                           "('torch','chromadb','gradio','sentence_transformers','langchain_core')))"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_library_without_sentence_vectors_is_told_to_reindex(home: Path, sample_article: Path,
                                                               capsys: pytest.CaptureFixture[str]):
    from index.store import Library

    run(capsys, "ingest", str(sample_article))
    library = Library(home, "articles", "hash-256")
    sentences = library.vectors.sentences
    sentences.delete(ids=sentences.get(include=[])["ids"])  # as built by an older version
    library.close()
    code, out, err = run(capsys, "ask", "Qui a confirmé l'agression ?")
    assert code == 0 and "Abdul Aziz Bek" in out and "articlebot reindex" in err
    assert run(capsys, "reindex")[0] == 0
    assert "reindex" not in run(capsys, "list")[2]
