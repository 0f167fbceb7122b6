"""Libraries built before the records moved into Chroma kept them in ``library.sqlite3``: move them over once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index.chroma import Owner
from index.records import ArticleRecord, ArticleRecords


def migrate_sqlite(home: Path, records: ArticleRecords, owner: Owner) -> None:
    """Copy the article rows and the model name; the BM25 postings are rebuilt from the chunks."""
    path = home / "library.sqlite3"
    if not path.exists() or not owner.try_take() or records.count() > 0:
        return
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT id, title, source, url, language, published, author, ingested_at, hash, "
                          "chunks, text FROM articles").fetchall()
        model = db.execute("SELECT value FROM meta WHERE key='embed_model'").fetchone()
    finally:
        db.close()
    if model:
        records.set_model(model[0])
    records.put([ArticleRecord(*row) for row in rows])
    records.bump()
    path.rename(path.with_suffix(".sqlite3.migrated"))
