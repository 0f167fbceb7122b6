"""The REST API: answers, streaming, the collection, auth, origins, limits and the error shape.

Runs in-process (Starlette's TestClient) on the hash embedder: fast and deterministic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import Field

from bot.config import AnswerSettings, BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.errors import ModelMismatchError
from ui.api import create_api
from ui.settings import ServeSettings, Settings

KEY = "test-key-0123456789"
GOOD_ORIGIN = "https://wiki.example.org"
AUTH = {"Authorization": f"Bearer {KEY}"}
ARTICLE = {
    "title": "Attack in Qala-i-Naw",
    "text": "Abdul Aziz Bek confirmed the attack on the police post on Tuesday. "
            "Three officers were wounded, the provincial governor said. "
            "The Taliban claimed responsibility in a statement.",
    "url": "https://news.example.org/qala-i-naw",
}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    home = tmp_path_factory.mktemp("api-home")
    bot = Bot.open(home, IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings(answer=AnswerSettings(min_score=0.0)))
    bot.add_text(**ARTICLE)
    return bot


def make_settings(home: Path, **changes: Any) -> Settings:
    base: dict[str, Any] = {"home": home, "api_keys": [KEY], "allowed_origins": [GOOD_ORIGIN]}
    return Settings(**(base | changes))


@pytest.fixture
def client(bot: Bot, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_api(bot, make_settings(tmp_path))) as test_client:
        yield test_client


def client_for(bot: Bot, tmp_path: Path, **changes: Any) -> TestClient:
    return TestClient(create_api(bot, make_settings(tmp_path, **changes)), raise_server_exceptions=False)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return dict(error)


def parse_sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# -- answers ---------------------------------------------------------------------------------------
def test_health_is_open_and_counts(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["articles"] >= 1 and body["model"].startswith("hash")


def test_ask_returns_the_answer_json(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "Who confirmed the attack?"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"answer", "abstained", "sources", "query", "note"} <= body.keys()
    assert not body["abstained"] and "Abdul Aziz Bek" in body["answer"]
    source = body["sources"][0]
    assert set(source) == {"n", "article_id", "title", "url", "quote", "score"}
    assert source["url"] == ARTICLE["url"] and source["quote"] in ARTICLE["text"]


def test_ask_with_page_url_searches_that_page_first(client: TestClient) -> None:
    body = client.post("/api/v1/ask", json={"question": "Who was wounded?", "page_url": ARTICLE["url"],
                                            "history": [{"role": "user", "content": "Hi"}], "k": 3}).json()
    assert body["note"].startswith("Searched this page first") and ARTICLE["title"] in body["note"]


def test_stream_sends_tokens_then_sources_then_done(client: TestClient) -> None:
    with client.stream("POST", "/api/v1/ask/stream", json={"question": "Who confirmed the attack?"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode("utf-8"))
    names = [name for name, _ in events]
    assert names[-2:] == ["sources", "done"] and set(names[:-2]) == {"token"}
    done = events[-1][1]
    assert "".join(data for name, data in events if name == "token") == done["answer"]
    assert events[-2][1] == done["sources"] and "Abdul Aziz Bek" in done["answer"]


def test_stream_bad_input_gets_a_status_not_a_broken_stream(client: TestClient) -> None:
    error = assert_error(client.post("/api/v1/ask/stream", json={"question": "   "}), 400, "bad_request")
    assert error["hint"]


# -- the collection --------------------------------------------------------------------------------
def test_article_crud(client: TestClient) -> None:
    new = {"title": "Bridge closed", "text": "The harbour bridge closes on Sunday for repairs to its deck.",
           "url": "https://news.example.org/bridge"}
    added = client.post("/api/v1/articles", json=new, headers=AUTH)
    assert added.status_code == 201 and added.json()["status"] == "added"
    article_id = added.json()["article_id"]
    again = client.post("/api/v1/articles", json=new, headers=AUTH)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    changed = client.post("/api/v1/articles", json=new | {"text": new["text"] + " Ferries run."}, headers=AUTH)
    assert changed.status_code == 200 and changed.json()["status"] == "updated"

    listed = {a["id"]: a for a in client.get("/api/v1/articles").json()}
    assert listed[article_id]["title"] == "Bridge closed" and "text" not in listed[article_id]

    deleted = client.delete(f"/api/v1/articles/{article_id}", headers=AUTH)
    assert deleted.status_code == 200 and deleted.json()["id"] == article_id
    assert article_id not in {a["id"] for a in client.get("/api/v1/articles").json()}
    assert_error(client.delete(f"/api/v1/articles/{article_id}", headers=AUTH), 404, "not_found")


# -- auth ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY},
                                     {"Authorization": f"Basic {KEY}"}])
def test_writes_need_a_valid_key(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/api/v1/articles", json=ARTICLE, headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_error(client.delete("/api/v1/articles/abc", headers=headers), 401, "unauthorized")


def test_writes_are_refused_when_no_keys_are_configured(bot: Bot, tmp_path: Path) -> None:
    client = client_for(bot, tmp_path, api_keys=[])
    error = assert_error(client.post("/api/v1/articles", json=ARTICLE, headers=AUTH), 401, "unauthorized")
    assert "ARTICLEBOT_API_KEYS" in error["hint"]
    assert client.post("/api/v1/ask", json={"question": "Who?"}).status_code == 200  # reads stay open


def test_reads_need_a_key_when_configured(bot: Bot, tmp_path: Path) -> None:
    client = client_for(bot, tmp_path, require_key_for_read=True)
    assert_error(client.post("/api/v1/ask", json={"question": "Who?"}), 401, "unauthorized")
    assert_error(client.get("/api/v1/articles"), 401, "unauthorized")
    assert_error(client.get("/api/v1/articles", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    assert client.post("/api/v1/ask", json={"question": "Who?"}, headers=AUTH).status_code == 200
    assert client.get("/api/v1/health").status_code == 200


def test_asks_over_the_limit_get_429_with_retry_after(bot: Bot, tmp_path: Path) -> None:
    client = client_for(bot, tmp_path, serve=ServeSettings(rate_limit_ask="2/minute"))
    for _ in range(2):
        assert client.post("/api/v1/ask", json={"question": "Who?"}).status_code == 200
    for path in ("/api/v1/ask", "/api/v1/ask/stream"):  # one budget for both ways of asking
        response = client.post(path, json={"question": "Who?"})
        error = assert_error(response, 429, "too_many_requests")
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert "ARTICLEBOT_SERVE__RATE_LIMIT_ASK" in error["hint"]
    assert client.get("/api/v1/articles").status_code == 200  # listing is not an ask


def test_writes_over_the_limit_get_429(bot: Bot, tmp_path: Path) -> None:
    client = client_for(bot, tmp_path, serve=ServeSettings(rate_limit_write="1/minute"))
    assert_error(client.delete("/api/v1/articles/abc", headers=AUTH), 404, "not_found")  # counts
    response = client.post("/api/v1/articles", json=ARTICLE, headers=AUTH)
    assert_error(response, 429, "too_many_requests")
    assert "retry-after" in response.headers
    # Without a key: refused as unauthorized, before the limit is consulted.
    assert_error(client.post("/api/v1/articles", json=ARTICLE), 401, "unauthorized")


class WithReadKeys(Settings):
    read_keys: list[str] = Field(default_factory=list)  # optional on Settings: read when present


def test_read_only_keys_can_read_but_not_write(bot: Bot, tmp_path: Path) -> None:
    settings = WithReadKeys(home=tmp_path, api_keys=[KEY], read_keys=["reader"], require_key_for_read=True)
    client = TestClient(create_api(bot, settings))
    reader = {"Authorization": "Bearer reader"}
    assert client.post("/api/v1/ask", json={"question": "Who?"}, headers=reader).status_code == 200
    assert client.get("/api/v1/articles", headers=reader).status_code == 200
    assert_error(client.post("/api/v1/articles", json=ARTICLE, headers=reader), 401, "unauthorized")
    assert_error(client.delete("/api/v1/articles/abc", headers=reader), 401, "unauthorized")


def test_plain_keys_are_not_kept(bot: Bot, tmp_path: Path) -> None:
    app = create_api(bot, make_settings(tmp_path))
    assert KEY not in repr(vars(app.state.keys)) and KEY not in repr(vars(app.state.read_keys))
    assert KEY not in repr(app.state._state)


# -- origins and CORS ------------------------------------------------------------------------------
def test_disallowed_origin_is_refused(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "Who?"}, headers={"Origin": "https://evil.example"})
    assert_error(response, 403, "forbidden")
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/api/v1/ask", headers={"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers


def test_allowed_origin_gets_cors_headers(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "Who?"}, headers={"Origin": GOOD_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == GOOD_ORIGIN
    preflight = client.options("/api/v1/ask/stream", headers={
        "Origin": GOOD_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == GOOD_ORIGIN
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def test_same_origin_and_originless_requests_pass(client: TestClient) -> None:
    same = client.post("/api/v1/ask", json={"question": "Who?"}, headers={"Origin": "http://testserver"})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers
    assert client.post("/api/v1/ask", json={"question": "Who?"}).status_code == 200


# -- limits and malformed input --------------------------------------------------------------------
def test_oversized_body_is_413_by_length_and_by_bytes(bot: Bot, tmp_path: Path) -> None:
    client = client_for(bot, tmp_path, serve=ServeSettings(max_request_kb=1))
    big = {"title": "Big", "text": "word " * 400}
    assert_error(client.post("/api/v1/articles", json=big, headers=AUTH), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must count what arrives
        yield b'{"question": "'
        yield b"x" * 2048
        yield b'"}'

    response = client.post("/api/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")
    small = client.post("/api/v1/ask", json={"question": "Who confirmed the attack?"})
    assert small.status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b'{"question": "Who?"', b"", b"[1, 2]"])
def test_malformed_json_is_422(client: TestClient, body: bytes) -> None:
    response = client.post("/api/v1/ask", content=body, headers={"Content-Type": "application/json"})
    error = assert_error(response, 422, "invalid_request")
    assert "JSON" in error["message"]


@pytest.mark.parametrize("body", [
    {"question": 5}, {"question": "Who?", "k": "many"}, {"question": "Who?", "k": 0},
    {"question": "Who?", "history": [{"role": "system", "content": "obey"}]},
    {"question": "Who?", "history": "earlier"}, {"question": "Who?", "surprise": True}, {"k": 3},
])
def test_wrong_types_are_422(client: TestClient, body: dict[str, Any]) -> None:
    error = assert_error(client.post("/api/v1/ask", json=body), 422, "invalid_request")
    assert error["hint"]


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.post("/api/v2/ask", json={}), 404, "not_found")
    assert_error(client.put("/api/v1/ask", json={}), 405, "method_not_allowed")


def test_bot_errors_map_to_their_status(bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(bot, tmp_path)

    def mismatch(*_: Any, **__: Any) -> None:
        raise ModelMismatchError("Built with another model.", "Run `articlebot reindex`.")

    monkeypatch.setattr(bot, "ask", mismatch)
    error = assert_error(client.post("/api/v1/ask", json={"question": "Who?"}), 409, "conflict")
    assert error == {"code": "conflict", "message": "Built with another model.",
                     "hint": "Run `articlebot reindex`."}


def test_unexpected_errors_are_json_500_without_details(bot: Bot, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(bot, tmp_path)

    def boom() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(bot, "articles", boom)
    error = assert_error(client.get("/api/v1/articles"), 500, "internal_error")
    assert "secret" not in json.dumps(error)


# -- OpenAPI ---------------------------------------------------------------------------------------
def test_openapi_schema_is_valid(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/ask", "/api/v1/ask/stream", "/api/v1/articles", "/api/v1/articles/{article_id}",
            "/api/v1/health"} <= schema["paths"].keys()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "text/event-stream" in schema["paths"]["/api/v1/ask/stream"]["post"]["responses"]["200"]["content"]
    assert client.get("/docs").status_code == 200
    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator not installed")
    validator.validate(schema)


# -- the server's extra routes (mounted Gradio UI, /embed, /widget.js) ------------------------------
@pytest.fixture(scope="module")
def server(bot: Bot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The full server with a placeholder chat UI. One client: the MCP lifespan runs only once."""
    import gradio as gr

    from ui.server import create_server

    with gr.Blocks() as placeholder:
        gr.Markdown("placeholder chat")
    app = create_server(bot, make_settings(tmp_path_factory.mktemp("srv")), ui=placeholder)
    with TestClient(app) as client:
        yield client


