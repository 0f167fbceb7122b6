"""The Bot facade with the fake embedder: search shares ask's input checks."""

from pathlib import Path

import pytest

from bot.config import BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.errors import InputError


def test_search_returns_passages_with_their_article_and_refuses_empty_queries(tmp_path: Path,
                                                                               sample_article: Path):
    bot = Bot.open(tmp_path, IndexSettings(embed=EmbedSettings(model="hash")), BotSettings())
    bot.ingest([str(sample_article)])
    docs = bot.search("Abdul Aziz Bek a confirmé l'agression", k=2)
    assert len(docs) == 2 and "Abdul Aziz Bek" in docs[0].page_content
    assert {d.metadata["title"] for d in docs} == {bot.articles()[0].title}
    with pytest.raises(InputError, match="query is empty"):
        bot.search("   ")
    with pytest.raises(InputError, match="question is too long"):
        bot.ask("x" * 2001)
    assert bot.example_questions(2) == ["Who is Bismillah Khan Mohammadi?", "Who is Hessamuddin Shams?"]


def test_answers_use_the_sentence_vectors_stored_at_ingest(tmp_path: Path, sample_article: Path):
    from index.embed import HashEmbedder
    from index.store import Library

    class Counting(HashEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.passages = 0

        def embed(self, texts, kind):  # type: ignore[no-untyped-def]
            self.passages += len(texts) if kind == "passage" else 0
            return super().embed(texts, kind)

    embedder = Counting()
    bot = Bot(Library(tmp_path, "articles", embedder.name), embedder, IndexSettings(),
              BotSettings(answer={"min_score": -10}))
    bot.ingest([str(sample_article)])
    embedded = embedder.passages
    answer = bot.ask("Abdul Aziz Bek a confirmé l'agression")
    assert "Abdul Aziz Bek" in answer.answer and embedder.passages == embedded  # nothing re-embedded


def test_confidence_adds_the_salience_or_its_prior_where_the_collection_is_too_small():
    import numpy as np

    from bot.answer import confidence
    from bot.config import AnswerSettings

    cfg = AnswerSettings()
    f = {"sentence": np.array([0.8, 0.7]), "chunk": np.array([0.75, 0.7]), "dense": np.array([0.75, 0.7]),
         "names": np.zeros(2), "salience": np.full(2, np.nan)}
    small = confidence(cfg, f, np.zeros(2))
    measured = confidence(cfg, {**f, "salience": np.full(2, 0.15)}, np.zeros(2))
    assert measured - small == pytest.approx(cfg.c_salience * (0.15 - cfg.salience_prior))
    # A question whose best sentence stands out is answered; the same one amid a flat crowd is not.
    assert confidence(cfg, {**f, "salience": np.full(2, 0.12)}, np.zeros(2)) >= cfg.min_score
    assert confidence(cfg, {**f, "salience": np.full(2, 0.02)}, np.zeros(2)) < cfg.min_score
