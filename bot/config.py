"""Settings of the answering layer."""

from __future__ import annotations

from pydantic import BaseModel, Field

# Fitted by `scripts/fit_answerer.py fit train.pkl` on public training data (TyDi QA GoldP English,
# GermanQuAD, SQuAD v1.1 train machine-translated to German; README "Quality, measured"), never on
# ../shared/bench.
SCORE_WEIGHTS = {"lift": 1.0, "chunk_lift": 1.5, "lexical": 0.05, "type": 0.12}
CONFIDENCE_WEIGHTS = {"best": -0.638, "lift": 46.626, "chunk_lift": 36.09, "spread": -26.434, "names": 2.003,
                      "lexical": 5.008, "cross": 2.474, "small": 2.162}
MIN_SCORE = 4.949


class RetrievalSettings(BaseModel):
    mode: str = Field("hybrid", description="hybrid, dense or bm25")
    k: int = Field(5, ge=1, le=50, description="chunks handed to the answerer")
    fetch_k: int = Field(30, ge=1, description="candidates each retriever returns before fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant")
    dense_weight: float = Field(1.0, description="vote of the chunk vectors")
    sentence_weight: float = Field(1.0, description="vote of the sentence vectors (dense too)")
    bm25_weight: float = Field(0.5, description="vote of BM25 (same-language chunks only)")
    salience_rank: int = Field(100, ge=2, description="the crowd the best sentence is compared with")
    crowd: bool = Field(True, description="rank vector hits by their lift above their language's crowd")


class AnswerSettings(BaseModel):
    answerer: str = Field("extractive", description="extractive (no LLM)")
    # Further sentences are quoted only when they score within second_margin of the best.
    max_sentences: int = Field(3, ge=1, le=5)
    second_margin: float = 0.05
    # Sentence score = sum of weight x signal (bot/answer.py ExtractiveAnswerer.features): "lift" is the
    # sentence's cosine with the question above the crowd of its language (bot/crowd.py), "chunk_lift" its
    # chunk's, then the share of question words and of names/numbers it holds, a number where one is
    # wanted, and the previous sentence's lift. Fitted by scripts/fit_answerer.py on training data
    # (not ../shared/bench); see the README for the data and the command.
    score_weights: dict[str, float] = Field(default_factory=lambda: dict(SCORE_WEIGHTS))
    # Quotes from articles of different dates: the newest article's sentence leads when it scores within
    # date_tie of the best (both answer; the newer is the current word), and the answer says as of when.
    date_tie: float = Field(0.02, ge=0.0)
    preferred_bonus: float = Field(0.05, description="added to sentences of the page the question is asked from")
    # Don't-know: confidence = sum of weight x evidence (bot/answer.py evidence: the best score, lift and
    # chunk lift, how far the best lift stands above the others', names and words found); below
    # min_score the bot says the articles don't say. Fitted with the score weights.
    confidence_weights: dict[str, float] = Field(default_factory=lambda: dict(CONFIDENCE_WEIGHTS))
    min_score: float = MIN_SCORE


class BotSettings(BaseModel):
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
