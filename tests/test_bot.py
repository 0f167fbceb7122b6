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
