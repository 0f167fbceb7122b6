"""End to end in a real headless Chromium (Debian's /usr/bin/chromium; never `playwright install`).

Upload an article, ask, open a citation, ask a follow-up, like, reload (the conversation comes back
from localStorage), view at phone width and in dark mode, delete; and an XSS article stays inert.
Screenshots of the Chat and Articles tabs at 1280 and 390 px, light and dark, go to artifacts/screenshots/
(chat-readme*.png are the ones docs/ holds).

Every wait is on a condition the page shows (an element, a class, a hash), never on a fixed delay or on
text as it happens to wrap: a busy machine only makes the waits longer.
"""

from __future__ import annotations

import os
import re
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian chromium is not installed (apt-get install -y chromium); the browser tests "
                "need /usr/bin/chromium", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api")

from bot.config import AnswerSettings, BotSettings  # noqa: E402
from bot.crowd import Crowd  # noqa: E402
from bot.service import Bot  # noqa: E402
from index.config import EmbedSettings, IndexSettings  # noqa: E402
from index.store import Library  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT.parent / "shared" / "articles" / "taliban-qala-i-naw.fr.txt"
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS_TITLE = 'Harbour report <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'
XSS_TEXT = ('The harbour master of Tromsø confirmed the closure <img src=x onerror="window.__xss=3"> '
            "on Friday. <script>window.__xss=4;alert(4)</script> Fishing boats waited outside the port "
            'for two days. <a href="javascript:window.__xss=5">click</a> The ferry resumed on Sunday.')
TIMEOUT = 60_000
# expect() waits 5 s by default; indexing or answering under load (a shared 2-core machine) can take longer.
playwright_sync.expect.set_options(timeout=TIMEOUT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def real_bot(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Bot:
    """The real multilingual model when it loads here; else the hash fake (answers will be poor)."""
    home = tmp_path_factory.mktemp("browser-home")
    try:
        from index.embed import make_embedder

        configured = os.environ.get("ARTICLEBOT_TEST_MODELS_DIR")
        models = Path(configured) if configured else request.getfixturevalue("models_dir")
        embedder = make_embedder(EmbedSettings(), models)
        return Bot(Library(home, "articles", embedder.name), embedder, IndexSettings(), BotSettings(),
                   Crowd(embedder, models))
    except Exception as exc:  # the model is another package's job; still test the UI
        warnings.warn(f"real model unavailable ({exc}); using the hash embedder", stacklevel=1)
        return Bot.open(home, IndexSettings(embed=EmbedSettings(model="hash")),
                        BotSettings(answer=AnswerSettings(min_score=0.0)))


@pytest.fixture(scope="module")
def app_url(real_bot: Bot) -> Iterator[str]:
    from ui.gradio_app import create_app
    from ui.theme import theme

    demo = create_app(real_bot)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                            quiet=True, ssr_mode=False, theme=theme())  # the theme the server mounts
    yield url.rstrip("/")
    demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Dialogs and requests that leave 127.0.0.1 (there must be none)."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.external: list[str] = []
        self.console: list[str] = []  # errors and warnings, shown when a wait fails
        self.failed: list[str] = []  # requests that got no response
        page.on("dialog", self._dialog)
        page.on("request", self._request)
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
                else None)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, req: Any) -> None:
        host = urlparse(req.url).hostname
        if req.url.startswith(("http:", "https:", "ws:", "wss:")) and host not in ("127.0.0.1", "localhost"):
            self.external.append(req.url)


def close_toasts(page: Any) -> None:
    for button in page.locator("[data-testid='toast-close']").all():
        if button.is_visible():
            button.click()


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    close_toasts(page)
    page.screenshot(path=str(path), full_page=True)
    return path


def open_page(browser: Any, url: str, **context: Any) -> tuple[Any, Any, PageWatch]:
    ctx = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context})
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    watch = PageWatch(page)
    page.goto(url)
    try:
        page.wait_for_selector("#ab-question textarea")
    except playwright_sync.TimeoutError as exc:  # keep what the page showed for whoever looks next
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "failed-page-load.png"), full_page=True)
        raise AssertionError(f"the chat did not render; console: {watch.console[-10:]}; failed requests: "
                             f"{watch.failed[-10:]}; screenshot: {SHOTS / 'failed-page-load.png'}") from exc
    return ctx, page, watch


