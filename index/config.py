"""Settings of the index layer (a branch of the settings tree built in ``ui.settings``)."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, Field, field_validator


class EmbedSettings(BaseModel):
    # A pack name ("multilingual-e5-small", "all-minilm-l6-v2"), a local model folder, a hub name
    # (only where the hub is reachable) or "hash" (the deterministic fake, for tests).
    model: str = "multilingual-e5-small"
    backend: str = Field("onnx", description="onnx or torch")
    quantized: bool = Field(False, description="use the dynamically quantized int8 ONNX variant")
    threads: int = Field(1, ge=1, description="inference threads (1 is fastest on this class of machine)")
    batch_size: int = Field(16, ge=1)


class FetchSettings(BaseModel):
    """How pages, feeds, sitemaps and wikis are fetched (``index.sources.net``)."""

    # Hosts or networks (CIDR) that may be fetched although private, loopback or link-local (an internal
    # wiki). Set through ARTICLEBOT_FETCH_ALLOW_HOSTS (``ui.settings`` copies it here).
    allow_hosts: list[str] = Field(default_factory=list)
    timeout: float = Field(20.0, gt=0, description="seconds to connect, and between two reads")
    total_timeout: float = Field(120.0, gt=0, description="seconds for one whole response")
    max_redirects: int = Field(5, ge=0)
    per_host: int = Field(2, ge=1, description="requests in flight to one host at most")
    workers: int = Field(4, ge=1, description="requests in flight at most")
    user_agent: str = "articlebot/0.1 (article question answering; sync of feeds, sitemaps and wikis)"

    @field_validator("allow_hosts")
    @classmethod
    def _hosts_or_networks(cls, value: list[str]) -> list[str]:
        return hosts_or_networks(value)


def hosts_or_networks(value: list[str]) -> list[str]:
    """Host names, IP addresses and networks (CIDR); a typo fails at start-up ("10.0.0.0/33" would
    otherwise be taken for a host name)."""
    for entry in value:
        if "/" in entry or ":" in entry or entry.replace(".", "").isdigit():
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"'{entry}' is neither an IP address nor a network (CIDR)") from exc
        elif not re.fullmatch(r"[A-Za-z0-9.-]+", entry):
            raise ValueError(f"'{entry}' is not a host name")
    return value


class IndexSettings(BaseModel):
    chunk_size: int = Field(700, ge=100, description="target chunk size in characters")
    chunk_overlap: int = Field(150, ge=0, description="overlap between chunks in characters")
    max_file_mb: float = Field(10.0, gt=0, description="larger files are refused")
    collection: str = "articles"
    # Several articles' texts in one embedding call, sorted by length by the model: sentences are not
    # padded to the length of a chunk. 1 embeds each article alone.
    ingest_batch: int = Field(256, ge=1, description="texts embedded per call during an ingest")
    embed: EmbedSettings = EmbedSettings()
    fetch: FetchSettings = FetchSettings()
