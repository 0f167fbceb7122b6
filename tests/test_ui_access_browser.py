"""The web UI's two roles in a real headless Chromium (Debian's /usr/bin/chromium), with API keys set.

A visitor who has not signed in chats, but cannot add or delete an article: the tools are not shown,
and requests the page forges to the same endpoints are refused by the server (the collection stays
as it was). After signing in as admin, the same page can add and delete. Every wait is on a condition.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian chromium is not installed (apt-get install -y chromium); the browser tests "
                "need /usr/bin/chromium", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api")

import gradio as gr  # noqa: E402

from bot.config import AnswerSettings, BotSettings  # noqa: E402
from bot.service import Bot  # noqa: E402
from index.config import EmbedSettings, IndexSettings  # noqa: E402
from ui.gradio_app import create_app  # noqa: E402
from ui.server import create_server, running  # noqa: E402
from ui.settings import Settings  # noqa: E402

KEY = "admin-key-0123456789"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 60_000
# expect() waits 5 s by default; indexing or answering under load (a shared 2-core machine) can take longer.
playwright_sync.expect.set_options(timeout=TIMEOUT)
TEXT = ("The harbour master of Tromsø confirmed the closure on Friday. Fishing boats waited outside "
        "the port for two days. The ferry resumed on Sunday.")
NEW_TITLE = "Lighthouse repaired"
NEW_TEXT = "Engineers repaired the lighthouse at Vardø on Monday. The lamp was lit again that night."

# Joins the Gradio queue as a fresh session and reads the event stream to the result: what a page
# (or anything else) can send whatever the buttons on screen allow.
FORGE = """async ({fn, data}) => {
  const session_hash = Math.random().toString(36).slice(2, 13);
  const join = await fetch('./gradio_api/queue/join', {method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({data, fn_index: fn, session_hash, event_data: null, trigger_id: null})});
  if (!join.ok) return {msg: 'join refused', status: join.status};
  const stream = await fetch('./gradio_api/queue/data?session_hash=' + session_hash);
  const reader = stream.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return {msg: 'stream ended'};
    buffer += decoder.decode(value, {stream: true});
    const lines = buffer.split('\\n');
    buffer = lines.pop();
    for (const line of lines) {
      if (!line.startsWith('data:')) continue;
      const message = JSON.parse(line.slice(5));
      if (message.msg === 'process_completed') { reader.cancel(); return message; }
    }
  }
}"""


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    # The hash embedder: this test is about who may do what, not about answer quality.
    bot = Bot.open(tmp_path_factory.mktemp("roles-home"), IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings(answer=AnswerSettings(min_score=0.0)))
    bot.add_text("Harbour closed", TEXT)
    return bot


@pytest.fixture(scope="module")
def served(bot: Bot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, gr.Blocks]]:
    settings = Settings(home=tmp_path_factory.mktemp("roles-settings"), api_keys=[KEY])
    demo = create_app(bot, settings)
    with running(create_server(bot, settings, ui=demo)) as url:
        yield url, demo


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def fn_index(demo: gr.Blocks, name: str) -> int:
    return next(i for i, fn in demo.fns.items() if fn.name == name)


def open_page(browser: Any, url: str) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#ab-question textarea")
    return ctx, page


def articles_tab(page: Any) -> None:
    page.get_by_role("tab", name="Articles").click()
    playwright_sync.expect(page.locator("#ab-access-note")).to_be_visible()


def test_visitor_cannot_write_admin_can_reader_chats(browser: Any, served: tuple[str, gr.Blocks],
                                                     bot: Bot) -> None:
    expect = playwright_sync.expect
    url, demo = served
    before = sorted(a.id for a in bot.articles())
    ctx, page = open_page(browser, url)

    # A reader chats.
    box = page.locator("#ab-question textarea")
    box.fill("Who confirmed the closure?")
    box.press("Enter")
    page.wait_for_selector("#ab-sources #turn-0", state="attached")
    expect(page.locator("#ab-sources")).to_contain_text("Harbour closed")

    # Not signed in: no tools, and the note says what is needed.
    articles_tab(page)
    expect(page.locator("#ab-access-note")).to_contain_text("needs an admin sign-in")
    expect(page.locator("#ab-signin-go")).to_be_visible()
    for tool in ("#ab-add-files", "#ab-add-text", "#ab-delete", "#ab-upload"):
        expect(page.locator(tool)).to_be_hidden()
    expect(page.locator("#ab-articles")).to_contain_text("Harbour closed")  # reading stays open

    # Requests forged from the page to the write endpoints are refused by the server.
    forged_add = page.evaluate(FORGE, {"fn": fn_index(demo, "add_text"),
                                       "data": ["Forged", "Written without signing in at all.", "", True]})
    assert forged_add["msg"] == "process_completed" and forged_add["success"] is False, forged_add
    assert "Sign in as admin" in str(forged_add["output"])
    forged_delete = page.evaluate(FORGE, {"fn": fn_index(demo, "delete"), "data": [before[0], True]})
    assert forged_delete["success"] is False, forged_delete
    assert sorted(a.id for a in bot.articles()) == before

    # A wrong key: told so, still no tools.
    page.locator("#ab-signin-secret input").fill("not-the-key")
    page.locator("#ab-signin-go").click()
    expect(page.get_by_text("That key or password is not valid").first).to_be_visible()
    expect(page.locator("#ab-add-text")).to_be_hidden()

    # Signed in as admin: add an article by pasting it, then delete it.
    page.locator("#ab-signin-secret input").fill(KEY)
    page.locator("#ab-signin-go").click()
    expect(page.locator("#ab-access-note")).to_contain_text("Signed in as admin")
    expect(page.locator("#ab-signin-go")).to_be_hidden()
    page.locator("#ab-paste").get_by_text("paste an article").click()
    page.locator("#ab-paste-title textarea").fill(NEW_TITLE)
    page.locator("#ab-paste-text textarea").fill(NEW_TEXT)
    page.locator("#ab-add-text").click()
    expect(page.locator("#ab-results")).to_contain_text("added")
    expect(page.locator("#ab-articles")).to_contain_text(NEW_TITLE)
    assert [a.title for a in bot.articles()].count(NEW_TITLE) == 1

    # Another visitor meanwhile is still a reader.
    other, view = open_page(browser, url)
    articles_tab(view)
    expect(view.locator("#ab-articles")).to_contain_text(NEW_TITLE)
    expect(view.locator("#ab-add-text")).to_be_hidden()
    other.close()

    page.locator("#ab-delete-choice input").click()
    page.get_by_role("option").filter(has_text=NEW_TITLE).first.click()
    page.locator("#ab-delete").click()
    expect(page.locator("#ab-articles")).not_to_contain_text(NEW_TITLE)
    assert sorted(a.id for a in bot.articles()) == before

    # Signing out hides the tools again.
    page.locator("#ab-signout").click()
    expect(page.locator("#ab-add-text")).to_be_hidden()
    expect(page.locator("#ab-signin-go")).to_be_visible()
    ctx.close()


def test_question_box_waits_for_the_restored_conversation(browser: Any, bot: Bot, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer that landed before the page-load restore was overwritten by it (seen on a busy machine):
    the box opens only once the restore has written the conversation. The restore is held here until
    the test releases it, so the order is certain."""
    import threading

    from ui.gradio_app import ChatUI

    release = threading.Event()
    restore = ChatUI.restore

    def held(self: ChatUI, turns: Any) -> Any:
        release.wait(TIMEOUT / 1000)
        return restore(self, turns)

    monkeypatch.setattr(ChatUI, "restore", held)
    settings = Settings(home=tmp_path)
    with running(create_server(bot, settings, ui=create_app(bot, settings))) as url:
        ctx, page = open_page(browser, url)
        box = page.locator("#ab-question textarea")
        playwright_sync.expect(box).to_be_disabled()
        release.set()
        playwright_sync.expect(box).to_be_focused()
        playwright_sync.expect(page.locator("#ab-examples")).to_contain_text("harbour master")  # loaded next
        box.fill("Who confirmed the closure?")
        box.press("Enter")
        page.wait_for_selector("#ab-sources #turn-0", state="attached")
        playwright_sync.expect(page.locator("#ab-chat")).to_contain_text("harbour master")
        ctx.close()
