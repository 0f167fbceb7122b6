"""The Gradio adapter without a browser: handlers, rendering, escaping, feedback, the /ask API."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from bot.config import AnswerSettings, BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from ui import gradio_app
from ui.gradio_app import ChatUI, create_app

ARTICLE = Path(__file__).resolve().parents[1].parent / "shared" / "articles" / "taliban-qala-i-naw.fr.txt"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
EVIL_TITLE = f"Evil {SCRIPT} title {IMG}"
EVIL_TEXT = (f"The mayor of Springfield confirmed the flood {SCRIPT} on Monday. "
             f"Residents said the river {IMG} rose quickly overnight. "
             "Officials opened two shelters in the town hall.")
EVIL_URL = "javascript:alert(1)"


def hash_bot(home: Path) -> Bot:
    # The hash embedder is a deterministic fake; min_score 0 so it answers instead of abstaining.
    return Bot.open(home, IndexSettings(embed=EmbedSettings(model="hash")),
                    BotSettings(answer=AnswerSettings(min_score=0.0)))


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    bot = hash_bot(tmp_path_factory.mktemp("gradio-home"))
    bot.ingest([str(ARTICLE)])
    bot.add_text(EVIL_TITLE, EVIL_TEXT, url=EVIL_URL)
    return bot


@pytest.fixture(scope="module")
def ui(bot: Bot) -> ChatUI:
    return ChatUI(bot)


def last(outputs: Iterator[tuple[Any, ...]]) -> tuple[Any, ...]:
    items = list(outputs)
    assert items, "the handler yielded nothing"
    return items[-1]


class _Tags(HTMLParser):
    """Collects every tag and attribute an HTML fragment would create in a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


ALLOWED_TAGS = {"div", "details", "summary", "span", "article", "header", "strong", "p", "mark", "a",
                "br", "em"}


def assert_inert(fragment: str) -> None:
    """Only our own markup: no tag from an article, no event handler, no non-http link."""
    parser = _Tags()
    parser.feed(fragment)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, fragment)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        href = attrs.get("href") or ""
        # Our own links only: citations, web addresses, and an article's text on this server.
        assert not href or href.startswith(("#src-", "http://", "https://", "api/v1/articles/")), href


def test_app_builds_with_named_api(bot: Bot) -> None:
    demo = create_app(bot)
    assert isinstance(demo, gr.Blocks)
    names = [d.api_name for d in demo.fns.values()]
    assert "ask" in names
    public = [d.api_name for d in demo.fns.values() if d.api_visibility == "public"]
    assert public == ["ask"], public  # the UI's own events stay out of the API docs


def test_respond_streams_then_renders_sources_with_mark(ui: ChatUI) -> None:
    outputs = list(ui.respond("Who confirmed the attack?", []))
    assert len(outputs) >= 3  # pending bubble, streamed pieces, final
    chat, sources, turns, box = outputs[-1]
    assert box == ""
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert 'href="#src-0-1"' in chat[1]["content"]
    assert "<mark>" in sources and 'id="src-0-1"' in sources
    assert "searched:" in sources
    assert turns[0]["question"] == "Who confirmed the attack?"
    assert turns[0]["sources"][0]["passage"]


