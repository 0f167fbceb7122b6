"""Settings of the answering layer."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetrievalSettings(BaseModel):
    mode: str = Field("hybrid", description="hybrid, dense or bm25")
    k: int = Field(5, ge=1, le=50, description="chunks handed to the answerer")
    fetch_k: int = Field(30, ge=1, description="candidates each retriever returns before fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant")
    dense_weight: float = 1.0
    bm25_weight: float = 0.5


class AnswerSettings(BaseModel):
    answerer: str = Field("extractive", description="extractive (no LLM)")
    max_sentences: int = Field(2, ge=1, le=5)
    # A second sentence is quoted only when it scores within this margin of the best one.
    second_margin: float = 0.02
    # Sentence score = w_sentence*cos(query, sentence) + w_chunk*cos(query, chunk)
    #                  + w_lexical*(share of question words in the sentence) + w_preferred*(on this page)
    w_sentence: float = 1.0
    w_chunk: float = 0.5
    w_lexical: float = 0.2
    w_preferred: float = 0.05
    # Calibrated on ../shared/bench/dev (see README): below it the bot says the articles don't say.
    min_score: float = 1.2


class BotSettings(BaseModel):
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
