"""Pages, feeds, sitemaps and a MediaWiki-like API served from a local HTTP server on 127.0.0.1 (allowlisted
explicitly: loopback is refused by default), synced into a real Chroma library with the hashing embedder."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from index.config import FetchSettings, IndexSettings
from index.embed import HashEmbedder
from index.errors import InputError
from index.ingest import IngestResult, ingest_paths
from index.sources import net
from index.sources.net import Fetcher
from index.sources.state import SyncState
from index.sources.sync import Syncer, SyncReport
from index.store import Library

LOOPBACK = IndexSettings(fetch=FetchSettings(allow_hosts=["127.0.0.1"]))


def page(title: str, body: str, canonical: str = "", published: str = "2026-03-01T08:00:00Z",
         modified: str = "2026-03-04T09:30:00Z") -> bytes:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return f"""<!DOCTYPE html><html lang="en"><head><title>{title} | Valley News</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="Valley News">
<meta name="author" content="Ana Ruiz"><meta property="article:published_time" content="{published}">
<meta property="article:modified_time" content="{modified}">{link}
<script>var tracking = "do not index me";</script><style>.x {{ color: red }}</style></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a>
</li></ul></nav><header><a href="/">Valley News</a> — the paper of the valley</header>
<main><article><h1>{title}</h1>{body}</article></main>
<aside><h2>Most read</h2><ul><li><a href="/cats">Cats rule the town hall</a></li></ul></aside>
<footer><p>Copyright 2026 Valley News. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>""".encode()


DAM = ("<p>The new dam on the Vltava opened on Monday, the engineer Rosa Diaz confirmed to reporters.</p>"
       "<p>It holds water for <b>forty thousand</b> homes and cost 120 million euros, she said.</p>")
SCHOOL = ("<p>The mayor confirmed the budget for the new school in Riverside on Tuesday evening.</p>"
          "<p>Building work starts in spring and the school opens to 400 pupils next year.</p>")
HARBOUR_TEXT = ("<p>The harbour will reopen next week after the storm damage was repaired.</p>"
                "<p>Ferries to the island resume their summer timetable on Friday.</p>")


class Site:
    """Routes the test changes between syncs; every request is logged (path, conditional or not)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.redirects: dict[str, str] = {}
        self.log: list[tuple[str, bool]] = []
        self.hosts: list[str] = []  # the Host headers received
        self.agents: list[str] = []  # the User-Agent headers received
        self.slow = threading.Event()
        self.busy = threading.Condition()
        self.inflight = self.most = self.arrived = 0  # requests to /busy/: being answered, the most at once, in all
        self.wiki: dict[int, dict[str, object]] = {}  # pageid -> title, ns, revid, text
        self.base = ""

    def requests(self, prefix: str = "") -> list[str]:
        return [path for path, _ in self.log if path.startswith(prefix)]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
            site.log.append((self.path, conditional))
            site.hosts.append(self.headers.get("Host", ""))
            site.agents.append(self.headers.get("User-Agent", ""))
            path = urlsplit(self.path).path
            if path == "/w/api.php":
                return self._send("application/json", json.dumps(wiki_api(site, parse_qs(urlsplit(self.path).query))
                                                                 ).encode())
            if self.path in site.redirects:
                self.send_response(302)
                self.send_header("Location", site.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if path == "/slow":
                site.slow.wait(5)  # set by the test once the client has given up
                return self._send("text/html", page("Late", DAM))
            if path.startswith("/busy/"):
                with site.busy:
                    site.inflight += 1
                    site.arrived += 1
                    site.most = max(site.most, site.inflight)
                    if site.arrived <= 2:  # the first two meet (so the test sees that a host gets two at once)
                        site.busy.wait_for(lambda: site.inflight >= 2, timeout=5)
                    site.busy.notify_all()
                    site.busy.wait_for(lambda: site.inflight >= 3, timeout=0.2)  # would a third come in?
                    site.inflight -= 1
                return self._send("text/html", page(f"Busy {path[-1]}", DAM.replace("Monday", f"day {path[-1]}")))
            if path == "/huge":  # no Content-Length: only the bytes read tell the size
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                with contextlib.suppress(ConnectionError):  # the client hangs up at its limit
                    for _ in range(300):
                        self.wfile.write(b"<p>" + b"x" * 10_000 + b"</p>")
                return None
            if self.path not in site.routes:
                self.send_error(404)
                return None
            kind, body = site.routes[self.path]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            return self._send(kind, body, etag)

        def _send(self, kind: str, body: bytes, etag: str = "") -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # a client refusing the body hangs up
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def wiki_api(site: Site, q: dict[str, list[str]]) -> dict[str, object]:
    """A small MediaWiki API: siteinfo, generator=allpages (two pages per answer, with continue) and
    revisions by id (format=json, formatversion=2)."""
    assert q["format"] == ["json"] and q["formatversion"] == ["2"]
    if q.get("meta") == ["siteinfo"]:
        return {"query": {"general": {"sitename": "Valley Wiki", "lang": "en"},
                          "namespaces": {"0": {"id": 0, "name": ""},
                                         "6": {"id": 6, "name": "Fichier", "canonical": "File"},
                                         "14": {"id": 14, "name": "Category", "canonical": "Category"}},
                          "namespacealiases": [{"id": 6, "alias": "Image"}]}}
    if q.get("generator") == ["allpages"]:
        ns = int(q["gapnamespace"][0])
        pages = sorted((p for p in site.wiki.items() if p[1]["ns"] == ns), key=lambda p: str(p[1]["title"]))
        start = q.get("gapcontinue", [""])[0]
        pages = [p for p in pages if str(p[1]["title"]) >= start]
        out = {"query": {"pages": [
            {"pageid": pid, "ns": ns, "title": p["title"], "lastrevid": p["revid"],
             "canonicalurl": f"{site.base}/wiki/{str(p['title']).replace(' ', '_')}"} for pid, p in pages[:2]]}}
        if len(pages) > 2:
            out["continue"] = {"gapcontinue": pages[2][1]["title"], "continue": "gapcontinue||"}
        return out
    if q.get("prop") == ["revisions"]:
        wanted = {int(r) for r in q["revids"][0].split("|")}
        return {"query": {"pages": [
            {"pageid": pid, "title": p["title"], "revisions": [
                {"revid": p["revid"], "timestamp": f"2026-05-0{int(str(p['revid'])) % 9 + 1}T10:00:00Z",
                 "slots": {"main": {"content": p["text"]}}}]}
            for pid, p in site.wiki.items() if p["revid"] in wanted]}}
    return {"error": {"code": "badvalue", "info": "unknown request"}}


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        state.slow.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library(tmp_path / "lib", "articles", HashEmbedder().name)
    yield lib
    lib.close()


def sync(library: Library, state: SyncState, *sources: str, prune: bool = False,
         cfg: IndexSettings = LOOPBACK, namespaces: tuple[int, ...] = (0,)) -> list[SyncReport]:
    syncer = Syncer(library, HashEmbedder(), cfg, state, prune=prune, namespaces=namespaces)
    try:
        return syncer.run(list(sources))
    finally:
        syncer.close()


# -- pages and metadata ----------------------------------------------------------------------------
def test_page_main_text_and_metadata_without_navigation_or_markup(site: Site, library: Library, tmp_path: Path):
    site.routes["/news/dam"] = ("text/html; charset=utf-8", page("Dam opens", DAM, f"{site.base}/news/dam"))
    [report] = sync(library, SyncState(), f"{site.base}/news/dam")
    assert report.kind == "page" and report.counts()["added"] == 1
    [article] = library.articles()
    assert article.title == "Dam opens"
    assert article.text == ("The new dam on the Vltava opened on Monday, the engineer Rosa Diaz confirmed to "
                            "reporters.\n\nIt holds water for forty thousand homes and cost 120 million euros, "
                            "she said.")
    assert (article.author, article.published, article.updated) == ("Ana Ruiz", "2026-03-01", "2026-03-04")
    assert (article.site_name, article.language, article.url) == ("Valley News", "en", f"{site.base}/news/dam")
    assert article.date() == "2026-03-04"


def test_the_charset_the_server_states_is_used(site: Site, library: Library):
    body = page("Most v Mělníku", "<p>Nový most v Mělníku otevřeli v pondělí, potvrdila inženýrka Růžena Dvořáková.</p>"
                "<p>Stál 120 milionů korun a vede přes Labe.</p>").decode()
    site.routes["/cs"] = ("text/html; charset=iso-8859-2", body.replace("—", "-").encode("iso-8859-2"))
    site.routes["/xhtml"] = ("application/xhtml+xml", b'<?xml version="1.0" encoding="utf-8"?>' + page("Dam", DAM))
    sync(library, SyncState(), f"{site.base}/cs", f"{site.base}/xhtml")
    by_url = {a.url: a for a in library.articles()}
    assert by_url[f"{site.base}/cs"].text.startswith("Nový most v Mělníku otevřeli v pondělí")
    assert by_url[f"{site.base}/xhtml"].text.startswith("The new dam on the Vltava")


def test_the_same_article_under_two_urls_is_stored_once(site: Site, library: Library):
    canonical = f"{site.base}/news/dam"
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM, canonical))
    site.routes["/news/dam?utm_source=feed"] = ("text/html", page("Dam opens", DAM, canonical))
    reports = sync(library, SyncState(), f"{site.base}/news/dam?utm_source=feed", canonical)
    assert [r.results[0].status for r in reports] == ["added", "unchanged"]
    assert [a.source for a in library.articles()] == [canonical]


