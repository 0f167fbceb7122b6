"""Where a source can be opened, for the web chat and the terminal alike.

An article's ``url`` is its web address when it has one; otherwise its identity: an absolute file path (a
CLI ingest), ``upload:NAME`` (a file uploaded in the web chat) or ``text:TITLE`` (pasted text). Those last
ones are not links, so the chat links them to the article's text as the API serves it.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from urllib.parse import quote

_HTTP = re.compile(r"^https?://[^\s\"'<>`]+$", re.IGNORECASE)


def web_url(url: str) -> str | None:
    """``url`` when it is a plain http(s) address (the only kind that becomes a link as is), else None."""
    url = (url or "").strip()
    return url if _HTTP.match(url) else None


def origin(url: str) -> str:
    """What a reader recognises of a source that has no web address: "uploaded file x.txt", "pasted text",
    "file x.txt"; a web address is returned as is."""
    url = (url or "").strip()
    if web_url(url) or not url:
        return url
    if url.startswith("upload:"):
        return f"uploaded file {url.removeprefix('upload:')}"
    if url.startswith("text:"):
        return "pasted text"
    return f"file {PurePath(url).name}"


def text_path(article_id: str) -> str:
    """The API path of an article's plain text, relative to the app's root (so a proxy prefix is kept)."""
    return f"api/v1/articles/{quote(article_id, safe='')}/text"
