"""Access to the texts in prompts.toml."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def _texts() -> dict[str, Any]:
    return tomllib.loads(resources.files("bot").joinpath("prompts.toml").read_text("utf-8"))


def text(key: str, lang: str = "en", **values: str) -> str:
    table = _texts()[key]
    return str(table.get(lang) or table["en"]).format(**values)


def follow_up_words() -> frozenset[str]:
    return frozenset(_texts()["follow_up"]["words"])


def table(key: str) -> dict[str, Any]:
    """A whole table of prompts.toml, e.g. the example-question patterns of every language."""
    return dict(_texts().get(key, {}))
