"""The generative answerer: a chat model writes the answer from the retrieved passages, then every
citation is checked (bot/citations.py).

The chain (LangChain runnables): condense a follow-up into a standalone question (by the model; the rule
of bot/chain.py when it fails) -> hybrid retrieval -> the extractive answer (the fallback, and the quote
offered with a don't-know) -> prompt -> chat model, streamed -> citation check. Its stream yields the
model's tokens, then the checked Answer. Within ``LLMSettings.timeout`` in all, or the extractive answer
with a notice.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import tomllib
from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda, RunnablePassthrough

from bot import messages
from bot.answer import ExtractiveAnswerer
from bot.chain import already_said, condense, normalize_history
from bot.citations import Checked, CitationChecker, strip_citations
from bot.config import LLMSettings
from bot.llm import bounded, reason
from bot.retrieve import HybridRetriever
from bot.types import Answer, Passage, Retrieval
from index.errors import LLMError
from index.lang import detect

log = logging.getLogger(__name__)
HISTORY_TURNS = 6  # turns shown to the model to condense a follow-up


@lru_cache(maxsize=1)
def texts() -> dict[str, Any]:
    return tomllib.loads(resources.files("bot").joinpath("generative.toml").read_text("utf-8"))


def language_name(lang: str) -> str:
    return str(texts()["languages"].get(lang, lang))


def _quoted(text: str) -> str:
    """Passage text cannot close its own delimiters."""
    return text.replace("<<<", "‹‹‹").replace(">>>", "›››")


def passages_block(passages: Sequence[Passage]) -> str:
    """The numbered passages, each with its title, date and language, between markers."""
    template = texts()["answer"]["passage"]
    return "\n\n".join(template.format(n=n, title=_quoted(p.title), date=p.published or p.ingested_at[:10] or "?",
                                       language=language_name(p.language), text=_quoted(p.text.strip()))
                       for n, p in enumerate(passages, 1))


def answer_prompt() -> ChatPromptTemplate:
    t = texts()["answer"]
    return ChatPromptTemplate.from_messages([("system", t["system"]), ("human", t["human"])])


def condense_prompt() -> ChatPromptTemplate:
    t = texts()["condense"]
    return ChatPromptTemplate.from_messages([("system", t["system"]), ("human", t["human"])])


def conversation(history: Sequence[dict[str, str]]) -> str:
    lines = [f"{'User' if t['role'] == 'user' else 'Assistant'}: {strip_citations(t['content'])}"
             for t in history[-HISTORY_TURNS:]]
    return "\n".join(lines)


def standalone(text: str) -> str:
    """The model's rewrite, checked: one line, a sensible length; else ValueError (the rule takes over)."""
    lines = [line.strip().strip("\"'“”«» ") for line in text.strip().splitlines() if line.strip()]
    line = re.sub(r"^(standalone question|question)\s*:\s*", "", lines[0], flags=re.IGNORECASE) if lines else ""
    if not 3 <= len(line) <= 500:
        raise ValueError(f"not a standalone question: {text[:80]!r}")
    return line


def remaining(x: dict[str, Any]) -> float:
    return float(x["deadline"]) - time.monotonic()