def test_a_canonical_url_on_another_site_is_not_trusted(site: Site, library: Library):
    site.routes["/copy"] = ("text/html", page("Dam opens", DAM, "https://victim.example.org/news/dam"))
    sync(library, SyncState(), f"{site.base}/copy")
    assert [a.url for a in library.articles()] == [f"{site.base}/copy"]


# -- feeds and sitemaps: re-sync fetches only what changed -----------------------------------------
def feed(base: str, harbour_updated: str = "Tue, 02 Jun 2026 10:00:00 GMT") -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Valley News</title><language>en-gb</language>
<item><title>School budget confirmed</title><link>{base}/news/school</link>
<pubDate>Mon, 01 Jun 2026 10:00:00 GMT</pubDate><author>Tom Bell</author>
<description>The mayor confirmed the budget…</description></item>
<item><title>Harbour reopens</title><link>{base}/news/harbour</link><pubDate>{harbour_updated}</pubDate>
<description>Teaser</description><content:encoded><![CDATA[{HARBOUR_TEXT}]]></content:encoded></item>
</channel></rss>""".encode()


def sitemap(base: str, pages: dict[str, str]) -> bytes:
    urls = "".join(f"<url><loc>{base}{path}</loc><lastmod>{lastmod}</lastmod></url>" for path, lastmod in pages.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()


def test_feed_items_with_their_text_or_their_page(site: Site, library: Library):
    site.routes["/feed.xml"] = ("application/rss+xml", feed(site.base))
    site.routes["/news/school"] = ("text/html", page("School budget confirmed", SCHOOL, published="", modified=""))
    state = SyncState()
    [report] = sync(library, state, f"{site.base}/feed.xml")
    assert report.kind == "feed" and report.counts()["added"] == 2
    by_url = {a.url: a for a in library.articles()}
    school, harbour = by_url[f"{site.base}/news/school"], by_url[f"{site.base}/news/harbour"]
    assert "400 pupils" in school.text and "Home" not in school.text
    # The item's page has no publication date: the feed's is kept.
    assert school.published == "2026-06-01T10:00:00Z"
    assert harbour.text.startswith("The harbour will reopen next week") and "Teaser" not in harbour.text
    assert (harbour.site_name, harbour.language) == ("Valley News", "en")
    assert site.requests() == ["/feed.xml", "/news/school"]  # the harbour's text came in the feed

    site.log.clear()
    [again] = sync(library, state, f"{site.base}/feed.xml")
    assert again.counts()["added"] == 0 and again.counts()["updated"] == 0
    assert site.log == [("/feed.xml", True)]  # one conditional GET, answered 304

    # The harbour item changes: only the feed is read again (its text is in it).
    site.routes["/feed.xml"] = ("application/rss+xml",
                                feed(site.base, "Wed, 03 Jun 2026 08:00:00 GMT").replace(b"summer", b"winter"))
    site.log.clear()
    [changed] = sync(library, state, f"{site.base}/feed.xml")
    assert changed.counts() | {"unchanged": 0} == {"added": 0, "updated": 1, "unchanged": 0, "removed": 0,
                                                   "duplicate": 0, "skipped": 0, "failed": 0}
    assert site.requests() == ["/feed.xml"]
    assert "winter timetable" in library.find_by_url(f"{site.base}/news/harbour").text


def test_sitemap_resync_edit_and_prune(site: Site, library: Library):
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    site.routes["/news/school"] = ("text/html", page("School budget", SCHOOL))
    listed = {"/news/dam": "2026-03-04", "/news/school": "2026-06-01"}
    site.routes["/sitemap.xml"] = ("application/xml", sitemap(site.base, listed))
    state, url = SyncState(), f"{site.base}/sitemap.xml"
    [first] = sync(library, state, url)
    assert first.kind == "sitemap" and first.counts()["added"] == 2 and library.count() == 2

    site.log.clear()
    [again] = sync(library, state, url)
    assert again.counts()["unchanged"] == 2 and again.counts()["added"] == again.counts()["updated"] == 0
    assert site.log == [("/sitemap.xml", True)] and again.requests == 1

    # An edited page (its lastmod moves): only it is fetched, and its article replaced.
    site.routes["/news/school"] = ("text/html", page("School budget", SCHOOL.replace("400", "450")))
    site.routes["/sitemap.xml"] = ("application/xml", sitemap(site.base, {**listed, "/news/school": "2026-06-09"}))
    site.log.clear()
    [edited] = sync(library, state, url)
    assert edited.counts()["updated"] == 1 and edited.counts()["unchanged"] == 1
    assert site.requests() == ["/sitemap.xml", "/news/school"]
    assert "450 pupils" in library.find_by_url(f"{site.base}/news/school").text and library.count() == 2

    # A page the sitemap no longer lists: kept without --prune, deleted with it.
    site.routes["/sitemap.xml"] = ("application/xml", sitemap(site.base, {"/news/dam": "2026-03-04"}))
    [kept] = sync(library, state, url)
    assert kept.unlisted == 1 and library.count() == 2
    [pruned] = sync(library, state, url, prune=True)
    assert pruned.counts()["removed"] == 1
    assert [a.url for a in library.articles()] == [f"{site.base}/news/dam"]


def test_pages_without_lastmod_are_fetched_conditionally(site: Site, library: Library):
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    site.routes["/sitemap.xml"] = ("application/xml", sitemap(site.base, {"/news/dam": ""}))
    state = SyncState()
    sync(library, state, f"{site.base}/sitemap.xml")
    site.routes["/sitemap.xml"] = ("application/xml", sitemap(site.base, {"/news/dam": ""}) + b" ")
    site.log.clear()
    [report] = sync(library, state, f"{site.base}/sitemap.xml")
    assert report.counts()["unchanged"] == 1
    assert site.log == [("/sitemap.xml", True), ("/news/dam", True)]


def test_an_interrupted_sync_finishes_on_the_next_run_without_duplicates(site: Site, library: Library):
    for name in ("a", "b", "c"):
        site.routes[f"/news/{name}"] = ("text/html", page(f"Story {name}", DAM.replace("Monday", f"day {name}")))
    site.routes["/sitemap.xml"] = ("application/xml",
                                   sitemap(site.base, {f"/news/{n}": "2026-01-01" for n in ("a", "b", "c")}))
    state, cfg = SyncState(), LOOPBACK.model_copy(update={"ingest_batch": 1})  # commit article by article

    def stop_after_first(result: IngestResult) -> None:
        raise KeyboardInterrupt

    syncer = Syncer(library, HashEmbedder(), cfg, state, on_result=stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        syncer.run([f"{site.base}/sitemap.xml"])
    syncer.close()
    assert library.count() == 1
    [report] = sync(library, state, f"{site.base}/sitemap.xml", cfg=cfg)
    assert report.counts()["added"] == 2 and report.counts()["unchanged"] == 1
    assert sorted(a.title for a in library.articles()) == ["Story a", "Story b", "Story c"]


def test_one_bad_item_does_not_stop_the_batch_and_is_retried(site: Site, library: Library):
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    site.routes["/sitemap.xml"] = ("application/xml",
                                   sitemap(site.base, {"/news/dam": "2026-01-01", "/news/gone": "2026-01-01"}))
    state = SyncState()
    [report] = sync(library, state, f"{site.base}/sitemap.xml")
    failed = [r for r in report.results if r.status == "failed"]
    assert report.counts()["added"] == 1 and len(failed) == 1 and "HTTP 404" in failed[0].reason
    site.routes["/news/gone"] = ("text/html", page("Back again", SCHOOL))
    site.log.clear()
    [retry] = sync(library, state, f"{site.base}/sitemap.xml")
    assert retry.counts()["added"] == 1 and site.requests() == ["/sitemap.xml", "/news/gone"]


# -- network safety ----------------------------------------------------------------------------------
def fetcher(allow: list[str], max_bytes: int = 1_000_000) -> Fetcher:
    return Fetcher(FetchSettings(allow_hosts=allow), max_bytes)


def test_loopback_and_private_addresses_are_refused_unless_allowlisted(site: Site):
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    with pytest.raises(InputError, match="loopback"):
        fetcher([]).get(f"{site.base}/news/dam")
    port = site.base.rsplit(":", 1)[1]
    with pytest.raises(InputError, match="private, loopback or link-local"):
        fetcher([]).get(f"http://localhost:{port}/news/dam")
    for address in ("http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                    "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/"):
        with pytest.raises(InputError, match="ARTICLEBOT_FETCH_ALLOW_HOSTS"):
            fetcher([]).check_url(address)
    assert fetcher(["127.0.0.0/8"]).get(f"{site.base}/news/dam").status == 200
    assert fetcher(["localhost"]).get(f"http://localhost:{port}/news/dam").status == 200
    assert site.log == [("/news/dam", False)] * 2  # the refused requests never reached the server


def test_only_http_and_https(site: Site):
    for address in ("file:///etc/passwd", "ftp://example.org/x", "gopher://127.0.0.1/"):
        with pytest.raises(InputError, match="http"):
            fetcher(["127.0.0.1"]).get(address)


def test_a_redirect_to_a_private_address_is_refused(site: Site):
    site.redirects["/go"] = "http://169.254.169.254/latest/meta-data/"
    site.redirects["/hop"] = "/news/dam"
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    with pytest.raises(InputError, match=r"169\.254\.169\.254"):
        fetcher(["127.0.0.1"]).get(f"{site.base}/go")
    got = fetcher(["127.0.0.1"]).get(f"{site.base}/hop")  # a redirect within the allowed host is followed
    assert got.url == f"{site.base}/news/dam" and got.status == 200


def test_the_connection_goes_to_the_address_checked(site: Site, monkeypatch: pytest.MonkeyPatch):
    """The name is resolved once, for the check, and the request sent to that address (a second lookup could
    answer a private address: DNS rebinding). The name below exists only in the patched lookup."""
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    monkeypatch.setattr(net, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    port = site.base.rsplit(":", 1)[1]
    got = fetcher(["127.0.0.0/8"]).get(f"http://news.example.test:{port}/news/dam")
    assert got.status == 200 and got.url == f"http://news.example.test:{port}/news/dam"
    assert site.log == [("/news/dam", False)] and site.hosts == [f"news.example.test:{port}"]
    with pytest.raises(InputError, match=r"news\.example\.test is at 127\.0\.0\.1"):
        fetcher([]).get(f"http://news.example.test:{port}/news/dam")


def test_oversize_responses_are_cut_off(site: Site):
    with pytest.raises(InputError, match="cut off at the 1 MB limit"):
        fetcher(["127.0.0.1"]).get(f"{site.base}/huge")
    site.routes["/big"] = ("text/html", b"<p>" + b"y" * 1_500_000 + b"</p>")
    with pytest.raises(InputError, match=r"is 1.5 MB, over the 1 MB limit"):
        fetcher(["127.0.0.1"]).get(f"{site.base}/big")


def test_a_host_gets_two_requests_at_once_at_most_and_a_polite_user_agent(site: Site, library: Library):
    pages = {f"/busy/{n}": "2026-01-01" for n in range(6)}
    site.routes["/sitemap.xml"] = ("application/xml", sitemap(site.base, pages))
    [report] = sync(library, SyncState(), f"{site.base}/sitemap.xml")  # 4 workers, 2 per host
    assert report.counts()["added"] == 6 and site.most == 2
    assert all(agent.startswith("articlebot/") for agent in site.agents)


def test_a_server_too_slow_to_answer_is_given_up(site: Site):
    with pytest.raises(InputError, match="could not be fetched"):
        Fetcher(FetchSettings(allow_hosts=["127.0.0.1"], timeout=0.3), 1_000_000).get(f"{site.base}/slow")


def test_responses_of_other_types_are_refused(site: Site, library: Library):
    site.routes["/file.bin"] = ("application/octet-stream", b"\x00\x01binary")
    site.routes["/photo.png"] = ("image/png", b"\x89PNG\r\n")
    [binary, photo] = sync(library, SyncState(), f"{site.base}/file.bin", f"{site.base}/photo.png")
    assert binary.results[0].status == "failed"
    assert "is application/octet-stream, not a web page or a feed or sitemap or a PDF or text" in \
           binary.results[0].reason
    assert "is image/png" in photo.results[0].reason and library.count() == 0


def test_settings_pass_the_allow_list_down(monkeypatch: pytest.MonkeyPatch):
    from ui.settings import Settings

    monkeypatch.setenv("ARTICLEBOT_FETCH_ALLOW_HOSTS", "wiki.internal, 10.0.0.0/8")
    assert Settings().index.fetch.allow_hosts == ["wiki.internal", "10.0.0.0/8"]
    monkeypatch.setenv("ARTICLEBOT_FETCH_ALLOW_HOSTS", "wiki.internal, 10.0.0.0/33")
    with pytest.raises(ValueError, match="neither an IP address nor a network"):
        Settings()


# -- MediaWiki ---------------------------------------------------------------------------------------
VLTAVA = """{{Infobox river|name=Vltava|length=430 km}}
The '''Vltava''' is the longest river in the [[Czech Republic]], running for 430 km.<ref>{{cite web|url=http://x.example|title=Rivers}}</ref>
__NOTOC__
== Course ==
It flows through [[Prague|the capital]] and joins the [[Elbe]] at Mělník.
[[Fichier:Vltava.jpg|thumb|The Vltava in Prague at night]]
[[Image:Map.png|thumb|Map of the basin]]
[[Category:Rivers of Bohemia]]
{{Navbox rivers}}"""
ELBE = "The '''Elbe''' rises in the [[Krkonoše]] mountains and flows into the [[North Sea]] near Cuxhaven."
MOLDAU = "The '''Moldau''' is the German name of the Vltava, used by [[Bedřich Smetana]] for his symphonic poem."


def test_mediawiki_api_sync(site: Site, library: Library):
    site.wiki = {1: {"title": "Vltava", "ns": 0, "revid": 11, "text": VLTAVA},
                 2: {"title": "Elbe", "ns": 0, "revid": 21, "text": ELBE},
                 3: {"title": "Moldau (music)", "ns": 0, "revid": 31, "text": MOLDAU},
                 4: {"title": "Editing", "ns": 12, "revid": 41, "text": "How to edit a page of this wiki."}}
    api, state = f"{site.base}/w/api.php", SyncState()
    [first] = sync(library, state, api)
    assert first.kind == "mediawiki" and first.counts()["added"] == 3  # namespace 0 only
    vltava = library.find_by_url(f"{site.base}/wiki/Vltava")
    assert vltava is not None and vltava.title == "Vltava" and vltava.site_name == "Valley Wiki"
    assert vltava.text == ("The Vltava is the longest river in the Czech Republic, running for 430 km.\n\nCourse"
                           "\n\nIt flows through the capital and joins the Elbe at Mělník.")
    assert vltava.updated == "2026-05-03T10:00:00Z" and vltava.language == "en"
    assert library.find_by_url(f"{site.base}/wiki/Moldau_(music)") is not None

    site.log.clear()
    [again] = sync(library, state, api)
    assert again.counts()["unchanged"] == 3 and again.counts()["added"] == again.counts()["updated"] == 0
    assert not any("revisions" in path for path in site.requests())  # no page text read again

    site.wiki[2] = {**site.wiki[2], "revid": 22, "text": ELBE.replace("Cuxhaven", "Hamburg and Cuxhaven")}
    del site.wiki[3]
    site.log.clear()
    [edited] = sync(library, state, api, prune=True)
    assert edited.counts()["updated"] == 1 and edited.counts()["removed"] == 1
    assert [p for p in site.requests() if "revisions" in p and "revids=22" in p] == site.requests("/w/api.php?"
                                                                                                  )[-1:]
    assert "Hamburg" in library.find_by_url(f"{site.base}/wiki/Elbe").text
    assert library.find_by_url(f"{site.base}/wiki/Moldau_(music)") is None and library.count() == 2

    # A page moved to a new title: its article moves to the new address, without --prune.
    site.wiki[2] = {**site.wiki[2], "title": "Elbe (river)", "revid": 23}
    [moved] = sync(library, state, api)
    assert moved.counts()["added"] == 1 and moved.counts()["removed"] == 1 and library.count() == 2
    assert library.find_by_url(f"{site.base}/wiki/Elbe_(river)") is not None
    assert library.find_by_url(f"{site.base}/wiki/Elbe") is None

    [help_pages] = sync(library, state, api, namespaces=(12,))
    assert help_pages.counts()["added"] == 1


DUMP = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">
  <siteinfo>
    <sitename>Valley Wiki</sitename><dbname>valleywiki</dbname>
    <base>https://wiki.example.org/wiki/Main_Page</base>
    <generator>MediaWiki 1.41.0</generator><case>first-letter</case>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="6" case="first-letter">Fichier</namespace>
      <namespace key="14" case="first-letter">Category</namespace>
    </namespaces>
  </siteinfo>
  <page>
    <title>Vltava</title><ns>0</ns><id>1</id>
    <revision><id>10</id><timestamp>2026-04-01T10:00:00Z</timestamp>
      <contributor><username>Ana</username><id>3</id></contributor>
      <model>wikitext</model><format>text/x-wiki</format>
      <text bytes="20" xml:space="preserve">An older text of the page, replaced by the next revision.</text>
      <sha1>a</sha1></revision>
    <revision><id>11</id><parentid>10</parentid><timestamp>2026-05-01T10:00:00Z</timestamp>
      <contributor><username>Ana</username><id>3</id></contributor>
      <model>wikitext</model><format>text/x-wiki</format>
      <text bytes="500" xml:space="preserve">%s</text><sha1>b</sha1></revision>
  </page>
  <page>
    <title>Old river name</title><ns>0</ns><id>2</id><redirect title="Vltava" />
    <revision><id>20</id><timestamp>2026-05-01T10:00:00Z</timestamp>
      <contributor><username>Ana</username><id>3</id></contributor>
      <model>wikitext</model><format>text/x-wiki</format>
      <text bytes="20" xml:space="preserve">#REDIRECT [[Vltava]]</text><sha1>c</sha1></revision>
  </page>
  <page>
    <title>Moldau (music)</title><ns>0</ns><id>3</id>
    <revision><id>30</id><timestamp>2026-05-02T10:00:00Z</timestamp>
      <contributor><username>Ana</username><id>3</id></contributor>
      <model>wikitext</model><format>text/x-wiki</format>
      <text bytes="100" xml:space="preserve">%s</text><sha1>d</sha1></revision>
  </page>
</mediawiki>"""


def test_mediawiki_xml_export_dump_ingests(tmp_path: Path, library: Library):
    from xml.sax.saxutils import escape

    path = tmp_path / "export.xml"
    path.write_text(DUMP % (escape(VLTAVA), escape(MOLDAU)), encoding="utf-8")
    results = ingest_paths(library, HashEmbedder(), [str(path)], IndexSettings())
    assert [r.status for r in results] == ["added", "added"]  # the redirect is not an article
    vltava = library.find_by_url("https://wiki.example.org/wiki/Vltava")
    assert vltava is not None and vltava.updated == "2026-05-01T10:00:00Z" and vltava.site_name == "Valley Wiki"
    assert vltava.text.startswith("The Vltava is the longest river") and "older text" not in vltava.text
    for markup in ("{{", "[[", "'''", "<ref", "thumb", "Category", "Infobox", "NOTOC", "Navbox"):
        assert markup not in vltava.text
    assert library.find_by_url("https://wiki.example.org/wiki/Moldau_(music)") is not None
    # Re-ingesting the dump changes nothing.
    assert {r.status for r in ingest_paths(library, HashEmbedder(), [str(path)], IndexSettings())} == {"unchanged"}


def test_a_file_that_is_not_a_mediawiki_export_fails_with_a_reason(tmp_path: Path, library: Library):
    path = tmp_path / "other.xml"
    path.write_text("<catalog><book>Not a wiki</book></catalog>", encoding="utf-8")
    [result] = ingest_paths(library, HashEmbedder(), [str(path)], IndexSettings())
    assert result.status == "failed" and "is not a MediaWiki XML export" in result.reason


# -- one-off ingest of URLs goes through the same readers -----------------------------------------------
def test_ingest_urls_reads_pages_and_feeds_and_refuses_loopback_by_default(site: Site, library: Library):
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    site.routes["/feed.xml"] = ("application/rss+xml", feed(site.base))
    site.routes["/news/school"] = ("text/html", page("School budget confirmed", SCHOOL))
    urls = [f"{site.base}/news/dam", f"{site.base}/feed.xml", f"{site.base}/missing"]
    [refused, *_] = ingest_paths(library, HashEmbedder(), urls, IndexSettings())
    assert refused.status == "failed" and "ARTICLEBOT_FETCH_ALLOW_HOSTS" in refused.reason
    results = ingest_paths(library, HashEmbedder(), urls, LOOPBACK)
    assert sorted(r.status for r in results) == ["added", "added", "added", "failed"]
    assert "HTTP 404" in next(r.reason for r in results if r.status == "failed")
    assert {r.status for r in ingest_paths(library, HashEmbedder(), urls[:2], LOOPBACK)} == {"unchanged"}

    site.routes["/empty"] = ("text/plain", b"")
    empty, closed = ingest_paths(library, HashEmbedder(), [f"{site.base}/empty", "http://127.0.0.1:9/x"], LOOPBACK)
    assert empty.status == "failed" and "is empty" in empty.reason
    assert closed.status == "failed" and "could not be fetched (ConnectError)" in closed.reason


# -- the API -------------------------------------------------------------------------------------------
def test_post_sources_runs_a_sync_job_for_an_admin_key(site: Site, tmp_path: Path):
    import time

    from fastapi.testclient import TestClient

    from bot.config import BotSettings
    from bot.service import Bot
    from index.config import EmbedSettings
    from ui.api import create_api
    from ui.settings import Settings

    site.routes["/feed.xml"] = ("application/rss+xml", feed(site.base))
    site.routes["/news/school"] = ("text/html", page("School budget confirmed", SCHOOL))
    cfg = LOOPBACK.model_copy(update={"embed": EmbedSettings(model="hash")})
    bot = Bot.open(tmp_path / "home", cfg, BotSettings())
    settings = Settings(home=tmp_path / "home", api_keys=["admin-key-0123456789"], read_keys=["read-key-0123456789"])
    body = {"sources": [f"{site.base}/feed.xml"]}
    try:
        with TestClient(create_api(bot, settings)) as client:
            assert client.post("/api/v1/sources", json=body).status_code == 401
            read_only = {"Authorization": "Bearer read-key-0123456789"}
            assert client.post("/api/v1/sources", json=body, headers=read_only).status_code == 401
            admin = {"Authorization": "Bearer admin-key-0123456789"}
            bad = client.post("/api/v1/sources", json={"sources": ["file:///etc/passwd"]}, headers=admin)
            assert bad.status_code == 422 and "not an http(s) address" in bad.json()["error"]["message"]

            # The job's second source answers only once the test lets it: the job is surely running meanwhile.
            started = client.post("/api/v1/sources", json={"sources": [*body["sources"], f"{site.base}/slow"]},
                                  headers=admin)
            assert started.status_code == 202 and started.json()["status"] == "running"
            job_url = started.headers["Location"]
            second = client.post("/api/v1/sources", json=body, headers=admin)
            assert second.status_code == 409 and job_url.rsplit("/", 1)[1] in second.json()["error"]["message"]
            site.slow.set()
            for _ in range(1200):  # until the job ends (no time asserted: a slow machine only waits longer)
                job = client.get(job_url, headers=admin).json()
                if job["status"] != "running":
                    break
                time.sleep(0.05)
            assert job["status"] == "done", job
            report, late = job["reports"]
            assert report["kind"] == "feed" and report["counts"]["added"] == 2 and report["requests"] == 2
            assert late["kind"] == "page" and late["results"][0]["status"] == "added"
            assert client.get(job_url).status_code == 401
            assert client.get("/api/v1/sources/jobs/nope", headers=admin).status_code == 404
    finally:
        bot.library.close()


# -- PDF -----------------------------------------------------------------------------------------------
def tiny_pdf(lines: list[str], title: str) -> bytes:
    """A one-page PDF with text in Helvetica and an info dictionary."""
    content = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               f"<< /Title ({title}) /Author (Ana Ruiz) /CreationDate (D:20260301080000Z) >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_from_the_web_and_from_disk(site: Site, library: Library, tmp_path: Path):
    lines = ["The river authority published its annual report on water quality.",
             "Nitrate levels in the Vltava fell by twelve percent since last year."]
    site.routes["/report.pdf"] = ("application/pdf", tiny_pdf(lines, "Water quality 2026"))
    [report] = sync(library, SyncState(), f"{site.base}/report.pdf")
    assert report.counts()["added"] == 1
    [article] = library.articles()
    assert (article.title, article.author, article.published) == ("Water quality 2026", "Ana Ruiz", "2026-03-01")
    assert "Nitrate levels in the Vltava fell by twelve percent" in article.text

    path = tmp_path / "minutes.pdf"
    path.write_bytes(tiny_pdf(["The council met on Monday and approved the new bridge over the river."], "Minutes"))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    results = {Path(r.source).name: r for r in ingest_paths(library, HashEmbedder(), [str(path), str(broken)],
                                                             IndexSettings())}
    assert results["minutes.pdf"].status == "added" and results["minutes.pdf"].title == "Minutes"
    assert results["broken.pdf"].status == "failed" and "PDF" in results["broken.pdf"].reason


# -- the command line ----------------------------------------------------------------------------------
def test_cli_sync_reports_counts_and_a_rerun_adds_nothing(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]):
    from ui.cli import main

    monkeypatch.setenv("ARTICLEBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARTICLEBOT_INDEX__EMBED__MODEL", "hash")
    monkeypatch.setenv("ARTICLEBOT_FETCH_ALLOW_HOSTS", "127.0.0.1")
    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    site.routes["/news/school"] = ("text/html", page("School budget", SCHOOL))
    site.routes["/sitemap.xml"] = ("application/xml", sitemap(site.base, {"/news/dam": "2026-03-04",
                                                                         "/news/school": "2026-06-01"}))
    assert main(["sync", f"{site.base}/sitemap.xml"]) == 0
    out = capsys.readouterr().out
    assert "added     " in out and "(sitemap): 2 added, 0 failed; 3 requests" in out
    assert main(["sync", f"{site.base}/sitemap.xml", "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["counts"]["unchanged"] == 2 and report["counts"]["added"] == 0 and report["requests"] == 1
    monkeypatch.delenv("ARTICLEBOT_FETCH_ALLOW_HOSTS")
    assert main(["sync", f"{site.base}/sitemap.xml"]) == 1
    assert "ARTICLEBOT_FETCH_ALLOW_HOSTS" in capsys.readouterr().out


def test_wikitext_renders_to_plain_text():
    from index.sources.mediawiki import Renderer

    wikitext = """<!-- a note to editors -->
{| class="wikitable"
|-
| 2020 || 150 m3/s
|-
| 2021 || 160 m3/s
|}
* A ''first'' item<br />on two lines, with [http://example.org an external link]
[[fr:Vltava]] [[de:Moldau]] [[:Category:Rivers|the rivers category]] [[Category:Rivers]]
<gallery>
File:A.jpg|A caption
</gallery>"""
    assert Renderer(frozenset({"file", "category"})).text(wikitext) == (
        "2020 150 m3/s\n\n2021 160 m3/s\n\nA first item\n\non two lines, with an external link\n\n"
        "the rivers category")


def test_a_sitemap_index_gzipped_parts_and_no_prune_when_a_part_is_missing(site: Site, library: Library):
    import gzip

    site.routes["/news/dam"] = ("text/html", page("Dam opens", DAM))
    site.routes["/news/school"] = ("text/html", page("School budget", SCHOOL))
    part_a = gzip.compress(sitemap(site.base, {"/news/dam": "2026-03-04"}))
    site.routes["/sitemap-a.xml.gz"] = ("application/gzip", part_a)
    site.routes["/sitemap-b.xml"] = ("application/xml", sitemap(site.base, {"/news/school": "2026-06-01"}))
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f"<sitemap><loc>{site.base}/sitemap-a.xml.gz</loc></sitemap>"
             f"<sitemap><loc>{site.base}/sitemap-b.xml</loc></sitemap></sitemapindex>").encode()
    site.routes["/sitemap.xml"] = ("application/xml", index)
    state, url = SyncState(), f"{site.base}/sitemap.xml"
    [first] = sync(library, state, url)
    assert first.kind == "sitemap index" and first.counts()["added"] == 2
    site.log.clear()
    [again] = sync(library, state, url)  # the index and its parts are read again, the pages are not
    assert again.counts()["unchanged"] == 2 and site.log == [("/sitemap.xml", False), ("/sitemap-a.xml.gz", False),
                                                             ("/sitemap-b.xml", False)]

    del site.routes["/sitemap-b.xml"]  # a part that cannot be read: its pages are not taken as gone
    [partial] = sync(library, state, url, prune=True)
    assert partial.counts()["failed"] == 1 and partial.counts()["removed"] == 0 and library.count() == 2
    assert "HTTP 404" in next(r.reason for r in partial.results if r.status == "failed")
