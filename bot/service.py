"""The Bot: the one object the CLI, the Gradio app and the HTTP API talk to."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot import messages
from bot.answer import ExtractiveAnswerer, VectorLRU
from bot.chain import build_chain
from bot.config import BotSettings
from bot.crowd import Crowd
from bot.examples import example_questions
from bot.generate import GenerativeAnswerer, build_generative_chain
from bot.inputs import checked_question, checked_text
from bot.retrieve import HybridRetriever
from bot.types import Answer, Passage
from bot.writer import BackgroundWriter
from index.config import IndexSettings
from index.embed import Embedder, LazyEmbedder
from index.errors import InputError, NotFoundError
from index.ingest import IngestResult, ingest_paths, reindex, store_article
from index.lang import detect
from index.load import RawArticle
from index.sources.state import SyncState
from index.sources.sync import Syncer, SyncReport
from index.store import ArticleRecord, Library

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Progress = Callable[[str, float], None]
T = TypeVar("T")


def scoped(answer: Answer, page: ArticleRecord | None) -> Answer:
    """The answer, noting that the page it was asked from was searched first."""
    if page is None:
        return answer
    note = " ".join(filter(None, [messages.text("scoped_to_page", title=page.title), answer.note]))
    return dataclasses.replace(answer, note=note)


class Bot:
    def __init__(self, library: Library, embedder: Embedder, index_cfg: IndexSettings,
                 bot_cfg: BotSettings, crowd: Crowd | None = None, chat_model: BaseChatModel | None = None) -> None:
        """``chat_model``: the generative answerer's model (else made from ``bot_cfg`` when its answerer is
        openai or ollama)."""
        self.library = library
        self.embedder = embedder
        self.index_cfg = index_cfg
        self.cfg = bot_cfg
        self.queries = VectorLRU(256)  # one embedding of each question, for retrieval and answering
        # The answerer's weights are fitted on lifts above the crowd: without one given, an in-memory crowd.
        crowd = crowd or Crowd(embedder, None)
        self.retriever = HybridRetriever(library=library, embedder=embedder, settings=bot_cfg.retrieval,
                                         queries=self.queries, crowd=crowd if bot_cfg.retrieval.crowd else None)
        self.crowd = crowd
        self.answerer = ExtractiveAnswerer(embedder, bot_cfg.answer, self.queries, library.sentence_vectors,
                                           crowd)
        self.generative = self._generative(chat_model)
        self.chain = build_chain(self.retriever, self.answerer) if self.generative is None else \
            build_generative_chain(self.retriever, self.answerer, self.generative)
        # No lock around requests: the library and the embedder are safe from many threads, and a
        # question asked during an ingest answers from the articles committed so far.
        self._feedback_lock = threading.Lock()  # whole JSON lines in feedback.jsonl
        self._writer: BackgroundWriter | None = None  # writes run on the caller's thread unless a server asks

    @classmethod
    def open(cls, home: Path, index_cfg: IndexSettings, bot_cfg: BotSettings,
             progress: Progress | None = None, chroma_url: str = "") -> Bot:
        """``chroma_url``: a Chroma server shared by replicas (else the embedded store under ``home``). The
        model loads on the first embedding (or ``load_model``): listing or deleting articles never waits for it."""
        embedder = LazyEmbedder(index_cfg.embed, home / "models", progress)
        library = Library(home, index_cfg.collection, embedder.name, chroma_url)
        return cls(library, embedder, index_cfg, bot_cfg, Crowd(embedder, home / "models"))

    def _generative(self, chat_model: BaseChatModel | None) -> GenerativeAnswerer | None:
        backend = self.cfg.answer.answerer
        if chat_model is None and backend == "extractive":
            return None
        from bot.citations import CitationChecker
        from bot.llm import make_chat_model

        model = chat_model or make_chat_model(backend, self.cfg.llm)
        return GenerativeAnswerer(model, self.cfg.llm,
                                  CitationChecker(self.embedder, self.answerer, self.crowd, self.cfg.llm))

    def load_model(self) -> None:
        """Load the embedding model now, e.g. before a server takes its first question."""
        if isinstance(self.embedder, LazyEmbedder):
            self.embedder.load()

    # -- asking ---------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Any] | None = None, k: int | None = None,
            page_url: str | None = None) -> Answer:
        if self.generative is not None:
            *_, answer = self.stream(question, history, k, page_url)
            assert isinstance(answer, Answer)
            return answer
        with self.library.reading():  # the store's state is read once for the whole question
            question, page, empty = self._start(question, page_url)
            if empty is not None:
                return empty
            answer = self.chain.invoke({"question": question, "history": history or [],
                                        "k": k, "prefer": page.id if page else None})
        return scoped(answer, page)

    def _start(self, question: str, page_url: str | None) -> tuple[str, ArticleRecord | None, Answer | None]:
        """The checked question, the page it was asked from, and the answer when there is nothing to search."""
        question = checked_question(question)
        if not self.library.ready_for_questions():
            return question, None, Answer(messages.text("empty_collection", detect(question)), True,
                                          question=question, query=question)
        return question, self.library.find_by_url(page_url) if page_url else None, None

    def search(self, query: str, k: int | None = None, mode: str | None = None) -> list[Passage]:
        """The best chunks for ``query`` (no answer), e.g. for tools that read the passages themselves."""
        query = checked_text(query, "query", "Pass some words to search for.")
        with self.library.reading():  # one state read, as for a question
            self.library.ready_for_questions()
            return self.retriever.retrieve(query, k=k, mode=mode).passages

    def forget_questions(self) -> None:
        """Drop the cached question vectors (a benchmark times each question as a new one)."""
        self.queries.clear()

    def stream(self, question: str, history: Sequence[Any] | None = None, k: int | None = None,
               page_url: str | None = None) -> Iterator[str | Answer]:
        """Yield the answer text in pieces, then the finished Answer. A generative answerer's pieces are the
        model's tokens as it writes them, and the Answer is the checked one (citations renumbered, unsupported
        ones dropped): it replaces what was shown."""
        if self.generative is None:
            answer = self.ask(question, history, k, page_url)
            words = re.split(r"(\s+)", answer.answer)
            for i in range(0, len(words), 6):
                yield "".join(words[i:i + 6])
            yield answer
            return
        question, page, empty = self._start(question, page_url)
        if empty is not None:
            yield empty
            return
        deadline = time.monotonic() + self.cfg.llm.timeout
        for piece in self.chain.stream({"question": question, "history": history or [], "k": k,
                                        "prefer": page.id if page else None, "deadline": deadline}):
            yield scoped(piece, page) if isinstance(piece, Answer) else piece

    # -- the collection -------------------------------------------------------------------------
    def write_in_background(self, nice: int) -> None:
        """From now on, run every write (ingest, sync, add, delete, reindex) on one background thread ``nice``
        steps lower in CPU priority (``bot.writer``): a server's choice, so that questions asked during an
        ingest keep the cores. 0: writes stay on the caller's thread."""
        if nice > 0 and self._writer is None:
            self._writer = BackgroundWriter(nice)

    def _write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs) if self._writer is None else self._writer.run(fn, *args, **kwargs)

    def ingest(self, paths: Sequence[str], progress: Progress | None = None,
               identities: Mapping[str, str] | None = None,
               on_result: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
        results = self._write(ingest_paths, self.library, self.embedder, paths, self.index_cfg, progress,
                              identities, on_result)
        self._write(self.warm_crowd, results)
        return results

    def sync(self, sources: Sequence[str], prune: bool = False, namespaces: Sequence[int] = (0,),
             progress: Progress | None = None,
             on_result: Callable[[IngestResult], None] | None = None) -> list[SyncReport]:
        """Bring feeds, sitemaps, pages and wikis up to date (what each held is kept in DATA_DIR/sync.sqlite3)."""
        reports = self._write(self._sync, sources, prune, namespaces, progress, on_result)
        self._write(self.warm_crowd, [r for report in reports for r in report.results])
        return reports

    def _sync(self, sources: Sequence[str], prune: bool, namespaces: Sequence[int], progress: Progress | None,
              on_result: Callable[[IngestResult], None] | None) -> list[SyncReport]:
        state = SyncState(self.library.home / "sync.sqlite3")
        syncer = Syncer(self.library, self.embedder, self.index_cfg, state, prune, namespaces, progress, on_result)
        try:
            return syncer.run(sources)
        finally:
            syncer.close()
            state.close()

    def warm_crowd(self, results: Sequence[IngestResult]) -> None:
        """Embed the crowd of the new articles' languages (once per model, then read from disk), so that no
        question waits for it."""
        if self.crowd is not None:
            self.crowd.warm(a.language for r in results if r.article_id and (a := self.library.get(r.article_id)))

    def add_text(self, title: str, text: str, url: str = "", published: str = "",
                 author: str = "") -> IngestResult:
        title, text = (title or "").strip(), (text or "").strip()
        if not text:
            raise InputError("The article text is empty.", "Paste the article's text.")
        if not title:
            title = text.split("\n", 1)[0][:80]
        source = url.strip() or f"text:{title}"
        raw = RawArticle(title=title, text=text, source=source, url=url.strip(),
                         published=published.strip(), author=author.strip())
        self.library.check_model()
        result = self._write(store_article, self.library, self.embedder, raw, self.index_cfg)
        self._write(self.warm_crowd, [result])
        return result

    def articles(self) -> list[ArticleRecord]:
        return self.library.articles()

    def article(self, article_id: str) -> ArticleRecord:
        """One article with its text; an unknown id is refused with where to find the ids."""
        article = self.library.get(article_id)
        if article is None:
            raise NotFoundError(f"No article with id '{article_id}'.", "Run `articlebot list` to see the ids.")
        return article

    def delete(self, article_id: str) -> ArticleRecord:
        return self._write(self.library.delete, article_id)

    def reindex(self, progress: Progress | None = None) -> int:
        return self._write(reindex, self.library, self.embedder, self.index_cfg, progress)

    def example_questions(self, n: int = 4, lang: str = "en") -> list[str]:
        """Questions the newest articles answer, made from their sentences (``bot.examples``); ``lang`` is
        the asker's language, whose articles come first."""
        return example_questions(self.articles()[:50], n, lang)

    def record_feedback(self, question: str, answer: str, sources: list[dict[str, Any]],
                        liked: bool) -> None:
        entry = {"time": datetime.now(UTC).isoformat(timespec="seconds"),
                 "question": question, "answer": answer, "sources": sources, "liked": liked}
        path = self.library.home / "feedback.jsonl"
        with self._feedback_lock, path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