class GenerativeAnswerer:
    def __init__(self, model: BaseChatModel, cfg: LLMSettings, checker: CitationChecker) -> None:
        self.model = model
        self.cfg = cfg
        self.checker = checker
        self.rewrite: Runnable = condense_prompt() | model | StrOutputParser() | RunnableLambda(standalone)
        self.write: Runnable = answer_prompt() | model | StrOutputParser()

    # -- condense ---------------------------------------------------------------------------------
    def condense(self, x: dict[str, Any]) -> str:
        """The standalone question: the question itself without history; by the model with one; by the
        rule when the model fails or is too slow."""
        history = normalize_history(x.get("history"))
        if not any(t["role"] == "user" for t in history):
            return str(x["question"])
        inputs = {"conversation": conversation(history), "question": x["question"]}
        try:
            return str(next(iter(bounded(lambda: iter([self.rewrite.invoke(inputs)]), remaining(x),
                                         "no standalone question in time"))))
        except Exception as exc:  # any failure of the model: the rule still finds the previous question
            log.info("follow-up condensed by the rule: %s", exc)
            return condense(x["question"], history)

    # -- answer -----------------------------------------------------------------------------------
    def transform(self, inputs: Iterator[dict[str, Any]]) -> Iterator[str | Answer]:
        """A streamed input comes in parts (the passthrough, then each assigned key): merged first."""
        x: dict[str, Any] = {}
        for part in inputs:
            x.update(part)
        yield from self.generate(x)

    def generate(self, x: dict[str, Any]) -> Iterator[str | Answer]:
        """The model's tokens as they come, then the checked Answer (or the fallback with a notice)."""
        retrieval: Retrieval = x["retrieval"]
        if not retrieval.passages:
            yield x["quoted"]  # nothing to write from: the extractive don't-know
            return
        lang = x["lang"]
        inputs = {"passages": passages_block(retrieval.passages), "question": x["query"],
                  "language": language_name(lang), "dont_know": messages.text("dont_know", lang)}
        why = texts()["reason"]
        written: list[str] = []
        try:
            for token in bounded(lambda: self.write.stream(inputs), remaining(x),
                                 why["timeout"].format(seconds=self.cfg.timeout)):
                written.append(token)
                yield token
            text = "".join(written).strip()
            if not text:
                raise LLMError(why["empty"])
        except Exception as exc:  # whatever the server or the client library did: the quotes instead
            known = isinstance(exc, LLMError)
            detail = exc.message if known else reason(exc, why, self.cfg.base_url, self.cfg.timeout)
            log.warning("answering with quotes: %s", detail, exc_info=not known)
            yield self.fallback(x["quoted"], detail)
            return
        yield self.checked(x, text)

    def fallback(self, quoted: Answer, why: str) -> Answer:
        notice = texts()["notice"]["fallback"].format(reason=why)
        return dataclasses.replace(quoted, note=notice)

    def checked(self, x: dict[str, Any], text: str) -> Answer:
        lang, passages = x["lang"], x["retrieval"].passages
        # The claims are compared in the language they are written in (the prompt asks for the question's).
        written_in = detect(strip_citations(text), lang) if sum(ch.isalpha() for ch in text) >= 20 else lang
        dont_know = [messages.text("dont_know", code) for code in (lang, written_in, "en")]
        result = self.checker.check(text, passages, written_in, dont_know)
        if not result.supported:
            return self.dont_know(x, result)
        notes = [texts()["notice"]["marked"]] if result.marked else []
        if written_in != lang:
            notes.append(texts()["notice"]["language"].format(answer_language=language_name(written_in),
                                                                language=language_name(lang)))
        return Answer(result.text, False, result.sources, x["query"], x["question"], " ".join(notes), result.checks)

    def dont_know(self, x: dict[str, Any], result: Checked) -> Answer:
        """No sentence backed by its passages: the articles don't say; the best quote is offered."""
        said = messages.text("dont_know", x["lang"])
        quoted: Answer = x["quoted"]
        if quoted.abstained:
            return Answer(said, True, [], x["query"], x["question"], checks=result.checks)
        text = f"{said} {texts()['notice']['closest']} {quoted.answer}"
        return Answer(text, True, quoted.sources, x["query"], x["question"], checks=result.checks)


def build_generative_chain(retriever: HybridRetriever, extractive: ExtractiveAnswerer,
                           generative: GenerativeAnswerer) -> Runnable:
    """Input: {"question", "history"?, "k"?, "prefer"?, "deadline"} (``deadline``: time.monotonic() by which
    the answer must be complete). Its stream: str tokens, then the Answer."""

    def retrieve(x: dict[str, Any]) -> Retrieval:
        return retriever.retrieve(x["query"], k=x.get("k"), prefer_article=x.get("prefer"))

    def quote(x: dict[str, Any]) -> Answer:
        return extractive.answer(x["question"], x["query"], x["retrieval"], x["lang"], already_said(x))

    return (
        RunnablePassthrough.assign(query=RunnableLambda(generative.condense),
                                   lang=RunnableLambda(lambda x: detect(x["question"])))
        | RunnablePassthrough.assign(retrieval=RunnableLambda(retrieve))
        | RunnablePassthrough.assign(quoted=RunnableLambda(quote))
        | RunnableGenerator(generative.transform)
    ).with_config(run_name="articlebot-generative")
