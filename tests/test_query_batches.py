"""index.embed.QueryBatches: questions asked at the same moment are embedded in one model call."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.embed import QueryBatches

TIMEOUT = 60


class SlowModel:
    """Records each call's texts; the first call waits until the test lets it go."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        self.entered.set()
        assert self.release.wait(TIMEOUT)
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)


def test_a_lone_question_is_embedded_at_once() -> None:
    model = SlowModel()
    model.release.set()
    batches = QueryBatches(model)
    assert batches.vector("abc").tolist() == [3.0, 1.0]
    assert model.calls == [["abc"]]


def test_questions_arriving_while_the_model_is_busy_share_one_call() -> None:
    model = SlowModel()
    batches = QueryBatches(model, max_batch=16)
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(batches.vector, "x")
        assert model.entered.wait(TIMEOUT)  # the model is busy with the first question
        rest = [pool.submit(batches.vector, "y" * n) for n in range(1, 6)]
        deadline = time.monotonic() + TIMEOUT
        while batches.waiting() < 5:  # all five queued behind it
            assert time.monotonic() < deadline, "the questions never queued"
            time.sleep(0.01)
        model.release.set()
        assert first.result(TIMEOUT).tolist() == [1.0, 1.0]
        assert [f.result(TIMEOUT)[0] for f in rest] == [1.0, 2.0, 3.0, 4.0, 5.0]  # each caller its own vector
    assert model.calls[0] == ["x"] and sorted(model.calls[1]) == ["y" * n for n in range(1, 6)]


def test_a_failing_call_fails_every_question_in_it_and_the_next_ones_work() -> None:
    calls: list[int] = []

    def flaky(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 1:
            raise RuntimeError("model crashed")
        return np.ones((len(texts), 2), dtype=np.float32)

    batches = QueryBatches(flaky)
    with pytest.raises(RuntimeError, match="model crashed"):
        batches.vector("a")
    assert batches.vector("b").tolist() == [1.0, 1.0]
