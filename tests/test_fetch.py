"""URLs and feeds, served from a local HTTP server on 127.0.0.1."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from index.config import IndexSettings
from index.embed import HashEmbedder
from index.fetch import parse_feed
from index.ingest import ingest_paths
from index.store import Library

PAGE = b"""<html lang="en"><head><title>Dam opens</title></head><body><nav>Menu</nav>
<h1>Dam opens</h1><p>The new dam opened on Monday, the engineer Rosa Diaz confirmed to reporters.</p>
<footer>Share this</footer></body></html>"""
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>First story</title><link>http://example.invalid/1</link><pubDate>Mon, 01 Jun 2026</pubDate>
<description>&lt;p&gt;The first story says the mayor confirmed the budget for the new school.&lt;/p&gt;
</description></item>
<item><title>Second story</title><link>http://example.invalid/2</link>
<description>The second story reports that the harbour will reopen next week.</description></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title>Atom one</title><link href="http://example.invalid/a"/><updated>2026-01-02</updated>
<author><name>Lea</name></author><content type="html">Atom entries carry enough text to be indexed.</content>
</entry></feed>"""


class Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[str, bytes]]] = {
        "/page": ("text/html; charset=utf-8", PAGE),
        "/feed": ("application/rss+xml", FEED),
        "/empty": ("text/plain", b""),
    }

    def do_GET(self) -> None:
        if self.path not in self.routes:
            self.send_error(404)
            return
        kind, body = self.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_page_feed_and_bad_urls(server: str, tmp_path: Path):
    library = Library(tmp_path, "articles", HashEmbedder().name)
    urls = [f"{server}/page", f"{server}/feed", f"{server}/missing", f"{server}/empty"]
    results = ingest_paths(library, HashEmbedder(), urls, IndexSettings())
    statuses = {r.source: (r.status, r.reason) for r in results}
    assert statuses[f"{server}/page"][0] == "added"
    assert statuses["http://example.invalid/1"][0] == "added"
    assert statuses["http://example.invalid/2"][0] == "added"
    assert "HTTP 404" in statuses[f"{server}/missing"][1]
    assert "empty" in statuses[f"{server}/empty"][1]
    page = next(a for a in library.articles() if a.url == f"{server}/page")
    assert page.title == "Dam opens" and "Rosa Diaz" in page.text and "Menu" not in page.text
    # Re-ingesting the same URLs changes nothing.
    again = ingest_paths(library, HashEmbedder(), urls[:2], IndexSettings())
    assert {r.status for r in again} == {"unchanged"}


def test_unreachable_host_is_a_one_line_failure(tmp_path: Path):
    library = Library(tmp_path, "articles", HashEmbedder().name)
    [result] = ingest_paths(library, HashEmbedder(), ["http://127.0.0.1:9/x"], IndexSettings())
    assert result.status == "failed" and "could not be fetched" in result.reason


def test_atom_feed_items():
    [item] = parse_feed(ATOM) or []
    assert (item.title, item.link, item.author, item.published) == ("Atom one", "http://example.invalid/a",
                                                                   "Lea", "2026-01-02")
    assert parse_feed("<html><body>no feed</body></html>") is None
