"""API keys and origins: who may call the API, and from which web pages.

Keys are kept only as SHA-256 digests, so a memory dump or a debug print of the app state never shows
a usable key. Origins are compared as normalised ``scheme://host[:port]`` strings.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from index.errors import ArticlebotError

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
