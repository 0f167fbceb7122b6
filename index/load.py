"""Read article files from disk: decode, refuse what is not an article, pull out the title."""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from index.errors import InputError

SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


@dataclass(frozen=True)
class RawArticle:
    """An article as read, before cleaning."""

    title: str
    text: str
    source: str  # absolute path or URL: the article's identity
    url: str = ""
    published: str = ""
    author: str = ""
    language: str = ""  # empty: detect


@dataclass
class FoundFiles:
    """What a list of paths holds: article files, paths that failed, and files passed over on purpose."""

    files: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def find_files(paths: list[str]) -> FoundFiles:
    """Expand folders (recursively) into article files. Inside a folder, links are not followed out of
    it and hidden or unsupported files are skipped with a reason (a path named directly is taken as is)."""
    found = FoundFiles()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            found.failed.append((raw, "no such file or folder"))
        elif path.is_dir():
            before = len(found.files)
            _walk(path, found)
            if len(found.files) == before:
                found.failed.append((raw, f"folder has no {', '.join(sorted(SUFFIXES))} files"))
        else:
            found.files.append(path)
    return found


def _walk(root: Path, found: FoundFiles) -> None:
    base = root.resolve()
    for folder, subfolders, names in os.walk(root, followlinks=False):
        here = Path(folder)
        for name in sorted(subfolders):
            if name.startswith("."):
                found.skipped.append((str(here / name), "hidden folder"))
            elif (here / name).is_symlink():
                found.skipped.append((str(here / name), "a link to a folder: links to folders are not followed"))
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and not (here / d).is_symlink())
        for name in sorted(names):
            path = here / name
            reason = _skip_reason(path, base)
            if reason:
                found.skipped.append((str(path), reason))
            else:
                found.files.append(path)


def _skip_reason(path: Path, base: Path) -> str:
    """Why a file met while walking a folder is not read, or "" to read it."""
    if path.name.startswith("."):
        return "hidden file"
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(base):
            # A link out of the folder could pull in any file the server can read (/etc/passwd).
            return f"a link to {target}, outside the folder: not followed"
    if not path.is_file():
        return "not a regular file (a broken link, a pipe or a device)"
    if path.suffix.lower() not in SUFFIXES:
        return f"unsupported file type '{path.suffix or 'none'}' (articles are {', '.join(sorted(SUFFIXES))})"
    return ""


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else UTF-16 with BOM, else Latin-1/Windows-1252."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("looks like a binary file, not text.", "Convert it to .txt, .md or .html.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if text.count("\ufffd") > max(8, len(text) // 100):
        raise InputError("is not readable text in UTF-8 or Latin-1.", "Save it as UTF-8.")
    return text


def read_file(path: Path, max_bytes: int, identity: str | None = None) -> RawArticle:
    """Read one file into a RawArticle (its identity: ``identity`` or its absolute path).
    Raises InputError with a one-line reason."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"unsupported file type '{path.suffix or 'none'}'.",
                         f"Use one of {', '.join(sorted(SUFFIXES))}.")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit.",
                         "Split it, or raise ARTICLEBOT_INDEX__MAX_FILE_MB.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror}).") from exc
    text = decode(data)
    if not text.strip():
        raise InputError("is empty.")
    source = identity or str(path.resolve())
    if kind == "html":
        return parse_html(text, source)
    title, body = split_title(text, markdown=kind == "markdown")
    return RawArticle(title=title or path.stem, text=body, source=source)


def split_title(text: str, markdown: bool) -> tuple[str, str]:
    """The title is the first heading (Markdown) or the first non-empty line; the rest is the body."""
    lines = text.strip().splitlines()
    if markdown:
        for i, line in enumerate(lines):
            match = re.match(r"\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
            if match:
                return match.group(1).strip(), "\n".join(lines[:i] + lines[i + 1:]).strip()
    first = lines[0].strip().lstrip("#").strip()
    rest = "\n".join(lines[1:]).strip()
    if not rest or len(first) > 200:  # one paragraph only, or no title line: keep it all as body
        return first[:80].rsplit(" ", 1)[0] if len(first) > 80 else first, text.strip()
    return first, rest


class _HTMLText(HTMLParser):
    """Collect visible text with paragraph breaks; skip scripts, styles and page furniture."""

    SKIP = frozenset({"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template",
            "svg", "iframe", "button", "select"})
    BLOCK = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
             "article", "blockquote", "pre", "dd", "dt", "figcaption", "table", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.in_title = False
        self.title = ""
        self.h1 = ""
        self.in_h1 = False
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "h1":
            self.in_h1 = True
        elif tag == "meta":
            values = dict(attrs)
            key = (values.get("property") or values.get("name") or "").lower()
            if key and values.get("content"):
                self.meta.setdefault(key, values["content"] or "")
        elif tag == "html":
            lang = dict(attrs).get("lang")
            if lang:
                self.meta.setdefault("lang", lang)
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skip_depth:
            self.skip_depth -= 1
        elif tag == "title":
            self.in_title = False
        elif tag == "h1":
            self.in_h1 = False
        if tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif self.skip_depth == 0:
            if self.in_h1:
                self.h1 += data
            self.parts.append(data)


def parse_html(page: str, source: str, url: str = "") -> RawArticle:
    parser = _HTMLText()
    parser.feed(page)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))
    text = re.sub(r"\s*\n\s*\n\s*", "\n\n", text).strip()
    title = " ".join((parser.meta.get("og:title") or parser.title or parser.h1).split())
    h1 = " ".join(parser.h1.split())
    if h1 and text.startswith(h1):  # the heading repeats the title: don't index it twice
        text = text[len(h1):].lstrip()
    return RawArticle(
        title=html.unescape(title) or (text.splitlines()[0][:80] if text else ""),
        text=text,
        source=source,
        url=url or parser.meta.get("og:url", ""),
        published=parser.meta.get("article:published_time", "") or parser.meta.get("date", ""),
        author=parser.meta.get("author", "") or parser.meta.get("article:author", ""),
        language=(parser.meta.get("lang") or "").split("-")[0].lower(),
    )
