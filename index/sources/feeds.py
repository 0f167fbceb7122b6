"""RSS and Atom feeds (feedparser): what each item links to, and its text when the feed carries it whole."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from index.load import RawArticle
from index.sources.pages import html_text


@dataclass(frozen=True)
class FeedItem:
    link: str
    title: str
    author: str
    published: str  # ISO 8601 ("" unknown)
    updated: str
    content: str  # the item's full text when the feed carries it (content:encoded, Atom content), else ""
    summary: str  # the teaser

    def version(self) -> str:
        """Changes when the item changes: its dates and its text."""
        return hashlib.sha256("\x1f".join([self.updated, self.published, self.title, self.content,
                                           self.summary]).encode()).hexdigest()[:16]

    def article(self, site_name: str, language: str) -> RawArticle:
        """The item's own text as the article (the feed carries it whole)."""
        return RawArticle(title=self.title, text=self.content, source=self.link, url=self.link,
                          published=self.published, updated=self.updated if self.updated != self.published else "",
                          author=self.author, language=language, site_name=site_name)


@dataclass(frozen=True)
class Feed:
    title: str
    language: str
    items: list[FeedItem]


def _iso(parsed: time.struct_time | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed) if parsed else ""


def parse_feed(body: bytes, url: str) -> Feed | None:
    """The feed in ``body``, read from ``url`` (relative links resolve against it); None when it is not an
    RSS or Atom feed. (Bytes, never a string: feedparser would take a string for an address to fetch.)"""
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if not parsed.version:
        return None
    items = []
    for entry in parsed.entries:
        link = entry.get("link", "")
        if not link:
            continue
        contents = [c.get("value", "") for c in entry.get("content", [])]
        items.append(FeedItem(
            link=link, title=" ".join(entry.get("title", "").split()), author=entry.get("author", ""),
            # (dict.get: feedparser's own get would answer the published date for a missing updated one)
            published=_iso(entry.get("published_parsed")), updated=_iso(dict.get(entry, "updated_parsed")),
            content=html_text("\n".join(contents)), summary=html_text(entry.get("summary", "")),
        ))
    language = (parsed.feed.get("language") or "").split("-")[0].lower()
    return Feed(title=parsed.feed.get("title", ""), language=language, items=items)
