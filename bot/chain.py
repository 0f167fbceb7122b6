"""The answering chain (LangChain runnables): condense the follow-up -> retrieve -> answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from bot.answer import Answerer
from bot.messages import follow_up_words
from bot.retrieve import HybridRetriever
from bot.types import Retrieval
from index.lang import detect

Turn = dict[str, str]  # {"role": "user"|"assistant", "content": ...}


def normalize_history(history: Sequence[Any] | None) -> list[Turn]:
    """Accept OpenAI-style messages or (user, assistant) pairs; drop anything else."""
    turns: list[Turn] = []
    for item in history or []:
        if isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            content = item.get("content")
            if isinstance(content, str):
                turns.append({"role": item["role"], "content": content})
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            user, bot = item
            if isinstance(user, str):
                turns.append({"role": "user", "content": user})
            if isinstance(bot, str):
                turns.append({"role": "assistant", "content": bot})
    return turns


def condense(question: str, history: Sequence[Turn]) -> str:
    """A standalone question to search for. Without an LLM, a follow-up (pronouns, "and ...",
    very short) is searched together with the previous question it depends on."""
    previous = [t["content"] for t in history if t["role"] == "user"]
    if not previous:
        return question
    words = re.findall(r"\w+", question.lower())
    if len(words) > 3 and not (set(words) & follow_up_words()):
        return question
    return f"{previous[-1].strip()} {question.strip()}"


def already_said(x: dict[str, Any]) -> list[str]:
    """For a follow-up, the previous answer: "what did he say next?" should not repeat it."""
    if x["query"] == x["question"]:
        return []
    answers = [t["content"] for t in normalize_history(x.get("history")) if t["role"] == "assistant"]
    return answers[-1:]


def build_chain(retriever: HybridRetriever, answerer: Answerer) -> Runnable:
    """Input: {"question", "history"?, "k"?, "prefer"?}. Output: bot.types.Answer."""

    def retrieve(x: dict[str, Any]) -> Retrieval:
        return retriever.retrieve(x["query"], k=x.get("k"), prefer_article=x.get("prefer"))

    # Plain lambdas, not RunnablePassthrough.assign: that runs its steps on a new thread pool per question,
    # which costs more than these steps under many concurrent questions.
    return (
        RunnableLambda(lambda x: {**x, "query": condense(x["question"], normalize_history(x.get("history"))),
                                  "lang": detect(x["question"])}, name="condense")
        | RunnableLambda(lambda x: {**x, "retrieval": retrieve(x)}, name="retrieve")
        | RunnableLambda(lambda x: answerer.answer(x["question"], x["query"], x["retrieval"], x["lang"],
                                                   already_said(x)))
    ).with_config(run_name="articlebot")
