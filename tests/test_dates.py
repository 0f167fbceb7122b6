"""Dates in answers: quotes from articles of different dates put the newest first and say as of when."""

from pathlib import Path

from bot.config import AnswerSettings, BotSettings
from bot.dates import day, newest_first
from bot.service import Bot
from bot.types import Passage
from index.config import EmbedSettings, IndexSettings


def passage(article_id: str, published: str) -> Passage:
    return Passage(chunk_id=f"{article_id}:0", article_id=article_id, text="x", start=0, end=1, rank=1, score=0.5,
                   by_chunk_vector=True, title=article_id, url="", language="en", published=published)


def test_newest_article_first_only_when_dates_differ():
    old, new, undated = passage("a", "2026-01-05"), passage("b", "2026-06-01T08:00:00Z"), passage("c", "")
    assert newest_first([old, new, old], [0.50, 0.49, 0.40], 0.02) == ([1, 0, 2], "2026-06-01")
    assert newest_first([old, new], [0.50, 0.40], 0.02) == ([0, 1], "")  # the older answers clearly better
    assert newest_first([old, old], [0.5, 0.5], 0.02) == ([0, 1], "")  # one article
    assert newest_first([old, undated], [0.5, 0.5], 0.02) == ([0, 1], "")  # one date known
    assert newest_first([passage("d", "2026-01-05"), old], [0.5, 0.5], 0.02) == ([0, 1], "")  # the same date
    assert day("Mon, 01 Jun 2026") == "" and day(" 2026-06-01T08:00:00Z") == "2026-06-01"


def test_an_answer_from_two_dated_articles_says_as_of_the_newer(tmp_path: Path):
    bot = Bot.open(tmp_path, IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings(answer=AnswerSettings(min_score=-100.0, second_margin=100.0, date_tie=100.0)))
    try:
        bot.add_text("School plans in January", "The new Riverside school will open to 400 pupils next year, "
                     "the council said in January.", url="https://news.example.org/school-jan",
                     published="2026-01-05")
        bot.add_text("School plans in June", "The new Riverside school will open to 450 pupils next year, "
                     "the council said in June.", url="https://news.example.org/school-june",
                     published="2026-06-01T08:00:00Z")
        answer = bot.ask("How many pupils will the new Riverside school open to?")
        assert not answer.abstained and answer.answer.startswith("As of 2026-06-01: The new Riverside school will "
                                                                 "open to 450 pupils")
        assert [s.published[:10] for s in answer.sources] == ["2026-06-01", "2026-01-05"]
        assert answer.sources[0].url == "https://news.example.org/school-june"
    finally:
        bot.library.close()
