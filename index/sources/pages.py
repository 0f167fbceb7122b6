"""One document into one article: a web page's main text and metadata (trafilatura, htmldate), a PDF's
text (pypdf), or plain text."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from index.errors import InputError
from index.load import RawArticle, split_title
from index.sources.net import HTML, PDF, Fetched

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Page furniture dropped before extraction (trafilatura keeps it on short pages).
_FURNITURE = ["//nav", "//footer", "//aside", "//*[@role='navigation']", "//*[@role='contentinfo']"]


def same_site(a: str, b: str) -> bool:
    """Both URLs on one host (``www.`` aside)."""
    def host(url: str) -> str:
        return (urlsplit(url).hostname or "").removeprefix("www.")

    return bool(host(a)) and host(a) == host(b)


def html_article(page: str, source: str, url: str = "") -> RawArticle:
    """Main text (no navigation, scripts or markup) and metadata of an HTML page fetched from ``url``.

    The article's identity is its canonical URL when the page names one on its own site (a page may not
    claim another site's article), else ``source``."""
    import lxml.html
    import trafilatura
    from htmldate import find_date

    page = _XML_DECLARATION.sub("", page, count=1)  # lxml refuses a decoded text that names an encoding
    try:
        tree = lxml.html.fromstring(page)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise InputError("is not a readable HTML page.") from exc
    doc = trafilatura.bare_extraction(tree, url=url or None, with_metadata=True, include_comments=False,
                                      include_tables=True, prune_xpath=_FURNITURE,
                                      # Dates the page states, not ones guessed from its text ("© 2026").
                                      date_extraction_params={"extensive_search": False, "original_date": True})
    if doc is None or not (doc.text or "").strip():
        raise InputError("has no article text.", "Give the address of an article page.")
    title = " ".join((doc.title or "").split())
    lines = [line.strip() for line in doc.text.splitlines() if line.strip()]
    if lines and title and lines[0] == title:  # the heading repeats the title: don't index it twice
        lines = lines[1:]
    stated = urljoin(url, doc.url) if doc.url and url else ""  # a canonical link may be relative
    canonical = stated if stated and same_site(stated, url) else ""
    updated = find_date(tree, original_date=False, extensive_search=False, url=url or None) or ""
    published = doc.date or ""
    return RawArticle(
        title=title or (lines[0][:80] if lines else ""),
        text="\n\n".join(lines),
        source=canonical or source,
        url=canonical or url or (doc.url or ""),  # a local file: the address the page states
        published=published,
        updated=updated if updated != published else "",
        # trafilatura drops a one-word author ("Ana"); the page's own author tag still names it.
        author=doc.author or " ".join(str(v) for v in tree.xpath("//meta[@name='author']/@content")[:1]).strip(),
        language=(tree.get("lang") or "").split("-")[0].lower(),
        site_name=doc.sitename or "",
    )


def html_text(fragment: str) -> str:
    """The text of an HTML fragment (a feed item's content), paragraphs kept."""
    import lxml.html

    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fromstring(f"<div>{fragment}</div>")
    except (ValueError, lxml.etree.ParserError):
        return ""
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    for block in root.xpath("//p|//div|//br|//li|//h1|//h2|//h3|//h4|//h5|//h6|//blockquote|//pre|//tr"):
        block.tail = "\n\n" + (block.tail or "")
    text = re.sub(r"[ \t\r\f\v]+", " ", root.text_content())
    return re.sub(r"\s*\n\s*\n\s*", "\n\n", text).strip()


def pdf_article(data: bytes, source: str, url: str = "") -> RawArticle:
    """A PDF's text, page by page, and its title, author and dates when it states them."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InputError("is an encrypted PDF.", "Give an unencrypted copy.")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"is not a readable PDF ({type(exc).__name__}).") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise InputError("is a PDF without text (a scan?).", "Run it through OCR first.")
    title = (meta.title or "").strip() if meta else ""
    return RawArticle(
        title=title or split_title(text, markdown=False)[0], text=text, source=source, url=url,
        author=((meta.author or "") if meta else "").strip(),
        published=iso_date(meta.creation_date) if meta else "",
        updated=iso_date(meta.modification_date) if meta else "",
    )


def iso_date(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.date().isoformat()


def document_article(fetched: Fetched, source: str = "") -> RawArticle:
    """A fetched page, PDF or text file as an article (identity ``source``, else its URL)."""
    source = source or fetched.url
    if fetched.content_type in HTML:
        return html_article(fetched.text(), source, fetched.url)
    if fetched.content_type in PDF:
        return pdf_article(fetched.body, source, fetched.url)
    text = fetched.text()
    if not text.strip():
        raise InputError("is empty.")
    title, body = split_title(text, markdown=fetched.content_type == "text/markdown")
    return RawArticle(title=title, text=body, source=source, url=fetched.url)
