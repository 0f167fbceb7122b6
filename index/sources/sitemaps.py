"""XML sitemaps (sitemaps.org): the pages a site lists, with their last-modified dates, and the sitemaps
a sitemap index points to."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field

from index.errors import InputError


@dataclass
class Sitemap:
    pages: list[tuple[str, str]] = field(default_factory=list)  # (loc, lastmod)
    sitemaps: list[str] = field(default_factory=list)  # a sitemap index's children


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_sitemap(body: bytes, max_bytes: int) -> Sitemap | None:
    """The sitemap in ``body`` (gzipped or not); None when it is not one. Python's XML parser expands no
    external entities and refuses entity bombs."""
    if body[:2] == b"\x1f\x8b":
        unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            body = unpacker.decompress(body, max_bytes + 1)
        except zlib.error as exc:
            raise InputError("is a damaged gzip file.") from exc
        if len(body) > max_bytes:
            raise InputError(f"unpacks to over the {max_bytes / 1e6:.0f} MB limit.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        return None
    sitemap = Sitemap()
    for entry in root:
        values = {_local(child.tag): (child.text or "").strip() for child in entry}
        if not values.get("loc"):
            continue
        if kind == "urlset":
            sitemap.pages.append((values["loc"], values.get("lastmod", "")))
        else:
            sitemap.sitemaps.append(values["loc"])
    return sitemap
