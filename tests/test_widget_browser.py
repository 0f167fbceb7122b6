"""The widget in a real headless Chromium: a page on an allowed origin gets answers through the
floating chat; a page on another origin gets none. Servers run on 127.0.0.1 only.

Uses the real embedding model (multilingual-e5-small) when it can be loaded, else the hash embedder
with a French question that matches the article's words (the test output says which)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")

from playwright.sync_api import Browser, FrameLocator, Page, expect, sync_playwright
from pydantic import Field

from bot.config import AnswerSettings, BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.embed import Embedder, make_embedder
from index.errors import ArticlebotError
from index.store import Library
from ui.server import create_server, placeholder_ui, running
from ui.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT.parent / "shared" / "articles" / "taliban-qala-i-naw.fr.txt"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
KEY = "widget-read-key-7"  # a read-only key, as the docs advise for data-key
ANSWER_TIMEOUT_MS = 60_000

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>A wiki page about the harbour bridge.</p>
<script src="{bot}/widget.js" data-title="Ask the articles" data-position="right"{extra}></script>
</body></html>
"""


@dataclass
class Setup:
    bot_url: str  # reads open
    keyed_url: str  # require_key_for_read
    good: str  # allowed origin serving the pages
    bad: str  # origin that is not allowed
    question: str
    model: str


class WidgetSettings(Settings):
    read_keys: list[str] = Field(default_factory=list)  # optional on Settings: read when present


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def embedder_or_fake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Embedder, BotSettings, str]:
    """The real model (converted once into ARTICLEBOT_TEST_MODELS_DIR or a temp dir), else the fake."""
    configured = os.environ.get("ARTICLEBOT_TEST_MODELS_DIR")
    models = Path(configured) if configured else tmp_path_factory.mktemp("models")
    try:
        return make_embedder(EmbedSettings(), models), BotSettings(), "Who confirmed the attack?"
    except (ArticlebotError, ImportError, OSError) as exc:
        print(f"real model unavailable ({exc}); using the hash embedder")
        fake = make_embedder(EmbedSettings(model="hash"), models)
        return fake, BotSettings(answer=AnswerSettings(min_score=0.0)), "Qui a confirmé l'agression ?"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    if not ARTICLE.exists():
        pytest.fail(f"the shared sample article is missing: {ARTICLE}")
    embedder, bot_cfg, question = embedder_or_fake(tmp_path_factory)
    home, pages = tmp_path_factory.mktemp("widget-home"), tmp_path_factory.mktemp("pages")
    index_cfg = IndexSettings()  # its embed setting only matters to Bot.open; the embedder is given
    bot = Bot(Library(home, index_cfg.collection, embedder.name), embedder, index_cfg, bot_cfg)
    assert bot.ingest([str(ARTICLE)])[0].status in ("added", "unchanged")
    with static_server(pages) as good, static_server(pages) as bad:
        # The page itself is an article too, so the widget's page-aware scope has something to find.
        bot.add_text("Harbour bridge", "The harbour bridge closes on Sunday for repairs to its deck.",
                     url=f"{good}/page.html")
        settings = WidgetSettings(home=home, api_keys=["admin-key"], read_keys=[KEY], allowed_origins=[good])
        keyed = settings.model_copy(update={"require_key_for_read": True})
        with running(create_server(bot, settings, ui=placeholder_ui())) as bot_url, \
                running(create_server(bot, keyed, ui=placeholder_ui())) as keyed_url:
            write_pages(pages, bot_url, keyed_url)
            print(f"widget test model: {embedder.name}")
            yield Setup(bot_url, keyed_url, good, bad, question, embedder.name)


