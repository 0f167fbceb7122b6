"""Generative answers: the LangChain chain with LangChain's fake chat model, and the OpenAI protocol path
against a fake OpenAI-compatible server on 127.0.0.1. The real multilingual embedder and a real Chroma
hold the six demo articles (3 English, 3 French); the citation check measures with them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from bot.config import AnswerSettings, BotSettings, LLMSettings
from bot.service import Bot
from bot.types import Answer
from index.config import IndexSettings
from index.store import Library
from tests.fake_llm import EMPTY, ENDLESS, ERROR, MALFORMED, SLOW, FakeOpenAI, fake_openai
from ui.api import create_api
from ui.settings import Settings

DEMO = Path(__file__).resolve().parents[1] / "ui" / "demo_articles"
BRIDGE_Q = "How long will the harbour bridge be closed?"
BRIDGE = "The Old Harbour Bridge will close for six weeks from 3 March"


@pytest.fixture(scope="module")
def parts(real_embedder, real_crowd, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    library = Library(tmp_path_factory.mktemp("gen-home"), "articles", real_embedder.name)
    bot = Bot(library, real_embedder, IndexSettings(), BotSettings(), real_crowd)
    assert {r.status for r in bot.ingest([str(DEMO)])} == {"added"}
    return library, real_embedder, real_crowd


def make_bot(parts: Any, model: Any = None, **llm: Any) -> Bot:
    library, embedder, crowd = parts
    answerer = "openai" if "base_url" in llm else "extractive"
    # A generous budget unless a test sets one: a loaded machine must not turn a test into a fallback.
    cfg = BotSettings(answer=AnswerSettings(answerer=answerer),
                      llm=LLMSettings(**({"model": "fake", "timeout": 300} | llm)))
    return Bot(library, embedder, IndexSettings(), cfg, crowd, chat_model=model)


def fake_model(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


def number(parts: Any, query: str, title_word: str) -> int:
    """The number the prompt gives the passage of the article titled with ``title_word``."""
    passages = make_bot(parts).retriever.retrieve(query).passages
    return next(n for n, p in enumerate(passages, 1) if title_word in p.title)


def run(bot: Bot, question: str, history: list[dict[str, str]] | None = None) -> tuple[list[str], Answer]:
    *tokens, answer = bot.stream(question, history)
    assert isinstance(answer, Answer) and all(isinstance(t, str) for t in tokens)
    return tokens, answer


# -- the chain, with LangChain's fake chat model -----------------------------------------------------
def test_a_backed_answer_streams_token_by_token_and_keeps_its_citation(parts: Any) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    tokens, answer = run(make_bot(parts, fake_model(f"{BRIDGE} [{n}].")), BRIDGE_Q)
    assert len(tokens) > 5 and "".join(tokens) == f"{BRIDGE} [{n}]."  # the model's own tokens, as written
    assert answer.answer == f"{BRIDGE} [1]." and not answer.abstained and not answer.note
    assert [s.title for s in answer.sources] == ["Harbour bridge to close for six weeks of repairs"]
    assert "six weeks" in answer.sources[0].quote  # the passage's sentence that backs the claim
    [check] = answer.checks
    assert check.verdict == "supported" and check.kept == (1,) and check.supports[0].cited == n
    data = answer.to_json()
    assert data["checks"][0]["citations"][0]["supported"] is True
    assert set(data) == {"answer", "abstained", "sources", "query", "checks"}


def test_a_fabricated_citation_is_dropped_and_sources_are_renumbered_as_cited(parts: Any) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    reply = f"{BRIDGE} [9][{n}]. Repairs will cost about 4.2 million euros [{n}]."
    _, answer = run(make_bot(parts, fake_model(reply)), BRIDGE_Q)
    assert answer.answer == f"{BRIDGE} [1]. Repairs will cost about 4.2 million euros [1]."
    first = answer.checks[0]
    assert [(s.cited, s.supported) for s in first.supports] == [(9, False), (n, True)]
    assert "no passage [9]" in first.supports[0].reason
    assert len(answer.sources) == 1 and answer.sources[0].n == 1


def test_a_claim_citing_the_wrong_passage_is_marked_and_its_source_not_listed(parts: Any) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    other = next(k for k in range(1, 6) if k != n and "Harbour" not in
                 make_bot(parts).retriever.retrieve(BRIDGE_Q).passages[k - 1].title)
    reply = f"{BRIDGE} [{n}]. The city council will pay 9 million euros for a new tramway [{other}]."
    _, answer = run(make_bot(parts, fake_model(reply)), BRIDGE_Q)
    assert answer.answer == f"{BRIDGE} [1]. The city council will pay 9 million euros for a new tramway [?]."
    assert [c.verdict for c in answer.checks] == ["supported", "unsupported"]
    assert not answer.checks[1].supports[0].supported
    assert [s.n for s in answer.sources] == [1] and "[?]" in answer.note


def test_a_claim_about_another_article_is_not_backed_by_the_cited_one(parts: Any) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    reply = f"{BRIDGE} [{n}]. The library stays open at night [{n}]. Shop owners are worried."
    _, answer = run(make_bot(parts, fake_model(reply)), BRIDGE_Q)
    assert [c.verdict for c in answer.checks] == ["supported", "unsupported", "uncited"]
    assert answer.answer.endswith("The library stays open at night [?]. Shop owners are worried [?].")


def test_no_backed_claim_gives_the_dont_know_with_the_best_quote_offered(parts: Any) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    _, answer = run(make_bot(parts, fake_model(f"The bridge was built by the Romans [{n}].")), BRIDGE_Q)
    assert answer.abstained and answer.answer.startswith("The articles don't say. The closest passage:")
    assert answer.sources and "six weeks" in answer.answer  # the extractive answer's quote, cited
    assert answer.checks[0].verdict == "unsupported"


def test_the_model_saying_the_articles_dont_say_is_an_abstention(parts: Any) -> None:
    _, answer = run(make_bot(parts, fake_model("The articles don't say.")), "Who won the 2018 World Cup?")
    assert answer.abstained and answer.answer == "The articles don't say." and answer.sources == []
    assert [c.verdict for c in answer.checks] == ["no_claim"]


def test_a_french_question_gets_a_checked_french_answer_about_an_english_article(parts: Any) -> None:
    question = "Combien de temps le pont du port sera-t-il fermé ?"
    n = number(parts, question, "Harbour")
    reply = f"Le pont du port sera fermé pendant six semaines à partir du 3 mars [{n}]."
    _, answer = run(make_bot(parts, fake_model(reply)), question)
    assert answer.answer == "Le pont du port sera fermé pendant six semaines à partir du 3 mars [1]."
    assert not answer.note and answer.checks[0].verdict == "supported"


def test_a_follow_up_is_condensed_by_the_model(parts: Any) -> None:
    history = [{"role": "user", "content": BRIDGE_Q}, {"role": "assistant", "content": f"{BRIDGE} [1]."}]
    standalone = "How much will the repairs of the Old Harbour Bridge cost?"
    n = number(parts, standalone, "Harbour")
    model = fake_model(standalone, f"The repairs will cost about 4.2 million euros [{n}].")
    _, answer = run(make_bot(parts, model), "And how much will they cost?", history)
    assert answer.query == standalone
    assert answer.answer == "The repairs will cost about 4.2 million euros [1]."


def test_an_unusable_rewrite_falls_back_to_the_rule(parts: Any) -> None:
    history = [{"role": "user", "content": BRIDGE_Q}, {"role": "assistant", "content": f"{BRIDGE} [1]."}]
    _, answer = run(make_bot(parts, fake_model("", "The articles don't say.")), "and why?", history)
    assert answer.query == f"{BRIDGE_Q} and why?"  # the previous question, searched together with this one


# -- the OpenAI protocol, against a fake server on 127.0.0.1 ----------------------------------------
@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as fake:
        yield fake


def test_the_openai_server_streams_the_answer_and_gets_the_prompt_as_data(parts: Any, server: FakeOpenAI) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    server.script = [f"{BRIDGE} [{n}]."]
    tokens, answer = run(make_bot(parts, base_url=server.url), BRIDGE_Q)
    assert len(tokens) > 5 and answer.answer == f"{BRIDGE} [1]." and answer.checks
    [request] = server.requests
    assert request["stream"] is True and request["model"] == "fake" and request["temperature"] == 0
    system, human = request["messages"]
    assert system["role"] == "system" and "English" in system["content"] and "[n]" in system["content"]
    assert "The articles don't say." in system["content"]  # what to say when the passages don't
    assert f"<<<PASSAGE [{n}] title: Harbour bridge to close for six weeks of repairs" in human["content"]
    assert "language: English>>>" in human["content"] and f"<<<END OF PASSAGE [{n}]>>>" in human["content"]
    assert human["content"].count("<<<PASSAGE [") == 5 and BRIDGE_Q in human["content"]


@pytest.mark.parametrize(("behaviour", "reason"), [
    (SLOW, "no complete answer within 2 s"),
    (ENDLESS, "no complete answer within 2 s"),
    (ERROR, "the model server answered with an error: HTTP 500"),
    (MALFORMED, "the model server's answer could not be read"),
    (EMPTY, "the answer was empty"),
])
def test_a_failing_server_gives_the_extractive_answer_with_a_notice(parts: Any, server: FakeOpenAI,
                                                                     behaviour: str, reason: str) -> None:
    server.script = [behaviour]
    _, answer = run(make_bot(parts, base_url=server.url, timeout=2), BRIDGE_Q)
    quoted = make_bot(parts).ask(BRIDGE_Q)
    assert answer.answer == quoted.answer and answer.sources == quoted.sources and not answer.checks
    assert answer.note.startswith(f"The language model did not answer ({reason}")
    assert answer.note.endswith("these are the articles' own sentences instead.")


def test_an_unreachable_server_gives_the_extractive_answer_with_a_notice(parts: Any) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    _, answer = run(make_bot(parts, base_url=url, timeout=30), BRIDGE_Q)
    assert answer.note.startswith(f"The language model did not answer (the model server at {url} cannot be reached")
    assert answer.answer == make_bot(parts).ask(BRIDGE_Q).answer


def test_an_answer_in_another_language_than_the_question_says_so(parts: Any, server: FakeOpenAI) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    server.script = [f"Le pont sera fermé pendant six semaines à partir du 3 mars [{n}]."]
    _, answer = run(make_bot(parts, base_url=server.url), BRIDGE_Q)
    assert answer.note == "The model answered in French, not in the question's language (English)."
    assert answer.checks[0].verdict == "supported"  # checked across languages


def test_a_fabricated_citation_from_the_server_is_dropped(parts: Any, server: FakeOpenAI) -> None:
    server.script = [f"{BRIDGE} [9]."]
    _, answer = run(make_bot(parts, base_url=server.url), BRIDGE_Q)
    assert answer.abstained and answer.answer.startswith("The articles don't say.")
    assert answer.checks[0].supports[0].reason == "there is no passage [9]"


def test_ask_stream_sends_the_tokens_then_the_checked_answer(parts: Any, server: FakeOpenAI, tmp_path: Path) -> None:
    n = number(parts, BRIDGE_Q, "Harbour")
    server.script = [f"{BRIDGE} [{n}][7]."]
    app = create_api(make_bot(parts, base_url=server.url), Settings(home=tmp_path))
    with TestClient(app) as client:
        response = client.post("/api/v1/ask/stream", json={"question": BRIDGE_Q})
        plain = client.post("/api/v1/ask", json={"question": BRIDGE_Q})
    events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
              for block in response.text.strip().split("\n\n")]
    tokens = [data for kind, data in events if kind == "token"]
    assert len(tokens) > 5 and "".join(tokens) == f"{BRIDGE} [{n}][7]."
    kind, done = events[-1]
    assert kind == "done" and done["answer"] == f"{BRIDGE} [1]."
    assert [c["cited"] for c in done["checks"][0]["citations"]] == [n, 7] and done["checks"][0]["kept"] == [1]
    assert plain.json()["answer"] == f"{BRIDGE} [1]." and plain.json()["checks"][0]["verdict"] == "supported"


def test_without_a_model_server_nothing_changes(parts: Any, tmp_path: Path) -> None:
    bot = make_bot(parts)
    assert bot.generative is None
    answer = bot.ask(BRIDGE_Q)
    assert not answer.checks and "checks" not in answer.to_json() and "six weeks" in answer.answer
    with TestClient(create_api(bot, Settings(home=tmp_path))) as client:
        assert client.post("/api/v1/ask", json={"question": BRIDGE_Q}).json()["checks"] == []
