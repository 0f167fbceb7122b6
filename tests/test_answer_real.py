"""The chain with the real multilingual model on the sample article: the issue's acceptance questions."""

from pathlib import Path

import pytest

from bot.config import BotSettings
from bot.service import Bot
from index.config import IndexSettings
from index.store import Library


@pytest.fixture(scope="module")
def bot(real_embedder, real_crowd, tmp_path_factory: pytest.TempPathFactory) -> Bot:  # type: ignore[no-untyped-def]
    from tests.conftest import SAMPLE_ARTICLE

    home = tmp_path_factory.mktemp("home")
    bot = Bot(Library(home, "articles", real_embedder.name), real_embedder, IndexSettings(), BotSettings(),
              real_crowd)
    assert [r.status for r in bot.ingest([str(SAMPLE_ARTICLE)])] == ["added"]
    return bot


@pytest.mark.parametrize("question", ["Who confirmed the attack?", "Qui a confirmé l'agression ?"])
def test_confirmation_is_quoted_verbatim_with_a_citation(bot: Bot, question: str):
    answer = bot.ask(question)
    assert not answer.abstained
    first = answer.sources[0]
    assert "Abdul Aziz Bek" in first.quote
    assert answer.answer.startswith(f"{first.quote} [1]")
    article = bot.articles()[0]
    assert first.quote in article.text  # verbatim: found as is in the article
    assert first.passage[first.quote_start:first.quote_end] == first.quote
    assert first.title == article.title and first.url == article.url


def test_top_chunk_for_the_english_question_holds_the_answer(bot: Bot):
    passages = bot.search("Who confirmed the attack?", k=3, mode="dense")
    assert "Abdul Aziz Bek" in passages[0].text


@pytest.mark.parametrize(("question", "needle"), [
    ("How much of the withdrawal had US forces completed?", "90 %"),
    ("Which buildings did the militants seize?", "siège de la police"),
    ("Where did the provincial council officials flee?", "camp militaire"),
])
def test_a_one_article_collection_answers_what_it_says_first(bot: Bot, question: str, needle: str):
    answer = bot.ask(question)
    assert not answer.abstained
    assert needle in answer.first_sentence()


def test_a_question_asked_from_an_unrelated_page_still_abstains(bot: Bot):
    url = bot.articles()[0].url
    answer = bot.ask("Who won the 2018 football World Cup?", page_url=url)
    assert answer.abstained and answer.sources == []


@pytest.mark.parametrize(("question", "reply"), [
    ("Who won the 2018 football World Cup?", "The articles don't say."),
    ("Qui a gagné la Coupe du monde de football 2018 ?", "Les articles ne le disent pas."),
])
def test_unrelated_question_gets_the_plain_dont_know(bot: Bot, question: str, reply: str):
    answer = bot.ask(question)
    assert answer.abstained and answer.answer == reply and answer.sources == []


def test_comment_form_is_never_quoted(bot: Bot):
    answer = bot.ask("Comment laisser un commentaire avec mon adresse e-mail ?")
    assert all("commentaire" not in s.quote.lower() for s in answer.sources)


def test_follow_up_quotes_what_addresses_it_and_lists_each_passage_once(bot: Bot):
    first = bot.ask("Who confirmed the attack?")
    history = [{"role": "user", "content": "Who confirmed the attack?"},
               {"role": "assistant", "content": first.answer}]
    answer = bot.ask("What did he say about the security officials?", history)
    assert answer.query == "Who confirmed the attack? What did he say about the security officials?"
    assert "responsables de la sécurité" in answer.answer
    assert len({(s.article_id, s.passage) for s in answer.sources}) == len(answer.sources)
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))


def test_demo_collection_answers_in_both_languages(real_embedder, real_crowd, tmp_path: Path):  # type: ignore[no-untyped-def]
    from ui.cli import DEMO_DIR

    bot = Bot(Library(tmp_path, "articles", real_embedder.name), real_embedder, IndexSettings(), BotSettings(),
              real_crowd)
    results = bot.ingest([str(DEMO_DIR)])
    assert len(results) >= 6 and {r.status for r in results} == {"added"}
    assert {a.language for a in bot.articles()} == {"en", "fr"}
    assert "Daniel Brandt" in bot.ask("Who confirmed that 120 residents had to leave?").answer
    assert "64 000" in bot.ask("Combien de visiteurs la bibliothèque a-t-elle accueillis l'an dernier ?").answer
    assert "64 000" in bot.ask("How many visitors did the library have last year?").answer  # en -> fr


@pytest.fixture(scope="module")
def mixed_bot(real_embedder, real_crowd, tmp_path_factory: pytest.TempPathFactory) -> Bot:  # type: ignore[no-untyped-def]
    """The demo collection (English and French articles on other topics) plus the sample article."""
    from tests.conftest import SAMPLE_ARTICLE
    from ui.cli import DEMO_DIR

    home = tmp_path_factory.mktemp("mixed")
    bot = Bot(Library(home, "articles", real_embedder.name), real_embedder, IndexSettings(), BotSettings(),
              real_crowd)
    assert {r.status for r in bot.ingest([str(DEMO_DIR), str(SAMPLE_ARTICLE)])} == {"added"}
    return bot


@pytest.mark.parametrize("question", ["Who confirmed the attack?", "Qui a confirmé l'agression ?"])
def test_in_a_mixed_collection_the_answer_comes_first(mixed_bot: Bot, question: str):
    answer = mixed_bot.ask(question)
    assert "Abdul Aziz Bek" in answer.first_sentence()
    assert answer.sources[0].quote == answer.first_sentence()


@pytest.mark.parametrize("scored", [True, False])
def test_a_sentence_hit_in_another_language_is_scored_by_its_chunk_vector_too(mixed_bot: Bot, scored: bool):
    """Two candidates per ranking, as if the collection were large: by raw cosine the nearest chunk vectors
    are the English demo articles'; the sentence search finds the French chunk that answers, which must then
    get the chunk vectors' vote too."""
    from bot.config import RetrievalSettings
    from bot.retrieve import rank

    question, needle = "What did the governor say?", "Hessamuddin Shams"
    cfg = RetrievalSettings(fetch_k=2, sentence_hits_by_chunk=scored)
    vector = mixed_bot.retriever.embedder.embed([question], "query")[0]
    with mixed_bot.library.reading():
        nearest = mixed_bot.library.dense_search(vector, cfg.fetch_k)
        hits = rank(mixed_bot.library, vector, question, "en", cfg, 3, "hybrid",
                    lift=mixed_bot.retriever.lifts(vector, "en"))
    assert all(needle not in h.chunk.text for h in nearest)  # the chunk vectors alone miss it
    assert (needle in hits[0].chunk.text) is scored
