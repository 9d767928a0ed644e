"""The public-only fetcher against a real HTTPS server on loopback (allowed explicitly for the test)."""

import ipaddress
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from posegen_gateway.safe_fetch import FetchRefused, fetch_public_https, is_public, resolve_allowed

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/big":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"x" * 5000)
            elif self.path == "/redirect-private":
                self.send_response(302)
                self.send_header("Location", "https://10.1.2.3/a.png")
                self.end_headers()
            elif self.path == "/redirect-http":
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1/a.png")
                self.end_headers()
            elif self.path == "/missing":
                self.send_response(404)
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    yield f"https://localhost:{server.server_address[1]}", client_context
    server.shutdown()


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
