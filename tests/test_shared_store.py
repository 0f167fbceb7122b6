"""One store, many processes: replicas on a real `chroma run` server, the embedded store's single writer,
and an ingest killed with SIGKILL then re-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.store import Library

BIN = Path(sys.executable).parent
TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server on a free port, as `chroma run` starts it in production."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    proc = subprocess.Popen([str(BIN / "chroma"), "run", "--path", str(path / "data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: up(url), f"the Chroma server did not start (see {path / 'server.log'})")
        yield url
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)
        log.close()


def up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition, message: str) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)  # polling an outside process; the condition, not the sleep, is the sync


def article(topic: str, n: int = 6) -> str:
    return f"Report {topic}\n\n" + " ".join(
        f"The {topic} council met on day {j} and the mayor signed decree {topic}x{j}." for j in range(n))


def cfg(collection: str) -> IndexSettings:
    return IndexSettings(collection=collection, embed=EmbedSettings(model="hash"))


def replica(tmp_path: Path, name: str, collection: str, url: str) -> Bot:
    return Bot.open(tmp_path / name, cfg(collection), BotSettings(answer={"min_score": -10}), chroma_url=url)


def cli_env(home: Path, collection: str, url: str = "") -> dict[str, str]:
    return {**os.environ, "ARTICLEBOT_HOME": str(home), "ARTICLEBOT_INDEX__EMBED__MODEL": "hash",
            "ARTICLEBOT_INDEX__COLLECTION": collection, "ARTICLEBOT_CHROMA_URL": url}


def test_two_replicas_share_an_ingest_and_a_delete(tmp_path: Path, chroma_url: str):
    collection = f"c{uuid.uuid4().hex[:8]}"
    a, b = (replica(tmp_path, name, collection, chroma_url) for name in ("a", "b"))
    write = tmp_path / "bridges.txt"
    write.write_text(article("bridges"), encoding="utf-8")
    assert b.ask("Who signed decree bridgesx3?").abstained  # b has seen nothing yet
    [added] = a.ingest([str(write)])
    answer = b.ask("Who signed decree bridgesx3?")
    assert answer.sources[0].title == "Report bridges" and "bridgesx3" in answer.answer
    assert b.library.bm25_search("bridgesx3", "en", 3)  # b's lexical index followed the shared store
    b.delete(added.article_id)
    assert a.articles() == [] and a.library.bm25_search("bridgesx3", "en", 3) == []
    assert not a.ask("Who signed decree bridgesx3?").sources


def test_a_cli_ingest_in_another_process_is_answered_by_a_running_server(tmp_path: Path, chroma_url: str):
    from fastapi.testclient import TestClient

    from ui.api import create_api
    from ui.settings import Settings

    collection = f"c{uuid.uuid4().hex[:8]}"
    server_bot = replica(tmp_path, "server", collection, chroma_url)
    settings = Settings(home=tmp_path / "server", chroma_url=chroma_url)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "floods.txt").write_text(article("floods"), encoding="utf-8")
    with TestClient(create_api(server_bot, settings)) as client:
        before = client.post("/api/v1/ask", json={"question": "Who signed decree floodsx2?"}).json()
        assert not before["sources"]
        done = subprocess.run([str(BIN / "articlebot"), "ingest", str(tmp_path / "in")], capture_output=True,
                              text=True, env=cli_env(tmp_path / "cli", collection, chroma_url), timeout=TIMEOUT)
        assert done.returncode == 0, done.stderr
        after = client.post("/api/v1/ask", json={"question": "Who signed decree floodsx2?"}).json()
    assert after["sources"][0]["title"] == "Report floods" and "floodsx2" in after["answer"]


def test_the_cli_cannot_write_an_embedded_store_a_server_owns(tmp_path: Path):
    home = tmp_path / "home"
    owner = Library(home, "articles", "hash-256")
    (tmp_path / "a.txt").write_text(article("trains"), encoding="utf-8")
    done = subprocess.run([str(BIN / "articlebot"), "ingest", str(tmp_path / "a.txt")], capture_output=True,
                          text=True, env=cli_env(home, "articles"), timeout=TIMEOUT)
    assert done.returncode == 2
    assert "owns the store" in done.stderr and "ARTICLEBOT_CHROMA_URL" in done.stderr
    owner.close()
    done = subprocess.run([str(BIN / "articlebot"), "ingest", str(tmp_path / "a.txt")], capture_output=True,
                          text=True, env=cli_env(home, "articles"), timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr  # the owner has gone: the CLI may write


def test_an_ingest_killed_mid_way_and_re_run_leaves_each_article_once(tmp_path: Path):
    n = 150
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i:03d}.txt").write_text(article(f"topic{i:03d}", 4), encoding="utf-8")
    home = tmp_path / "home"
    command = [str(BIN / "articlebot"), "ingest", str(folder)]
    # One article per write, so the kill lands among writes rather than in an embedding call.
    env = {**cli_env(home, "articles"), "ARTICLEBOT_INDEX__INGEST_BATCH": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    added = 0
    for line in proc.stdout:  # one line per committed article
        added += line.startswith("added")
        if added == 40:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(TIMEOUT)
    assert added == 40 and proc.returncode == -signal.SIGKILL
    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert rerun.returncode == 0, rerun.stderr
    summary = dict(reversed(part.split()) for part in rerun.stdout.splitlines()[-1].split(", "))
    assert int(summary["unchanged"]) >= 40 and int(summary["added"]) + int(summary["unchanged"]) == n
    assert summary["updated"] == summary["failed"] == "0"

    library = Library(home, "articles", "hash-256")
    records = library.articles()
    assert len(records) == n and len({r.id for r in records}) == n
    assert sorted(r.title for r in records) == [f"Report topic{i:03d}" for i in range(n)]
    assert library.vectors.article_ids() == {r.id for r in records}  # no orphan vectors or sentences
    chunk_ids = set(library.vectors.chunks.get(include=[])["ids"])
    assert len(chunk_ids) == sum(r.chunks for r in records)
    library.sync()
    assert library.lexical.chunk_ids() == chunk_ids  # the lexical index agrees with the store


class PrefixProxy:
    """A reverse proxy in a few lines: serves ``/bot/...`` by round-robin over the replicas, prefix stripped."""

    def __init__(self, upstreams: list[str], prefix: str = "/bot") -> None:
        self.upstreams, self.prefix, self.turn = upstreams, prefix, 0

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        upstream = self.upstreams[self.turn % len(self.upstreams)]
        self.turn += 1
        query = scope["query_string"].decode()
        url = upstream + (scope["path"].removeprefix(self.prefix) or "/") + (f"?{query}" if query else "")
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            got = await client.request(scope["method"], url, content=body, headers=headers)
        skip = {"content-length", "transfer-encoding", "content-encoding"}
        await send({"type": "http.response.start", "status": got.status_code,
                    "headers": [(k.encode(), v.encode()) for k, v in got.headers.items() if k.lower() not in skip]
                    + [(b"content-length", str(len(got.content)).encode())]})
        await send({"type": "http.response.body", "body": got.content})


def test_replicas_behind_a_reverse_proxy_under_a_prefix(tmp_path: Path, chroma_url: str):
    import re
    from contextlib import ExitStack

    from ui.server import create_server, running
    from ui.settings import Settings

    collection = f"c{uuid.uuid4().hex[:8]}"
    key = "proxy-test-key-0123456789"
    with ExitStack() as stack:
        replicas = []
        for name in ("a", "b"):
            bot = replica(tmp_path, name, collection, chroma_url)
            settings = Settings(home=tmp_path / name, chroma_url=chroma_url, api_keys=[key])
            replicas.append(stack.enter_context(running(create_server(bot, settings), root_path="/bot")))
        proxy = stack.enter_context(running(PrefixProxy(replicas)))
        added = httpx.post(f"{proxy}/bot/api/v1/articles", headers={"Authorization": f"Bearer {key}"},
                           json={"title": "Report ships", "text": article("ships")}, timeout=TIMEOUT)
        assert added.status_code == 201, added.text
        for _ in replicas:  # round robin: each replica answers once
            answer = httpx.post(f"{proxy}/bot/api/v1/ask", json={"question": "Who signed decree shipsx4?"},
                                timeout=TIMEOUT).json()
            assert answer["sources"][0]["title"] == "Report ships"
        page = httpx.get(f"{proxy}/bot/", timeout=TIMEOUT).text
        assert re.search(r'"root":\s*"http://127\.0\.0\.1:\d+/bot"', page)  # the chat's links keep the prefix
        embed = httpx.get(f"{proxy}/bot/embed", timeout=TIMEOUT).text
        assert 'href="embed.css"' in embed and httpx.get(f"{proxy}/bot/embed.css").status_code == 200
