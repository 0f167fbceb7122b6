"""The web chat (Gradio): a thin adapter over ``Bot``.

Everything that comes from an article (titles, passages, quotes, urls) or from a user is
HTML-escaped here before it reaches any HTML; the only markup is our own. ``create_app`` returns an
un-launched Blocks so ``ui.server`` can mount it next to the HTTP API.

API for scripts: ``Client(url).predict("Who confirmed the attack?", [], api_name="/ask")`` returns
``Answer.to_json()``.

Two roles: readers chat; changing the articles needs an admin sign-in whenever keys are configured
(``UiAccess``). The sign-in lives in a ``gr.State``, which Gradio keeps on the server per session and
never takes from the browser, and every write handler checks it: hiding the buttons is only cosmetic.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from bot.types import Answer
from index.errors import ArticlebotError
from ui import texts
from ui.auth import UiAccess
from ui.links import origin, text_path, web_url
from ui.ratelimit import Action, RateLimitError, RateLimits, client_of
from ui.theme import theme

if TYPE_CHECKING:
    from bot.service import Bot
    from index.ingest import IngestResult
    from ui.settings import Settings

MAX_TURNS = 30  # conversation turns kept in the browser (localStorage stays small)
HISTORY_TURNS = 6  # turns handed to the bot to resolve follow-ups
EXAMPLES = 4
CONCURRENT_EVENTS = 8  # events of one kind (e.g. questions) run at once; more wait in the queue, shown
STATIC = Path(__file__).parent / "static"
RESULT_HEADERS = ["file", "status", "title", "chunks", "id", "reason"]
ARTICLE_HEADERS = ["title", "language", "date", "chunks", "id"]
_MARKER = re.compile(r"\[(\d{1,3})\]")

Turn = dict[str, Any]  # {"question", "answer", "query", "note", "abstained", "sources": [dict]}


# -- rendering: pure functions, every string escaped ------------------------------------------------
def esc(value: object) -> str:
    return html.escape(str(value or ""), quote=True)


def safe_href(url: str) -> str | None:
    """Only plain http(s) links become hrefs; file paths and other schemes stay text."""
    return web_url(url)


def render_answer(text: str, turn: int, cited: Sequence[int]) -> str:
    """The answer as escaped text whose [n] markers link to the turn's source cards."""

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in cited:
            return match.group(0)
        return f'<a class="cite" href="#src-{turn}-{n}" title="show source {n}">[{n}]</a>'

    return _MARKER.sub(link, esc(text)).replace("\n", "<br>")


def highlight(passage: str, quote: str, spans: Sequence[Sequence[int]]) -> str:
    """The passage, escaped, with each quoted sentence (``spans``: offsets in it) wrapped in <mark>."""
    valid = sorted((int(a), int(b)) for a, b in spans if 0 <= int(a) < int(b) <= len(passage))
    if not valid and quote and quote in passage:
        valid = [(passage.index(quote), passage.index(quote) + len(quote))]
    if not valid:
        return f"<mark>{esc(quote)}</mark>"
    out, at = [], 0
    for start, end in valid:
        start = max(start, at)
        out.append(f"{esc(passage[at:start])}<mark>{esc(passage[start:end])}</mark>")
        at = max(at, end)
    return "".join(out) + esc(passage[at:])


def render_link(url: str, article_id: str = "") -> str:
    """A web address links to itself; a file or pasted text links to its text as the API serves it
    (relative, so a proxy prefix is kept), labelled with what the reader recognises of it."""
    href = safe_href(url)
    if href:
        return (f'<a href="{esc(href)}" target="_blank" rel="noopener noreferrer nofollow">'
                f"{esc(url)}</a>")
    if not url:
        return ""
    if article_id:
        return (f'<a class="src-path" href="{esc(text_path(article_id))}" target="_blank" '
                f'rel="noopener noreferrer" title="{esc(url)}">{esc(origin(url))}</a>')
    return f'<span class="src-path" title="{esc(url)}">{esc(origin(url))}</span>'


