"""The Bot facade with the fake embedder: search shares ask's input checks."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.config import BotSettings
from bot.service import Bot
from index.config import EmbedSettings, IndexSettings
from index.errors import InputError


def test_search_returns_passages_with_their_article_and_refuses_empty_queries(tmp_path: Path,
                                                                               sample_article: Path):
    bot = Bot.open(tmp_path, IndexSettings(embed=EmbedSettings(model="hash")), BotSettings())
    bot.ingest([str(sample_article)])
    passages = bot.search("Abdul Aziz Bek a confirmé l'agression", k=2)
    assert len(passages) == 2 and "Abdul Aziz Bek" in passages[0].text
    assert {p.title for p in passages} == {bot.articles()[0].title}
    with pytest.raises(InputError, match="query is empty"):
        bot.search("   ")
    with pytest.raises(InputError, match="question is too long"):
        bot.ask("x" * 2001)
    # One question per article, made from its first sentence that names who did something (bot.examples).
    assert bot.example_questions(2) == ["Qui a lancé un assaut contre une capitale provinciale\u00a0?"]


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


def test_the_crowd_is_built_once_per_model_and_language_then_read_from_disk(tmp_path: Path):
    import numpy as np

    from bot.crowd import SIZE, TOP, Crowd, crowd_sentences
    from index.embed import HashEmbedder

    class Counting(HashEmbedder):
        calls = 0

        def embed(self, texts, kind):  # type: ignore[no-untyped-def]
            Counting.calls += 1
            return super().embed(texts, kind)

    french = crowd_sentences("fr")
    assert len(french) == SIZE and french == crowd_sentences("fr")  # the same every time
    import wordfreq

    vocabulary = set(wordfreq.top_n_list("fr", 3000))
    assert all(w in vocabulary for s in french for w in s.rstrip(".").lower().split())  # frequent French words
    embedder = Counting()
    crowd = Crowd(embedder, tmp_path)
    crowd.warm(["fr", "en", "fr"])
    assert Counting.calls == 2 and len(list(tmp_path.glob("crowd-*.npy"))) == 2
    again = Crowd(embedder, tmp_path)
    query = embedder.embed(["Qui a confirmé l'agression ?"], "query")[0]
    assert again.level(query, "fr") == pytest.approx(np.mean(np.sort(again.vectors("fr") @ query)[-TOP:]))
    assert Counting.calls == 3  # the query only: the crowd came from disk
    crowd.vectors("xx")  # a language without word lists gets the pooled crowd, not an error


def test_dont_know_weighs_evidence_that_ignores_the_page_preference():
    import numpy as np

    from bot.answer import combine, confidence, evidence
    from bot.config import AnswerSettings

    cfg = AnswerSettings(score_weights={"lift": 1.0}, confidence_weights={"best": 1.0}, preferred_bonus=0.5,
                         min_score=0.1)
    f = {"sentence": np.array([0.85, 0.82]), "lift": np.array([0.05, 0.02]), "chunk_lift": np.array([0.01, 0.0]),
         "names": np.zeros(2),
         "lexical": np.zeros(2), "preferred": np.array([1.0, 0.0]), "same_lang": np.ones(2),
         "small": np.zeros(2)}
    scores = combine(cfg, f)
    assert scores[0] == pytest.approx(0.55)  # the page's sentence comes first ...
    assert evidence(cfg, f, scores)["best"] == pytest.approx(0.05)  # ... but is no evidence that it answers
    assert confidence(cfg, f, scores) < cfg.min_score


def test_a_chunk_in_another_language_gets_back_its_pairs_measured_drop():
    """The lift of a chunk in another language adds that pair's bonus (bot/languages.toml), the default for a
    pair not measured, and nothing in the question's own language."""
    import numpy as np

    from bot.config import RetrievalSettings
    from bot.retrieve import HybridRetriever

    class Library:
        def live(self, article_id: str) -> SimpleNamespace:  # the record's language is all a lift reads
            return SimpleNamespace(language=article_id.split("_")[0])

    class FlatCrowd:
        def level(self, vector: np.ndarray, lang: str) -> float:
            return 0.25

    settings = RetrievalSettings()
    assert settings.pair_bonus["en>fr"] != settings.pair_bonus["en>de"]  # measured per pair
    retriever = HybridRetriever(library=Library(), embedder=None, settings=settings, crowd=FlatCrowd())
    lift = retriever.lifts(np.zeros(3), "en")
    assert lift is not None
    assert lift("en_a-0000", 0.5) == pytest.approx(0.25)
    assert lift("de_a-0000", 0.5) == pytest.approx(0.25 + settings.pair_bonus["en>de"])
    assert lift("fr_a-0000", 0.5) == pytest.approx(0.25 + settings.pair_bonus["en>fr"])
    assert lift("xx_a-0000", 0.5) == pytest.approx(0.25 + settings.cross_language_bonus)