BUSY = """() => Array.from(document.querySelectorAll('.generating, .pending'))
    .filter(e => e.getClientRects().length > 0)
    .map(e => ((e.closest('[id]') || {}).id || '?') + ': ' + e.className)"""


def settled(page: Any) -> None:
    """Wait until no event is running: Gradio marks a running event's visible outputs .generating or
    .pending (a hidden tab's output may keep a stale mark; nobody sees it, so it is not waited for)."""
    try:
        page.wait_for_function(f"({BUSY})().length === 0")
    except playwright_sync.TimeoutError as exc:
        raise AssertionError(f"still busy: {page.evaluate(BUSY)}") from exc


def ask(page: Any, question: str, turn: int) -> None:
    box = page.locator("#ab-question textarea")
    box.fill(question)
    box.press("Enter")
    # The final render adds this turn's source section (answers stream before that); then the event ends.
    page.wait_for_selector(f"#ab-sources #turn-{turn}", state="attached")
    settled(page)


def open_citation(page: Any, turn: int) -> Any:
    """Click the turn's first [n] marker: the page jumps to that source, its quote in view."""
    page.locator(f"#ab-chat a.cite[href^='#src-{turn}-']").first.click()
    page.wait_for_function(f"location.hash.startsWith('#src-{turn}-')")
    quote = page.locator(f"{page.evaluate('location.hash')} mark").first
    playwright_sync.expect(quote).to_be_in_viewport()
    return quote


def tab(page: Any, name: str) -> None:
    # No settled() here: a chat message can keep a stale .pending mark across a tab switch (seen once in
    # 9 loaded runs); the expects that follow wait for the content the tab shows.
    page.get_by_role("tab", name=name).click()
    playwright_sync.expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