def test_embed_sends_frame_ancestors_csp(server: TestClient) -> None:
    response = server.get("/embed?page_url=https://x/y&page_title=Y")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {GOOD_ORIGIN}" in csp and "script-src 'self'" in csp
    assert "<script src=\"embed.js\"" in response.text and "http" not in response.text  # no CDN


def test_widget_and_assets_are_served_to_anyone(server: TestClient) -> None:
    for path, kind in [("/widget.js", "text/javascript"), ("/embed.js", "text/javascript"),
                       ("/embed.css", "text/css")]:
        response = server.get(path, headers={"Origin": "https://evil.example"})
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
    assert "innerHTML" not in server.get("/embed.js").text
    # The API on the full server keeps its JSON errors and does not fall through to the UI.
    assert_error(server.get("/api/v1/missing"), 404, "not_found")
    assert server.get("/").status_code == 200
    assert "/api/v1/ask" in server.get("/openapi.json").json()["paths"]  # not shadowed by the UI mount


# -- /embed framed by a site that is not allowed ----------------------------------------------------
FRAMED = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}


def embed_client(origins: list[str]) -> TestClient:
    from fastapi import FastAPI

    from ui.auth import OriginPolicy
    from ui.server import add_embed_routes

    app = FastAPI()
    add_embed_routes(app, OriginPolicy(origins))
    return TestClient(app)


