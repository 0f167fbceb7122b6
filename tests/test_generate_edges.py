"""The generative answerer at the edges: settings from the environment, `articlebot chat` and the web chat
streaming a model's tokens. The fake embedder keeps these fast; the model is LangChain's fake chat model
or a fake OpenAI-compatible server on 127.0.0.1. (The check's measures are covered in test_generate.)"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI

from bot.config import AnswerSettings, BotSettings, LLMSettings
from bot.llm import make_chat_model
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from tests.fake_llm import fake_openai
from ui.cli import main
from ui.gradio_app import ChatUI
from ui.settings import Settings

ARTICLE = {"title": "Harbour bridge to close", "url": "https://news.example.org/bridge",
           "text": "The Old Harbour Bridge in Portmere will close to all traffic from 3 March for six weeks. "
                   "Inspectors found corrosion in two of the steel cables that hold the bridge deck."}
# Copied from the article: backed by its words whatever the (fake) embedder says.
CLAIM = "The Old Harbour Bridge in Portmere will close to all traffic from 3 March for six weeks"


def test_the_environment_names_configure_the_answerer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTICLEBOT_ANSWERER", "ollama")
    monkeypatch.setenv("ARTICLEBOT_LLM_BASE_URL", "http://127.0.0.1:11434")
    monkeypatch.setenv("ARTICLEBOT_LLM_MODEL", "qwen2.5:3b")
    monkeypatch.setenv("ARTICLEBOT_LLM_API_KEY", "secret-key")
    monkeypatch.setenv("ARTICLEBOT_LLM_TIMEOUT", "12.5")
    bot = Settings().bot
    assert bot.answer.answerer == "ollama" and bot.llm.base_url == "http://127.0.0.1:11434"
    assert bot.llm.model == "qwen2.5:3b" and bot.llm.timeout == 12.5
    assert bot.llm.api_key.get_secret_value() == "secret-key" and "secret-key" not in repr(bot)


def test_a_model_answerer_without_a_server_is_refused_with_what_to_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ARTICLEBOT_HOME", str(tmp_path))
    monkeypatch.setenv("ARTICLEBOT_ANSWERER", "openai")
    assert main(["ask", "Who?"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("articlebot: Bad settings: ARTICLEBOT_ANSWERER=openai needs ARTICLEBOT_LLM_BASE_URL")
    assert len(err.splitlines()) == 1


def test_the_chat_models_are_made_from_the_settings() -> None:
    cfg = LLMSettings(base_url="http://127.0.0.1:8080/v1", model="smol", timeout=7, max_tokens=64)
    openai = make_chat_model("openai", cfg)
    assert isinstance(openai, ChatOpenAI) and openai.openai_api_base == "http://127.0.0.1:8080/v1"
    assert openai.model_name == "smol" and openai.max_retries == 0 and openai.request_timeout == 7
    assert openai.max_tokens == 64 and openai.temperature == 0
    ollama = make_chat_model("ollama", cfg.model_copy(update={"base_url": "http://127.0.0.1:11434"}))
    assert isinstance(ollama, ChatOllama) and ollama.base_url == "http://127.0.0.1:11434"
    assert ollama.model == "smol" and ollama.num_predict == 64 and ollama.client_kwargs == {"timeout": 7}


def test_articlebot_chat_streams_the_answer_and_keeps_the_conversation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ARTICLEBOT_HOME", str(home))
    monkeypatch.setenv("ARTICLEBOT_INDEX__EMBED__MODEL", "hash")
    article = tmp_path / "bridge.en.txt"
    article.write_text(f"{ARTICLE['title']}\n\n{ARTICLE['text']}", encoding="utf-8")
    assert main(["ingest", str(article)]) == 0
    with fake_openai() as server:
        server.script = [f"{CLAIM} [1][4].", "When will the Old Harbour Bridge close?", f"{CLAIM} [1]."]
        monkeypatch.setenv("ARTICLEBOT_ANSWERER", "openai")
        monkeypatch.setenv("ARTICLEBOT_LLM_BASE_URL", server.url)
        monkeypatch.setenv("ARTICLEBOT_LLM_MODEL", "fake")
        monkeypatch.setattr("sys.stdin", io.StringIO("How long will the bridge close?\nand when?\n\n"))
        capsys.readouterr()
        assert main(["chat"]) == 0
        out = capsys.readouterr().out
        condense = server.prompts()[1]
    # The model's words as streamed, then the checked answer (the citation [4] has no passage).
    assert f"{CLAIM} [1][4].\nchecked:\n{CLAIM} [1].\n  [1] Harbour bridge to close" in out
    follow_up = out.split("\n? ")[2]
    assert follow_up.startswith(f"{CLAIM} [1].\n  [1] Harbour bridge to close")  # no "checked:": unchanged
    assert "Conversation:\nUser: How long will the bridge close?\nAssistant: " + CLAIM in condense
    assert "Last question: and when?" in condense


def test_the_web_chat_shows_the_tokens_then_the_checked_answer(tmp_path: Path) -> None:
    model = GenericFakeChatModel(messages=iter([f"{CLAIM} [1][3]."]))
    bot = Bot.open(tmp_path, IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings(answer=AnswerSettings(min_score=0.0)))
    bot.add_text(**ARTICLE)
    bot = Bot(bot.library, bot.embedder, bot.index_cfg, bot.cfg, bot.crowd, chat_model=model)
    outputs = list(ChatUI(bot).respond("How long will the bridge close?", []))
    partials = [chat[-1]["content"] for chat, *_ in outputs[1:-1]]
    assert len(partials) > 5 and partials[-1] == f"{CLAIM} [1][3]."  # as the model wrote it
    chat, sources, turns, _ = outputs[-1]
    assert turns[0]["answer"] == f"{CLAIM} [1]."
    assert 'href="#src-0-1"' in chat[1]["content"] and "[3]" not in chat[1]["content"]
    assert 'id="src-0-1"' in sources and "<mark>" in sources


def test_eval_through_a_model_reports_citation_precision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_evaluate import _write_bench
    from ui.evalcmd import cmd_eval

    bench_dir = tmp_path / "bench"
    bench_dir.mkdir()
    _write_bench(bench_dir)
    with fake_openai() as server:
        # One citation of a passage that exists and backs the claim, one of a passage that does not exist.
        server.script = ["The Denver Broncos won Super Bowl 50 [1][9]."]
        settings = Settings(home=tmp_path / "home", index=IndexSettings(embed=EmbedSettings(model="hash")),
                            llm_base_url=server.url, llm_model="fake")
        args = argparse.Namespace(dir=bench_dir, json=False, limit=None, report=None, mode=None, mixed=False,
                                  small=False, skip_standard=False, answerer="openai")
        assert cmd_eval(settings, args) == 0
        asked = len(server.requests)
    out = capsys.readouterr().out
    # The two questions in their collections, then out of scope (another collection, an unrelated page).
    assert asked == 6
    assert "\nhybrid    a_en2en" in out and "\ndense " not in out and "baseline" not in out
    # The Super Bowl passage backs its [1] (its words), [9] is dropped: 1 of 2 in a_en2en; the
    # chlorophyll collection's passage backs neither.
    assert "hybrid a_en2en: citation precision 50.0%" in out
    assert "hybrid b_en2en: citation precision 0.0%" in out


def test_an_empty_collection_and_a_page_scope_with_a_model(tmp_path: Path) -> None:
    base = Bot.open(tmp_path, IndexSettings(embed=EmbedSettings(model="hash")), BotSettings())
    model = GenericFakeChatModel(messages=iter([f"{CLAIM} [1]."]))
    bot = Bot(base.library, base.embedder, base.index_cfg, base.cfg, base.crowd, chat_model=model)
    assert bot.ask("Who?").answer.startswith("There are no articles yet.")  # the model is not asked
    bot.add_text(**ARTICLE)
    answer = bot.ask("How long will the bridge close?", page_url=ARTICLE["url"])
    assert answer.answer == f"{CLAIM} [1]." and answer.note == "Searched this page first: Harbour bridge to close."
