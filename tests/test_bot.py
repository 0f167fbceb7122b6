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
