"""The REST API under /api/v1: ask (plain and streamed), the article collection and health.

Every error is JSON ``{"error": {"code", "message", "hint"}}``. Writes always need an API key; reads
need one when ``require_key_for_read`` is set. Browser calls are limited to the allowed origins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.errors import ArticlebotError
from ui.auth import KeyRing, OriginError, OriginPolicy
from ui.ratelimit import RateLimitError, RateLimits, client_of
from ui.sources_api import add_source_routes

if TYPE_CHECKING:
    from bot.service import Bot
    from bot.types import Answer
    from ui.settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api"
MCP_PREFIX = "/mcp"
GUARDED = (API_PREFIX, MCP_PREFIX)  # paths the origin check and the body limit cover
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 422: "invalid_request",
         429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


# -- request and response bodies -------------------------------------------------------------------
class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "Who confirmed the attack?", "page_url": "https://wiki.example.org/x"}]})
    question: str = Field(min_length=1, max_length=2000, description="the user's question")
    history: list[Turn] = Field(default_factory=list, max_length=50,
                                description="earlier turns, oldest first, for follow-up questions")
    k: int | None = Field(None, ge=1, le=50, description="chunks to read (default from settings)")
    page_url: str | None = Field(None, max_length=2000,
                                 description="the page the user is on: its article is searched first")


class SourceOut(BaseModel):
    n: int
    article_id: str
    title: str
    url: str
    quote: str = Field(description="the cited sentence, verbatim")
    score: float


class CitationOut(BaseModel):
    cited: int = Field(description="the passage number as the model wrote it")
    supported: bool
    reason: str = Field(description="why the citation was dropped ('' when kept)")
    lift: float = Field(description="best cosine with a sentence of the passage, above its language's crowd")
    overlap: float = Field(description="share of the sentence's words found in the passage (same language)")
    names: float = Field(description="share of its names and numbers found in the passage")
    quote: str = Field(description="the passage's sentence that backs it best")


class CheckOut(BaseModel):
    sentence: str
    verdict: Literal["supported", "unsupported", "uncited", "no_claim"]
    kept: list[int] = Field(description="its citations in the answer, numbered as the sources")
    citations: list[CitationOut]


class AnswerOut(BaseModel):
    answer: str
    abstained: bool = Field(description="true when the articles don't say")
    sources: list[SourceOut]
    query: str = Field(description="the standalone question that was searched")
    note: str = Field("", description="e.g. 'Searched this page first: …', or why the model's answer was "
                                      "replaced by quotes")
    checks: list[CheckOut] = Field(default_factory=list, description="a generated answer: how each sentence's "
                                   "citations were checked (empty for quoted answers)")


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field("", max_length=500)
    text: str = Field(min_length=1)
    url: str = Field("", max_length=2000)
    published: str = Field("", max_length=100)
    author: str = Field("", max_length=300)


class ArticleOut(BaseModel):
    id: str
    title: str
    source: str
    url: str
    language: str
    published: str
    author: str
    ingested_at: str
    chunks: int
    updated: str = Field(description="last modified, when the source tells (a wiki page: its last revision)")
    site_name: str


class IngestOut(BaseModel):
    source: str
    status: Literal["added", "updated", "unchanged", "duplicate", "skipped", "failed"]
    article_id: str
    title: str
    chunks: int
    reason: str


class HealthOut(BaseModel):
    status: Literal["ok"]
    articles: int
    model: str


class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str = ""


class ErrorOut(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 409, 413, 422, 429, 503)}


# -- error shape -----------------------------------------------------------------------------------
def error_response(status_code: int, message: str, hint: str = "",
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": CODES.get(status_code, "error"), "message": message, "hint": hint}}
    return JSONResponse(body, status_code=status_code, headers=headers)


def _error_headers(exc: ArticlebotError) -> dict[str, str] | None:
    if isinstance(exc, RateLimitError):
        return {"Retry-After": str(exc.retry_after)}
    return {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None


async def _on_app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ArticlebotError)
    return error_response(exc.status, exc.message, exc.hint, _error_headers(exc))


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


JSON_HINT = "Send a JSON object with 'Content-Type: application/json'."


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(422, "The request body is not valid JSON.", JSON_HINT)
    if any(tuple(e.get("loc", ())) == ("body",) for e in errors):
        return error_response(422, "The request body must be a JSON object.", JSON_HINT)
    return error_response(422, "; ".join(_describe(e) for e in errors[:5]),
                          "See /docs for the request schema.")


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error in the API", exc_info=exc)
    return error_response(500, "Something went wrong on the server.", "See the server log.")


# -- guards (pure ASGI, so they also cover the streamed and the mounted routes) -------------------
def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send_error(send: Send, status_code: int, message: str, hint: str) -> None:
    response = error_response(status_code, message, hint)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def under(scope: Scope, prefixes: tuple[str, ...]) -> bool:
    """An HTTP request whose path is one of ``prefixes`` or below it."""
    path = str(scope.get("path", ""))
    return scope["type"] == "http" and any(path == p or path.startswith(p + "/") for p in prefixes)


class OriginGuard:
    """Refuses calls made by pages on origins that are not allowed (403), before CORS runs. Also
    covers the MCP endpoint, where it stops DNS-rebinding pages from driving a local server."""

    def __init__(self, app: ASGIApp, policy: OriginPolicy, prefixes: tuple[str, ...] = GUARDED) -> None:
        self.app, self.policy, self.prefixes = app, policy, prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if under(scope, self.prefixes):
            origin = _header(scope, b"origin")
            own = f"{scope.get('scheme', 'http')}://{_header(scope, b'host') or ''}"
            if not self.policy.allows(origin, own):
                error = OriginError(f"Requests from {origin} are not allowed.",
                                    "Add the page's origin to ARTICLEBOT_ALLOWED_ORIGINS.")
                await _send_error(send, error.status, error.message, error.hint)
                return
        await self.app(scope, receive, send)


class ApiCors:
    """CORS for the API paths only; the mounted Gradio app keeps its own policy."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                                   allow_headers=["Authorization", "Content-Type"], max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.cors if under(scope, (API_PREFIX,)) else self.app)(scope, receive, send)


