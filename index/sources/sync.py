"""Keep sources in sync: a page, a feed, a sitemap (or sitemap index), a wiki's ``api.php``.

A run lists what the source holds now, fetches only what changed since the last run (an unchanged
listing answers 304; an item whose version is unchanged is not fetched; any other page is fetched
conditionally), stores new and changed articles, and, for a complete source (a sitemap, a wiki) and only
when asked (``prune``), deletes the articles it no longer lists. A feed lists only its latest items, so
nothing is pruned because it left a feed.
"""

from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from index.config import IndexSettings
from index.embed import Embedder
from index.errors import InputError
from index.ingest import Batch, IngestResult, Progress, article_id_for
from index.load import RawArticle
from index.sources.feeds import parse_feed
from index.sources.mediawiki import WikiApi, WikiPage, is_api
from index.sources.net import DOCUMENTS, PAGES, TEXT, XML, Fetched, Fetcher
from index.sources.pages import document_article
from index.sources.sitemaps import parse_sitemap
from index.sources.state import ItemState, Listing, SyncState
from index.store import ArticleRecord, Library

STORED = ("added", "updated", "unchanged", "duplicate")
Gone = Literal["prune", "unlist", "keep"]


@dataclass(frozen=True)
class Entry:
    """One item a source lists."""

    key: str  # a page's URL, a wiki page's id
    url: str  # where it is read
    version: str = ""  # "" unknown: the page is fetched (conditionally)
    raw: RawArticle | None = None  # the article, when the listing carries it (a page, a feed item's text)
    hints: RawArticle | None = None  # what the listing says of it (a feed item's dates), for what the page lacks
    etag: str = ""  # validators of a fetch already made
    last_modified: str = ""


@dataclass
class SyncReport:
    source: str
    kind: str = ""
    results: list[IngestResult] = field(default_factory=list)
    requests: int = 0  # HTTP requests sent
    unlisted: int = 0  # items the source no longer lists, whose articles were kept (no prune)
    note: str = ""

    def counts(self) -> dict[str, int]:
        counted = Counter(r.status for r in self.results)
        return {status: counted[status] for status in
                ("added", "updated", "unchanged", "removed", "duplicate", "skipped", "failed")}

    def summary(self) -> str:
        parts = [f"{n} {status}" for status, n in self.counts().items() if n or status in ("added", "failed")]
        if self.unlisted:
            parts.append(f"{self.unlisted} no longer listed (kept; --prune deletes them)")
        return f"{self.source} ({self.kind or 'unread'}): {', '.join(parts)}; {self.requests} requests" + (
            f"; {self.note}" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "counts": self.counts(), "requests": self.requests,
                "unlisted": self.unlisted, "note": self.note, "results": [r.to_json() for r in self.results]}


def with_hints(raw: RawArticle, hints: RawArticle | None) -> RawArticle:
    """The page's own metadata, completed by what the listing said of it."""
    if hints is None:
        return raw
    return replace(raw, title=raw.title or hints.title, published=raw.published or hints.published,
                   updated=raw.updated or hints.updated, author=raw.author or hints.author,
                   site_name=raw.site_name or hints.site_name)


