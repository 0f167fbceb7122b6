"""The web UI's roles and limits without a browser: the Gradio queue called over plain HTTP, the way
any script (or a tampered browser) could call it. The server must refuse writes from a session that
has not signed in, whatever the request carries."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from bot.config import AnswerSettings, BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from ui.auth import UiAccess
from ui.gradio_app import ChatUI, create_app
from ui.ratelimit import RateLimits
from ui.server import create_server, running
from ui.settings import ServeSettings, Settings

KEY = "admin-key-0123456789"
TEXT = ("The harbour master of Tromsø confirmed the closure on Friday. Fishing boats waited outside "
        "the port for two days. The ferry resumed on Sunday.")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    bot = Bot.open(tmp_path_factory.mktemp("access-home"), IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings(answer=AnswerSettings(min_score=0.0)))
    bot.add_text("Harbour closed", TEXT)
    return bot


def fn_index(demo: gr.Blocks, name: str) -> int:
    return next(i for i, fn in demo.fns.items() if fn.name == name)


class Session:
    """One Gradio session driven over HTTP: join the queue, then read the event stream to its end."""

    def __init__(self, base: str, demo: gr.Blocks) -> None:
        self.base, self.demo, self.hash = base, demo, uuid.uuid4().hex[:11]

    def call(self, name: str, data: list[Any]) -> dict[str, Any]:
        body = {"data": data, "fn_index": fn_index(self.demo, name), "session_hash": self.hash,
                "event_data": None, "trigger_id": None}
        joined = httpx.post(f"{self.base}/gradio_api/queue/join", json=body, timeout=30)
        assert joined.status_code == 200, joined.text
        with httpx.stream("GET", f"{self.base}/gradio_api/queue/data",
                          params={"session_hash": self.hash}, timeout=60) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        return dict(message)
        raise AssertionError("the event stream ended without a result")


@pytest.fixture(scope="module")
def served(bot: Bot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, gr.Blocks]]:
    settings = Settings(home=tmp_path_factory.mktemp("access-settings"), api_keys=[KEY])
    demo = create_app(bot, settings)
    with running(create_server(bot, settings, ui=demo)) as url:
        yield url, demo


def test_writes_without_sign_in_are_refused_over_http(served: tuple[str, gr.Blocks], bot: Bot) -> None:
    url, demo = served
    before = [a.id for a in bot.articles()]
    session = Session(url, demo)
    session.call("collection_outputs", [])  # the delete list's choices, as the page's refresh gets them
    # The second input is the signed-in State: the request says True, the server keeps its own False.
    for name, data in {"delete": [before[0], True],
                       "add_text": ["Injected", "Somebody added this without signing in, twice over.", "",
                                    True]}.items():
        result = session.call(name, data)
        assert result["success"] is False, result
        assert "Sign in as admin" in json.dumps(result["output"]), result
    assert [a.id for a in bot.articles()] == before


def test_sign_in_then_write_in_the_same_session(served: tuple[str, gr.Blocks], bot: Bot) -> None:
    url, demo = served
    session = Session(url, demo)
    session.call("sign_in", ["", "not-the-key"])
    refused = session.call("add_text", ["Signed in", "An admin added this article after signing in.", "", None])
    assert refused["success"] is False
    session.call("sign_in", ["", KEY])  # the State it sets stays on the server: the reply carries None
    added = session.call("add_text", ["Signed in", "An admin added this article after signing in.", "", None])
    assert added["success"] is True, added
    new = [a for a in bot.articles() if a.title == "Signed in"]
    assert len(new) == 1
    session.call("collection_outputs", [])
    assert session.call("delete", [new[0].id, None])["success"] is True
    assert not [a for a in bot.articles() if a.title == "Signed in"]
    # Another session is not signed in.
    other = Session(url, demo)
    other.call("collection_outputs", [])
    assert other.call("delete", [bot.articles()[0].id, None])["success"] is False


def test_readers_can_still_ask(served: tuple[str, gr.Blocks]) -> None:
    from gradio_client import Client

    client = Client(served[0] + "/", verbose=False, analytics_enabled=False)
    assert "Tromsø" in json.dumps(client.predict("Who confirmed the closure?", api_name="/ask"),
                                  ensure_ascii=False)


def test_the_page_needs_a_login_when_reads_need_a_key(bot: Bot, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, api_keys=[KEY], read_keys=["reader-key"], require_key_for_read=True)
    with running(create_server(bot, settings)) as url:
        assert httpx.get(url + "/config").status_code == 401
        assert "read key" in httpx.get(url + "/").text  # the login page says what to enter
        ask = {"data": ["Who confirmed the closure?", []], "fn_index": 0, "session_hash": "abc"}
        assert httpx.post(url + "/gradio_api/queue/join", json=ask).status_code == 401
        login = httpx.post(url + "/login", data={"username": "anyone", "password": "reader-key"})
        assert login.status_code == 200, login.text
        assert httpx.get(url + "/config", cookies=login.cookies).status_code == 200
        assert httpx.post(url + "/login", data={"username": "x", "password": "wrong"}).status_code >= 400


def test_ui_password_is_an_admin_sign_in() -> None:
    access = UiAccess([], ui_user="editor", ui_password="s3cret-pass")
    assert not access.writes_open
    assert access.admin_ok("editor", "s3cret-pass")
    assert not access.admin_ok("someone", "s3cret-pass") and not access.admin_ok("editor", "nope")
    # As a page login, the ui_user name needs the UI password (a read key is not enough for it).
    reads = UiAccess([], ["reader"], "editor", "s3cret-pass", require_key_for_read=True)
    assert reads.reader_ok("anyone", "reader") and not reads.reader_ok("editor", "reader")
    assert reads.is_admin_login("editor") and not reads.is_admin_login("anyone")


def test_no_keys_means_open_writes_and_says_so(bot: Bot) -> None:
    ui = ChatUI(bot, UiAccess())
    assert ui.access.writes_open and ui.may_write(False, None)
    assert "No API key is configured" in ui.role_outputs(False, None)[2]["value"]


def test_ui_asks_over_the_limit_are_refused_with_a_message(bot: Bot) -> None:
    ui = ChatUI(bot, UiAccess(), RateLimits(ask="1/minute"))
    ui.api_ask("Who confirmed the closure?")
    with pytest.raises(gr.Error, match="Too many questions"):
        ui.api_ask("Who confirmed the closure?")
    with pytest.raises(gr.Error, match="Try again in"):
        list(ui.respond("Who confirmed the closure?", []))


def test_ui_writes_over_the_limit_are_refused(bot: Bot) -> None:
    settings = Settings(home=Path("."), serve=ServeSettings(rate_limit_write="1/minute"))
    ui = ChatUI(bot, UiAccess(), RateLimits.from_settings(settings))
    ui.delete(None)
    with pytest.raises(gr.Error, match="changes to the articles"):
        ui.delete(None)
