"""Ingestion: raw article -> cleaned record + chunks -> vectors -> library. Idempotent by hash."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from index.chunk import chunk
from index.clean import clean
from index.config import IndexSettings
from index.embed import Embedder
from index.errors import ArticlebotError, BusyError, InputError, ModelMismatchError, StoreError
from index.lang import detect
from index.load import RawArticle, find_files, read_file
from index.store import ArticleRecord, ChunkRecord, Library, SentenceRecord, chunk_id, sentences_of

Progress = Callable[[str, float], None]
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # added | updated | unchanged | duplicate | skipped | failed | removed (by a sync)
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
    # (The fields added later count only when set: articles stored before them keep their hash.)
    later = [raw.updated, raw.site_name] if raw.updated or raw.site_name else []
    fingerprint = "\x1f".join([title, text, raw.url, raw.published, raw.author, language, model_name,
                               str(cfg.chunk_size), str(cfg.chunk_overlap), *later])
    aid = article_id_for(raw.source)
    record = ArticleRecord(
        id=aid, title=title, source=raw.source, url=raw.url or raw.source, language=language,
        published=raw.published, author=raw.author,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
        hash=hashlib.sha256(fingerprint.encode()).hexdigest(), chunks=0, text=text,
        updated=raw.updated, site_name=raw.site_name,
    )
    pieces = chunk(text, cfg.chunk_size, cfg.chunk_overlap)
    chunks = [ChunkRecord(chunk_id(aid, i), aid, i, p.text, p.start, p.end) for i, p in enumerate(pieces)]
    return record, chunks


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


def duplicate_of(library: Library, record: ArticleRecord, url: str, replaces: str = "") -> IngestResult | None:
    """A result naming the article already stored under another identity with the same cleaned text
    or the same canonical ``url``; None when there is none. ``replaces``: an article this one is about to
    replace (a page moved to a new address), which is no twin."""
    mine = (record.id, replaces)
    twin = library.find_by_text(record.text)
    same = "text"
    if (twin is None or twin.id in mine) and url:
        twin, same = library.find_by_url(url), "address"
    if twin is None or twin.id in mine:
        return None
    return IngestResult(record.source, "duplicate", twin.id, twin.title, twin.chunks,
                        reason=f"the same {same} as “{twin.title}” (id {twin.id}, from {twin.source}), "
                               "already stored; delete that one first to store this one instead")


def _stage(library: Library, raw: RawArticle, cfg: IndexSettings, model_name: str,
           check_duplicates: bool = True, replaces: str = "") -> _Staged | IngestResult:
    record, chunks = prepare(raw, cfg, model_name)
    old = library.get(record.id)
    if old is not None and old.hash == record.hash:
        return IngestResult(raw.source, "unchanged", old.id, old.title, old.chunks)
    duplicate = duplicate_of(library, record, raw.url, replaces) if check_duplicates else None
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


class Batch:
    """Articles staged one at a time, embedded and committed several at a time (``ingest_batch`` texts).

    Every result goes to ``report``; an article's own result also to the ``done`` given with it (a sync
    records an item only once its article is committed). ``replaces``: see ``duplicate_of``."""

    def __init__(self, library: Library, embedder: Embedder, cfg: IndexSettings,
                 report: Callable[[IngestResult], None]) -> None:
        self.library, self.embedder, self.cfg, self.report = library, embedder, cfg, report
        self.group: list[tuple[_Staged, Callable[[IngestResult], None] | None]] = []
        self.pending = 0  # texts in the group

    def _result(self, result: IngestResult, done: Callable[[IngestResult], None] | None) -> None:
        self.report(result)
        if done:
            done(result)

    def add(self, raw: RawArticle, done: Callable[[IngestResult], None] | None = None, replaces: str = "") -> None:
        staged = _guarded(raw.source, lambda: _stage(self.library, raw, self.cfg, self.embedder.name,
                                                     replaces=replaces))
        if isinstance(staged, IngestResult):
            self._result(staged, done)
            return
        twin = next((g for g, _ in self.group if g.record.text == staged.record.text), None)
        if twin is not None and twin.record.id == staged.record.id:  # one article reached twice (a link)
            self._result(IngestResult(raw.source, "unchanged", twin.record.id, twin.record.title,
                                      len(twin.chunks)), done)
            return
        if twin is not None:  # the same text twice in one batch: stored once
            self._result(IngestResult(raw.source, "duplicate", twin.record.id, twin.record.title, len(twin.chunks),
                                      reason=f"the same text as “{twin.record.title}” (id {twin.record.id}, from "
                                             f"{twin.record.source}), stored by this same ingest"), done)
            return
        self.group.append((staged, done))
        self.pending += len(staged.chunks) + len(staged.sentences)
        if self.pending >= self.cfg.ingest_batch:
            self.flush()

    def flush(self) -> None:
        if not self.group:
            return
        group, self.group, self.pending = self.group, [], 0
        for (_, done), result in zip(group, _store_group(self.library, self.embedder, [g for g, _ in group])):
            self._result(result, done)


def read_path(path: Path, max_bytes: int, identity: str | None) -> Iterable[RawArticle]:
    """The articles in one file: one, or a MediaWiki export's pages."""
    if path.suffix.lower() == ".xml":
        from index.sources.mediawiki import read_dump

        return read_dump(path)
    return [read_file(path, max_bytes, identity)]


