"""Fetching a user-supplied ``https`` URL without becoming a proxy into private networks.

The host is resolved here and every address must be public (no loopback, private, link-local, shared,
reserved or cloud-metadata range); the connection then goes to the address that was checked, so a DNS
answer that changes between the check and the connect (rebinding) cannot redirect it. TLS still verifies
the certificate against the host name. Redirects are followed a few times, each one checked again.

A fetch has one deadline for everything it does (resolving, connecting, the TLS handshake, every redirect and
the whole body): each socket operation may wait only for what is left of it, so a server that sends one byte
at a time is cut off at the deadline like one that sends nothing.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpcore
import httpx

MAX_REDIRECTS = 3
USER_AGENT = "posegen-avatar-fetch/1"


class FetchRefused(ValueError):
    """The fetch failed (nothing there, not in time, too large); the message is safe to show to the client."""


class FetchTooLarge(FetchRefused):
    """The image at the URL is larger than the upload limit."""


class FetchForbidden(FetchRefused):
    """The URL's host is one the gateway may not fetch from (a private address, or not allowed)."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_link_local)


def resolve_allowed(
    host: str, port: int, allowed_networks: Iterable[Network] = (), *, timeout: float | None = None
) -> str:
    """The first address of ``host``, if every address it resolves to is public (or explicitly allowed).

    ``getaddrinfo`` cannot be interrupted: past ``timeout`` the lookup is left to finish in its own thread."""
    answer: list = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (socket.gaierror, UnicodeError, OSError) as error:
            answer.append(error)

    resolver = threading.Thread(target=lookup, name="safe-fetch-resolve", daemon=True)
    resolver.start()
    resolver.join(timeout)
    if not answer:
        raise httpcore.ConnectTimeout(f"resolving '{host}' took too long")
    if isinstance(answer[0], Exception):
        raise FetchRefused(f"cannot resolve host '{host}'")
    infos = answer[0]
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    allowed = list(allowed_networks)
    for address in addresses:
        if not (is_public(address) or any(address in network for network in allowed)):
            raise FetchForbidden("the URL points to a private, loopback or link-local address")
    if not addresses:
        raise FetchRefused(f"cannot resolve host '{host}'")
    return str(addresses[0])


class _Deadline:
    """One end time for a whole fetch: every connect, TLS handshake, read and write gets what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def bound(self, timeout: float | None, error: type[httpcore.TimeoutException]) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise error("the fetch's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        timeout = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class _CheckedBackend(httpcore.SyncBackend):
    """Connects only to addresses it checked itself, within the fetch's deadline."""

    def __init__(
        self,
        allowed_networks: Iterable[Network],
        connect_to: Mapping[tuple[str, int], tuple[str, int]],
        deadline: _Deadline,
    ) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.connect_to = connect_to
        self.deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        host, port = self.connect_to.get((host, port), (host, port))
        address = resolve_allowed(
            host, port, self.allowed_networks, timeout=self.deadline.bound(timeout, httpcore.ConnectTimeout)
        )
        timeout = self.deadline.bound(timeout, httpcore.ConnectTimeout)
        stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self.deadline)


@dataclass(frozen=True, kw_only=True)
class SafeFetcher:
    """How user-supplied URLs are fetched: ``max_bytes`` of body at most, within ``deadline_seconds``.

    ``allowed_hosts``, when given, restricts the hosts (and their sub-domains) before anything is resolved.
    ``allowed_networks`` exempts address ranges from the public-address rule and ``connect_to`` sends a
    ``(host, port)`` to another ``(address, port)`` (curl's ``--connect-to``); both exist for tests that serve
    from loopback and stay empty in production.
    """

    max_bytes: int
    deadline_seconds: float = 10.0
    allowed_hosts: tuple[str, ...] = ()
    allowed_networks: tuple[Network, ...] = ()
    ssl_context: ssl.SSLContext | None = None
    connect_to: Mapping[tuple[str, int], tuple[str, int]] = field(default_factory=dict)

    def fetch(self, url: str) -> bytes:
        """GET ``url`` (https only) and return its body, or raise :class:`FetchRefused`."""
        deadline = _Deadline(self.deadline_seconds)
        timeouts = {"connect": self.deadline_seconds, "read": self.deadline_seconds, "write": self.deadline_seconds}
        with httpcore.ConnectionPool(
            ssl_context=self.ssl_context or ssl.create_default_context(),
            network_backend=_CheckedBackend(self.allowed_networks, self.connect_to, deadline),
            max_connections=1,
        ) as pool:
            for _ in range(MAX_REDIRECTS + 1):
                url = _checked_url(url, self.allowed_hosts)
                try:
                    with pool.stream(
                        "GET",
                        url,
                        headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
                        extensions={"timeout": {**timeouts, "pool": 1.0}},
                    ) as response:
                        location = next((v for k, v in response.headers if k.lower() == b"location"), b"")
                        if response.status in (301, 302, 303, 307, 308) and location:
                            url = urljoin(url, location.decode("latin-1"))
                            continue
                        if response.status != 200:
                            raise FetchRefused(f"the URL answered HTTP {response.status}")
                        return _read_limited(response.iter_stream(), self.max_bytes)
                except FetchRefused:
                    raise
                except httpcore.TimeoutException:
                    raise FetchRefused("the URL did not answer in time") from None
                except (
                    httpcore.NetworkError,
                    httpcore.ProtocolError,
                    httpcore.UnsupportedProtocol,
                    OSError,  # ssl.SSLError too
                    ValueError,
                    TypeError,
                ):
                    raise FetchRefused("the URL could not be fetched") from None
        raise FetchRefused("too many redirects")


def fetch_public_https(
    url: str,
    *,
    max_bytes: int,
    timeout_seconds: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
    allowed_networks: Iterable[Network] = (),
    allowed_hosts: Iterable[str] = (),
) -> bytes:
    """:meth:`SafeFetcher.fetch` with ``timeout_seconds`` as its deadline."""
    fetcher = SafeFetcher(
        max_bytes=max_bytes,
        deadline_seconds=timeout_seconds,
        ssl_context=ssl_context,
        allowed_networks=tuple(allowed_networks),
        allowed_hosts=tuple(allowed_hosts),
    )
    return fetcher.fetch(url)


def _checked_url(url: str, allowed_hosts: tuple[str, ...] = ()) -> str:
    """The URL in plain ASCII (IDNA host, percent-encoded path), if it is an https URL without credentials."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
        raise FetchRefused("the URL is not valid") from None
    if parsed.scheme != "https":
        raise FetchRefused("only https URLs are fetched")
    if not parsed.host or parsed.userinfo:
        raise FetchRefused("the URL must name a host and carry no credentials")
    host = parsed.host.lower()
    if allowed_hosts and not any(host == h or host.endswith("." + h) for h in allowed_hosts):
        raise FetchForbidden("avatars are only fetched from: " + ", ".join(allowed_hosts))
    return str(parsed)


def _read_limited(chunks: Iterable[bytes], max_bytes: int) -> bytes:
    body = bytearray()
    for chunk in chunks:
        body.extend(chunk)
        if len(body) > max_bytes:
            raise FetchTooLarge(f"the image is larger than {max_bytes // (1024 * 1024)} MB")
    return bytes(body)
