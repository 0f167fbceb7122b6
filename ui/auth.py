"""API keys and origins: who may call the API, and from which web pages.

Keys are kept only as SHA-256 digests, so a memory dump or a debug print of the app state never shows
a usable key. Origins are compared as normalised ``scheme://host[:port]`` strings.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from index.errors import ArticlebotError

if TYPE_CHECKING:
    from ui.settings import Settings

KEYS_HINT = "Set ARTICLEBOT_API_KEYS (comma-separated) on the server and send 'Authorization: Bearer KEY'."


class AuthError(ArticlebotError):
    """A missing or wrong API key."""

    status = 401


class OriginError(ArticlebotError):
    """A browser request from a page whose origin is not allowed."""

    status = 403


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """The configured API keys, as digests only."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple(hash_key(k) for k in keys if k.strip())

    def __bool__(self) -> bool:
        return bool(self._digests)

    def __repr__(self) -> str:
        return f"KeyRing({len(self._digests)} keys)"

    def accepts(self, presented: str | None) -> bool:
        if not presented:
            return False
        digest = hash_key(presented)
        # Compare against every key (no early exit) so timing says nothing about which matched.
        matches = [hmac.compare_digest(digest, known) for known in self._digests]
        return any(matches)

    def require(self, authorization: str | None, action: str) -> None:
        """Raise AuthError unless the ``Authorization`` header carries a configured key."""
        if not self:
            raise AuthError(f"{action} needs an API key, and the server has none configured.", KEYS_HINT)
        token = bearer_token(authorization)
        if token is None:
            raise AuthError(f"{action} needs an API key.", "Send 'Authorization: Bearer KEY'.")
        if not self.accepts(token):
            raise AuthError("The API key is not valid.", "Check the key; ask the server's admin for one.")


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def normalise_origin(origin: str) -> str:
    """``https://Wiki.example.org:443/`` -> ``https://wiki.example.org``."""
    origin = origin.strip().rstrip("/")
    if origin in ("*", "null"):
        return origin
    parts = urlsplit(origin)
    if not parts.scheme or not parts.hostname:
        return origin.lower()
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}{port}"


class OriginPolicy:
    """Which web pages may call the API and frame the /embed chat."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = tuple(dict.fromkeys(normalise_origin(o) for o in allowed if o.strip()))

    def allows(self, origin: str | None, own_origin: str) -> bool:
        """No Origin header (curl, server-to-server) and same-origin requests are always allowed."""
        if origin is None:
            return True
        origin = normalise_origin(origin)
        return origin == normalise_origin(own_origin) or "*" in self.allowed or origin in self.allowed

    def frame_ancestors(self) -> str:
        """The CSP directive that lets only the allowed origins embed /embed in an iframe."""
        return " ".join(["frame-ancestors", "'self'", *self.allowed])


class UiAccess:
    """Who may do what in the web UI: the same keys as the API.

    Readers chat; when ``require_key_for_read`` is set the whole page sits behind a login whose
    password is a read key or an API key (or the ``ui_user``/``ui_password`` pair). Changing the
    articles needs an admin sign-in: an API key, or the ``ui_user``/``ui_password`` pair. With none of
    these configured (a laptop), writes stay open.
    """

    def __init__(self, api_keys: Iterable[str] = (), read_keys: Iterable[str] = (), ui_user: str = "",
                 ui_password: str = "", require_key_for_read: bool = False) -> None:
        api_keys = list(api_keys)
        self._admin_keys = KeyRing(api_keys)
        self._read_keys = KeyRing([*api_keys, *read_keys])
        self._user = ui_user
        self._password = KeyRing([ui_password] if ui_user and ui_password else [])
        self.require_key_for_read = require_key_for_read

    @classmethod
    def from_settings(cls, settings: Settings) -> UiAccess:
        return cls(settings.api_keys, settings.read_keys, settings.serve.ui_user, settings.serve.ui_password,
                   settings.require_key_for_read)

    @property
    def writes_open(self) -> bool:
        """No key and no UI password is configured: anyone who can open the page may change articles."""
        return not (self._admin_keys or self._password)

    def _is_ui_login(self, user: str, password: str) -> bool:
        return bool(self._password) and hmac.compare_digest(user.encode(), self._user.encode()) \
            and self._password.accepts(password)

    def admin_ok(self, user: str, secret: str) -> bool:
        """An API key (any user name), or the ui_user/ui_password pair."""
        return self._admin_keys.accepts(secret) or self._is_ui_login(user, secret)

    def reader_ok(self, user: str, password: str) -> bool:
        """The page login (only asked for when ``require_key_for_read`` is set). The ui_user name
        needs ui_password, so that a page login as ui_user always means the admin."""
        if self._password and user == self._user:
            return self._is_ui_login(user, password)
        return self._read_keys.accepts(password)

    def page_login(self) -> Callable[[str, str], bool] | None:
        """Gradio's ``auth`` for the page at "/": a login only when reads need a key."""
        return self.reader_ok if self.require_key_for_read else None

    def is_admin_login(self, username: str | None) -> bool:
        """A page login as ui_user already proved the admin password (see ``reader_ok``)."""
        return bool(self.require_key_for_read and self._password and username == self._user)
