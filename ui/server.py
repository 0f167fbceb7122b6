"""The web server: the REST API, the chat UI at "/", the embeddable chat (/embed, /widget.js) and
the MCP tools (/mcp/gradio_api/mcp/), all on one port."""

from __future__ import annotations

import contextlib
import html
import json
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from index.errors import ArticlebotError
from ui import texts
from ui.api import MCP_PREFIX, create_api, error_response, under
from ui.auth import AuthError, KeyRing, OriginPolicy, UiAccess, normalise_origin
from ui.ratelimit import RateLimitError, RateLimits, client_of
from ui.theme import theme

if TYPE_CHECKING:
    from bot.service import Bot
    from ui.settings import Settings

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MCP_ENDPOINT = f"{MCP_PREFIX}/gradio_api/mcp/"


# -- the embeddable chat ---------------------------------------------------------------------------
def embed_headers(policy: OriginPolicy) -> dict[str, str]:
    """/embed may be framed only by the allowed origins, and loads nothing but its own files."""
    csp = "; ".join([
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
        "img-src 'self' data:", "base-uri 'none'", "form-action 'none'", policy.frame_ancestors()])
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def refused_frame_origin(request: Request, policy: OriginPolicy) -> str | None:
    """The origin of a site framing /embed without being allowed to ("" when the browser does not
    say which), or None when the chat may be shown. Browsers mark frame loads with Sec-Fetch-*
    headers; the framing page is named by the Referer or else the widget's ``page_url``. Either may
    be made up, which only picks the page shown: the CSP's frame-ancestors still decides framing."""
    if request.headers.get("sec-fetch-dest") not in ("iframe", "frame"):
        return None  # opened directly, or not a browser: the CSP still guards any framing
    if request.headers.get("sec-fetch-site") == "same-origin":
        return None
    page = request.headers.get("referer") or request.query_params.get("page_url") or ""
    origin = normalise_origin(page) if page.startswith(("http://", "https://")) else ""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if not policy.allowed:
        return origin
    return origin if origin and not policy.allows(origin, own) else None


def refused_page(origin: str) -> str:
    """A short page, instead of the browser's blank frame, saying which setting lets the site in."""
    page = (STATIC / "embed-refused.html").read_text("utf-8")
    shown = f"<code>{html.escape(origin)}</code>" if origin else html.escape(texts.text("embed_refused_unknown"))
    return page.replace("{title}", html.escape(texts.text("embed_refused_title"))).replace(
        "{message}", texts.text("embed_refused").replace("{origin}", shown))


def add_embed_routes(app: FastAPI, policy: OriginPolicy) -> None:
    page = (STATIC / "embed.html").read_text("utf-8")
    headers = embed_headers(policy)
    # The refusal page holds text only (no script, no form), so any site may frame it.
    refused_headers = {**headers, "Content-Security-Policy": "default-src 'none'; style-src 'self'; "
                       "base-uri 'none'; form-action 'none'; frame-ancestors *"}
    vary = {"Vary": "Referer, Sec-Fetch-Dest, Sec-Fetch-Site"}
    assets = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}

    @app.get("/embed", response_class=HTMLResponse, include_in_schema=False)
    def embed(request: Request) -> HTMLResponse:
        origin = refused_frame_origin(request, policy)
        if origin is not None:
            return HTMLResponse(refused_page(origin), headers={**refused_headers, **vary})
        return HTMLResponse(page, headers={**headers, **vary})

    @app.get("/embed.js", include_in_schema=False)
    def embed_js() -> Response:
        return FileResponse(STATIC / "embed.js", media_type="text/javascript", headers=assets)

    @app.get("/embed.css", include_in_schema=False)
    def embed_css() -> Response:
        return FileResponse(STATIC / "embed.css", media_type="text/css", headers=assets)

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> Response:
        # Any page may load the script; only allowed origins can frame /embed or call the API.
        return FileResponse(STATIC / "widget.js", media_type="text/javascript", headers=assets)


# -- MCP tools -------------------------------------------------------------------------------------
def search_passages(bot: Bot, query: str, k: int) -> list[dict[str, Any]]:
    """The ``k`` best passages for ``query``, as plain JSON."""
    passages = bot.search(query, k=max(1, min(int(k), 20)))
    return [{"article_id": p.article_id, "title": p.title, "url": p.url, "text": p.text,
             "score": round(p.score, 4)}
            for p in passages]


