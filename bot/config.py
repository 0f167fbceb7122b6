"""Settings of the answering layer."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

# The confidence rule (CONFIDENCE_WEIGHTS, MIN_SCORE) was fitted by `scripts/fit_answerer.py fit train.pkl
# train-xl.pkl`, the sentence score (SCORE_WEIGHTS) by `fit train3.pkl --features
# lift,chunk_lift,lexical,names,type,kind,previous`, on public training data only (TyDi QA GoldP English train
# and Arabic, Finnish, Indonesian, Korean, Russian dev; GermanQuAD; two SQuAD v1.1 train articles in English
# and machine-translated to German; README "Quality, measured"), never on ../shared/bench. Refits of the
# confidence rule on train2/train3 were tried and not kept (README).
SCORE_WEIGHTS = {"lift": 1.0, "chunk_lift": 1.5, "lexical": 0.05, "type": 0.03, "kind": 0.06}
CONFIDENCE_WEIGHTS = {"best": 5.074, "lift": 36.789, "chunk_lift": 38.497, "spread": -6.642, "names": 1.899,
                      "lexical": 2.821, "cross": 3.453, "small": 2.287, "level": 86.231}
MIN_SCORE = 73.252


@cache
def _pair_bonus() -> dict[str, float]:
    return tomllib.loads(resources.files("bot").joinpath("languages.toml").read_text("utf-8"))["cross_language_bonus"]


class RetrievalSettings(BaseModel):
    mode: str = Field("hybrid", description="hybrid, dense or bm25")
    k: int = Field(5, ge=1, le=50, description="chunks handed to the answerer")
    fetch_k: int = Field(30, ge=1, description="candidates each retriever returns before fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant")
    dense_weight: float = Field(1.0, description="vote of the chunk vectors")
    sentence_weight: float = Field(1.0, description="vote of the sentence vectors (dense too)")
    bm25_weight: float = Field(0.5, description="vote of BM25 (same-language chunks only)")
    crowd: bool = Field(True, description="rank vector hits by their lift above their language's crowd")
    chunk_hits_by_sentence: bool = Field(True, description="in a collection of several languages, the sentence "
                                                           "ranking also scores the chunk-vector hits")
    sentence_hits_by_chunk: bool = Field(True, description="in a collection of several languages, the chunk "
                                                            "ranking also scores the sentence hits")
    # The same content reads less similar across languages than the crowds' levels account for; the rest is
    # added back to chunks in another language: per pair of languages as measured on parallel text
    # (bot/languages.toml, scripts/measure_languages.py), else cross_language_bonus. That one was measured on
    # 614 SQuAD-train questions and their paragraphs in English and machine-translated German (training
    # data, README "Quality, measured").
    cross_language_bonus: float = Field(0.024, description="added to the lift of chunks in another language "
                                                           "than the question's, for pairs pair_bonus lacks")
    pair_bonus: dict[str, float] = Field(default_factory=lambda: dict(_pair_bonus()),
                                         description='per "question>passage" language pair, e.g. "en>de"')


class AnswerSettings(BaseModel):
    # extractive: quotes, no LLM (offline). openai / ollama: a chat model writes the answer (LLMSettings),
    # every citation checked (bot/citations.py); the extractive answer is the fallback.
    answerer: Literal["extractive", "openai", "ollama"] = "extractive"
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
    # chunk lift, how far the best lift stands above the others', names and words found, the crowd's level
    # for the best sentence's language); below min_score the bot says the articles don't say. Fitted with
    # the score weights.
    confidence_weights: dict[str, float] = Field(default_factory=lambda: dict(CONFIDENCE_WEIGHTS))
    min_score: float = MIN_SCORE
    # The evidence "small": in a collection of fewer sentences the best of them scores lower by chance.
    small_collection: int = Field(300, ge=0, description="sentences below which a collection counts as small")


class LLMSettings(BaseModel):
    """The chat model server of the generative answerers (ARTICLEBOT_LLM_* in ui/settings.py)."""

    base_url: str = Field("", description="OpenAI-compatible: http://HOST:PORT/v1; Ollama: http://HOST:11434")
    model: str = Field("", description="the model name the server knows")
    api_key: SecretStr = Field(SecretStr(""), description="for servers that want one (OpenAI); else empty")
    # The whole answer (condensing, first token, every token) gets this long; then the extractive answer.
    timeout: float = Field(30.0, gt=0, description="seconds an answer may take before the fallback")
    max_tokens: int = Field(400, ge=16, description="longest answer generated")
    temperature: float = Field(0.0, ge=0, le=2)
    # Citation check: a claim is supported by the passage it cites when its lift (best cosine with one of
    # the passage's sentences, above the crowd of the passage's language) reaches min_lift (min_lift_cross
    # when the claim and the passage differ in language: cross-language cosines run lower), or its content
    # words overlap the passage's by min_overlap; and, either way, every number it states is in the passage.
    # On claims about the demo articles: true ones 0.07-0.12 in the passage's language, 0.003-0.07 across
    # languages; claims citing another article -0.044 to 0.006.
    min_lift: float = Field(0.05, description="support: claim-to-passage-sentence lift, same language")
    min_lift_cross: float = Field(0.0, description="support: the same across languages")
    min_overlap: float = Field(0.6, ge=0, le=1, description="support: share of the claim's words in the passage")


class BotSettings(BaseModel):
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
