"""What the last sync of each source saw, so the next one fetches only what changed.

Per source: its kind and the listing's validators (ETag, Last-Modified). Per item a source lists (a page
URL, a wiki page id): its version (a sitemap's lastmod, a feed item's dates and text, a wiki revision id),
the validators of its last fetch and the article it became. An item's row is written only after its
article is committed, so an interrupted sync re-run redoes exactly the items not yet stored.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (url TEXT PRIMARY KEY, kind TEXT NOT NULL, etag TEXT NOT NULL,
    last_modified TEXT NOT NULL, synced_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (source TEXT NOT NULL, key TEXT NOT NULL, version TEXT NOT NULL,
    etag TEXT NOT NULL, last_modified TEXT NOT NULL, article_id TEXT NOT NULL, identity TEXT NOT NULL,
    listed INTEGER NOT NULL, PRIMARY KEY (source, key));
CREATE INDEX IF NOT EXISTS items_article ON items (article_id);
"""


@dataclass(frozen=True)
class Listing:
    kind: str
    etag: str
    last_modified: str


@dataclass(frozen=True)
class ItemState:
    key: str
    version: str
    etag: str
    last_modified: str
    article_id: str  # the article it became (another's, when it was a duplicate)
    identity: str  # the identity it was read under (its canonical URL)


class SyncState:
    """In ``path`` (SQLite), or in memory for a one-off ingest (``path`` None)."""

    def __init__(self, path: Path | None = None) -> None:
        self.db = sqlite3.connect(str(path) if path else ":memory:", timeout=30, check_same_thread=False)
        self.lock = threading.Lock()
        with self.lock, self.db:
            self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def listing(self, source: str) -> Listing | None:
        with self.lock:
            row = self.db.execute("SELECT kind, etag, last_modified FROM sources WHERE url = ?", (source,)).fetchone()
        return Listing(*row) if row else None

    def set_listing(self, source: str, listing: Listing) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?)",
                            (source, listing.kind, listing.etag, listing.last_modified, now))

    def items(self, source: str, listed_only: bool = True) -> dict[str, ItemState]:
        """The items the source listed last time (or ever, ``listed_only`` False)."""
        with self.lock:
            rows = self.db.execute("SELECT key, version, etag, last_modified, article_id, identity FROM items "
                                   "WHERE source = ? AND listed >= ?", (source, int(listed_only))).fetchall()
        return {row[0]: ItemState(*row) for row in rows}

    def save_item(self, source: str, item: ItemState) -> None:
        with self.lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                            (source, item.key, item.version, item.etag, item.last_modified, item.article_id,
                             item.identity))

    def unlist(self, source: str, key: str) -> None:
        """The source no longer lists the item (its article is kept unless pruned)."""
        with self.lock, self.db:
            self.db.execute("UPDATE items SET listed = 0 WHERE source = ? AND key = ?", (source, key))

    def forget(self, source: str, key: str) -> None:
        with self.lock, self.db:
            self.db.execute("DELETE FROM items WHERE source = ? AND key = ?", (source, key))

    def is_listed(self, article_id: str) -> bool:
        """Some source still lists an item that became this article."""
        with self.lock:
            row = self.db.execute("SELECT 1 FROM items WHERE article_id = ? AND listed = 1 LIMIT 1",
                                  (article_id,)).fetchone()
        return row is not None