def mcp_blocks(bot: Bot, limits: RateLimits | None = None) -> gr.Blocks:
    """A small Blocks whose API endpoints are the MCP tools. Their docstrings are the tool
    descriptions that MCP clients (and the models behind them) read. Both tools count as asks."""
    limits = limits or RateLimits()

    def limit(request: gr.Request | None) -> None:
        try:
            limits.hit("ask", client_of(request))
        except RateLimitError as exc:
            raise gr.Error(str(exc)) from exc

    # Tools return JSON text: Gradio hands a tool's result to MCP clients as str(result).
    def ask(question: str, request: gr.Request | None = None) -> str:
        """Answer a question from the article collection, quoting the exact sentences that back it.

        Args:
            question: The question, in any language the articles are in, e.g. "Who confirmed the attack?"

        Returns:
            JSON text with "answer" (text, with [n] citation marks), "abstained" (true when the articles don't
            say), "sources" (list of {n, article_id, title, url, quote, score}) and "query".
        """
        from ui.api import answer_json

        limit(request)
        try:
            return json.dumps(answer_json(bot.ask(question)), ensure_ascii=False)
        except ArticlebotError as exc:
            raise gr.Error(str(exc)) from exc

    def search(query: str, k: int = 5, request: gr.Request | None = None) -> str:
        """Search the article collection and return the best matching passages (hybrid dense + keyword).

        Args:
            query: What to look for: a question or keywords.
            k: How many passages to return (1 to 20).

        Returns:
            JSON text: a list of passages, best first: {article_id, title, url, text, score}.
        """
        limit(request)
        try:
            return json.dumps(search_passages(bot, query, k), ensure_ascii=False)
        except ArticlebotError as exc:
            raise gr.Error(str(exc)) from exc

    with gr.Blocks(title="articlebot tools", analytics_enabled=False) as blocks:
        gr.Markdown(f"articlebot MCP tools: `ask` and `search`. Connect an MCP client to `{MCP_ENDPOINT}`.")
        # queue=False: MCP calls run in-process instead of looping back over HTTP through the queue.
        gr.api(ask, api_name="ask", queue=False)
        gr.api(search, api_name="search", queue=False)
    return blocks


def mcp_available() -> bool:
    try:
        import mcp  # noqa: F401
    except ImportError:
        return False
    return True


class KeyGuard:
    """Asks for an API key on the given paths (the MCP tools are reads, like /api/v1/ask)."""

    def __init__(self, app: ASGIApp, keys: KeyRing, prefixes: tuple[str, ...]) -> None:
        self.app, self.keys, self.prefixes = app, keys, prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if under(scope, self.prefixes):
            authorization = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                                  if k.lower() == b"authorization"), None)
            try:
                self.keys.require(authorization, "Using the MCP tools")
            except AuthError as exc:
                response = error_response(exc.status, exc.message, exc.hint, {"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- the chat UI -----------------------------------------------------------------------------------
def placeholder_ui() -> gr.Blocks:
    with gr.Blocks(title="articlebot", analytics_enabled=False) as blocks:
        gr.Markdown("# articlebot\nThe chat UI is not installed; the API is at [/docs](/docs).")
    return blocks


def load_ui(bot: Bot, settings: Settings, limits: RateLimits | None = None) -> gr.Blocks:
    try:
        from ui.gradio_app import create_app
    except ModuleNotFoundError as exc:
        if exc.name != "ui.gradio_app":
            raise
        log.warning("ui.gradio_app is missing: serving a placeholder page at /")
        return placeholder_ui()
    return create_app(bot, settings, limits)


# -- the server ------------------------------------------------------------------------------------
def create_server(bot: Bot, settings: Settings, ui: gr.Blocks | None = None) -> FastAPI:
    """API + embed routes + MCP tools + the chat UI at "/" (``ui`` defaults to ui.gradio_app)."""
    # Questions first: uploads, syncs and deletes run on one thread of lower CPU priority.
    bot.write_in_background(settings.serve.writer_nice)
    limits = RateLimits.from_settings(settings)  # one budget per client for the API and the UI
    app = create_api(bot, settings, limits)
    add_embed_routes(app, app.state.origins)
    if mcp_available():
        if settings.require_key_for_read:
            app.add_middleware(KeyGuard, keys=app.state.read_keys, prefixes=(MCP_PREFIX,))
        # Mounted before "/", which would otherwise catch /mcp.
        gr.mount_gradio_app(app, mcp_blocks(bot, limits), path=MCP_PREFIX, mcp_server=True, footer_links=[])
    else:
        log.warning("the 'mcp' package is not installed: no MCP tools (pip install 'mcp>=1.21,<2')")
    # The page itself asks for a login only when reads need a key (the same rule as the API); the
    # article writes inside it need the admin sign-in (ui.gradio_app).
    access = UiAccess.from_settings(settings)
    gr.mount_gradio_app(app, ui or load_ui(bot, settings, limits), path="/", auth=access.page_login(),
                        auth_message=texts.text("page_login") if access.page_login() else None,
                        mcp_server=False, theme=theme())
    return app


def quiet_gradio_deprecations() -> None:
    """Gradio 6.17 reads ``starlette.status.HTTP_422_UNPROCESSABLE_ENTITY`` on every queue join, which
    Starlette 1.x deprecates: a StarletteDeprecationWarning after every chat question, about Gradio's own
    code. Only that warning, from that module, is filtered."""
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.filterwarnings("ignore", message=r"'HTTP_422_UNPROCESSABLE_ENTITY' is deprecated",
                            category=StarletteDeprecationWarning, module=r"gradio\.routes")


def serve(bot: Bot, settings: Settings, host: str, port: int) -> None:
    quiet_gradio_deprecations()
    app = create_server(bot, settings)
    base = f"http://{host}:{port}"
    print(f"articlebot: chat {base}/  API {base}/docs  widget {base}/widget.js  MCP {base}{MCP_ENDPOINT}")
    if not settings.api_keys:
        print("articlebot: no API keys set (ARTICLEBOT_API_KEYS): the API is read-only.")
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5,
                root_path=settings.serve.root_path)


@contextlib.contextmanager
def running(app: ASGIApp, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0,
            root_path: str = "") -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread; yields its base URL (tests, notebooks)."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                           root_path=root_path))
    thread = threading.Thread(target=server.run, name="articlebot-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