VIEWS = {"1280": {"viewport": {"width": 1280, "height": 900}},
         "1280-dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
         "390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True},
         "390-dark": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark", "is_mobile": True}}


def no_letter_per_line(page: Any, table: str) -> None:
    """Every single-word value of the table (a date, an id, a status, a header) is drawn on one line: at
    phone width the table scrolls sideways instead of wrapping a column one letter per line."""
    broken = page.evaluate("""(sel) => {
        const broken = [], walker = document.createTreeWalker(document.querySelector(sel), NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!/^\\S{3,}$/.test(node.textContent.trim()) || !node.parentElement.getClientRects().length) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
            if (lines.size > 1) broken.push(node.textContent.trim());
        }
        return broken;
    }""", table)
    assert broken == [], f"values of {table} broken over lines: {broken}"


def test_chat_flow(browser: Any, app_url: str, real_bot: Bot) -> None:
    expect = playwright_sync.expect
    real = not real_bot.embedder.name.startswith("hash")
    ctx, page, watch = open_page(browser, app_url)
    expect(page.locator("#ab-sources")).to_contain_text("Sources appear here")
    # The box opens (and takes the focus) once the page has restored the conversation.
    expect(page.locator("#ab-question textarea")).to_be_focused()

    tab(page, "Articles")
    page.locator("#ab-upload input[type=file]").set_input_files(str(ARTICLE))
    # The uploaded file's label may break between its name and extension: compare without the spaces.
    name = re.escape(ARTICLE.stem) + r"\s*" + re.escape(ARTICLE.suffix)
    expect(page.locator("#ab-upload")).to_contain_text(re.compile(name))
    page.locator("#ab-add-files").click()
    expect(page.locator("#ab-results")).to_contain_text("added", timeout=TIMEOUT)  # the real model embeds the upload
    expect(page.locator("#ab-articles")).to_contain_text("Les talibans attaquent")
    settled(page)
    shot(page, "articles")

    tab(page, "Chat")
    expect(page.locator("#ab-examples")).to_be_visible()  # drawn from the new article
    ask(page, "Who confirmed the attack?", 0)
    chat = page.locator("#ab-chat")
    if real:
        expect(chat).to_contain_text("Abdul Aziz Bek")
    expect(page.locator("#ab-sources")).to_contain_text("searched:")
    quote = open_citation(page, 0)
    if real:
        expect(quote).to_contain_text("Abdul Aziz Bek")
    shot(page, "chat-citation")
    # The README's picture: an answer with its source open, at a laptop's window size.
    page.set_viewport_size({"width": 1280, "height": 800})
    open_citation(page, 0)
    page.evaluate("window.scrollTo(0, 0)")  # the tabs in view; the sources panel keeps its own scroll
    close_toasts(page)
    page.screenshot(path=str(SHOTS / "chat-readme.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    ask(page, "and what did he say next?", 1)
    expect(chat.locator(".message-row, .message").last).not_to_be_empty()
    expect(page.locator("#turn-1")).to_have_attribute("open", "")
    shot(page, "chat-follow-up")

    # Like the first answer: a line in feedback.jsonl.
    feedback = real_bot.library.home / "feedback.jsonl"
    page.locator("#ab-chat button[aria-label='Like']").first.click()
    _wait_until(lambda: feedback.exists() and "Who confirmed the attack?" in feedback.read_text("utf-8"))

    # The conversation lives in the browser: a reload, phone width and dark mode all restore it. Each
    # view's Chat and Articles tabs are photographed.
    page.reload()
    expect(page.locator("#ab-sources #turn-1")).to_be_attached()
    state = ctx.storage_state()
    for name, options in VIEWS.items():
        other, view, _ = open_page(browser, app_url, storage_state=state, **options)
        expect(view.locator("#ab-sources #turn-1")).to_be_attached()
        settled(view)
        open_citation(view, 0)
        view.evaluate("window.scrollTo(0, 0)")
        shot(view, f"chat-{name}")
        if name.endswith("dark"):
            assert view.evaluate("document.body.classList.contains('dark') || "
                                 "document.documentElement.classList.contains('dark')")
        if name == "1280-dark":
            view.set_viewport_size({"width": 1280, "height": 800})
            open_citation(view, 0)
            view.evaluate("window.scrollTo(0, 0)")
            close_toasts(view)
            view.screenshot(path=str(SHOTS / "chat-readme-dark.png"))
        tab(view, "Articles")
        expect(view.locator("#ab-articles")).to_contain_text("Les talibans attaquent")
        no_letter_per_line(view, "#ab-articles")
        no_letter_per_line(view, "#ab-results")
        shot(view, f"articles-{name}")
        other.close()

    # Delete the article: gone from the list, and the next question says the collection is empty.
    tab(page, "Articles")
    page.locator("#ab-delete-choice input").click()
    page.get_by_role("option").filter(has_text="Les talibans").first.click()
    page.locator("#ab-delete").click()
    expect(page.locator("#ab-articles")).not_to_contain_text("Les talibans attaquent")
    assert real_bot.articles() == []
    tab(page, "Chat")
    ask(page, "Who confirmed the attack?", 2)
    expect(page.locator("#turn-2")).to_contain_text("No sources")

    assert not watch.dialogs
    assert not watch.external, watch.external
    ctx.close()


def test_xss_article_stays_inert(browser: Any, app_url: str, real_bot: Bot) -> None:
    expect = playwright_sync.expect
    result = real_bot.add_text(XSS_TITLE, XSS_TEXT, url="javascript:window.__xss=6")
    try:
        ctx, page, watch = open_page(browser, app_url)
        ask(page, "Who confirmed the closure of the harbour of Tromsø?", 0)
        ask(page, '<img src=x onerror="window.__xss=7"> harbour?', 1)
        sources = page.locator("#ab-sources")
        expect(sources).to_contain_text("<img src=x onerror=")  # shown as text
        expect(sources).to_contain_text("<script>window.__xss=2</script>")
        cites = page.locator("#ab-chat a.cite")
        if cites.count():
            cites.first.click()
        # No link with a non-http scheme anywhere in the app.
        assert page.locator("#ab-sources a[href^='javascript']").count() == 0
        assert page.locator("#ab-chat img[src='x'], #ab-sources img").count() == 0
        tab(page, "Articles")
        page.get_by_role("button", name="Refresh list").click()
        expect(page.locator("#ab-articles")).to_contain_text("<script>window.__xss=2</script>")
        page.locator("#ab-delete-choice input").click()
        expect(page.get_by_role("option").filter(has_text="Harbour report").first).to_be_visible()
        page.keyboard.press("Escape")
        tab(page, "Chat")
        shot(page, "xss")
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert not watch.dialogs, watch.dialogs
        ctx.close()
    finally:
        real_bot.delete(result.article_id)


def _wait_until(condition: Any, seconds: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        time.sleep(0.1)
