"""Fetching from the web without becoming a way into the server's own network.

Only http(s). Every address a host name resolves to must be public (not private, loopback, link-local,
shared or reserved) unless the host or its network is allowlisted, and the connection goes to the address
that was checked (the name is not resolved a second time, so it cannot answer a private address then:
DNS rebinding); each redirect is checked again. Responses are capped in size and time, their content type
is checked before the body is read, and a host gets a few requests in flight at most.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from index.config import FetchSettings
from index.errors import InputError
from index.load import decode

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_HINT = "If it is yours and meant to be read, add the host to ARTICLEBOT_FETCH_ALLOW_HOSTS."

HTML = frozenset({"text/html", "application/xhtml+xml"})
XML = frozenset({"application/xml", "text/xml", "application/rss+xml", "application/atom+xml",
                 "application/rdf+xml", "application/x-gzip", "application/gzip"})
PDF = frozenset({"application/pdf"})
TEXT = frozenset({"text/plain", "text/markdown"})
JSON = frozenset({"application/json"})
PAGES = HTML | PDF | TEXT  # what an item of a feed or sitemap may be
DOCUMENTS = PAGES | XML  # what a source may be


def is_url(text: str) -> bool:
    return bool(re.match(r"https?://", text, re.IGNORECASE))


@dataclass(frozen=True)
class Fetched:
    """A response read whole (status 200), or a 304 answer to a conditional request (empty body)."""

    url: str  # after redirects
    status: int
    content_type: str  # lower case, without parameters
    body: bytes
    etag: str = ""
    last_modified: str = ""
    charset: str = ""  # as the Content-Type header states it

    def text(self) -> str:
        """The body decoded: by the stated charset, else UTF-8, else Windows-1252."""
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:  # an unknown charset name
                pass
        return decode(self.body)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class AllowList:
    """Host names and networks that may be fetched although not public."""

    def __init__(self, entries: Collection[str]) -> None:
        self.names: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            entry = entry.strip().lower()
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry.rstrip("."))

    def has_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def has_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"could not be fetched: the host name {host} does not resolve.",
                         "Check the address.") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class Fetcher:
    """GET with the checks above. Safe to use from several threads."""

    def __init__(self, cfg: FetchSettings, max_bytes: int) -> None:
        self.cfg = cfg
        self.max_bytes = max_bytes
        self.allow = AllowList(cfg.allow_hosts)
        # trust_env off: a proxy from the environment would make the connected address the proxy's.
        self.client = httpx.Client(timeout=httpx.Timeout(cfg.timeout), follow_redirects=False, trust_env=False,
                                   headers={"User-Agent": cfg.user_agent})
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()
        self.requests = 0  # sent, redirects included (the sync reports it)

    def close(self) -> None:
        self.client.close()

    def check_url(self, url: str) -> tuple[httpx.URL, Address | None]:
        """The URL parsed and the address to connect to (None: a host allowlisted by name, resolved as
        usual); InputError when its scheme or any of its host's addresses is not allowed."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise InputError(f"is not a valid address ({exc}).") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise InputError("is not an http(s) address.", "Only http:// and https:// addresses are fetched.")
        if self.allow.has_name(parsed.host):
            return parsed, None
        addresses = resolve(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))
        for address in addresses:
            self._check_address(parsed.host, address)
        return parsed, addresses[0]

    def _check_address(self, host: str, address: Address) -> None:
        if not is_public(address) and not self.allow.has_address(address):
            raise InputError(f"is refused: {host} is at {address}, a private, loopback or link-local address.",
                             ALLOW_HINT)

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._hosts_lock:
            return self._hosts.setdefault(host, threading.BoundedSemaphore(self.cfg.per_host))

    def get(self, url: str, accept: Collection[str] = DOCUMENTS, etag: str = "", last_modified: str = "") -> Fetched:
        """Fetch ``url``; with ``etag``/``last_modified`` a conditional GET (304: ``not_modified``). Raises
        InputError with a one-line reason (refused address, HTTP error, wrong type, too large, too slow)."""
        headers = {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(self.cfg.max_redirects + 1):
            parsed, address = self.check_url(url)
            request = self._pinned(parsed, address, headers)
            with self._slot(parsed.host):
                try:
                    with self._hosts_lock:
                        self.requests += 1
                    response = self.client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise InputError(f"could not be fetched ({type(exc).__name__}).",
                                     "Check the address and the network.") from exc
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(str(parsed), response.headers["location"])
                        continue
                    return self._read(str(parsed), response, accept)
                finally:
                    response.close()
        raise InputError(f"redirects more than {self.cfg.max_redirects} times.", "Check the address.")

    def _pinned(self, url: httpx.URL, address: Address | None, headers: dict[str, str]) -> httpx.Request:
        """A request to the checked ``address`` itself, naming the host in the Host header and, for TLS, in
        SNI and the certificate check."""
        if address is None:
            return self.client.build_request("GET", url, headers=headers)
        return self.client.build_request("GET", url.copy_with(host=str(address)),
                                         headers={**headers, "Host": url.netloc.decode("ascii")},
                                         extensions={"sni_hostname": url.host})

    def _read(self, url: str, response: httpx.Response, accept: Collection[str]) -> Fetched:
        etag, modified = response.headers.get("etag", ""), response.headers.get("last-modified", "")
        if response.status_code == 304:
            return Fetched(url, 304, "", b"", etag, modified)
        if response.status_code != 200:
            raise InputError(f"answered HTTP {response.status_code}.", "Check the address.")
        kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        charset = (response.charset_encoding or "").strip().lower()
        if kind not in accept:
            raise InputError(f"is {kind or 'of no stated type'}, not {describe(accept)}.",
                             "Give the address of an article, a feed, a sitemap or a wiki's api.php.")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise InputError(f"is {int(declared) / 1e6:.1f} MB, over the {self.max_bytes / 1e6:.0f} MB limit.",
                             "Raise ARTICLEBOT_INDEX__MAX_FILE_MB to read it.")
        deadline = time.monotonic() + self.cfg.total_timeout
        body = bytearray()
        try:
            for part in response.iter_bytes():  # decompressed: a small gzip cannot unpack past the cap
                body += part
                if len(body) > self.max_bytes:
                    raise InputError(f"was cut off at the {self.max_bytes / 1e6:.0f} MB limit.",
                                     "Raise ARTICLEBOT_INDEX__MAX_FILE_MB to read it.")
                if time.monotonic() > deadline:
                    raise InputError(f"took over {self.cfg.total_timeout:.0f} s to download.",
                                     "Try again later, or raise ARTICLEBOT_INDEX__FETCH__TOTAL_TIMEOUT.")
        except httpx.HTTPError as exc:
            raise InputError(f"could not be read whole ({type(exc).__name__}).", "Try again later.") from exc
        return Fetched(url, 200, kind, bytes(body), etag, modified, charset)


def describe(kinds: Collection[str]) -> str:
    names = [name for name, group in (("a web page", HTML), ("a feed or sitemap", XML), ("a PDF", PDF),
                                      ("text", TEXT), ("JSON", JSON)) if group & set(kinds)]
    return " or ".join(names) or "an accepted type"
