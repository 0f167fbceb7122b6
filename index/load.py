"""Read article files from disk: decode, refuse what is not an article, pull out the title."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import InputError

SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
            ".pdf": "pdf", ".xml": "mediawiki"}


@dataclass(frozen=True)
class RawArticle:
    """An article as read, before cleaning."""

    title: str
    text: str
    source: str  # absolute path or URL: the article's identity
    url: str = ""  # the canonical URL (empty: ``source``)
    published: str = ""  # ISO 8601 where the source tells
    author: str = ""
    language: str = ""  # empty: detect
    updated: str = ""  # ISO 8601 where the source tells
    site_name: str = ""


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
    if kind == "mediawiki":  # one file, many articles: ``index.sources.mediawiki.read_dump``
        raise InputError("is an XML file: only MediaWiki export dumps are read, by `articlebot ingest`.")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit.",
                         "Split it, or raise ARTICLEBOT_INDEX__MAX_FILE_MB.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror}).") from exc
    source = identity or str(path.resolve())
    if kind == "pdf":
        from index.sources.pages import pdf_article

        return pdf_article(data, source)
    text = decode(data)
    if not text.strip():
        raise InputError("is empty.")
    if kind == "html":
        from index.sources.pages import html_article

        return html_article(text, source)
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