class BodyLimit:
    """413 for API bodies over the limit: by Content-Length, and by the bytes really received
    (a chunked upload has no Content-Length). The body is buffered, which the limit keeps small."""

    def __init__(self, app: ASGIApp, max_bytes: int, prefixes: tuple[str, ...] = GUARDED) -> None:
        self.app, self.max_bytes, self.prefixes = app, max_bytes, prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not under(scope, self.prefixes) or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        body = await self._read(receive)
        if body is None:
            await self._refuse(send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, send: Send) -> None:
        kb = self.max_bytes // 1024
        await _send_error(send, 413, f"The request body is larger than {kb} KB.",
                          "Send a smaller article, or raise ARTICLEBOT_SERVE__MAX_REQUEST_KB.")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as Starlette expects

    return replay


# -- serialisation ---------------------------------------------------------------------------------
def answer_json(answer: Answer) -> dict[str, Any]:
    return {**answer.to_json(), "note": answer.note}


def sse(event: str, data: Any) -> str:
    """One server-sent event. Data is JSON, so newlines inside a token cannot break the framing."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream_events(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[str]:
    from bot.types import Answer

    try:
        for piece in _chain(first, rest):
            if isinstance(piece, Answer):
                yield sse("sources", [s.to_json() for s in piece.sources])
                yield sse("done", answer_json(piece))
            else:
                yield sse("token", piece)
    except ArticlebotError as exc:  # headers are sent: the error can only travel as an event
        yield sse("error", {"error": {"code": CODES.get(exc.status, "error"), "message": exc.message,
                                      "hint": exc.hint}})


def _chain(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[str | Answer]:
    yield first
    yield from rest


def article_json(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ArticleOut.model_fields}


# -- the app ---------------------------------------------------------------------------------------
bearer = HTTPBearer(auto_error=False, description="an API key from ARTICLEBOT_API_KEYS")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _header_value(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return f"{credentials.scheme} {credentials.credentials}" if credentials else None


def create_api(bot: Bot, settings: Settings, limits: RateLimits | None = None) -> FastAPI:
    """The API app. The server mounts the chat UI on top of it (sharing ``limits`` with it)."""
    limits = limits or RateLimits.from_settings(settings)
    keys = KeyRing(settings.api_keys)
    # Read-only keys (ARTICLEBOT_READ_KEYS, for the widget's data-key) pass read checks only.
    read_keys = KeyRing([*settings.api_keys, *settings.read_keys])
    app = FastAPI(title="articlebot", version="1", docs_url="/docs", openapi_url="/openapi.json",
                  redoc_url=None, summary="Answers questions about a collection of articles with "
                                          "the exact quote and a numbered citation.")
    app.state.keys, app.state.read_keys = keys, read_keys  # digests only
    app.state.origins = OriginPolicy(settings.allowed_origins)

    def need_read(credentials: Credentials) -> None:
        if settings.require_key_for_read:
            read_keys.require(_header_value(credentials), "Reading")

    def need_write(credentials: Credentials) -> None:
        keys.require(_header_value(credentials), "Changing the articles")

    # After the key check: a client without a key is refused without using up anyone's budget.
    def limit_ask(request: Request) -> None:
        limits.hit("ask", client_of(request))

    def limit_write(request: Request) -> None:
        limits.hit("write", client_of(request))

    reads = [Depends(need_read)]
    asks = [*reads, Depends(limit_ask)]
    writes = [Depends(need_write), Depends(limit_write)]

    @app.post("/api/v1/ask", response_model=AnswerOut, responses=ERRORS, dependencies=asks, tags=["ask"])
    def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question from the articles, quoting the sentences that back the answer."""
        history = [t.model_dump() for t in body.history]
        return answer_json(bot.ask(body.question, history, body.k, body.page_url))

    @app.post("/api/v1/ask/stream", response_class=StreamingResponse, dependencies=asks, tags=["ask"],
              responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description":
                         "`event: token` (JSON string pieces; a model's tokens as it writes them), then "
                         "`event: sources` (JSON list) and `event: done` (the full answer JSON, citations "
                         "checked: it replaces the tokens); `event: error` if it fails midway."}})
    def ask_stream(body: AskRequest) -> StreamingResponse:
        """The same answer as /ask, as server-sent events."""
        history = [t.model_dump() for t in body.history]
        pieces = bot.stream(body.question, history, body.k, body.page_url)
        first = next(pieces)  # runs the search now, so bad input still gets a proper status code
        return StreamingResponse(stream_events(first, pieces), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/v1/articles", response_model=list[ArticleOut], responses=ERRORS, dependencies=reads,
             tags=["articles"])
    def list_articles() -> list[dict[str, Any]]:
        """The articles in the collection, newest first."""
        return [article_json(a) for a in bot.articles()]

    @app.post("/api/v1/articles", response_model=IngestOut, responses={**ERRORS, 201: {"model": IngestOut}},
              dependencies=writes, tags=["articles"])
    def add_article(body: ArticleIn, response: Response) -> dict[str, Any]:
        """Add or update an article (201 when added; 200 when updated or unchanged)."""
        result = bot.add_text(body.title, body.text, body.url, body.published, body.author)
        if result.status == "added":
            response.status_code = status.HTTP_201_CREATED
        return result.to_json()

    @app.get("/api/v1/articles/{article_id}/text", response_class=PlainTextResponse, dependencies=reads,
             responses={**ERRORS, 404: {"model": ErrorOut},
                        200: {"content": {"text/plain": {}}, "description": "the article's cleaned text"}},
             tags=["articles"])
    def article_text(article_id: str) -> PlainTextResponse:
        """An article's title and cleaned text as plain text: what a source without a web address links to."""
        article = bot.article(article_id)
        return PlainTextResponse(f"{article.title}\n\n{article.text}\n",
                                 headers={"X-Content-Type-Options": "nosniff"})

    @app.delete("/api/v1/articles/{article_id}", response_model=ArticleOut,
                responses={**ERRORS, 404: {"model": ErrorOut}}, dependencies=writes, tags=["articles"])
    def delete_article(article_id: str) -> dict[str, Any]:
        """Delete an article and its index entries."""
        return article_json(bot.delete(article_id))

    add_source_routes(app, bot, [Depends(need_write)], writes, ERRORS)

    @app.get("/api/v1/health", response_model=HealthOut, tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness for monitors; open without a key (it tells only a count and the model name)."""
        return {"status": "ok", "articles": len(bot.articles()), "model": bot.embedder.name}

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    def unknown(request: Request) -> None:
        # Without this, unknown /api paths would fall through to the chat UI mounted at "/".
        allowed = sorted({m for route in app.routes if isinstance(route, APIRoute) and route.name != "unknown"
                          and route.path_regex.match(request.url.path) for m in route.methods})
        if allowed:
            raise StarletteHTTPException(405, f"{request.method} is not allowed here.",
                                         headers={"Allow": ", ".join(allowed)})
        raise StarletteHTTPException(404, f"No API route {request.url.path}.")

    app.add_exception_handler(ArticlebotError, _on_app_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)
    # Added last = outermost: origin check, then CORS, then the body limit.
    app.add_middleware(BodyLimit, max_bytes=settings.serve.max_request_kb * 1024)
    app.add_middleware(ApiCors, origins=list(app.state.origins.allowed))
    app.add_middleware(OriginGuard, policy=app.state.origins)
    return app
