"""Readers never wait for writers: questions are answered while an ingest runs in another thread."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.config import BotSettings
from bot.service import Bot
from index.config import IndexSettings
from index.embed import HashEmbedder, Kind
from index.store import Library

TIMEOUT = 120  # generous: only reached when something is wrong


class GatedEmbedder(HashEmbedder):
    """Holds the ingest inside the embedding of one chosen article until the test lets it go."""

    def __init__(self, gate_word: str) -> None:
        super().__init__()
        self.gate_word = gate_word
        self.reached = threading.Event()
        self.release = threading.Event()
        self.thread = ""  # the thread that embedded the gated article

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind == "passage" and any(self.gate_word in t for t in texts):
            self.thread = threading.current_thread().name
            self.reached.set()
            assert self.release.wait(TIMEOUT), "the test never released the ingest"
        return super().embed(texts, kind)


def write_articles(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        topic = f"topic{i:02d}"
        (folder / f"{i:02d}.txt").write_text(
            f"Report {topic}\n\n" + " ".join(
                f"The {topic} council met on day {j} and the mayor {topic}name signed decree {topic}x{j}."
                for j in range(8)), encoding="utf-8")


@pytest.mark.parametrize("nice", [0, 5], ids=["writes-on-the-callers-thread", "writes-in-background"])
def test_questions_are_answered_while_an_ingest_runs(tmp_path: Path, nice: int):
    folder = tmp_path / "articles"
    write_articles(folder, 12)
    embedder = GatedEmbedder(gate_word="topic06")
    bot = Bot(Library(tmp_path / "home", "articles", embedder.name), embedder,
              IndexSettings(ingest_batch=1),  # one article per embedding call: the gate stops between commits
              BotSettings(answer={"min_score": -10}))
    bot.write_in_background(nice)  # what a server does (ui.server)
    with ThreadPoolExecutor(max_workers=4) as pool:
        ingest = pool.submit(bot.ingest, [str(folder)])
        assert embedder.reached.wait(TIMEOUT), "the ingest never reached the gated article"
        assert (embedder.thread == "articlebot-writer") == (nice > 0)
        # The ingest is now mid-way and blocked: every read below must finish without it.
        answer = pool.submit(bot.ask, "Who signed decree topic02x3?").result(TIMEOUT)
        titles = [a.title for a in pool.submit(bot.articles).result(TIMEOUT)]
        not_yet = pool.submit(bot.ask, "Who signed decree topic09x3?").result(TIMEOUT)
        assert not ingest.done()
        embedder.release.set()
        results = ingest.result(TIMEOUT)
    assert "topic02x3" in answer.answer and "Report topic02" in {s.title for s in answer.sources}
    # It answered from what was committed: the six articles before the gate, not the ones after it.
    assert sorted(titles) == [f"Report topic{i:02d}" for i in range(6)]
    assert "Report topic09" not in {s.title for s in not_yet.sources}
    assert [r.status for r in results] == ["added"] * 12
    assert "Report topic09" in {s.title for s in bot.ask("Who signed decree topic09x3?").sources}


@pytest.mark.parametrize("nice", [0, 5], ids=["writes-on-the-callers-thread", "writes-in-background"])
def test_many_threads_ask_and_write_at_once(tmp_path: Path, nice: int):
    folder = tmp_path / "articles"
    write_articles(folder, 8)
    embedder = HashEmbedder()
    bot = Bot(Library(tmp_path / "home", "articles", embedder.name), embedder, IndexSettings(),
              BotSettings(answer={"min_score": -10}))
    bot.write_in_background(nice)
    bot.ingest([str(folder / "00.txt")])
    with ThreadPoolExecutor(max_workers=6) as pool:
        ingest = pool.submit(bot.ingest, [str(folder)])
        asks = [pool.submit(bot.ask, f"Who signed decree topic00x{j % 8}?") for j in range(30)]
        answers = [a.result(TIMEOUT) for a in asks]
        ingest.result(TIMEOUT)
    assert all("Report topic00" in {s.title for s in a.sources} for a in answers)
    assert bot.library.count() == 8


def test_the_real_model_embeds_from_many_threads_at_once(real_embedder):  # type: ignore[no-untyped-def]
    """Queries run while an ingest embeds passages: the shared model must give each caller its own vectors."""
    passages = [f"Le conseil de la ville numéro {i} a voté un budget de {i * 7} millions d'euros." for i in range(24)]
    queries = [f"Quel budget pour la ville {i} ?" for i in range(24)]
    alone = (real_embedder.embed(passages, "passage"), real_embedder.embed(queries, "query"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [pool.submit(real_embedder.embed, passages[i::2], "passage") for i in range(2)]
        jobs += [pool.submit(real_embedder.embed, [q], "query") for q in queries]
        got = [job.result(TIMEOUT) for job in jobs]
    np.testing.assert_allclose(np.vstack([got[0], got[1]]), np.vstack([alone[0][0::2], alone[0][1::2]]), atol=1e-4)
    np.testing.assert_allclose(np.vstack(got[2:]), alone[1], atol=1e-4)
