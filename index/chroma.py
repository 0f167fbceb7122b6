"""Opening Chroma: the embedded store in the data directory, or a shared Chroma server; batched writes.

The embedded store may be written by one process only (Chroma does not support several processes on one
persistent path), so the process that opens it first owns it until it closes; others may read but their
writes are refused with what to do instead. A Chroma server has no such limit: replicas share it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from index.errors import BusyError, StoreError

# Ownership is per process: Chroma shares one client per path inside a process, so several Library
# objects on one path in one process (tests, the eval) are one writer. flock is per open file, hence the
# registry: path -> (fd, users).
_owned: dict[Path, tuple[int, int]] = {}
_owned_lock = threading.Lock()


def open_client(home: Path, url: str) -> Any:
    """A Chroma client: HTTP when ``url`` is set, else the persistent store under ``home``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if not url:
        return chromadb.PersistentClient(path=str(home / "chroma"), settings=settings)
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        return chromadb.HttpClient(host=parts.hostname or "127.0.0.1", port=parts.port or 8000,
                                   ssl=parts.scheme == "https", settings=settings)
    except Exception as exc:  # chromadb raises plain ValueError/ConnectError when the server is away
        raise StoreError(f"Cannot reach the Chroma server at {url}: {exc}",
                         "Start it (`chroma run --path DIR --host HOST --port PORT`) or fix "
                         "ARTICLEBOT_CHROMA_URL.") from exc


class Owner:
    """The write ownership of an embedded store (a no-op for a Chroma server)."""

    def __init__(self, home: Path, shared: bool) -> None:
        self.path = (home / "chroma" / "writer.lock").resolve()
        self.shared = shared
        self.held = False
        if not shared:
            self.try_take()

    def try_take(self) -> bool:
        if self.shared or self.held:
            return True
        with _owned_lock:
            if self.path in _owned:
                fd, users = _owned[self.path]
                _owned[self.path] = (fd, users + 1)
                self.held = True
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            _owned[self.path] = (fd, 1)
            self.held = True
            return True

    def require(self) -> None:
        """Raise unless this process may write the store."""
        if not self.try_take():
            raise BusyError(
                f"Another articlebot process (e.g. `articlebot serve`) owns the store in {self.path.parent.parent}.",
                "Add articles through that server (web UI or POST /api/v1/articles), stop it first, or run a "
                "Chroma server (`chroma run --path DIR`) and set ARTICLEBOT_CHROMA_URL for every process.")

    def release(self) -> None:
        if self.shared or not self.held:
            return
        with _owned_lock:
            fd, users = _owned[self.path]
            if users > 1:
                _owned[self.path] = (fd, users - 1)
            else:
                del _owned[self.path]
                os.close(fd)  # closing the only descriptor drops the flock
        self.held = False


def batched(client: Any, write: Callable[..., Any], ids: Sequence[str], **columns: Sequence[Any] | None) -> None:
    """Call ``write(ids=..., **columns)`` in slices under the client's largest batch."""
    size = max(1, int(client.get_max_batch_size()))
    for start in range(0, len(ids), size):
        write(ids=list(ids[start:start + size]),
              **{name: col[start:start + size] for name, col in columns.items() if col is not None})
