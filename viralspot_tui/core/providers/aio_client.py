"""The RapidAPI clients' HTTP over aiohttp, answering in a small response type of our own.

Why not httpx for these two clients: over real sockets one call through ``httpx.AsyncClient``
cost ~1.3–1.8 ms of client CPU on the benchmark machine (URL and header models, cookie
extraction, httpcore's pool, h11 and anyio, all pure Python), and an item makes about six
calls, so the HTTP layer alone was ~10 of the ~12 ms per completed item. aiohttp parses HTTP
in C and pools connections without per-request scans: ~0.5 ms a call through this class in
the same measurement (docs/performance-client-cpu.md).

What stays the same, so the :class:`~.policy.OutboundPolicy` and the providers do not notice:

* the answer is an :class:`AioResponse`: what the policy and the providers read of an
  ``httpx.Response`` (``status_code``, case-insensitive ``headers``, the decoded ``content``,
  ``json()``; :class:`HttpResponse` is that shape, and ``httpx.Response`` fits it too). The body
  is decoded from its ``Content-Encoding`` by aiohttp (C zlib) as it is read. Building an
  ``httpx.Response`` per answer (header models, its own decoder chain) was ~10% of a call's
  client CPU (docs/performance-client-cpu.md);
* transport failures raise httpx's exception types (``ConnectError``, ``ReadTimeout``,
  ``RemoteProtocolError``, ``UnsupportedProtocol`` …), which the policy classifies;
* no redirects are followed, the one timeout applies to connecting, waiting for a pooled
  connection and each read (``httpx.Timeout(t)``), proxies and ``SSL_CERT_FILE`` come from the
  environment, cookies a server sets are sent back, and the connection pool grows with what is
  in flight (the callers — the queue's concurrency and the rate limiter — bound it).

What a server sees differently: aiohttp's ``User-Agent``, and ``Accept-Encoding: gzip, deflate``.

Only whole bodies are read (the providers never stream). Tests and the demo give the factory an
in-process transport; then the providers keep an ``httpx.AsyncClient`` over it, so this module
runs only against real sockets (tests/providers/test_aio_client.py serves it over loopback).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import httpx
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

__all__ = ["AioHttpClient", "AioResponse", "HttpClient", "HttpResponse", "ACCEPT_ENCODING"]

ACCEPT_ENCODING = "gzip, deflate"  # what zlib decodes, whatever else is installed
_FORM = "application/x-www-form-urlencoded"  # what httpx sends for ``data=`` (and aiohttp for a dict)


class HttpResponse(Protocol):
    """What the policy and the providers read of an answer (``httpx.Response`` fits)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    def json(self) -> Any: ...


class AioResponse:
    """One whole answer from :class:`AioHttpClient`: status, headers (case-insensitive), body."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON (raises ``ValueError`` when it is not, as ``httpx.Response.json``)."""
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<AioResponse [{self.status_code}]>"


class HttpClient(Protocol):
    """What the providers and the policy need of a client: ``httpx.AsyncClient`` fits too."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse: ...

    async def aclose(self) -> None: ...


class AioHttpClient:
    """One aiohttp session, opened on first use (it must be made inside the running loop)."""

    def __init__(
        self, *, headers: Mapping[str, str], timeout: float, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._headers = {"Accept": "*/*", "Accept-Encoding": ACCEPT_ENCODING, **headers}
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None], tuple[URL | None, aiohttp.BasicAuth | None]] = {}
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()  # same CA store and SSL_CERT_FILE handling as httpx
        self._session = aiohttp.ClientSession(
            headers=self._headers,
            connector=aiohttp.TCPConnector(limit=0, ssl=self._ssl),  # grows: the callers bound what is in flight
            timeout=self._timeout,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # kept for IP hosts too, as httpx keeps them
            auto_decompress=True,  # the body is decoded from its Content-Encoding as it is read
            trust_env=False,  # the environment's proxies are read once per host instead (_proxy)
        )
        return self._session

    def _proxy(self, url: URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The proxy for ``url``'s scheme and host from HTTP(S)_PROXY / NO_PROXY (and netrc),
        looked up once per host: aiohttp's ``trust_env`` re-reads the environment on every
        request (~0.4 ms a call here), httpx read it once when the client was built."""
        key = (url.scheme, url.host)
        found = self._proxies.get(key)
        if found is None:
            try:
                found = get_env_proxy_for_url(url)
            except LookupError:
                found = (None, None)
            self._proxies[key] = found
        return found

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AioResponse:
        """Send one request and read its whole body; failures raise httpx's exception types."""
        session = self._session or self._open()
        try:
            target = URL(url)
        except ValueError as exc:
            raise httpx.UnsupportedProtocol(f"invalid URL {url!r:.120}: {exc}") from exc
        if target.scheme not in ("http", "https") or not target.host:  # httpx's check, before any socket
            raise httpx.UnsupportedProtocol(f"URL {url!r:.120} needs an http:// or https:// scheme and a host")
        proxy, proxy_auth = self._proxy(target)
        body: bytes | None = None
        if data is not None:  # encoded here: aiohttp's own path (FormData after a failed lookup) costs ~80 µs
            body = urlencode(data).encode("ascii")
            headers = {**(headers or {}), "Content-Type": _FORM}
        try:
            async with session.request(
                method,
                target,
                params=params,
                data=body,
                headers=headers,
                allow_redirects=False,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as answer:
                body = await answer.read()
                status, answer_headers = answer.status, answer.headers
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, method, url) from exc
        except TimeoutError as exc:  # a timeout aiohttp did not wrap (older releases)
            raise httpx.ReadTimeout(f"timed out: {exc}", request=httpx.Request(method, url)) from exc
        return AioResponse(status, answer_headers, body)

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> AioHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _httpx_error(exc: aiohttp.ClientError, method: str, url: str) -> httpx.RequestError:
    """The httpx exception the policy expects for an aiohttp failure (policy.py classifies them)."""
    request = httpx.Request(method, url) if url.startswith(("http://", "https://")) else None
    message = f"{type(exc).__name__}: {exc}"
    kind: type[httpx.RequestError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.InvalidURL):  # no or a non-HTTP scheme, no host: a configuration error
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientConnectionError):
        kind = httpx.ReadError
    else:
        kind = httpx.TransportError
    return kind(message, request=request)
