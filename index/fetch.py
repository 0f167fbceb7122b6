"""Articles from the web: a page URL, or an RSS/Atom feed whose items are ingested one by one."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from index.errors import InputError
from index.load import RawArticle, decode, parse_html

USER_AGENT = "articlebot/0.1 (+offline article QA)"


@dataclass(frozen=True)
class FeedItem:
    title: str
    link: str
    published: str
    author: str
    html: str  # the item's content or summary (may be empty)


def is_url(text: str) -> bool:
    return bool(re.match(r"https?://", text, re.IGNORECASE))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _child_text(node: ET.Element, *names: str) -> str:
    for child in node:
        if _local(child.tag) in names:
            if _local(child.tag) == "link" and child.get("href"):
                return child.get("href", "")
            text = "".join(child.itertext()).strip()
            if text:
                return text
    return ""


def parse_feed(xml: str) -> list[FeedItem] | None:
    """Items of an RSS 2.0 or Atom feed; None when the document is not a feed."""
    try:
        root = ET.fromstring(xml.lstrip("\ufeff").strip())
    except ET.ParseError:
        return None
    if _local(root.tag) not in ("rss", "feed", "rdf"):
        return None
    items = [n for n in root.iter() if _local(n.tag) in ("item", "entry")]
    return [FeedItem(
        title=_child_text(item, "title"),
        link=_child_text(item, "link", "guid", "id"),
        published=_child_text(item, "pubdate", "published", "updated", "date"),
        author=_child_text(item, "author", "creator", "name"),
        html=_child_text(item, "encoded", "content", "description", "summary"),
    ) for item in items]


def feed_articles(items: list[FeedItem]) -> list[RawArticle]:
    """Feed items with enough text become articles of their own (identity: the item's link)."""
    out = []
    for item in items:
        page = parse_html(f"<title>{item.title}</title><body>{item.html}</body>", item.link, item.link)
        if item.link and len(page.text) >= 20:
            out.append(RawArticle(title=item.title or page.title, text=page.text, source=item.link,
                                  url=item.link, published=item.published, author=item.author))
    return out


def fetch(url: str, max_bytes: int, timeout: float = 20.0) -> list[RawArticle]:
    """Download ``url``: an HTML page gives one article, a feed gives one per item."""
    import httpx

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True,
                          headers={"User-Agent": USER_AGENT}) as response:
            if response.status_code >= 400:
                raise InputError(f"answered HTTP {response.status_code}.", "Check the address.")
            body = b""
            for part in response.iter_bytes():
                body += part
                if len(body) > max_bytes:
                    raise InputError(f"is over the {max_bytes / 1e6:.0f} MB limit.")
            kind = response.headers.get("content-type", "")
            final_url = str(response.url)
    except httpx.HTTPError as exc:
        raise InputError(f"could not be fetched ({type(exc).__name__}).",
                         "Check the address and the network.") from exc
    text = decode(body)
    if not text.strip():
        raise InputError("is empty.")
    items = parse_feed(text) if ("xml" in kind or text.lstrip().startswith("<?xml")) else None
    if items is not None:
        articles = feed_articles(items)
        if not articles:
            raise InputError("is a feed without items that have text.")
        return articles
    if "html" in kind or "<html" in text[:2000].lower() or "<body" in text[:5000].lower():
        return [parse_html(text, final_url, final_url)]
    title = text.strip().splitlines()[0][:120]
    return [RawArticle(title=title, text=text, source=final_url, url=final_url)]
