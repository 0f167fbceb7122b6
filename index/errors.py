"""The project's exceptions. Each message says what to do next; the UI/API edges map them to
exit codes and HTTP statuses."""

from __future__ import annotations


class ArticlebotError(Exception):
    """Base class. ``hint`` tells the user what to do next."""

    status = 500

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InputError(ArticlebotError):
    """Bad input from the user: a path, a file, a request field."""

    status = 400


class NotFoundError(ArticlebotError):
    status = 404


class ModelError(ArticlebotError):
    """The embedding model cannot be found, converted or loaded."""

    status = 500


class ModelMismatchError(ArticlebotError):
    """The index was built with another embedding model than the one configured."""

    status = 409


class ConflictError(ArticlebotError):
    """The request clashes with work under way (e.g. a second sync while one runs)."""

    status = 409


class BusyError(ArticlebotError):
    status = 503


class StoreError(ArticlebotError):
    """The vector store cannot be reached (e.g. the Chroma server is down)."""

    status = 503
