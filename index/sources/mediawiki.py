"""MediaWiki wikis: the pages of chosen namespaces through the API (``api.php``), or from an XML export dump.

Both render a page's wikitext to plain text with mwparserfromhell (templates, references, files,
categories and markup dropped; link labels, headings and table cells kept) so the text stored is the same
whichever way the page arrived, and both store the page's canonical URL, which is what a reader's browser
shows on that page (the widget's "this page first" scope looks the article up by it).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from index.errors import InputError
from index.load import RawArticle
from index.sources.net import JSON, Fetcher

FILE, CATEGORY = 6, 14
# MediaWiki's own URL encoding of titles (wfUrlencode) leaves these as they are.
_TITLE_SAFE = ";@$!*(),/~:"
_DROPPED_TAGS = {"ref", "references", "gallery", "math", "score", "timeline", "templatedata", "syntaxhighlight"}
_LINE_TAGS = {"br", "tr"}
# A language link ([[fr:Vltava]]) lists the page in another language; it is not shown in the text.
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z]+)*")


def is_api(url: str) -> bool:
    return url.split("?", 1)[0].rstrip("/").endswith("api.php")


@dataclass(frozen=True)
class WikiPage:
    """A page as listed: enough to tell whether it changed since the last sync."""

    pageid: int
    title: str
    revid: int
    url: str  # canonical


@dataclass(frozen=True)
class Renderer:
    """Wikitext to plain text; links into these namespace prefixes (files, categories) are dropped whole."""

    dropped_prefixes: frozenset[str]
    site_name: str = ""
    language: str = ""

    def text(self, wikitext: str) -> str:
        import mwparserfromhell
        from mwparserfromhell.nodes import Tag, Wikilink

        code = mwparserfromhell.parse(wikitext)
        for node in code.filter(forcetype=(Tag, Wikilink)):
            with contextlib.suppress(ValueError):  # inside a node removed already
                if isinstance(node, Tag) and str(node.tag).strip().lower() in _LINE_TAGS:
                    code.insert_after(node, "\n")  # a line break, a table row: text must not run together
                elif self._dropped(node):
                    code.remove(node)
        text = code.strip_code(normalize=True, collapse=True)
        text = re.sub(r"__[A-Z]+__", "", text)  # behaviour switches (__NOTOC__)
        lines = [" ".join(line.split()) for line in text.splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n\n".join(line for line in lines if line)).strip()

    def _dropped(self, node: object) -> bool:
        """References, galleries and the like; links to files and categories, and language links."""
        from mwparserfromhell.nodes import Tag, Wikilink

        if isinstance(node, Tag):
            return str(node.tag).strip().lower() in _DROPPED_TAGS
        if not isinstance(node, Wikilink) or ":" not in str(node.title):
            return False
        prefix = str(node.title).split(":", 1)[0].strip()
        return prefix.lower() in self.dropped_prefixes or bool(_LANGUAGE.fullmatch(prefix))

    def article(self, title: str, url: str, wikitext: str, timestamp: str) -> RawArticle:
        return RawArticle(title=title, text=self.text(wikitext), source=url, url=url, updated=timestamp,
                          language=self.language, site_name=self.site_name)


def _prefixes(names: Sequence[tuple[int, str]]) -> frozenset[str]:
    return frozenset(name.strip().lower() for ns, name in names if ns in (FILE, CATEGORY) and name.strip()) | {
        "file", "image", "category"}


class WikiApi:
    """A wiki read through its API (format=json, formatversion=2), every request through the Fetcher."""

    def __init__(self, fetcher: Fetcher, api_url: str) -> None:
        self.fetcher = fetcher
        self.api_url = api_url.split("?", 1)[0]

    def call(self, **params: Any) -> dict[str, Any]:
        query = urlencode({**params, "format": "json", "formatversion": "2"})
        fetched = self.fetcher.get(f"{self.api_url}?{query}", accept=JSON)
        try:
            data = json.loads(fetched.body)
        except ValueError as exc:
            raise InputError("answered something that is not JSON.", "Give the wiki's api.php address.") from exc
        if not isinstance(data, dict):
            raise InputError("answered JSON that is not a MediaWiki API answer.")
        if "error" in data:
            error = data["error"]
            raise InputError(f"answered the error '{error.get('code')}': {error.get('info', '')}".strip(),
                             "Check that the API is open to reading.")
        return data

    def renderer(self) -> Renderer:
        data = self.call(action="query", meta="siteinfo", siprop="general|namespaces|namespacealiases")
        query = data.get("query", {})
        names = [(int(ns["id"]), str(ns.get(key, ""))) for ns in query.get("namespaces", {}).values()
                 for key in ("name", "canonical")]
        names += [(int(alias["id"]), str(alias.get("alias", ""))) for alias in query.get("namespacealiases", [])]
        general = query.get("general", {})
        return Renderer(_prefixes(names), str(general.get("sitename", "")),
                        str(general.get("lang", "")).split("-")[0])

    def pages(self, namespaces: Sequence[int]) -> Iterator[WikiPage]:
        """Every page (not redirects) of the namespaces, with its latest revision id."""
        for namespace in namespaces:
            cont: dict[str, Any] = {}
            while True:
                data = self.call(action="query", generator="allpages", gapnamespace=namespace, gaplimit="max",
                                 gapfilterredir="nonredirects", prop="info", inprop="url", **cont)
                for page in data.get("query", {}).get("pages", []):
                    yield WikiPage(int(page["pageid"]), str(page["title"]), int(page.get("lastrevid", 0)),
                                   str(page.get("canonicalurl") or page.get("fullurl", "")))
                if "continue" not in data:
                    break
                cont = dict(data["continue"])

    def revisions(self, revids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """revid -> (wikitext, timestamp), 50 revisions per request (the API's limit)."""
        out: dict[int, tuple[str, str]] = {}
        for i in range(0, len(revids), 50):
            data = self.call(action="query", prop="revisions", revids="|".join(map(str, revids[i:i + 50])),
                             rvprop="ids|timestamp|content", rvslots="main")
            for page in data.get("query", {}).get("pages", []):
                for rev in page.get("revisions", []):
                    main = rev.get("slots", {}).get("main", {})
                    out[int(rev["revid"])] = (str(main.get("content", "")), str(rev.get("timestamp", "")))
        return out


def page_url(base: str, title: str) -> str:
    """A page's canonical URL from the dump's ``<base>`` (the main page's URL)."""
    quoted = quote(title.replace(" ", "_"), safe=_TITLE_SAFE)
    if "title=" in base:  # index.php?title=Main_Page
        return base[:base.index("title=") + len("title=")] + quoted
    return base.rsplit("/", 1)[0] + "/" + quoted


def read_dump(path: Path, namespaces: Sequence[int] = (0,)) -> Iterator[RawArticle]:
    """The latest revision of each page (not redirects) of the namespaces in a MediaWiki XML export."""
    import mwxml

    try:
        with path.open("rb") as stream:
            dump = mwxml.Dump.from_file(stream)
            info = dump.site_info
            base = info.base or ""
            if not base:
                raise InputError("is a MediaWiki export without <base> (the wiki's address).",
                                 "Export it with Special:Export, which writes the site information.")
            names = [(ns.id, name) for ns in info.namespaces or [] for name in (ns.name, ns.canonical or "",
                                                                                *(ns.aliases or ()))]
            renderer = Renderer(_prefixes(names), info.name or "")
            for page in dump:
                if page.namespace not in namespaces or page.redirect:
                    continue
                latest = None
                for revision in page:
                    latest = revision
                if latest is None or not latest.text:
                    continue
                yield renderer.article(page.title, page_url(base, page.title), latest.text,
                                       latest.timestamp.long_format() if latest.timestamp else "")
    # (An XML ParseError is a SyntaxError.)
    except (mwxml.errors.MalformedXML, SyntaxError, ValueError, KeyError, AssertionError) as exc:
        raise InputError(f"is not a MediaWiki XML export ({type(exc).__name__}: {exc})"[:300]) from exc
