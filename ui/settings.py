"""The one settings tree. Built once at the entry point and passed down.

Environment: ``ARTICLEBOT_HOME``, ``ARTICLEBOT_API_KEYS``, ``ARTICLEBOT_ALLOWED_ORIGINS`` and nested
keys with ``__``, e.g. ``ARTICLEBOT_INDEX__EMBED__MODEL=all-minilm-l6-v2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.config import BotSettings
from index.config import IndexSettings, hosts_or_networks
from ui.ratelimit import parse_limit


def default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("articlebot", appauthor=False))


class ServeSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 7860
    max_request_kb: int = Field(1024, ge=1, description="largest request body accepted by the API")
    # The web UI's admin sign-in (besides an API key); also a page login when reads need a key.
    ui_user: str = ""
    # The path prefix a reverse proxy serves us under (e.g. "/bot"), for the links the pages make.
    root_path: str = ""
    ui_password: str = ""
    # Per client (IP address), for the API and the web UI alike: "N/second|minute|hour|day", "" = none.
    rate_limit_ask: str = Field("60/minute", description="questions per client")
    rate_limit_write: str = Field("30/minute", description="article changes per client")
    # How much lower the CPU priority of the thread that embeds and writes articles is (0-19, Linux's nice
    # steps), so that questions asked during an upload keep the cores; 0: writes run at normal priority.
    writer_nice: int = Field(10, ge=0, le=19, description="CPU priority steps below questions for writes")

    @field_validator("rate_limit_ask", "rate_limit_write")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        parse_limit(value)  # a typo fails at start-up, not at the first request
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARTICLEBOT_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default_factory=default_home, description="the data directory")
    # A Chroma server (`chroma run --path DIR --host H --port P`) shared by every replica and the CLI;
    # empty: the embedded store under home, which one process at a time may write.
    chroma_url: str = Field("", description="e.g. http://127.0.0.1:8000")
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Keys that may only read (ask, list): safe to put in a wiki page's widget tag.
    read_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    require_key_for_read: bool = False
    # Private, loopback or link-local hosts or networks (CIDR) that sync and ingest may fetch (an internal
    # wiki); everything else must be public. Passed down as ``index.fetch.allow_hosts``.
    fetch_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    index: IndexSettings = IndexSettings()
    bot: BotSettings = BotSettings()
    serve: ServeSettings = ServeSettings()
    # The answerer and its model server under flat names (ARTICLEBOT_ANSWERER, ARTICLEBOT_LLM_BASE_URL,
    # ..._MODEL, ..._API_KEY, ..._TIMEOUT); they land in bot.answer and bot.llm, which the Bot reads.
    answerer: Literal["extractive", "openai", "ollama"] | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _llm_into_bot(self) -> Settings:
        llm = {k: v for k, v in {"base_url": self.llm_base_url, "model": self.llm_model,
                                 "api_key": self.llm_api_key, "timeout": self.llm_timeout}.items() if v is not None}
        answer = {"answerer": self.answerer} if self.answerer is not None else {}
        self.bot = self.bot.model_copy(update={"llm": self.bot.llm.model_copy(update=llm),
                                               "answer": self.bot.answer.model_copy(update=answer)})
        if self.bot.answer.answerer != "extractive" and not (self.bot.llm.base_url and self.bot.llm.model):
            raise ValueError(f"ARTICLEBOT_ANSWERER={self.bot.answer.answerer} needs ARTICLEBOT_LLM_BASE_URL and "
                             "ARTICLEBOT_LLM_MODEL (README: Generative answers), or ARTICLEBOT_ANSWERER=extractive")
        return self

    @field_validator("api_keys", "read_keys", "allowed_origins", "fetch_allow_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("fetch_allow_hosts")
    @classmethod
    def _hosts_or_networks(cls, value: list[str]) -> list[str]:
        return hosts_or_networks(value)

    @model_validator(mode="after")
    def _fetch_allow_hosts_down(self) -> Settings:
        if self.fetch_allow_hosts:
            fetch = self.index.fetch.model_copy(
                update={"allow_hosts": [*self.index.fetch.allow_hosts, *self.fetch_allow_hosts]})
            self.index = self.index.model_copy(update={"fetch": fetch})
        return self