def ingest_paths(library: Library, embedder: Embedder, paths: Sequence[str], cfg: IndexSettings,
                 progress: Progress | None = None, identities: Mapping[str, str] | None = None,
                 on_result: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Ingest files, folders (recursively), MediaWiki XML exports and URLs (a page, a PDF, a feed, a sitemap,
    a wiki's api.php: see ``index.sources.sync``); one bad item gets a reason and does not stop the batch;
    each result is also passed to ``on_result`` as soon as it is committed (a long ingest reports as it
    goes). ``identities`` maps a file path to the identity to store it under (an upload lands in a fresh
    temp path each time; its identity must stay its name so it updates in place)."""
    from index.sources.net import is_url

    urls = [p for p in paths if is_url(p)]
    found = find_files([p for p in paths if not is_url(p)])
    results: list[IngestResult] = []

    def report(result: IngestResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    for path, reason in found.failed:
        report(IngestResult(path, "failed", reason=reason))
    for path, reason in found.skipped:
        report(IngestResult(path, "skipped", reason=reason))
    library.check_model()
    library.check_writable()
    max_bytes = int(cfg.max_file_mb * 1_000_000)
    batch = Batch(library, embedder, cfg, report)
    steps = len(found.files) + len(urls)
    for done, path in enumerate(found.files):
        if progress:
            progress(path.name, done / max(steps, 1))
        try:
            for raw in read_path(path, max_bytes, (identities or {}).get(str(path))):
                batch.add(raw)
        except InputError as exc:
            report(IngestResult(str(path), "failed", reason=str(exc)))
    batch.flush()
    if urls:
        from index.sources.state import SyncState
        from index.sources.sync import Syncer

        def url_progress(message: str, fraction: float) -> None:
            if progress:
                progress(message, (len(found.files) + fraction * len(urls)) / steps)

        # A one-off read: the same readers as `articlebot sync`, with nothing remembered.
        state = SyncState()
        syncer = Syncer(library, embedder, cfg, state, progress=url_progress, on_result=on_result)
        try:
            for sync_report in syncer.run(urls):
                results.extend(sync_report.results)
        finally:
            syncer.close()
            state.close()
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
                         published=article.published, author=article.author, language=article.language,
                         updated=article.updated, site_name=article.site_name)
        try:
            # Every stored article is rebuilt, even twins stored before duplicates were refused.
            store_article(library, embedder, raw, cfg, check_duplicates=False)
        except ArticlebotError:
            continue
    if progress:
        progress("done", 1.0)
    return len(articles)