def write_pages(folder: Path, bot_url: str, keyed_url: str) -> None:
    (folder / "page.html").write_text(PAGE.format(title="Harbour bridge", bot=bot_url, extra=""), "utf-8")
    (folder / "keyed.html").write_text(
        PAGE.format(title="Keyed", bot=keyed_url, extra=f' data-key="{KEY}"'), "utf-8")
    (folder / "nokey.html").write_text(PAGE.format(title="No key", bot=keyed_url, extra=""), "utf-8")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    yield page
    context.close()


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def open_chat_and_ask(page: Page, url: str, question: str) -> FrameLocator:
    page.goto(url)
    page.locator("#articlebot-button").click()
    frame = page.frame_locator("#articlebot-frame")
    # The form is enabled once embed.js has wired it (an Enter before that would reload the frame).
    frame.locator("#ask[data-ready='1']").wait_for(timeout=ANSWER_TIMEOUT_MS)
    frame.locator("#question").fill(question)
    frame.locator("#question").press("Enter")
    return frame


def test_widget_answers_on_an_allowed_page(page: Page, setup: Setup) -> None:
    frame = open_chat_and_ask(page, f"{setup.good}/page.html", setup.question)
    reply = frame.locator(".msg.bot[data-state=answered]")
    reply.wait_for(timeout=ANSWER_TIMEOUT_MS)
    shoot(page, "widget-allowed")
    assert "Abdul Aziz Bek" in reply.locator(".text").inner_text(), f"model: {setup.model}"
    assert reply.locator(".sources li").count() >= 1
    assert reply.locator(".note").inner_text().startswith("Searched this page first: Harbour bridge")
    assert frame.locator("#scope").inner_text() == "Asking from: Harbour bridge"
    # The iframe gets the page's address in its query, and no key in its fragment.
    src = page.locator("#articlebot-frame").get_attribute("src") or ""
    assert "page_url=" in src and "#key" not in src


def test_widget_gets_no_answer_on_another_origin(page: Page, setup: Setup) -> None:
    page.goto(f"{setup.bad}/page.html")
    page.locator("#articlebot-button").click()  # widget.js itself is served to anyone
    # Instead of the chat (or a blank frame): a short page naming the setting and this site's origin.
    refused = page.frame_locator("#articlebot-frame").locator("#refused")
    expect(refused).to_contain_text("ARTICLEBOT_ALLOWED_ORIGINS", timeout=ANSWER_TIMEOUT_MS)
    expect(refused).to_contain_text(setup.bad)
    shoot(page, "widget-refused")
    assert page.frame_locator("#articlebot-frame").locator("#question").count() == 0
    assert "Abdul Aziz Bek" not in "".join(f.content() for f in page.frames)
    # A script on that page cannot use the API either: 403 without CORS headers = a failed fetch.
    outcome = page.evaluate("""async (url) => {
        try {
            const r = await fetch(url + "/api/v1/ask", {method: "POST",
                headers: {"Content-Type": "application/json"}, body: JSON.stringify({question: "Who?"})});
            return "status " + r.status;
        } catch (e) { return "blocked"; }
    }""", setup.bot_url)
    assert outcome == "blocked"


def test_widget_read_key_travels_in_the_fragment(page: Page, setup: Setup) -> None:
    frame = open_chat_and_ask(page, f"{setup.good}/keyed.html", setup.question)
    reply = frame.locator(".msg.bot[data-state=answered]")
    reply.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Abdul Aziz Bek" in reply.inner_text()
    src = page.locator("#articlebot-frame").get_attribute("src") or ""
    assert src.endswith(f"#key={KEY}") and KEY not in src.split("#")[0]
    embed = page.frame(url=lambda url: "/embed" in url)
    assert embed is not None and "#" not in embed.url  # the chat drops the key from its address


def test_widget_without_the_read_key_explains(page: Page, setup: Setup) -> None:
    frame = open_chat_and_ask(page, f"{setup.good}/nokey.html", setup.question)
    reply = frame.locator(".msg.bot[data-state=error]")
    reply.wait_for(timeout=ANSWER_TIMEOUT_MS)
    shoot(page, "widget-no-key")
    assert "API key" in reply.inner_text()
