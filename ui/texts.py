"""Access to the web UI's texts in texts.toml."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _texts() -> dict[str, str]:
    return tomllib.loads(resources.files("ui").joinpath("texts.toml").read_text("utf-8"))


def text(key: str) -> str:
    return " ".join(_texts()[key].split())
