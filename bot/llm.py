"""The chat model of the generative answerers, made from settings, and a time bound around its stream."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from bot.config import LLMSettings
from index.errors import LLMError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def make_chat_model(backend: str, cfg: LLMSettings) -> BaseChatModel:
    """``openai``: any OpenAI-compatible server (llama-server, vLLM, OpenAI); ``ollama``: Ollama's own API.
    No retries: a failing server falls back to the extractive answer at once."""
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        # Servers without keys still need a non-empty one in the header of the OpenAI client.
        return ChatOpenAI(model=cfg.model, base_url=cfg.base_url, api_key=cfg.api_key.get_secret_value() or "none",
                          timeout=cfg.timeout, max_retries=0, max_tokens=cfg.max_tokens,
                          temperature=cfg.temperature)
    if backend == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=cfg.model, base_url=cfg.base_url, temperature=cfg.temperature,
                          num_predict=cfg.max_tokens, client_kwargs={"timeout": cfg.timeout})
    raise ValueError(f"no chat model for answerer '{backend}'")


def reason(exc: BaseException, texts: dict[str, str], url: str, seconds: float) -> str:
    """What went wrong, for the notice shown with the fallback answer."""
    import httpx
    import openai

    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
        return texts["timeout"].format(seconds=seconds)
    if isinstance(exc, (openai.APIConnectionError, httpx.ConnectError, ConnectionError)):
        return texts["unreachable"].format(url=url)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        return texts["server"].format(detail=f"HTTP {status}")
    return texts["malformed"].format(detail=f"{type(exc).__name__}: {str(exc)[:160]}")


_DONE = object()


def bounded(start: Callable[[], Iterator[Any]], seconds: float, what: str) -> Iterator[Any]:
    """Yield what ``start()`` yields, but for at most ``seconds`` in all: a server that never sends a
    token, or a stream that never ends, raises LLMError(what) then (``what``: the reason to show). The
    stream runs in a worker thread; it is closed at its next token once the consumer has gone (its HTTP
    read timeout ends a silent one)."""
    if seconds <= 0:  # the budget went on earlier steps: no request is worth starting
        raise LLMError(what)
    items: queue.Queue[Any] = queue.Queue()
    gone = threading.Event()

    def work() -> None:
        stream: Iterator[Any] | None = None
        try:
            stream = start()
            for item in stream:
                if gone.is_set():
                    break
                items.put(item)
            items.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which decides
            items.put(exc)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    threading.Thread(target=work, name="articlebot-llm", daemon=True).start()
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LLMError(what)
            try:
                item = items.get(timeout=left)
            except queue.Empty:
                raise LLMError(what) from None
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        gone.set()