class Syncer:
    """Syncs sources into a library; ``state`` remembers what each source held (in memory: a one-off read)."""

    def __init__(self, library: Library, embedder: Embedder, cfg: IndexSettings, state: SyncState,
                 prune: bool = False, namespaces: Sequence[int] = (0,), progress: Progress | None = None,
                 on_result: Callable[[IngestResult], None] | None = None) -> None:
        self.library, self.embedder, self.cfg, self.state = library, embedder, cfg, state
        self.prune, self.namespaces = prune, tuple(namespaces)
        self.progress, self.on_result = progress, on_result
        self.max_bytes = int(cfg.max_file_mb * 1_000_000)
        self.fetcher = Fetcher(cfg.fetch, self.max_bytes)

    def close(self) -> None:
        self.fetcher.close()

    def run(self, sources: Sequence[str]) -> list[SyncReport]:
        self.library.check_model()
        self.library.check_writable()
        return [self.sync(source) for source in sources]

    def sync(self, source: str) -> SyncReport:
        report = SyncReport(source)
        before = self.fetcher.requests
        batch = Batch(self.library, self.embedder, self.cfg, lambda result: self._report(report, result))
        try:
            if is_api(source):
                self._wiki(source, report, batch)
            else:
                self._web(source, report, batch)
        except InputError as exc:
            batch.flush()
            self._report(report, IngestResult(source, "failed", reason=str(exc)))
        report.requests = self.fetcher.requests - before
        return report

    def _report(self, report: SyncReport, result: IngestResult) -> None:
        report.results.append(result)
        if self.on_result:
            self.on_result(result)

    def _step(self, message: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(message, done / max(total, 1))

    # -- pages, feeds, sitemaps ---------------------------------------------------------------------
    def _web(self, source: str, report: SyncReport, batch: Batch) -> None:
        listing = self.state.listing(source)
        known = self.state.items(source)
        conditional = listing if listing and known else Listing("", "", "")
        fetched = self.fetcher.get(source, DOCUMENTS, conditional.etag, conditional.last_modified)
        if fetched.not_modified:
            if listing is None:
                raise InputError("answered 304 Not Modified to a plain request.", "Check the server.")
            report.kind = listing.kind
            if listing.kind == "page":  # the page itself is unchanged
                for item in known.values():
                    self._report(report, self._unchanged(item.key, item.article_id))
                return
            # The listing is the last one (read whole, or its validators were not kept): items it left
            # then and were kept are pruned now when asked.
            entries = [Entry(key, key, item.version) for key, item in known.items()]
            self._items(source, entries, report, batch, gone="keep" if listing.kind == "feed" else "prune")
            self._save_listing(source, report, Listing(listing.kind, listing.etag, listing.last_modified))
            return
        kind, entries, complete = self._entries(source, fetched, report)
        report.kind = kind
        if kind == "feed" and self.prune:
            report.note = "feeds list only their latest items: nothing is pruned for leaving one"
        gone: Gone = "unlist" if kind == "feed" else "prune" if complete else "keep"
        self._items(source, entries, report, batch, gone)
        self._save_listing(source, report, Listing(kind, fetched.etag, fetched.last_modified))

    def _entries(self, source: str, fetched: Fetched, report: SyncReport) -> tuple[str, list[Entry], bool]:
        """(kind, entries, complete): complete is False when part of the listing could not be read."""
        # (A feed or sitemap served as text/plain still says what it is.)
        declared_xml = fetched.body.lstrip().startswith(b"<?xml")
        if fetched.content_type not in XML and not (fetched.content_type in TEXT and declared_xml):
            raw = document_article(fetched)
            return "page", [Entry(source, fetched.url, raw=raw, etag=fetched.etag,
                                  last_modified=fetched.last_modified)], True
        feed = parse_feed(fetched.body, fetched.url)
        if feed is not None and feed.items:
            entries = []
            for item in feed.items:
                article = item.article(feed.title, feed.language)
                entries.append(Entry(item.link, item.link, item.version(), raw=article if item.content else None,
                                     hints=replace(article, text="")))
            return "feed", entries, True
        sitemap = parse_sitemap(fetched.body, self.max_bytes)
        if sitemap is None:
            raise InputError("is XML but neither an RSS/Atom feed nor a sitemap.")
        complete = True
        pages = list(sitemap.pages)
        for child in sitemap.sitemaps:  # a sitemap index: it and its sitemaps are read whole every time
            try:
                part = parse_sitemap(self.fetcher.get(child, XML).body, self.max_bytes)
                if part is None:
                    raise InputError("is not a sitemap.")
            except InputError as exc:
                self._report(report, IngestResult(child, "failed", reason=str(exc)))
                complete = False
                continue
            pages += part.pages
        kind = "sitemap index" if sitemap.sitemaps else "sitemap"
        return kind, [Entry(loc, loc, lastmod) for loc, lastmod in pages], complete

    def _items(self, source: str, entries: list[Entry], report: SyncReport, batch: Batch, gone: Gone) -> None:
        """Store what changed among ``entries``; then, for the items of the last run no longer listed, ``gone``
        says what to do: "prune" (a complete listing: deleted with ``prune``, else counted as unlisted),
        "unlist" (a feed: forgotten quietly, the articles kept) or "keep" (part of the listing is missing)."""
        known = self.state.items(source, listed_only=False)
        stored = self.library.summaries()
        todo: list[tuple[Entry, ItemState | None]] = []
        done = 0
        for entry in entries:
            old = known.get(entry.key)
            alive = old if old is not None and old.article_id in stored else None
            if alive and entry.version and alive.version == entry.version:
                done += 1
                self._report(report, self._unchanged(entry.url, alive.article_id, stored))
            elif entry.raw is not None:
                done += 1
                self._step(entry.url, done, len(entries))
                self._store(source, batch, entry, entry.raw, entry.etag, entry.last_modified, old, report)
            else:
                todo.append((entry, alive))
        for (entry, old), got in self._fetch_all(todo):
            done += 1
            self._step(entry.url, done, len(entries))
            if isinstance(got, InputError):
                self._report(report, IngestResult(entry.url, "failed", reason=str(got)))
            elif got.not_modified and old is not None:
                self.state.save_item(source, replace(old, version=entry.version, etag=got.etag or old.etag,
                                                     last_modified=got.last_modified or old.last_modified))
                self._report(report, self._unchanged(entry.url, old.article_id, stored))
            else:
                try:
                    raw = with_hints(document_article(got), entry.hints)
                except InputError as exc:
                    self._report(report, IngestResult(entry.url, "failed", reason=str(exc)))
                    continue
                self._store(source, batch, entry, raw, got.etag, got.last_modified, old, report)
        batch.flush()
        if gone != "keep":
            self._vanished(source, {e.key for e in entries}, report, prunable=gone == "prune")
        self._step("done", 1, 1)

    def _fetch(self, entry: Entry, old: ItemState | None) -> Fetched | InputError:
        try:
            return self.fetcher.get(entry.url, PAGES, old.etag if old else "", old.last_modified if old else "")
        except InputError as exc:
            return exc

    def _fetch_all(self, todo: list[tuple[Entry, ItemState | None]]
                   ) -> Iterator[tuple[tuple[Entry, ItemState | None], Fetched | InputError]]:
        """Fetches in parallel (``workers``; the Fetcher limits each host), answered in order, a few ahead
        of the caller only: a long sitemap never holds thousands of pages in memory."""
        workers = self.cfg.fetch.workers
        with ThreadPoolExecutor(workers, thread_name_prefix="fetch") as pool:
            window: deque[tuple[tuple[Entry, ItemState | None], Future[Fetched | InputError]]] = deque()
            pending = iter(todo)
            try:
                for task in itertools.islice(pending, 2 * workers):
                    window.append((task, pool.submit(self._fetch, *task)))
                while window:
                    task, future = window.popleft()
                    following = next(pending, None)
                    if following is not None:
                        window.append((following, pool.submit(self._fetch, *following)))
                    yield task, future.result()
            finally:  # interrupted: fetches not started yet are dropped
                for _, future in window:
                    future.cancel()

    def _store(self, source: str, batch: Batch, entry: Entry, raw: RawArticle, etag: str, modified: str,
               old: ItemState | None, report: SyncReport) -> None:
        """Stage ``raw``; once committed, remember the item. The article the item became last time, when it
        was its own (not a twin stored by someone else), is replaced: deleted when the item now becomes
        another article (its page moved to a new address, or now repeats another article's text)."""
        own = old.article_id if old is not None and old.identity and article_id_for(old.identity) == old.article_id \
            else ""
        moved = own if old is not None and old.identity != raw.source else ""

        def done(result: IngestResult) -> None:  # after the commit: an interrupted run redoes the rest
            if result.status not in STORED:
                return
            self.state.save_item(source, ItemState(entry.key, entry.version, etag, modified, result.article_id,
                                                   raw.source))
            if own and own != result.article_id:
                self._drop(report, entry.url, own, f"replaced by {result.article_id} ({raw.source})")

        batch.add(raw, done, replaces=moved)

    def _drop(self, report: SyncReport, key: str, article_id: str, reason: str) -> None:
        """Delete an article no source lists any more (a page moved to a new address, or pruned)."""
        if not self.state.is_listed(article_id) and self.library.get(article_id) is not None:
            article = self.library.delete(article_id)
            self._report(report, IngestResult(key, "removed", article.id, article.title, reason=reason))

    def _unchanged(self, url: str, article_id: str, stored: dict[str, ArticleRecord] | None = None) -> IngestResult:
        record = (stored or {}).get(article_id) or self.library.get(article_id)
        return IngestResult(url, "unchanged", article_id, record.title if record else "",
                            record.chunks if record else 0)

    def _vanished(self, source: str, listed: set[str], report: SyncReport, prunable: bool) -> None:
        """Items of the last run the source no longer lists: when ``prunable`` and pruning, their articles are
        deleted (unless another source lists them)."""
        for key, item in self.state.items(source, listed_only=False).items():
            if key in listed:
                continue
            self.state.unlist(source, key)
            if not prunable:
                continue
            if not self.prune:
                report.unlisted += 1
                continue
            if item.article_id:
                self._drop(report, key, item.article_id, "no longer listed by the source")
            self.state.forget(source, key)

    def _save_listing(self, source: str, report: SyncReport, listing: Listing) -> None:
        """Remember the listing's validators only when every item went in: a failed item is retried next run
        (an unchanged listing would otherwise answer 304 and hide it)."""
        # A sitemap index is read whole every time: its parts change while it does not.
        forget = listing.kind == "sitemap index" or any(r.status == "failed" for r in report.results)
        self.state.set_listing(source, Listing(listing.kind, "", "") if forget else listing)

    # -- MediaWiki -----------------------------------------------------------------------------------
    def _wiki(self, source: str, report: SyncReport, batch: Batch) -> None:
        report.kind = "mediawiki"
        api = WikiApi(self.fetcher, source)
        renderer = api.renderer()
        pages = list(api.pages(self.namespaces))
        known = self.state.items(source, listed_only=False)
        stored = self.library.summaries()
        changed: list[WikiPage] = []
        for page in pages:
            old = known.get(str(page.pageid))
            if old is not None and old.version == str(page.revid) and (not old.article_id or old.article_id in stored):
                self._report(report, self._unchanged(page.url, old.article_id, stored) if old.article_id else
                             IngestResult(page.url, "skipped", reason="no text once rendered"))
            else:
                changed.append(page)
        done = len(pages) - len(changed)
        for i in range(0, len(changed), 50):
            part = changed[i:i + 50]
            texts = api.revisions([p.revid for p in part])
            for page in part:
                done += 1
                self._step(page.title, done, len(pages))
                entry = Entry(str(page.pageid), page.url, str(page.revid))
                if page.revid not in texts:
                    self._report(report, IngestResult(page.url, "failed", reason="the revision vanished meanwhile "
                                                      "(an edit during the sync); the next sync reads it"))
                    continue
                raw = renderer.article(page.title, page.url, *texts[page.revid])
                if len(raw.text) < 20:  # a page of templates only: remembered, so not read again until edited
                    self.state.save_item(source, ItemState(entry.key, entry.version, "", "", "", ""))
                    self._report(report, IngestResult(page.url, "skipped", reason="no text once rendered"))
                    continue
                self._store(source, batch, entry, raw, "", "", known.get(entry.key), report)
        batch.flush()
        self._vanished(source, {str(p.pageid) for p in pages}, report, prunable=True)
        self.state.set_listing(source, Listing("mediawiki", "", ""))
        self._step("done", 1, 1)