def render_source(src: dict[str, Any], turn: int) -> str:
    date = src.get("published") or (src.get("ingested_at") or "")[:10]
    date_label = "published" if src.get("published") else "added"
    meta = [f"{date_label} {esc(date)}" if date else "", esc(src.get("language", "")),
            render_link(src.get("url", ""), str(src.get("article_id") or ""))]
    spans = src.get("quotes") or [(src.get("quote_start") or 0, src.get("quote_end") or 0)]
    passage = highlight(src.get("passage") or "", src.get("quote") or "", spans)
    n = int(src.get("n", 0))
    return (f'<article class="src" id="src-{turn}-{n}">'
            f'<header><span class="src-n">[{n}]</span> <strong class="src-title">'
            f'{esc(src.get("title", ""))}</strong></header>'
            f'<div class="src-meta">{" · ".join(m for m in meta if m)}</div>'
            f'<p class="src-passage">{passage}</p></article>')


def render_turn_sources(turn: Turn, index: int, latest: bool) -> str:
    cards = "".join(render_source(s, index) for s in turn.get("sources", []))
    searched = turn.get("query") or turn.get("question") or ""
    summary = (f'<summary><span class="q">{esc(turn.get("question", ""))}</span>'
               f'<span class="searched">searched: “{esc(searched)}”</span></summary>')
    note = f'<p class="note">{esc(turn["note"])}</p>' if turn.get("note") else ""
    body = cards or '<p class="empty">No sources: the articles do not answer this.</p>'
    return (f'<details class="turn" id="turn-{index}"{" open" if latest else ""}>'
            f"{summary}{note}{body}</details>")


def render_sources(turns: Sequence[Turn]) -> str:
    """The sources panel: one section per answer, newest first and open."""
    if not turns:
        return ('<div class="sources"><p class="empty">Sources appear here: each answer\'s cited '
                "passages, with the quoted sentence highlighted.</p></div>")
    last = len(turns) - 1
    sections = [render_turn_sources(turns[i], i, i == last) for i in range(last, -1, -1)]
    return f'<div class="sources">{"".join(sections)}</div>'


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """Chatbot messages built from the turns; exactly one user + one assistant message per turn."""
    messages: list[dict[str, str]] = []
    for i, turn in enumerate(turns):
        cited = [int(s.get("n", 0)) for s in turn.get("sources", [])]
        content = render_answer(turn.get("answer", ""), i, cited)
        if turn.get("note"):
            content += f'<br><em class="note">{esc(turn["note"])}</em>'
        messages += [{"role": "user", "content": esc(turn.get("question", ""))},
                     {"role": "assistant", "content": content}]
    return messages


