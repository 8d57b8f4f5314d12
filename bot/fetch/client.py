"""`SafeFetcher`: outbound HTTP that only reaches addresses the policy allows.

Every hop is checked before it is made: scheme, credentials, port, and every address the host
resolves to (through an injectable resolver). aiohttp then connects only to those checked
addresses, through a resolver that answers from the checked set and nothing else. Redirects
are followed by hand so each one is checked the same way. Callers get a `FetchResult` or a
`FetchRefused` / `FetchFailed` with a reason to log, and move on.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.core.clock import Clock, SystemClock
from bot.core.config import FetchSettings as FetchConfig
from bot.fetch.addresses import AddressPolicy, IPAddress, as_address, parse_ip_literal

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_.])?")


class Reason(StrEnum):
    """Why a fetch did not give a usable answer."""

    INVALID_URL = "invalid-url"
    SCHEME = "scheme"
    CREDENTIALS = "credentials"
    PORT = "port"
    ADDRESS = "address"
    UNRESOLVABLE = "unresolvable"
    REDIRECTS = "too-many-redirects"
    CONTENT_TYPE = "content-type"
    TOO_LARGE = "too-large"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STATUS = "http-status"
    RATE_LIMITED = "rate-limited"


class FetchError(Exception):
    """A fetch gave no usable answer; `reason` says which kind of problem, `detail` what."""

    def __init__(
        self, url: str, reason: Reason, detail: str, *, retry_after: datetime | None = None
    ) -> None:
        super().__init__(f"{url}: {reason}: {detail}")
        self.url = url
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after  # aware UTC; when the server asked us to come back


class FetchRefused(FetchError):
    """We would not fetch this: the policy forbids the URL, an address, the type or the size."""


class FetchFailed(FetchError):
    """The other side failed: no such host, no connection, too slow, or an HTTP error."""


class HostResolver(Protocol):
    """Turns a host name into IP addresses (text); raises OSError or LookupError if it can't."""

    async def resolve(self, host: str) -> Sequence[str]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo in a thread)."""

    async def resolve(self, host: str) -> Sequence[str]:
        """All addresses getaddrinfo gives for `host`."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class StaticResolver:
    """Answers from a fixed table (tests, benchmarks, pinned private hosts); others fail."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = {host.lower().rstrip("."): tuple(addrs) for host, addrs in table.items()}

    async def resolve(self, host: str) -> Sequence[str]:
        """The addresses listed for `host`; LookupError when it is not listed."""
        try:
            return self._table[host.lower().rstrip(".")]
        except KeyError:
            raise LookupError(f"{host} is not in the resolver's table") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchLimits:
    """Limits for outbound HTTP."""

    policy: AddressPolicy = field(default_factory=AddressPolicy)
    extra_ports: frozenset[int] = frozenset()  # ports allowed besides 80 / 443
    connect_timeout: float = 5.0  # seconds, resolving plus connecting, per hop
    read_timeout: float = 10.0  # seconds without a byte from the server
    total_timeout: float = 20.0  # seconds for the whole fetch, redirects included
    max_redirects: int = 3
    max_body: int = 5 * 1024 * 1024  # bytes after decompression
    per_host: int = 2  # concurrent requests to one host
    connections: int = 32  # open connections overall
    max_retry_after: timedelta = timedelta(days=7)
    user_agent: str = "Facilitator/0.1 (link previews and member blog feeds)"
    ssl_context: ssl.SSLContext | None = None  # e.g. a private CA; None: the system's trust


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """A usable answer: 2xx with a body, or 304 Not Modified (empty body)."""

    url: str  # the final URL, after redirects
    requested: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    truncated: bool = False  # the body was cut at the cap because the caller allowed it
    redirects: tuple[str, ...] = field(default=())

    @property
    def not_modified(self) -> bool:
        """True for 304: what the caller had is still current."""
        return self.status == 304


def parse_retry_after(value: str | None, now: datetime, cap: timedelta) -> datetime | None:
    """When `Retry-After` (seconds or an HTTP date) says to come back, at most `cap` ahead."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        when = now + timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        when = when.astimezone(UTC)
    return min(max(when, now), now + cap)


class _PinnedResolver(AbstractResolver):
    """aiohttp's resolver: answers only with addresses `SafeFetcher` has checked and pinned."""

    def __init__(self) -> None:
        self._pins: dict[str, list[tuple[IPAddress, ...]]] = {}

    @contextmanager
    def pin(self, host: str, addresses: tuple[IPAddress, ...]) -> Iterator[None]:
        pins = self._pins.setdefault(host, [])
        pins.append(addresses)
        try:
            yield
        finally:
            pins.remove(addresses)
            if not pins:
                del self._pins[host]

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        checked = dict.fromkeys(a for pin in self._pins.get(host.lower(), ()) for a in pin)
        if not checked:
            raise OSError(f"{host} was not checked before connecting")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in checked
            if family
            in (socket.AF_UNSPEC, socket.AF_INET6 if address.version == 6 else socket.AF_INET)
        ]

    async def close(self) -> None:
        self._pins.clear()


