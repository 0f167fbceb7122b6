"""Ingestion: raw article -> cleaned record + chunks -> vectors -> library. Idempotent by hash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from index.chunk import chunk
from index.clean import clean
from index.config import IndexSettings
from index.embed import Embedder
from index.errors import ArticlebotError, InputError
from index.lang import detect
from index.load import RawArticle, find_files, read_file
from index.store import ArticleRecord, ChunkRecord, Library, chunk_id

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # added | updated | unchanged | failed
    article_id: str = ""
    title: str = ""
    chunks: int = 0
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "status": self.status, "article_id": self.article_id,
                "title": self.title, "chunks": self.chunks, "reason": self.reason}


def article_id_for(source: str) -> str:
    """Deterministic id from the article's identity (its path or URL)."""
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def prepare(raw: RawArticle, cfg: IndexSettings, model_name: str) -> tuple[ArticleRecord, list[ChunkRecord]]:
    """Clean, detect the language and chunk. Raises InputError when nothing is left to index."""
    text = clean(raw.text)
    if len(text) < 20:
        raise InputError("has no article text after cleaning.")
    title = " ".join(raw.title.split()) or text.split("\n", 1)[0][:80]
    language = raw.language or detect(text)
    # The hash covers everything that changes what is stored, so re-ingesting is a no-op.
    fingerprint = "\x1f".join([title, text, raw.url, raw.published, raw.author, language, model_name,
                               str(cfg.chunk_size), str(cfg.chunk_overlap)])
    aid = article_id_for(raw.source)
    record = ArticleRecord(
        id=aid, title=title, source=raw.source, url=raw.url or raw.source, language=language,
        published=raw.published, author=raw.author,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
        hash=hashlib.sha256(fingerprint.encode()).hexdigest(), chunks=0, text=text,
    )
    pieces = chunk(text, cfg.chunk_size, cfg.chunk_overlap)
    chunks = [ChunkRecord(chunk_id(aid, i), aid, i, p.text, p.start, p.end) for i, p in enumerate(pieces)]
    return record, chunks


def store_article(library: Library, embedder: Embedder, raw: RawArticle, cfg: IndexSettings) -> IngestResult:
    record, chunks = prepare(raw, cfg, embedder.name)
    old = library.get(record.id)
    if old is not None and old.hash == record.hash:
        return IngestResult(raw.source, "unchanged", old.id, old.title, old.chunks)
    # Chunk vectors carry the title so a question naming the article finds it.
    vectors = embedder.embed([f"{record.title}\n{c.text}" for c in chunks], "passage")
    library.put(record, chunks, vectors)
    status = "added" if old is None else "updated"
    return IngestResult(raw.source, status, record.id, record.title, len(chunks))


def ingest_paths(library: Library, embedder: Embedder, paths: Sequence[str], cfg: IndexSettings,
                 progress: Progress | None = None) -> list[IngestResult]:
    """Ingest files and folders; one bad file gets a reason and does not stop the batch."""
    files, missing = find_files(list(paths))
    results = [IngestResult(path, "failed", reason=reason) for path, reason in missing]
    library.check_model()
    for done, path in enumerate(files):
        if progress:
            progress(f"{path.name}", done / max(len(files), 1))
        try:
            raw = read_file(path, int(cfg.max_file_mb * 1_000_000))
            results.append(store_article(library, embedder, raw, cfg))
        except InputError as exc:
            results.append(IngestResult(str(path), "failed", reason=str(exc)))
    if progress:
        progress("done", 1.0)
    return results


def reindex(library: Library, embedder: Embedder, cfg: IndexSettings,
            progress: Progress | None = None) -> int:
    """Rebuild every vector and posting from the stored article texts (e.g. after a model change)."""
    articles = library.articles()
    library.clear(embedder.name)
    for done, article in enumerate(articles):
        if progress:
            progress(article.title, done / max(len(articles), 1))
        raw = RawArticle(title=article.title, text=article.text, source=article.source,
                         url=article.url if article.url != article.source else "",
                         published=article.published, author=article.author, language=article.language)
        try:
            store_article(library, embedder, raw, cfg)
        except ArticlebotError:
            continue
    if progress:
        progress("done", 1.0)
    return len(articles)


def load_path(path: Path, cfg: IndexSettings) -> RawArticle:
    return read_file(path, int(cfg.max_file_mb * 1_000_000))