def test_follow_up_passes_history(ui: ChatUI, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, turns, _ = last(ui.respond("Who confirmed the attack?", []))
    seen: dict[str, Any] = {}
    real_stream = bot.stream

    def spy(question: str, history: Any = None, *args: Any) -> Any:
        seen["history"] = history
        return real_stream(question, history, *args)

    monkeypatch.setattr(bot, "stream", spy)
    chat, sources, turns2, _ = last(ui.respond("and what did he say next?", turns))
    assert seen["history"] == [{"role": "user", "content": "Who confirmed the attack?"},
                               {"role": "assistant", "content": turns[0]["answer"]}]
    assert len(chat) == 4 and len(turns2) == 2
    assert 'id="turn-1" open' in sources and 'href="#src-1-1"' in chat[3]["content"]


def test_empty_question_warns_and_keeps_state(ui: ChatUI) -> None:
    with pytest.warns(UserWarning):
        outputs = list(ui.respond("   ", []))
    assert len(outputs) == 1


def test_bot_error_is_shown_and_question_given_back(ui: ChatUI) -> None:
    with pytest.warns(UserWarning, match="too long"):
        chat, _, _, box = last(ui.respond("x" * 2001, []))
    assert chat == [] and box == "x" * 2001


def test_empty_collection_answer(tmp_path: Path) -> None:
    empty = ChatUI(hash_bot(tmp_path))
    chat, sources, turns, _ = last(empty.respond("Who confirmed the attack?", []))
    assert turns[0]["abstained"] and chat[1]["content"]
    assert "No sources" in sources


def test_xss_payload_is_escaped_everywhere(ui: ChatUI, bot: Bot) -> None:
    chat, sources, turns, _ = last(ui.respond("Who confirmed the flood in Springfield?", []))
    evil = [s for s in turns[0]["sources"] if "Evil" in s["title"]]
    assert evil, "the payload article should be cited"
    assert "&lt;script&gt;" in sources and "<mark>" in sources
    assert EVIL_URL in sources  # shown as text…
    assert 'href="javascript' not in sources  # …never as a link
    for fragment in [sources, *(m["content"] for m in chat)]:
        assert_inert(fragment)
    # Restoring a tampered conversation from localStorage renders inert too.
    tampered = [{"question": IMG, "answer": SCRIPT + " [1]", "note": IMG,
                 "sources": [{"n": 1, "title": SCRIPT, "url": EVIL_URL, "passage": IMG, "quote": IMG}]}]
    chat2, sources2, _, opened = ui.restore(tampered)
    assert opened["interactive"] is True  # the question box opens once the conversation is back
    for fragment in [sources2, *(m["content"] for m in chat2)]:
        assert_inert(fragment)
    # Article list, delete choices and import results are data for components that render text,
    # but toasts render HTML: the delete toast escapes the title.
    rows, _ = ui.collection_outputs()
    assert any(r[0] == EVIL_TITLE for r in rows)


def test_render_link_allows_only_http() -> None:
    assert gradio_app.render_link("https://example.org/a?b=1&c=2").startswith(
        '<a href="https://example.org/a?b=1&amp;c=2" target="_blank"')
    assert "<a " not in gradio_app.render_link("javascript:alert(1)")
    assert "<a " not in gradio_app.render_link('https://x.org/"onmouseover="alert(1)')
    assert gradio_app.render_link("/tmp/up/article.txt").startswith('<span class="src-path"')


def test_highlight_uses_offsets_and_falls_back_to_search() -> None:
    passage = "First <b>. Second sentence. Third."
    assert gradio_app.highlight(passage, "", [(11, 27)]) == \
        "First &lt;b&gt;. <mark>Second sentence.</mark> Third."
    assert gradio_app.highlight(passage, "", [(28, 34), (11, 27)]) == \
        "First &lt;b&gt;. <mark>Second sentence.</mark> <mark>Third.</mark>"  # two quotes of one passage
    assert "<mark>Third.</mark>" in gradio_app.highlight(passage, "Third.", [(0, 0)])
    assert gradio_app.highlight("", "<i>q</i>", [(0, 0)]) == "<mark>&lt;i&gt;q&lt;/i&gt;</mark>"


def test_like_records_feedback(ui: ChatUI, bot: Bot) -> None:
    _, _, turns, _ = last(ui.respond("Who confirmed the attack?", []))
    feedback = bot.library.home / "feedback.jsonl"
    before = feedback.read_text(encoding="utf-8").count("\n") if feedback.exists() else 0
    ui.like(turns, SimpleNamespace(index=1, liked=False, value=None))  # type: ignore[arg-type]
    ui.like(turns, SimpleNamespace(index=1, liked="Like", value=None))  # type: ignore[arg-type]
    lines = feedback.read_text(encoding="utf-8").splitlines()[before:]
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert entry["question"] == "Who confirmed the attack?" and entry["liked"] is False
    assert entry["answer"] == turns[0]["answer"]
    assert entry["sources"][0]["n"] == 1 and "quote" in entry["sources"][0]
    assert json.loads(lines[1])["liked"] is True


def test_add_text_list_and_delete(ui: ChatUI, bot: Bot) -> None:
    rows, _, _, *_ = ui.add_text("Short note", "A test article about the harbour of Oslo and its ferries.", "")
    assert rows[0][1] == "added"
    article_id = rows[0][4]
    assert any(r[4] == article_id for r in ui.article_rows())
    table, _ = ui.delete(article_id)
    assert all(r[4] != article_id for r in table)
    with pytest.warns(UserWarning, match="No article"):
        ui.delete("does-not-exist")
    with pytest.warns(UserWarning, match="empty"):
        rows, *_ = ui.add_text("t", "  ", "")
    assert rows[0][1] == "failed"


def test_ingest_files_reports_each_item(ui: ChatUI, tmp_path: Path) -> None:
    good = tmp_path / "note.md"
    good.write_text("# Harbour news\n\nThe ferry to Bergen now leaves every hour from pier four.",
                    encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("  ", encoding="utf-8")
    with pytest.warns(UserWarning, match="1 of 2 failed"):
        rows, _, _, cleared = ui.ingest_files([str(good), str(bad)], progress=lambda *a, **k: None)
    status = {r[0]: r[1] for r in rows}
    assert status == {"note.md": "added", "bad.txt": "failed"}
    assert next(r for r in rows if r[1] == "failed")[5]  # a reason
    assert cleared is None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gradio_client_calls_ask_by_api_name(bot: Bot) -> None:
    from gradio_client import Client

    demo = create_app(bot)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                            quiet=True, ssr_mode=False)
    try:
        client = Client(url, verbose=False)
        result = client.predict("Who confirmed the attack?", [], api_name="/ask")
        assert set(result) >= {"answer", "abstained", "sources", "query"}
        assert result["sources"] and result["sources"][0]["n"] == 1
        follow = client.predict("and then?", [{"role": "user", "content": "Who confirmed the attack?"},
                                              {"role": "assistant", "content": result["answer"]}],
                                api_name="/ask")
        assert "answer" in follow
    finally:
        demo.close()
