"""The MCP tools (ask, search) over streamable HTTP, with the `mcp` client against a real server on
127.0.0.1; and gradio_client against the chat UI mounted next to them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("mcp", reason="the MCP tools need the 'mcp' package (pip install 'mcp>=1.21,<2')")

import gradio as gr
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from bot.config import AnswerSettings, BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from ui.server import MCP_ENDPOINT, create_server, running
from ui.settings import Settings

KEY = "mcp-test-key-42"
TEXT = ("Abdul Aziz Bek confirmed the attack on the police post on Tuesday. "
        "Three officers were wounded, the provincial governor said.")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    bot = Bot.open(tmp_path_factory.mktemp("mcp-home"), IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings(answer=AnswerSettings(min_score=0.0)))
    bot.add_text("Attack in Qala-i-Naw", TEXT, url="https://news.example.org/qala-i-naw")
    return bot


def chat_ui(bot: Bot) -> gr.Blocks:
    """Stands in for ui.gradio_app: like it, it names its endpoint "/ask"."""

    def ask(question: str) -> str:
        return bot.ask(question).answer

    with gr.Blocks() as blocks:
        gr.api(ask, api_name="ask")
    return blocks


def start(bot: Bot, home: Path, **settings: Any) -> Any:
    app = create_server(bot, Settings(home=home, api_keys=[KEY], **settings), ui=chat_ui(bot))
    return running(app)


@pytest.fixture(scope="module")
def base_url(bot: Bot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start(bot, tmp_path_factory.mktemp("mcp-srv")) as url:
        yield url


async def with_session(url: str, action: Any, headers: dict[str, str] | None = None) -> Any:
    async with (httpx.AsyncClient(headers=headers, timeout=60) as http,
                streamable_http_client(url + MCP_ENDPOINT, http_client=http) as (read, write, _),
                ClientSession(read, write) as session):
        await session.initialize()
        return await action(session)


def call(url: str, tool: str, arguments: dict[str, Any]) -> Any:
    async def action(session: ClientSession) -> Any:
        result = await session.call_tool(tool, arguments)
        assert not result.isError, result.content
        return json.loads(result.content[0].text)  # type: ignore[union-attr]

    return asyncio.run(with_session(url, action))


def test_mcp_lists_the_tools_with_descriptions(base_url: str) -> None:
    async def action(session: ClientSession) -> Any:
        return (await session.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(with_session(base_url, action))}
    assert set(tools) == {"ask", "search"}
    assert "quoting" in (tools["ask"].description or "")
    assert tools["ask"].inputSchema["properties"]["question"]["type"] == "string"
    assert set(tools["search"].inputSchema["properties"]) == {"query", "k"}


def test_mcp_ask_answers_with_sources(base_url: str) -> None:
    answer = call(base_url, "ask", {"question": "Who confirmed the attack?"})
    assert "Abdul Aziz Bek" in answer["answer"] and not answer["abstained"]
    assert answer["sources"][0]["url"] == "https://news.example.org/qala-i-naw"


def test_mcp_search_returns_passages(base_url: str) -> None:
    passages = call(base_url, "search", {"query": "officers wounded", "k": 2})
    assert 1 <= len(passages) <= 2
    assert set(passages[0]) == {"article_id", "title", "url", "text", "score"}
    assert "wounded" in passages[0]["text"]


def test_mcp_refuses_other_origins(base_url: str) -> None:
    response = httpx.post(base_url + MCP_ENDPOINT, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_gradio_client_still_reaches_the_ui(base_url: str) -> None:
    from gradio_client import Client

    client = Client(base_url + "/", verbose=False, analytics_enabled=False)
    assert "Abdul Aziz Bek" in client.predict("Who confirmed the attack?", api_name="/ask")


def test_mcp_needs_a_key_when_reads_do(bot: Bot, tmp_path: Path) -> None:
    with start(bot, tmp_path, require_key_for_read=True) as url:
        refused = httpx.post(url + MCP_ENDPOINT, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"

        async def action(session: ClientSession) -> Any:
            return [t.name for t in (await session.list_tools()).tools]

        names = asyncio.run(with_session(url, action, {"Authorization": f"Bearer {KEY}"}))
        assert sorted(names) == ["ask", "search"]


def test_mcp_tools_count_as_asks_for_the_rate_limit(bot: Bot, tmp_path: Path) -> None:
    from ui.settings import ServeSettings

    with start(bot, tmp_path, serve=ServeSettings(rate_limit_ask="1/minute")) as url:
        call(url, "search", {"query": "attack", "k": 1})

        async def action(session: ClientSession) -> Any:
            return await session.call_tool("ask", {"question": "Who confirmed the attack?"})

        result = asyncio.run(with_session(url, action))
        assert result.isError and "Too many questions" in result.content[0].text  # type: ignore[union-attr]
