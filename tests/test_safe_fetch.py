"""The public-only fetcher against a real HTTPS server on loopback (allowed explicitly for the test)."""

import ipaddress

import pytest

from posegen_gateway.safe_fetch import FetchRefused, SafeFetcher, fetch_public_https, is_public, resolve_allowed

from .https_server import HttpsServer

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    server = HttpsServer(tmp_path_factory.mktemp("tls"))
    yield server
    server.close()


@pytest.fixture
def tls_server(https_server):
    return https_server.base, https_server.client_context


def test_fetches_when_allowed(tls_server):
    base, context = tls_server
    assert fetch_public_https(f"{base}/ok", max_bytes=100, ssl_context=context, allowed_networks=LOOPBACK) == b"hello"


def test_loopback_is_refused_by_default(tls_server):
    base, context = tls_server
    with pytest.raises(FetchRefused, match="private, loopback"):
        fetch_public_https(f"{base}/ok", max_bytes=100, ssl_context=context)


def test_size_limit(tls_server):
    base, context = tls_server
    with pytest.raises(FetchRefused, match="larger"):
        fetch_public_https(f"{base}/big", max_bytes=1000, ssl_context=context, allowed_networks=LOOPBACK)


def test_redirects_are_checked_again(tls_server):
    base, context = tls_server
    with pytest.raises(FetchRefused, match="private, loopback"):
        fetch_public_https(f"{base}/redirect-private", max_bytes=100, ssl_context=context, allowed_networks=LOOPBACK)
    with pytest.raises(FetchRefused, match="only https"):
        fetch_public_https(f"{base}/redirect-http", max_bytes=100, ssl_context=context, allowed_networks=LOOPBACK)


def test_http_errors_and_bad_certificates(tls_server):
    base, context = tls_server
    with pytest.raises(FetchRefused, match="HTTP 404"):
        fetch_public_https(f"{base}/missing", max_bytes=100, ssl_context=context, allowed_networks=LOOPBACK)
    with pytest.raises(FetchRefused, match="could not be fetched"):
        fetch_public_https(f"{base}/ok", max_bytes=100, allowed_networks=LOOPBACK)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_address_classification(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


def test_resolution_of_loopback_names_is_refused():
    with pytest.raises(FetchRefused):
        resolve_allowed("localhost", 443)


def test_host_allowlist_is_checked_before_resolving():
    with pytest.raises(FetchRefused, match="only fetched from"):
        fetch_public_https("https://1.1/x.png", max_bytes=10, allowed_hosts=("avatars.example.test",))
    with pytest.raises(FetchRefused, match="cannot resolve"):
        fetch_public_https(
            "https://cdn.avatars.example.test/x.png", max_bytes=10, allowed_hosts=("avatars.example.test",)
        )


def test_one_deadline_for_the_whole_fetch(https_server):
    """A server that sends a byte every quarter second never trips a per-read timeout; the fetch's one
    deadline cuts it off long before its ten seconds of body are through."""
    fetcher = SafeFetcher(
        max_bytes=100,
        deadline_seconds=1.0,
        ssl_context=https_server.client_context,
        allowed_networks=tuple(LOOPBACK),
    )
    with pytest.raises(FetchRefused, match="in time"):
        fetcher.fetch(f"{https_server.base}/trickle")


def test_connect_to_sends_a_host_elsewhere_and_still_checks_the_address(https_server):
    moved = {("avatars.example.test", 443): ("127.0.0.1", https_server.port)}
    fetcher = SafeFetcher(max_bytes=100, ssl_context=https_server.client_context, connect_to=moved)
    with pytest.raises(FetchRefused, match="private, loopback"):
        fetcher.fetch("https://avatars.example.test/ok")
    allowed = SafeFetcher(
        max_bytes=100, ssl_context=https_server.client_context, connect_to=moved, allowed_networks=tuple(LOOPBACK)
    )
    assert allowed.fetch("https://avatars.example.test/ok") == b"hello"
