"""``POST /api/v1/sources``: sync feeds, sitemaps, pages and wikis from the API (admin key).

A sync can take minutes, so it runs as a job: the POST answers 202 with the job, whose progress and,
once done, reports are read at ``GET /api/v1/sources/jobs/{id}``. One sync runs at a time (a second is
refused with 409 naming the running one). Jobs live in this process's memory: behind several replicas,
ask the replica that started it (or run `articlebot sync` from cron).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, Response, params, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.errors import ArticlebotError, ConflictError, NotFoundError
from index.sources.net import is_url

if TYPE_CHECKING:
    from bot.service import Bot
    from index.sources.sync import SyncReport

log = logging.getLogger(__name__)


class SourcesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"sources": ["https://wiki.example.org/w/api.php", "https://news.example.org/feed.xml"],
                      "prune": False}]})
    sources: list[str] = Field(min_length=1, max_length=50,
                               description="feed, sitemap or page URLs, or a wiki's api.php")
    prune: bool = Field(False, description="delete the articles a sitemap or wiki no longer lists")
    namespaces: list[int] = Field(default_factory=lambda: [0], min_length=1, max_length=20,
                                  description="wiki namespaces to read (0: the articles)")

    @field_validator("sources")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for source in value:
            if not is_url(source) or len(source) > 2000:
                raise ValueError(f"'{source[:100]}' is not an http(s) address")
        return value


class SyncResultOut(BaseModel):
    source: str
    status: Literal["added", "updated", "unchanged", "duplicate", "skipped", "failed", "removed"]
    article_id: str
    title: str
    chunks: int
    reason: str


class SyncReportOut(BaseModel):
    source: str
    kind: str = Field(description="page, feed, sitemap, sitemap index or mediawiki ('' when it could not be read)")
    counts: dict[str, int]
    requests: int = Field(description="HTTP requests sent")
    unlisted: int = Field(description="articles the source no longer lists, kept (prune deletes them)")
    note: str
    results: list[SyncResultOut]


class JobOut(BaseModel):
    id: str
    status: Literal["running", "done", "failed"]
    progress: float = Field(description="0 to 1")
    message: str = Field(description="what the job is at, or why it failed")
    reports: list[SyncReportOut] = Field(default_factory=list, description="one per source, once done")


class Job:
    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.status = "running"
        self.progress = 0.0
        self.message = "starting"
        self.reports: list[SyncReport] = []

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "progress": round(self.progress, 3),
                "message": self.message, "reports": [r.to_json() for r in self.reports]}


class SyncJobs:
    """The jobs of this process, newest last (the last 20 are kept)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def start(self, body: SourcesIn) -> Job:
        with self.lock:
            running = next((j for j in self.jobs.values() if j.status == "running"), None)
            if running is not None:
                raise ConflictError(f"A sync is already running (job {running.id}).",
                                    f"Wait for it: GET /api/v1/sources/jobs/{running.id}.")
            job = Job(uuid.uuid4().hex[:12])
            self.jobs[job.id] = job
            while len(self.jobs) > 20:
                self.jobs.pop(next(iter(self.jobs)))
        threading.Thread(target=self._run, args=(job, body.sources, body.prune, body.namespaces),
                         name=f"sync-{job.id}", daemon=True).start()
        return job

    def _run(self, job: Job, sources: Sequence[str], prune: bool, namespaces: Sequence[int]) -> None:
        def progress(message: str, fraction: float) -> None:
            job.message, job.progress = message, fraction

        try:
            job.reports = self.bot.sync(sources, prune, namespaces, progress=progress)
            job.status, job.progress, job.message = "done", 1.0, "; ".join(r.summary() for r in job.reports)
        except ArticlebotError as exc:
            job.status, job.message = "failed", str(exc)
        except Exception as exc:
            log.exception("sync job %s failed", job.id)
            job.status, job.message = "failed", f"{type(exc).__name__}: {exc} (see the server log)"

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"No sync job '{job_id}' in this process.",
                                "Jobs are kept in memory: the last 20, until the server restarts.")
        return job


def add_source_routes(app: FastAPI, bot: Bot, admin: list[params.Depends], writes: list[params.Depends],
                      errors: dict[int | str, Any]) -> None:
    """``admin``: the key check; ``writes``: it and the write rate limit (starting a job counts as a write)."""
    jobs = SyncJobs(bot)

    @app.post("/api/v1/sources", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED,
              responses=errors, dependencies=writes, tags=["sources"])
    def sync_sources(body: SourcesIn, response: Response) -> dict[str, Any]:
        """Sync feeds, sitemaps, pages and MediaWiki wikis (`api.php`): new articles added, changed ones
        replaced, and with `prune` the ones a sitemap or wiki no longer lists deleted. Answers at once with
        the job; follow it at `GET /api/v1/sources/jobs/{id}`."""
        job = jobs.start(body)
        response.headers["Location"] = f"/api/v1/sources/jobs/{job.id}"
        return job.to_json()

    @app.get("/api/v1/sources/jobs/{job_id}", response_model=JobOut, responses={**errors, 404: errors[400]},
             dependencies=admin, tags=["sources"])
    def sync_job(job_id: str) -> dict[str, Any]:
        """A sync job's progress, and its reports once done."""
        return jobs.get(job_id).to_json()
