"""Example questions: made from the articles' own sentences, in their language, the asker's first."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import BotSettings
from bot.examples import example_questions, patterns, question_en, question_fr, question_from
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.records import ArticleRecord
from ui.cli import DEMO_DIR


@pytest.fixture(scope="module")
def demo_bot(tmp_path_factory: pytest.TempPathFactory) -> Bot:
    bot = Bot.open(tmp_path_factory.mktemp("examples"), IndexSettings(embed=EmbedSettings(model="hash")),
                   BotSettings())
    bot.ingest([str(DEMO_DIR)])
    return bot


def test_demo_questions_are_what_a_reader_would_ask(demo_bot: Bot) -> None:
    by_title = {a.title: question_from(a) for a in demo_bot.articles()}
    assert by_title == {
        "Flood warning issued as the River Avel rises after three days of rain": "Who issued an orange flood warning?",
        "Harbour bridge to close for six weeks of repairs": "What did the city council announce?",
        "Schoolchildren from Lenford win national robotics contest": "Who won the national junior robotics contest?",
        "Grève du tramway : trois lignes sur quatre à l'arrêt à Valrouge": "Qu’a affirmé Karim Benali\u00a0?",
        "La bibliothèque municipale de Kerbrat ouvrira le soir dès septembre": "Qu’a annoncé la mairie\u00a0?",
        "Le festival de jazz de Saint-Aubin annulé faute de financement": "Qu’ont annoncé ses organisateurs\u00a0?",
    }


def test_the_askers_language_comes_first(demo_bot: Bot) -> None:
    english = demo_bot.example_questions(4, "en")
    assert len(english) == 4 and all(q.endswith("?") for q in english)
    assert [q.startswith(("Who", "What")) for q in english] == [True, True, True, False]
    french = demo_bot.example_questions(3, "fr")
    assert all(q.startswith(("Qu", "Qui")) and q.endswith("\u00a0?") for q in french)


@pytest.mark.parametrize(("sentence", "question"), [
    ("Council engineer Maya Okafor said inspectors had found corrosion.", "What did Maya Okafor say?"),
    ("The deputy mayor, Tomas Reyes, confirmed that a ferry will run.", "What did Tomas Reyes confirm?"),
    ("The bridge will close for six weeks, the city council announced on Tuesday.",
     "What did the city council announce?"),
    ("The national weather service issued an orange flood warning for the Avel valley on Sunday.",
     "Who issued an orange flood warning?"),
    ("He said it was safe.", None),  # a pronoun names nobody
    ("Local shop owners are worried.", None),
])
def test_english_shapes(sentence: str, question: str | None) -> None:
    p = patterns("en")
    assert p is not None and question_en(sentence, p) == question


@pytest.mark.parametrize(("sentence", "question"), [
    ("Le chef du conseil provincial de Badghis, Abdul Aziz Bek, a confirmé l’agression.",
     "Qu’a confirmé Abdul Aziz Bek\u00a0?"),
    ("La bibliothèque restera ouverte jusqu'à 22 heures, a annoncé la mairie mardi.", "Qu’a annoncé la mairie\u00a0?"),
    ("Les talibans ont lancé mercredi un assaut contre une capitale provinciale en Afghanistan, alors que.",
     "Qui a lancé un assaut contre une capitale provinciale\u00a0?"),
    ("Il a indiqué que la bibliothèque avait accueilli 64 000 visiteurs.", None),
])
def test_french_shapes(sentence: str, question: str | None) -> None:
    p = patterns("fr")
    assert p is not None and question_fr(sentence, p) == question


def test_an_article_with_no_fitting_sentence_is_asked_about_by_title() -> None:
    record = ArticleRecord(id="a", title="Weather", source="x", url="", language="en", published="", author="",
                           ingested_at="2026-01-01", hash="h", chunks=1, text="It rained. Then it stopped.")
    spanish = replace(record, id="b", title="Lluvia", language="es", text="Llovió mucho.")
    assert example_questions([record, spanish], 4) == ["What is the article “Weather” about?",
                                                      "What is the article “Lluvia” about?"]