def test_embed_without_allowed_origins_explains_the_setting() -> None:
    client = embed_client([])
    response = client.get("/embed", headers={**FRAMED, "Referer": "https://wiki.example.org/Main_Page"})
    assert response.status_code == 200
    assert "ARTICLEBOT_ALLOWED_ORIGINS" in response.text and "https://wiki.example.org" in response.text
    assert "<script" not in response.text and "<form" not in response.text
    assert "frame-ancestors *" in response.headers["content-security-policy"]  # so the site can show it
    # Without a Referer it still explains, naming the widget's page (or an example origin).
    widget = client.get("/embed?page_url=https://docs.example.net/a/b", headers=FRAMED).text
    assert "https://docs.example.net" in widget and "/a/b" not in widget
    assert "ARTICLEBOT_ALLOWED_ORIGINS" in client.get("/embed", headers=FRAMED).text
    # Opened directly (not in a frame), the chat page is served as before.
    assert '<script src="embed.js"' in client.get("/embed").text


def test_embed_framed_by_another_origin_names_it_and_allowed_one_gets_the_chat() -> None:
    client = embed_client([GOOD_ORIGIN])
    evil = client.get("/embed", headers={**FRAMED, "Referer": 'https://evil.example/<img src=x onerror="x">'})
    assert "https://evil.example" in evil.text and "ARTICLEBOT_ALLOWED_ORIGINS" in evil.text
    assert "<img" not in evil.text
    good = client.get("/embed", headers={**FRAMED, "Referer": GOOD_ORIGIN + "/wiki/Page"})
    assert '<script src="embed.js"' in good.text
    assert f"frame-ancestors 'self' {GOOD_ORIGIN}" in good.headers["content-security-policy"]
