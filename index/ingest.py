"""Ingestion: raw article -> cleaned record + chunks -> vectors -> library. Idempotent by hash; the
same text (or canonical URL) under a second identity is reported as a duplicate, not stored twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from index.chunk import chunk, chunk_sentences
from index.clean import clean
from index.config import IndexSettings
from index.embed import Embedder
from index.errors import ArticlebotError, InputError
from index.fetch import fetch, is_url
from index.lang import detect
from index.load import RawArticle, find_files, read_file
from index.store import ArticleRecord, ChunkRecord, Library, SentenceRecord, chunk_id, sentence_id

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # added | updated | unchanged | duplicate | skipped | failed
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


def sentences_of(chunks: Sequence[ChunkRecord]) -> list[SentenceRecord]:
    """The chunks' sentences, each once (the answerer splits retrieved chunks the same way)."""
    out = []
    for i, span in chunk_sentences([(c.article_id, c.text, c.start) for c in chunks]):
        start, end = chunks[i].start + span.start, chunks[i].start + span.end
        holders = tuple(c.id for c in chunks if c.start <= start and end <= c.end)
        out.append(SentenceRecord(sentence_id(chunks[i].article_id, start), holders,
                                  chunks[i].text[span.start:span.end]))
    return out


def duplicate_of(library: Library, record: ArticleRecord, url: str) -> IngestResult | None:
    """A result naming the article already stored under another identity with the same cleaned text
    or the same canonical ``url``; None when there is none."""
    twin = library.find_by_text(record.text)
    same = "text"
    if (twin is None or twin.id == record.id) and url:
        twin, same = library.find_by_url(url), "address"
    if twin is None or twin.id == record.id:
        return None
    return IngestResult(record.source, "duplicate", twin.id, twin.title, twin.chunks,
                        reason=f"the same {same} as “{twin.title}” (id {twin.id}, from {twin.source}), "
                               "already stored; delete that one first to store this one instead")


def store_article(library: Library, embedder: Embedder, raw: RawArticle, cfg: IndexSettings,
                  check_duplicates: bool = True) -> IngestResult:
    record, chunks = prepare(raw, cfg, embedder.name)
    old = library.get(record.id)
    if old is not None and old.hash == record.hash:
        return IngestResult(raw.source, "unchanged", old.id, old.title, old.chunks)
    duplicate = duplicate_of(library, record, raw.url) if check_duplicates else None
    if duplicate is not None:
        return duplicate
    sentences = sentences_of(chunks)
    # Chunk vectors carry the title so a question naming the article finds it; one call embeds both.
    vectors = embedder.embed([f"{record.title}\n{c.text}" for c in chunks] + [s.text for s in sentences],
                             "passage")
    library.put(record, chunks, vectors[:len(chunks)], sentences, vectors[len(chunks):])
    status = "added" if old is None else "updated"
    return IngestResult(raw.source, status, record.id, record.title, len(chunks))


def ingest_paths(library: Library, embedder: Embedder, paths: Sequence[str], cfg: IndexSettings,
                 progress: Progress | None = None, identities: Mapping[str, str] | None = None
                 ) -> list[IngestResult]:
    """Ingest files, folders (recursively), page URLs and feeds; one bad item gets a reason and does
    not stop the batch. ``identities`` maps a file path to the identity to store it under (an upload
    lands in a fresh temp path each time; its identity must stay its name so it updates in place)."""
    urls = [p for p in paths if is_url(p)]
    found = find_files([p for p in paths if not is_url(p)])
    files = found.files
    results = [IngestResult(path, "failed", reason=reason) for path, reason in found.failed]
    results += [IngestResult(path, "skipped", reason=reason) for path, reason in found.skipped]
    library.check_model()
    max_bytes = int(cfg.max_file_mb * 1_000_000)
    sources: list[str | Path] = [*files, *urls]
    for done, item in enumerate(sources):
        if progress:
            progress(item.name if isinstance(item, Path) else item, done / max(len(sources), 1))
        try:
            raws = ([read_file(item, max_bytes, (identities or {}).get(str(item)))]
                    if isinstance(item, Path) else fetch(item, max_bytes))
        except InputError as exc:
            results.append(IngestResult(str(item), "failed", reason=str(exc)))
            continue
        for raw in raws:
            try:
                results.append(store_article(library, embedder, raw, cfg))
            except InputError as exc:
                results.append(IngestResult(raw.source, "failed", reason=str(exc)))
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
            # Every stored article is rebuilt, even twins stored before duplicates were refused.
            store_article(library, embedder, raw, cfg, check_duplicates=False)
        except ArticlebotError:
            continue
    if progress:
        progress("done", 1.0)
    return len(articles)
