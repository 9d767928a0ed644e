"""``posegen run``: the whole cluster on one machine, against ``DATABASE_URL`` and ``REDIS_URL``.

When PostgreSQL or Redis cannot be reached on a loopback address, private instances are started from local
binaries under ``var/`` and stopped again on exit; where there are none, the run stops with the compose
command that brings them up.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("posegen.run")

COMPOSE_HINT = "docker compose -f compose/docker-compose.yml up -d postgres redis"
_LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}


class DependencyError(RuntimeError):
    """A dependency is not reachable and cannot be started here; the message says what to do."""


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for private instances and tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_reachable(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not reachable(host, port, 0.5):
        if time.monotonic() > deadline:
            raise DependencyError(f"{host}:{port} did not come up within {timeout:.0f}s")
        time.sleep(0.2)


def ensure_env_file(env_path: Path = Path(".env"), example: Path = Path(".env.example")) -> bool:
    """Create ``.env`` from ``.env.example`` with a fresh random ``JWT_SECRET``; keep an existing one."""
    if env_path.exists() or not example.exists() or os.environ.get("JWT_SECRET"):
        return False
    lines = [
        f"JWT_SECRET={secrets.token_urlsafe(48)}" if line.startswith("JWT_SECRET=") else line
        for line in example.read_text(encoding="utf-8").splitlines()
    ]
    env_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env_path.chmod(0o600)
    return True


def find_binary(name: str) -> str | None:
    """``name`` on PATH, or in Debian's versioned PostgreSQL folders (newest first)."""
    return shutil.which(name) or max(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key, default=None)


def _version_key(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except (ValueError, IndexError):
        return 0.0


def _run_as(user: str | None, argv: list[str], *, check: bool = True) -> None:
    """Run a PostgreSQL tool quietly, as ``user`` when one is given."""
    subprocess.run(["runuser", "-u", user, "--", *argv] if user else argv, check=check, stdout=subprocess.DEVNULL)


def _postgres_os_user(data_dir: Path) -> str | None:
    """PostgreSQL refuses to run as root: use the ``postgres`` system user then."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise DependencyError("running as root and there is no 'postgres' system user to run PostgreSQL") from None
    for path in (data_dir.parent, data_dir):
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return "postgres"


def start_private_postgres(database_url: str, var_dir: Path) -> Callable[[], None]:
    parts = urlsplit(database_url)
    host, port, user = parts.hostname or "127.0.0.1", parts.port or 5432, parts.username or "postgres"
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise DependencyError(
            f"PostgreSQL is not reachable at {host}:{port} and no local initdb/pg_ctl were found. "
            f"Start it with: {COMPOSE_HINT}"
        )
    data_dir = (var_dir / "postgres" / "data").resolve()
    os_user = _postgres_os_user(data_dir)
    if not (data_dir / "PG_VERSION").exists():
        log.info("initialising a private PostgreSQL in %s", data_dir)
        _run_as(os_user, [initdb, "-D", str(data_dir), "-U", user, "--auth=trust", "-E", "UTF8"])
    options = f"-p {port} -k {data_dir} -c listen_addresses={host}"
    logfile = data_dir.parent / "postgres.log"
    _run_as(os_user, [pg_ctl, "-D", str(data_dir), "-o", options, "-l", str(logfile), "-w", "start"])
    log.info("started a private PostgreSQL on %s:%s (log: %s)", host, port, logfile)

    def stop() -> None:
        _run_as(os_user, [pg_ctl, "-D", str(data_dir), "-m", "fast", "-w", "stop"], check=False)
        log.info("stopped the private PostgreSQL")

    return stop


def start_private_redis(redis_url: str, var_dir: Path, *, append_only: bool = False) -> Callable[[], None]:
    parts = urlsplit(redis_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    server = shutil.which("redis-server")
    if not server:
        raise DependencyError(
            f"Redis is not reachable at {host}:{port} and no local redis-server was found. "
            f"Start it with: {COMPOSE_HINT}"
        )
    folder = (var_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    options = {
        "port": port,
        "bind": host,
        "dir": folder,
        "save": "",
        "appendonly": "yes" if append_only else "no",
        "logfile": folder / "redis.log",
    }
    argv = [server, *(part for name, value in options.items() for part in (f"--{name}", str(value)))]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    wait_until_reachable(host, port)
    log.info("started a private Redis on %s:%s", host, port)

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)
        log.info("stopped the private Redis")

    return stop


@contextlib.contextmanager
def dependencies(database_url: str, redis_url: str, var_dir: Path) -> Iterator[None]:
    """PostgreSQL and Redis reachable for the block; private ones started here are stopped after it."""
    with contextlib.ExitStack() as stack:
        for url, default_port, start in (
            (database_url, 5432, start_private_postgres),
            (redis_url, 6379, start_private_redis),
        ):
            parts = urlsplit(url)
            if parts.scheme == "unix" or reachable(parts.hostname or "127.0.0.1", parts.port or default_port):
                continue
            if (parts.hostname or "") not in _LOOPBACK:
                raise DependencyError(f"{parts.hostname}:{parts.port or default_port} is not reachable")
            stack.callback(start(url, var_dir))
        yield


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    """Set for this service only, over the environment."""


def _relay_output(name: str, stream, width: int) -> None:
    """Copy a child's output line by line, each line prefixed with the service's name."""
    prefix = f"{name:<{width}} | "
    for line in iter(stream.readline, ""):
        sys.stdout.write(prefix + line)
        sys.stdout.flush()
    stream.close()


def supervise(services: Sequence[ServiceSpec], *, task: Callable[[], int] | None = None) -> int:
    """Run the services as child processes (their output prefixed with their names) until one exits, a
    signal arrives or ``task`` (run in a thread once they are started) returns; then stop them all."""
    width = max(len(spec.name) for spec in services)
    children = {}
    for spec in services:
        child = subprocess.Popen(
            list(spec.argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=_relay_output, args=(spec.name, child.stdout, width), daemon=True).start()
        children[spec.name] = child
    # The exit code, from whichever ends the run first: the task, a child (its code, or 1) or a signal (0).
    outcome: dict[str, int] = {}
    previous = {
        sig: signal.signal(sig, lambda _signum, _frame: outcome.setdefault("code", 0))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    if task is not None:
        threading.Thread(target=lambda: outcome.setdefault("code", task()), daemon=True).start()
    try:
        while "code" not in outcome:
            for name, child in children.items():
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping the cluster", name, child.returncode)
                    outcome.setdefault("code", child.returncode or 1)
            time.sleep(0.2)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return outcome["code"]