class _HostSlots:
    """A semaphore per host, dropped when nobody uses it."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(host, (asyncio.Semaphore(self._limit), 0))
        self._slots[host] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[host]
            if users == 1:
                del self._slots[host]
            else:
                self._slots[host] = (semaphore, users - 1)


class SafeFetcher:
    """Fetches http(s) URLs within `FetchLimits`; use as `async with SafeFetcher(...)`."""

    def __init__(
        self,
        settings: FetchLimits | None = None,
        *,
        resolver: HostResolver | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings or FetchLimits()
        self._resolver = resolver or SystemResolver()
        self._clock: Clock = clock or SystemClock()
        self._pins = _PinnedResolver()
        self._slots = _HostSlots(self.settings.per_host)
        self._all = asyncio.Semaphore(self.settings.connections)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SafeFetcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the connection pool (inside the running loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=self._pins,
                use_dns_cache=False,  # every hop is resolved and checked afresh
                limit=self.settings.connections,
                limit_per_host=self.settings.per_host,
                ssl=self.settings.ssl_context or True,  # verification is never switched off
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # no proxies from the environment: they would skip our checks
                cookie_jar=aiohttp.DummyCookieJar(),  # sites must not recognise us across fetches
                headers={"User-Agent": self.settings.user_agent},
            )

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def check_url(self, url: str | URL) -> URL:
        """The URL parsed, if scheme, credentials, host and port are allowed; else FetchRefused."""
        text = str(url)
        try:
            parsed = url if isinstance(url, URL) else URL(text)
        except (ValueError, TypeError) as error:
            raise FetchRefused(text, Reason.INVALID_URL, str(error)) from None
        if parsed.scheme not in DEFAULT_PORTS:
            raise FetchRefused(text, Reason.SCHEME, f"only http and https, not {parsed.scheme!r}")
        if parsed.user is not None or parsed.password is not None:
            raise FetchRefused(text, Reason.CREDENTIALS, "credentials in URLs are not sent")
        host = (parsed.raw_host or "").lower()
        if not host or not (":" in host or _HOST_NAME.fullmatch(host)):
            raise FetchRefused(text, Reason.INVALID_URL, f"{host!r} is not a host name")
        port = parsed.explicit_port
        if (
            port is not None
            and port != DEFAULT_PORTS[parsed.scheme]
            and port not in self.settings.extra_ports
        ):
            raise FetchRefused(text, Reason.PORT, f"port {port} is not allowed")
        return parsed.with_fragment(None)

    async def checked_addresses(self, url: URL) -> tuple[IPAddress, ...]:
        """Every address `url`'s host stands for, all allowed by the policy; else an error."""
        host = (url.raw_host or "").lower()
        literal = parse_ip_literal(host)
        if literal is not None:
            addresses: tuple[IPAddress, ...] = (literal,)
        else:
            try:
                async with asyncio.timeout(self.settings.connect_timeout):
                    answers = await self._resolver.resolve(host)
                addresses = tuple(dict.fromkeys(as_address(answer) for answer in answers))
            except TimeoutError:
                raise FetchFailed(
                    str(url), Reason.TIMEOUT, f"resolving {host} took too long"
                ) from None
            except (OSError, LookupError, ValueError) as error:
                raise FetchFailed(str(url), Reason.UNRESOLVABLE, f"{host}: {error}") from None
            if not addresses:
                raise FetchFailed(str(url), Reason.UNRESOLVABLE, f"{host} has no addresses")
        if (why := self.settings.policy.first_refusal(addresses)) is not None:
            raise FetchRefused(str(url), Reason.ADDRESS, f"{host}: {why}")
        return addresses

    async def fetch(
        self,
        url: str,
        *,
        accept: Collection[str],
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        truncate: bool = False,
    ) -> FetchResult:
        """GET `url` following at most `max_redirects` checked redirects.

        `accept` lists the media types the caller can use; anything else is refused before
        the body is read. With `truncate`, a body over the cap is cut (for previews, which
        only need the head); otherwise it is refused.
        """
        if self._session is None:
            raise RuntimeError("SafeFetcher used before start()")
        return await self._follow(
            url, accept, etag, last_modified, max_bytes or self.settings.max_body, truncate
        )

    async def _follow(
        self,
        url: str,
        accept: Collection[str],
        etag: str | None,
        last_modified: str | None,
        cap: int,
        truncate: bool,
    ) -> FetchResult:
        current = self.check_url(url)
        redirects: list[str] = []
        headers = {"Accept": ", ".join(accept) + ", */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        loop = asyncio.get_running_loop()
        budget = self.settings.total_timeout
        while True:
            host = (current.raw_host or "").lower()
            # Waiting for a turn is not the server's fault: the budget runs only while a hop
            # is resolving, connecting or reading.
            async with self._slots.hold(host), self._all:
                started = loop.time()
                try:
                    async with asyncio.timeout(budget):
                        outcome = await self._hop(url, current, headers, accept, cap, truncate)
                except TimeoutError:
                    raise FetchFailed(
                        str(current),
                        Reason.TIMEOUT,
                        f"no complete answer within {self.settings.total_timeout:g} s",
                    ) from None
                budget -= loop.time() - started
            if isinstance(outcome, FetchResult):
                return replace(outcome, redirects=tuple(redirects))
            if len(redirects) >= self.settings.max_redirects:
                raise FetchRefused(
                    url, Reason.REDIRECTS, f"more than {self.settings.max_redirects} redirects"
                )
            redirects.append(str(current))
            current = self.check_url(outcome)

    async def _hop(
        self,
        requested: str,
        url: URL,
        headers: Mapping[str, str],
        accept: Collection[str],
        cap: int,
        truncate: bool,
    ) -> FetchResult | URL:
        """One request: the answer, or where it redirects to (not yet checked)."""
        assert self._session is not None
        addresses = await self.checked_addresses(url)
        host = (url.raw_host or "").lower()
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=self.settings.connect_timeout,
            sock_read=self.settings.read_timeout,
        )
        with self._pins.pin(host, addresses):
            try:
                async with self._session.get(
                    url, headers=headers, allow_redirects=False, timeout=timeout
                ) as response:
                    self._check_peer(response, url)
                    if response.status in REDIRECT_STATUSES:
                        return self._redirect_target(response, url)
                    return await self._answer(requested, url, response, accept, cap, truncate)
            except TimeoutError:
                raise FetchFailed(str(url), Reason.TIMEOUT, "the server was too slow") from None
            except aiohttp.ClientError as error:
                raise FetchFailed(
                    str(url), Reason.CONNECTION, f"{type(error).__name__}: {error}"
                ) from None

    def _check_peer(self, response: aiohttp.ClientResponse, url: URL) -> None:
        """Belt and braces: the socket really ended up at an allowed address."""
        connection = response.connection
        transport = connection.transport if connection is not None else None
        peer = transport.get_extra_info("peername") if transport is not None else None
        if not peer:
            return
        address = as_address(str(peer[0]))
        if (why := self.settings.policy.refusal(address)) is not None:
            raise FetchRefused(str(url), Reason.ADDRESS, f"connected to {why}")

    def _redirect_target(self, response: aiohttp.ClientResponse, current: URL) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise FetchFailed(
                str(current), Reason.STATUS, f"HTTP {response.status} without a Location"
            )
        try:
            return current.join(URL(location))
        except (ValueError, TypeError) as error:
            raise FetchFailed(
                str(current), Reason.INVALID_URL, f"bad Location {location!r}: {error}"
            ) from None

    async def _answer(
        self,
        requested: str,
        url: URL,
        response: aiohttp.ClientResponse,
        accept: Collection[str],
        cap: int,
        truncate: bool,
    ) -> FetchResult:
        status = response.status
        result_etag = response.headers.get("ETag")
        result_modified = response.headers.get("Last-Modified")
        if status == 304:
            return FetchResult(
                url=str(url),
                requested=requested,
                status=status,
                content_type="",
                charset=None,
                body=b"",
                etag=result_etag,
                last_modified=result_modified,
            )
        if status in (429, 503):
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"),
                self._clock.now(),
                self.settings.max_retry_after,
            )
            raise FetchFailed(
                str(url),
                Reason.RATE_LIMITED if status == 429 else Reason.STATUS,
                f"HTTP {status}",
                retry_after=retry_after,
            )
        if not 200 <= status < 300:
            raise FetchFailed(str(url), Reason.STATUS, f"HTTP {status}")
        content_type = response.content_type.lower()
        if content_type not in accept:
            raise FetchRefused(
                str(url), Reason.CONTENT_TYPE, f"{content_type} is not one of {sorted(accept)}"
            )
        declared = response.content_length
        if declared is not None and declared > cap and not truncate:
            raise FetchRefused(str(url), Reason.TOO_LARGE, f"{declared} bytes declared, cap {cap}")
        chunks: list[bytes] = []
        size = 0
        truncated = False
        async for chunk in response.content.iter_chunked(64 * 1024):
            if size + len(chunk) > cap:
                if not truncate:
                    raise FetchRefused(str(url), Reason.TOO_LARGE, f"body over {cap} bytes")
                chunks.append(chunk[: cap - size])
                truncated = True
                break
            chunks.append(chunk)
            size += len(chunk)
        return FetchResult(
            url=str(url),
            requested=requested,
            status=status,
            content_type=content_type,
            charset=response.charset,
            body=b"".join(chunks),
            etag=result_etag,
            last_modified=result_modified,
            truncated=truncated,
        )


def fetch_settings(config: FetchConfig) -> FetchLimits:
    """Outbound-HTTP limits from the `[fetch]` section of config.toml."""
    return FetchLimits(
        policy=AddressPolicy.allowing(*config.allow_networks),
        extra_ports=frozenset(config.allow_ports),
        total_timeout=float(config.timeout_seconds),
        max_body=config.max_bytes,
    )