def bot_history(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """Plain-text history for the bot (never our HTML)."""
    history: list[dict[str, str]] = []
    for turn in turns[-HISTORY_TURNS:]:
        history += [{"role": "user", "content": str(turn.get("question", ""))},
                    {"role": "assistant", "content": str(turn.get("answer", ""))}]
    return history


def to_turn(question: str, answer: Answer) -> Turn:
    return {"question": question, "answer": answer.answer, "query": answer.query,
            "note": answer.note, "abstained": answer.abstained,
            "sources": [dataclasses.asdict(s) for s in answer.sources]}


def error_text(exc: ArticlebotError) -> str:
    return esc(f"{exc.message} {exc.hint}".strip())


def warn(message_html: str) -> None:
    """A toast; Gradio renders toast text as HTML, so callers pass escaped text."""
    gr.Warning(message_html)


def clean_turns(turns: Any) -> list[Turn]:
    """Turns restored from the browser are user-controlled: keep only well-formed dicts."""
    if not isinstance(turns, list):
        return []
    good = [t for t in turns if isinstance(t, dict) and isinstance(t.get("sources", []), list)]
    for turn in good:
        turn["sources"] = [s for s in turn.get("sources", []) if isinstance(s, dict)]
    return good[-MAX_TURNS:]


# -- handlers ----------------------------------------------------------------------------------------
class ChatUI:
    """The event handlers; plain methods so tests can call them without a browser.

    Without ``access`` the writes are open (as on a laptop); without ``limits`` nothing is limited.
    """

    def __init__(self, bot: Bot, access: UiAccess | None = None, limits: RateLimits | None = None) -> None:
        self.bot = bot
        self.access = access or UiAccess()
        self.limits = limits or RateLimits()

    # roles
    def may_write(self, signed_in: Any, request: gr.Request | None) -> bool:
        username = getattr(request, "username", None)
        return self.access.writes_open or signed_in is True or self.access.is_admin_login(username)

    def _limit(self, action: Action, request: gr.Request | None) -> None:
        """Raise gr.Error (a red toast; the event's outputs stay as they were) when over the limit."""
        try:
            self.limits.hit(action, client_of(request))
        except RateLimitError as exc:
            raise gr.Error(error_text(exc), title="Slow down") from exc

    def _allow_write(self, signed_in: Any, request: gr.Request | None) -> None:
        if not self.may_write(signed_in, request):
            raise gr.Error(esc(texts.text("refused_toast")), title="Sign-in needed")
        self._limit("write", request)

    def sign_in(self, user: str, secret: str, request: gr.Request | None = None) -> tuple[Any, ...]:
        """(signed-in state, sign-in form, admin tools, status, secret box)."""
        self._limit("write", request)  # tries count as writes: no guessing spree
        if not self.access.admin_ok((user or "").strip(), secret or ""):
            warn(esc(texts.text("bad_sign_in_toast")))
            return False, gr.skip(), gr.skip(), gr.skip(), ""
        return (True, *self.role_outputs(True, request), "")

    def sign_out(self) -> tuple[Any, ...]:
        return (False, *self.role_outputs(False, None))

    def role_outputs(self, signed_in: Any, request: gr.Request | None) -> tuple[Any, Any, Any]:
        """(sign-in form, admin tools, status) for this session's role."""
        admin = self.may_write(signed_in, request)
        note = texts.text("writes_open" if self.access.writes_open else
                          "signed_in" if admin else "sign_in_needed")
        return (gr.update(visible=not admin), gr.update(visible=admin), gr.update(value=note))

    def on_load(self, request: gr.Request | None = None) -> tuple[Any, ...]:
        """(signed-in state, sign-in form, admin tools, status): a page login as ui_user is the admin."""
        admin = self.access.is_admin_login(getattr(request, "username", None))
        if not admin:
            # Nothing to change; and a load event that re-sends a hidden column's visibility stops
            # later events from showing it (seen in Gradio 6.17).
            return admin, gr.skip(), gr.skip(), gr.skip()
        return (admin, *self.role_outputs(admin, request))

    # chat
    def respond(self, question: str, turns: Any,
                request: gr.Request | None = None) -> Iterator[tuple[Any, Any, Any, Any]]:
        """Stream an answer. Yields (chatbot, sources html, turns, question box)."""
        turns = clean_turns(turns)
        question = (question or "").strip()
        if not question:
            warn("Type a question about the articles.")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        self._limit("ask", request)  # raised before any output: the question stays in its box
        shown = [*chat_messages(turns), {"role": "user", "content": esc(question)}]
        yield [*shown, {"role": "assistant", "content": "…"}], gr.skip(), gr.skip(), ""
        partial = ""
        try:
            for piece in self.bot.stream(question, bot_history(turns)):
                if isinstance(piece, Answer):
                    turns = [*turns, to_turn(question, piece)][-MAX_TURNS:]
                    yield chat_messages(turns), render_sources(turns), turns, ""
                    return
                partial += piece
                yield [*shown, {"role": "assistant", "content": esc(partial)}], gr.skip(), gr.skip(), ""
        except ArticlebotError as exc:
            warn(error_text(exc))
            # Give the question back so nothing typed is lost.
            yield chat_messages(turns), gr.skip(), gr.skip(), question

    def api_ask(self, question: str, history: list[dict[str, str]] | None = None,
                request: gr.Request | None = None) -> dict[str, Any]:
        """Answer a question about the articles. history: earlier turns as {"role", "content"}
        dicts. Returns the answer (with [n] markers), abstained, sources and the searched query."""
        history = [h for h in history or [] if isinstance(h, dict)]
        self._limit("ask", request)
        try:
            return self.bot.ask(question, history).to_json()
        except ArticlebotError as exc:
            raise gr.Error(error_text(exc)) from exc

    def like(self, turns: Any, data: gr.LikeData) -> None:
        turns = clean_turns(turns)
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        liked = {"Like": True, "Dislike": False}.get(data.liked, data.liked)  # type: ignore[arg-type]
        if not isinstance(liked, bool) or not isinstance(index, int) or index // 2 >= len(turns):
            return  # an un-like or a message that is not an answer
        turn = turns[index // 2]
        sources = [{k: s.get(k) for k in ("n", "article_id", "title", "url", "quote", "score")}
                   for s in turn["sources"]]
        self.bot.record_feedback(str(turn.get("question", "")), str(turn.get("answer", "")),
                                 sources, liked)
        gr.Info("Thanks, feedback saved.", duration=3)

    def restore(self, turns: Any) -> tuple[Any, Any, Any, Any]:
        """On page load: (chatbot, sources, turns, question box) from the conversation in the browser.
        The question box opens only now: an answer that landed before the restore would be overwritten."""
        turns = clean_turns(turns)
        return chat_messages(turns), render_sources(turns), turns, gr.update(interactive=True)

    def new_chat(self) -> tuple[Any, Any, Any]:
        return [], render_sources([]), []

    def examples(self) -> Any:
        try:
            questions = self.bot.example_questions(EXAMPLES)
        except ArticlebotError:
            questions = []
        return gr.Dataset(samples=[[q] for q in questions], visible=bool(questions))

    # articles
    def article_rows(self) -> list[list[Any]]:
        return [[a.title, a.language, (a.published or a.updated or a.ingested_at)[:10], a.chunks, a.id]
                for a in self.bot.articles()]

    def collection_outputs(self) -> tuple[Any, Any]:
        """(article table, delete choices) after any change."""
        rows = self.article_rows()
        choices = [(f"{r[0][:70]} ({r[4]})", r[4]) for r in rows]
        return rows, gr.Dropdown(choices=choices, value=None)

    def ingest_files(self, files: list[str] | None, signed_in: bool = False, request: gr.Request | None = None,
                     progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        self._allow_write(signed_in, request)
        paths = [str(f) for f in files or []]
        if not paths:
            warn("Choose one or more .txt, .md, .html or .pdf files (or a MediaWiki .xml export) first.")
            return (gr.skip(), *self.collection_outputs(), gr.skip())
        try:
            # Uploads land in a new temp folder each time: store them under their file name so that
            # uploading an edited file updates the article instead of adding a second one.
            identities = {p: f"upload:{Path(p).name}" for p in paths}
            results = self.bot.ingest(paths, progress=_reporter(progress), identities=identities)
        except ArticlebotError as exc:
            warn(error_text(exc))
            rows = [[Path(p).name, "failed", "", 0, "", f"{exc.message} {exc.hint}".strip()]
                    for p in paths]
            return (rows, *self.collection_outputs(), gr.skip())
        self._summarise(results)
        return ([result_row(r) for r in results], *self.collection_outputs(), None)

    def add_text(self, title: str, text: str, url: str, signed_in: bool = False,
                 request: gr.Request | None = None,
                 progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        self._allow_write(signed_in, request)
        progress(0.1, desc="indexing the text")
        try:
            result = self.bot.add_text(title, text, url)
        except ArticlebotError as exc:
            warn(error_text(exc))
            row = ["(pasted text)", "failed", title, 0, "", f"{exc.message} {exc.hint}".strip()]
            return ([row], *self.collection_outputs(), gr.skip(), gr.skip(), gr.skip())
        self._summarise([result])
        return ([result_row(result)], *self.collection_outputs(), "", "", "")

    def delete(self, article_id: str | None, signed_in: bool = False,
               request: gr.Request | None = None) -> tuple[Any, Any, Any]:
        self._allow_write(signed_in, request)
        if not article_id:
            warn("Pick an article to delete.")
            return self.collection_outputs()
        try:
            article = self.bot.delete(article_id)
        except ArticlebotError as exc:
            warn(error_text(exc))
        else:
            gr.Info(f"Deleted “{esc(article.title)}”.", duration=4)
        return self.collection_outputs()

    @staticmethod
    def _summarise(results: Sequence[IngestResult]) -> None:
        failed = [r for r in results if r.status == "failed"]
        if failed:
            warn(f"{len(failed)} of {len(results)} failed: "
                 + "; ".join(esc(f"{Path(r.source).name}: {r.reason}") for r in failed[:3]))
        else:
            ready = sum(r.status in ("added", "updated", "unchanged") for r in results)
            passed = len(results) - ready
            extra = f" {passed} skipped or duplicate: see the reasons below." if passed else ""
            gr.Info(f"{ready} article(s) ready.{extra}", duration=4)


def result_row(r: IngestResult) -> list[Any]:
    name = r.source if r.source.startswith(("http", "text:")) else Path(r.source.removeprefix("upload:")).name
    return [name, r.status, r.title, r.chunks, r.article_id, r.reason]


def _reporter(progress: gr.Progress) -> Callable[[str, float], None]:
    def report(message: str, fraction: float) -> None:
        progress(fraction, desc=message)

    return report


# -- layout -----------------------------------------------------------------------------------------
def _style() -> str:
    # Inlined as <style> in the page so it applies however the Blocks is served or mounted.
    return f"<style>{(STATIC / 'articlebot.css').read_text(encoding='utf-8')}</style>"


# The box was disabled while the page loaded, so its autofocus did nothing; focus it unless the user
# has already clicked elsewhere.
FOCUS_QUESTION = """() => { if (document.activeElement === document.body)
  document.querySelector('#ab-question textarea')?.focus(); }"""


def _browser_secret(bot: Bot) -> str:
    """Stable per data directory, so a restart can still read the conversation in localStorage."""
    return hashlib.sha256(f"articlebot:{bot.library.home}".encode()).hexdigest()[:32]


def create_app(bot: Bot, settings: Settings | None = None, limits: RateLimits | None = None) -> gr.Blocks:
    """The web UI as an un-launched Blocks (queue configured). Without ``settings`` the writes are
    open and nothing is rate-limited; ``limits`` lets the server share one budget with the API."""
    access = UiAccess.from_settings(settings) if settings is not None else UiAccess()
    if limits is None and settings is not None:
        limits = RateLimits.from_settings(settings)
    ui = ChatUI(bot, access, limits)
    private: dict[str, Any] = {"api_visibility": "private"}
    with gr.Blocks(title="articlebot", analytics_enabled=False) as demo:
        gr.HTML(_style(), elem_id="ab-style", js_on_load=None, padding=False)
        turns = gr.BrowserState([], storage_key="articlebot-conversation", secret=_browser_secret(bot))
        # Server-side per session: Gradio fills a State input from its own store, never from the request.
        signed_in = gr.State(False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab") as chat_tab:
                chat = _chat_tab(ui, turns, private)
            with gr.Tab("Articles", id="articles-tab") as articles_tab:
                articles, choice, role = _articles_tab(ui, signed_in, private)
        # No progress marks for the restore: a busy machine could leave the chat's pending bubble stuck
        # after the event had finished (and a spinner on every page load says nothing useful). The
        # example questions come after it, so the question box opens without waiting for them.
        demo.load(ui.restore, [turns], [chat["chatbot"], chat["sources"], turns, chat["question"]],
                  **private, show_progress="hidden").then(
            ui.examples, None, [chat["examples"]], js=FOCUS_QUESTION, **private, show_progress="hidden")
        demo.load(ui.on_load, None, [signed_in, *role], **private, show_progress="hidden")
        # Refresh what a tab shows when it opens (the collection may have changed meanwhile). Only a
        # visible tab is updated: Gradio leaves a hidden output's spinner stuck.
        quiet: dict[str, Any] = {**private, "show_progress": "hidden"}
        chat_tab.select(ui.examples, None, [chat["examples"]], **quiet)
        articles_tab.select(ui.collection_outputs, None, [articles, choice], **quiet)
        gr.api(ui.api_ask, api_name="ask")
    # Several users' questions at once (the Bot takes no lock; writes queue on its writer thread);
    # beyond that they wait visibly in the queue.
    demo.queue(default_concurrency_limit=CONCURRENT_EVENTS, max_size=64)
    return demo


def _chat_tab(ui: ChatUI, turns: gr.BrowserState, private: dict[str, Any]) -> dict[str, Any]:
    with gr.Row(equal_height=False, elem_id="ab-chat-row"):
        with gr.Column(scale=3, min_width=320):
            chatbot = gr.Chatbot(
                elem_id="ab-chat", height="60vh", min_height=320, show_label=False,
                render_markdown=False, sanitize_html=True, allow_tags=False, latex_delimiters=[],
                feedback_options=("Like", "Dislike"), buttons=["copy"], layout="bubble",
                placeholder="Ask a question about the articles. Answers quote the sentence they "
                            "rest on, with numbered citations.")
            # Opened by the page-load restore (see create_app).
            question = gr.Textbox(show_label=False, placeholder="Ask about the articles…",
                                  submit_btn="Ask", elem_id="ab-question", max_lines=4, interactive=False)
            examples = gr.Dataset(components=[gr.Textbox(visible=False)], samples=[],
                                  label="Try", elem_id="ab-examples", visible=False)
            new_chat = gr.Button("New conversation", size="sm", variant="secondary",
                                 elem_id="ab-new-chat")
        with gr.Column(scale=2, min_width=280):
            sources = gr.HTML(render_sources([]), elem_id="ab-sources", label="Sources",
                              js_on_load=None, container=True, show_label=True, max_height=720)
    outputs = [chatbot, sources, turns, question]
    question.submit(ui.respond, [question, turns], outputs, **private)
    examples.click(lambda sample: sample[0], [examples], [question], **private).then(
        ui.respond, [question, turns], outputs, **private)
    new_chat.click(ui.new_chat, None, [chatbot, sources, turns], **private)
    chatbot.clear(ui.new_chat, None, [chatbot, sources, turns], **private)  # its trash button
    chatbot.like(ui.like, [turns], None, **private)
    return {"chatbot": chatbot, "sources": sources, "examples": examples, "question": question}


def _sign_in_form(ui: ChatUI, signed_in: gr.State, private: dict[str, Any]) -> list[Any]:
    """The access note and the admin sign-in; returns the role outputs [sign-in form, admin tools,
    note] (the admin tools column is empty: the caller fills it)."""
    writes_open = ui.access.writes_open
    note = gr.Markdown(texts.text("writes_open" if writes_open else "sign_in_needed"),
                       elem_id="ab-access-note")
    with gr.Column(visible=not writes_open, elem_id="ab-signin") as form, gr.Row(equal_height=True):
        user = gr.Textbox(label="User (only with the UI password)", scale=1, elem_id="ab-signin-user")
        secret = gr.Textbox(label="API key or UI password", type="password", scale=2,
                            elem_id="ab-signin-secret")
        go = gr.Button("Sign in", variant="primary", scale=0, min_width=100, elem_id="ab-signin-go")
    tools = gr.Column(visible=writes_open, elem_id="ab-admin")
    role = [form, tools, note]
    quiet = {**private, "show_progress": "hidden"}
    go.click(ui.sign_in, [user, secret], [signed_in, *role, secret], **quiet)
    secret.submit(ui.sign_in, [user, secret], [signed_in, *role, secret], **quiet)
    return role


def _articles_tab(ui: ChatUI, signed_in: gr.State,
                  private: dict[str, Any]) -> tuple[gr.Dataframe, gr.Dropdown, list[Any]]:
    role = _sign_in_form(ui, signed_in, private)
    with role[1]:  # the admin tools: shown to an admin; their handlers check the role again
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                files = gr.File(label="Upload articles (.txt, .md, .html, .pdf, MediaWiki .xml export)",
                                file_count="multiple", file_types=[".txt", ".md", ".html", ".htm", ".pdf", ".xml"],
                                type="filepath",
                                elem_id="ab-upload")
                upload = gr.Button("Add files", variant="primary", elem_id="ab-add-files")
            with gr.Column(min_width=300), gr.Accordion("…or paste an article", open=False,
                                                        elem_id="ab-paste"):
                title = gr.Textbox(label="Title", elem_id="ab-paste-title")
                text = gr.Textbox(label="Text", lines=6, max_lines=20, elem_id="ab-paste-text")
                url = gr.Textbox(label="URL (optional)", elem_id="ab-paste-url")
                paste = gr.Button("Add text", variant="primary", elem_id="ab-add-text")
        results = gr.Dataframe(headers=RESULT_HEADERS, value=[], type="array", label="Last import",
                               interactive=False, wrap=True, elem_id="ab-results",
                               column_widths=["20%", "9%", "33%", "8%", "12%", "18%"])
        with gr.Row(equal_height=False, elem_id="ab-delete-row"):
            choice = gr.Dropdown(label="Article to delete", choices=[], value=None, scale=4,
                                 elem_id="ab-delete-choice")
            remove = gr.Button("Delete", variant="stop", scale=1, min_width=100, elem_id="ab-delete")
        sign_out = gr.Button("Sign out", size="sm", variant="secondary", visible=not ui.access.writes_open,
                             elem_id="ab-signout")
    articles = gr.Dataframe(headers=ARTICLE_HEADERS, value=[], type="array", label="Articles",
                            interactive=False, wrap=True, elem_id="ab-articles",
                            column_widths=["52%", "11%", "13%", "9%", "15%"])
    refresh = gr.Button("Refresh list", size="sm", elem_id="ab-refresh")
    collection = [articles, choice]
    upload.click(ui.ingest_files, [files, signed_in], [results, *collection, files], **private)
    paste.click(ui.add_text, [title, text, url, signed_in], [results, *collection, title, text, url],
                **private)
    remove.click(ui.delete, [choice, signed_in], collection, **private)
    refresh.click(ui.collection_outputs, None, collection, **private)
    sign_out.click(ui.sign_out, None, [signed_in, *role], **private, show_progress="hidden")
    return articles, choice, role


def launch(bot: Bot, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 7860,
           **kwargs: Any) -> Any:
    """Serve the chat alone (``ui.server`` mounts it next to the HTTP API instead)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    app = create_app(bot, settings)
    if settings is not None:
        kwargs.setdefault("auth", UiAccess.from_settings(settings).page_login())
    kwargs.setdefault("footer_links", ["api"])
    kwargs.setdefault("ssr_mode", False)
    kwargs.setdefault("theme", theme())
    return app.launch(server_name=host, server_port=port, **kwargs)
