"""Ingestion: raw article -> cleaned record + chunks -> vectors -> library. Idempotent by hash."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from index.chunk import chunk, chunk_sentences
from index.clean import clean
from index.config import IndexSettings
from index.embed import Embedder
from index.errors import ArticlebotError, BusyError, InputError, ModelMismatchError, StoreError
from index.fetch import fetch, is_url
from index.lang import detect
from index.load import RawArticle, find_files, read_file
from index.store import ArticleRecord, ChunkRecord, Library, SentenceRecord, chunk_id, sentence_id

Progress = Callable[[str, float], None]
log = logging.getLogger(__name__)
T = TypeVar("T")


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


def sentences_of(chunks: Sequence[ChunkRecord]) -> list[SentenceRecord]:
    """The chunks' sentences, each once (the answerer splits retrieved chunks the same way)."""
    out = []
    for i, span in chunk_sentences([(c.article_id, c.text, c.start) for c in chunks]):
        start, end = chunks[i].start + span.start, chunks[i].start + span.end
        holders = tuple(c.id for c in chunks if c.start <= start and end <= c.end)
        out.append(SentenceRecord(sentence_id(chunks[i].article_id, start), holders,
                                  chunks[i].text[span.start:span.end]))
    return out


@dataclass(frozen=True)
class _Staged:
    """An article read, cleaned and cut, waiting for its vectors."""

    raw: RawArticle
    record: ArticleRecord
    chunks: list[ChunkRecord]
    sentences: list[SentenceRecord]
    is_new: bool

    def texts(self) -> list[str]:
        # Chunk vectors carry the title so a question naming the article finds it.
        return [f"{self.record.title}\n{c.text}" for c in self.chunks] + [s.text for s in self.sentences]


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


def _stage(library: Library, raw: RawArticle, cfg: IndexSettings, model_name: str,
           check_duplicates: bool = True) -> _Staged | IngestResult:
    record, chunks = prepare(raw, cfg, model_name)
    old = library.get(record.id)
    if old is not None and old.hash == record.hash:
        return IngestResult(raw.source, "unchanged", old.id, old.title, old.chunks)
    duplicate = duplicate_of(library, record, raw.url) if check_duplicates else None
    if duplicate is not None:
        return duplicate
    return _Staged(raw, record, chunks, sentences_of(chunks), old is None)


def _commit(library: Library, staged: _Staged, vectors: np.ndarray) -> IngestResult:
    n = len(staged.chunks)
    library.put(staged.record, staged.chunks, vectors[:n], staged.sentences, vectors[n:])
    return _done(staged)


def _done(staged: _Staged) -> IngestResult:
    return IngestResult(staged.raw.source, "added" if staged.is_new else "updated", staged.record.id,
                        staged.record.title, len(staged.chunks))


def store_article(library: Library, embedder: Embedder, raw: RawArticle, cfg: IndexSettings,
                  check_duplicates: bool = True) -> IngestResult:
    staged = _stage(library, raw, cfg, embedder.name, check_duplicates)
    if isinstance(staged, IngestResult):
        return staged
    return _commit(library, staged, embedder.embed(staged.texts(), "passage"))


def _guarded(source: str, work: Callable[[], T]) -> T | IngestResult:
    """Run one article's step; its failure is its own (a one-line reason) unless the whole store refuses."""
    try:
        return work()
    except (BusyError, ModelMismatchError, StoreError):
        raise  # every other article would fail the same way
    except ArticlebotError as exc:
        return IngestResult(source, "failed", reason=str(exc))
    except Exception as exc:  # e.g. Chroma refusing a write: the rest of the batch still goes in
        log.exception("could not store %s", source)
        reason = " ".join(f"could not be stored ({type(exc).__name__}: {exc})".split())[:300]
        return IngestResult(source, "failed", reason=reason)


def _store_group(library: Library, embedder: Embedder, group: Sequence[_Staged]) -> list[IngestResult]:
    """Embed several articles in one call (the model sorts the texts by length: short sentences are not
    padded to a chunk's length) and commit them in one write. Should either fail, each article is
    retried alone, so that only the one at fault fails."""
    if len(group) == 1:
        staged = group[0]
        return [_guarded(staged.raw.source,
                         lambda: _commit(library, staged, embedder.embed(staged.texts(), "passage")))]
    try:
        vectors = embedder.embed([t for staged in group for t in staged.texts()], "passage")
        items, offset = [], 0
        for staged in group:
            n, m = len(staged.chunks), len(staged.sentences)
            items.append((staged.record, staged.chunks, vectors[offset:offset + n], staged.sentences,
                          vectors[offset + n:offset + n + m]))
            offset += n + m
        library.put_many(items)
    except (BusyError, ModelMismatchError, StoreError):
        raise
    except Exception:
        return [result for staged in group for result in _store_group(library, embedder, [staged])]
    return [_done(staged) for staged in group]


def ingest_paths(library: Library, embedder: Embedder, paths: Sequence[str], cfg: IndexSettings,
                 progress: Progress | None = None, identities: Mapping[str, str] | None = None,
                 on_result: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Ingest files, folders (recursively), page URLs and feeds; one bad item gets a reason and does
    not stop the batch; each result is also passed to ``on_result`` as soon as it is committed (a long
    ingest reports as it goes). ``identities`` maps a file path to the identity to store it under (an upload
    lands in a fresh temp path each time; its identity must stay its name so it updates in place)."""
    urls = [p for p in paths if is_url(p)]
    found = find_files([p for p in paths if not is_url(p)])
    results: list[IngestResult] = []
    group: list[_Staged] = []
    pending = 0  # texts in the group

    def report(result: IngestResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    def flush() -> None:
        for result in _store_group(library, embedder, group):
            report(result)
        group.clear()

    for path, reason in found.failed:
        report(IngestResult(path, "failed", reason=reason))
    for path, reason in found.skipped:
        report(IngestResult(path, "skipped", reason=reason))
    library.check_model()
    library.check_writable()
    max_bytes = int(cfg.max_file_mb * 1_000_000)
    sources: list[str | Path] = [*found.files, *urls]
    for done, item in enumerate(sources):
        if progress:
            progress(item.name if isinstance(item, Path) else item, done / max(len(sources), 1))
        try:
            raws = ([read_file(item, max_bytes, (identities or {}).get(str(item)))]
                    if isinstance(item, Path) else fetch(item, max_bytes))
        except InputError as exc:
            report(IngestResult(str(item), "failed", reason=str(exc)))
            continue
        for raw in raws:
            staged = _guarded(raw.source, lambda r=raw: _stage(library, r, cfg, embedder.name))
            if isinstance(staged, IngestResult):
                report(staged)
                continue
            twin = next((g for g in group if g.record.text == staged.record.text), None)
            if twin is not None and twin.record.id == staged.record.id:  # one file reached twice (a link)
                report(IngestResult(raw.source, "unchanged", twin.record.id, twin.record.title, len(twin.chunks)))
                continue
            if twin is not None:  # the same text twice in one batch: stored once
                report(IngestResult(raw.source, "duplicate", twin.record.id, twin.record.title, len(twin.chunks),
                                    reason=f"the same text as “{twin.record.title}” (id {twin.record.id}, from "
                                           f"{twin.record.source}), stored by this same ingest"))
                continue
            group.append(staged)
            pending += len(staged.chunks) + len(staged.sentences)
            if pending >= cfg.ingest_batch:
                flush()
                pending = 0
    flush()
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
