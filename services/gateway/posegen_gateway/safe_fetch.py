"""Fetching a user-supplied ``https`` URL without becoming a proxy into private networks.

The host is resolved here and every address must be public (no loopback, private, link-local, shared,
reserved or cloud-metadata range); the connection then goes to the address that was checked, so a DNS
answer that changes between the check and the connect (rebinding) cannot redirect it. TLS still verifies
the certificate against the host name. Redirects are followed a few times, each one checked again.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
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


def resolve_allowed(host: str, port: int, allowed_networks: Iterable[Network] = ()) -> str:
    """The first address of ``host``, if every address it resolves to is public (or explicitly allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchRefused(f"cannot resolve host '{host}'") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    allowed = list(allowed_networks)
    for address in addresses:
        if not (is_public(address) or any(address in network for network in allowed)):
            raise FetchForbidden("the URL points to a private, loopback or link-local address")
    if not addresses:
        raise FetchRefused(f"cannot resolve host '{host}'")
    return str(addresses[0])


class _CheckedBackend(httpcore.SyncBackend):
    def __init__(self, allowed_networks: Iterable[Network]) -> None:
        self.allowed_networks = tuple(allowed_networks)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = resolve_allowed(host, port, self.allowed_networks)
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


def fetch_public_https(
    url: str,
    *,
    max_bytes: int,
    timeout_seconds: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
    allowed_networks: Iterable[Network] = (),
    allowed_hosts: Iterable[str] = (),
) -> bytes:
    """GET ``url`` (https only) and return at most ``max_bytes`` of body, or raise :class:`FetchRefused`.

    ``allowed_hosts``, when given, restricts the hosts (and their sub-domains) before anything is resolved.

    ``allowed_networks`` exempts address ranges from the public-address rule; it exists for tests that
    serve from loopback and must stay empty in production.
    """
    timeouts = {"connect": timeout_seconds, "read": timeout_seconds, "write": timeout_seconds, "pool": 1.0}
    with httpcore.ConnectionPool(
        ssl_context=ssl_context or ssl.create_default_context(),
        network_backend=_CheckedBackend(allowed_networks),
        max_connections=1,
    ) as pool:
        for _ in range(MAX_REDIRECTS + 1):
            url = _checked_url(url, tuple(allowed_hosts))
            try:
                with pool.stream(
                    "GET",
                    url,
                    headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
                    extensions={"timeout": timeouts},
                ) as response:
                    location = next((v for k, v in response.headers if k.lower() == b"location"), b"").decode("latin-1")
                    if response.status in (301, 302, 303, 307, 308) and location:
                        url = urljoin(url, location)
                        continue
                    if response.status != 200:
                        raise FetchRefused(f"the URL answered HTTP {response.status}")
                    return _read_limited(response.iter_stream(), max_bytes)
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
