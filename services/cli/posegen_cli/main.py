"""The ``posegen`` command (README.md): each sub-command builds its settings at start-up, then calls the
library."""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

from posegen.logs import configure_logging
from posegen.settings import AuthSettings, CommonSettings, GatewaySettings, RelaySettings, load_settings
from posegen_cli import export, models
from posegen_cli.volumes import VolumeError, parse_owner, prepare_volume

log = logging.getLogger("posegen.cli")

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> int:
    match = _DURATION.match(value.strip().lower())
    if not match or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a duration like 3600, 90s, 30m, 12h or 7d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def migrate_database(database_url: str) -> None:
    from posegen.db.migrate import apply_migrations
    from posegen.db.pool import database_name, ensure_database

    if ensure_database(database_url):
        print(f"created database {database_name(database_url)}")
    applied = apply_migrations(database_url)
    for migration in applied:
        print(f"applied {migration.version}_{migration.name}")
    if not applied:
        print("database schema is up to date")


def seed_database(database_url: str) -> None:
    import psycopg

    from posegen.poses.seed import seed_library

    with psycopg.connect(database_url) as conn:
        report = seed_library(conn=conn)
    state = "updated" if report.changed else "unchanged"
    print(
        f"pose library {state}: {report.categories_total} categories ({report.categories_written} written), "
        f"{report.poses_total} poses ({report.poses_written} written)"
    )


def ensure_model() -> None:
    """Without real weights configured, build the tiny model once, before the worker starts."""
    from posegen.settings import WorkerSettings

    settings = load_settings(WorkerSettings)
    if settings.model_base:
        return
    from posegen.inference.loading import resolve_models

    print("no MODEL_BASE configured: using the tiny offline model (it draws noise; see `posegen models download`)")
    resolve_models(settings)


DEV_USER = "dev-user"
DEV_CREDITS = 100_000


def grant_dev_credits(database_url: str) -> None:
    """The local cluster's development user starts with credits (once), so the web page can generate."""
    import psycopg
    from psycopg.rows import dict_row

    from posegen.db import credits
    from posegen.db.users import ensure_user

    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        ensure_user(conn=conn, user_id=DEV_USER, role="admin", email=None, starting_credits=0)
        credits.grant(
            conn=conn,
            user_id=DEV_USER,
            amount=DEV_CREDITS,
            reference_type="dev",
            reference_id=DEV_USER,
            description="posegen run",
        )


def run_demo(settings: GatewaySettings, relay_port: int) -> int:
    """Wait until the cluster is healthy (a worker registered), then generate two images and follow them."""
    import contextlib
    import time

    import httpx

    from posegen_cli import client

    health = f"http://127.0.0.1:{settings.gateway_port}/api/apps/pose-generator/health"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(health, timeout=2).status_code == 200:
                break
        time.sleep(0.5)
    else:
        print("demo: the cluster did not become healthy in 3 minutes", file=sys.stderr)
        return 1
    api_settings = client.ClientSettings(
        api_url=f"http://127.0.0.1:{settings.gateway_port}", relay_url=f"ws://127.0.0.1:{relay_port}/pose-generator-ws"
    )
    api = client.Api(None, api_settings)
    poses = ",".join(p["id"] for p in api.call("GET", "/library", params={"limit": 2, "featured": "true"})["items"])
    args = argparse.Namespace(
        project=None, poses=poses, variations=1, steps=12, size=256, prompt=None, seed=7, watch=True
    )
    code = client.generate(args, api)
    print(f"demo: the images are stored under {settings.storage_dir}/poses/ and served by the signed URLs above")
    return code


def print_welcome(settings: GatewaySettings, relay_port: int) -> None:
    from posegen_cli.client import dev_token

    token = dev_token(ttl_seconds=12 * 3600)
    print(
        "\nPose Generator cluster starting (Ctrl-C stops it):\n"
        f"  web page  http://localhost:{settings.gateway_port}/#token={token}\n"
        f"  API docs  http://localhost:{settings.gateway_port}/docs\n"
        f"  live      http://localhost:{settings.gateway_port}/pose-generator-ws (Socket.IO, namespace "
        f"/pose-generator, and the plain WebSocket protocol; also on the relay's own port {relay_port})\n"
        f"  a 12-hour admin token for 'dev-user' (the link above carries it):\n  {token}\n",
        flush=True,
    )


def _on_database(action: Callable[[str], None]) -> Callable[[argparse.Namespace], int]:
    """``posegen migrate`` and ``posegen seed``: ``action`` on ``DATABASE_URL``, waiting up to a minute for
    PostgreSQL to answer (a deployment's one-shot step may start beside a database that is still starting)."""

    def command(_args: argparse.Namespace) -> int:
        import psycopg

        from posegen.retry import retrying

        settings = load_settings(CommonSettings)
        configure_logging(settings.log_format, settings.log_level)
        for attempt in retrying(on=(psycopg.OperationalError,), deadline=60, first=0.5, cap=5.0, log=log):
            with attempt:
                action(settings.database_url)
        return 0

    return command


def cmd_token(args: argparse.Namespace) -> int:
    from posegen.auth import mint_token

    settings = load_settings(AuthSettings)
    try:
        token = mint_token(
            user_id=args.user,
            role="admin" if args.admin else "user",
            ttl_seconds=args.ttl,
            email=args.email,
            secret=settings.jwt_secret.get_secret_value(),
            algorithm=settings.jwt_algorithm,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from posegen_cli import localrun

    if localrun.ensure_env_file():
        print("wrote .env from .env.example with a new random JWT_SECRET")
    settings = load_settings(GatewaySettings)
    relay_port = load_settings(RelaySettings).relay_port
    configure_logging(settings.log_format, settings.log_level)
    try:
        with localrun.dependencies(settings.database_url, settings.redis_url, args.var_dir):
            migrate_database(settings.database_url)
            seed_database(settings.database_url)
            if args.no_services:
                return 0
            ensure_model()
            grant_dev_credits(settings.database_url)
            print_welcome(settings, relay_port)
            services = [
                localrun.ServiceSpec(name, [sys.executable, "-m", "posegen_cli", name], RUN_ENV.get(name, {}))
                for name in RUN_SERVICES
            ]
            task = (lambda: run_demo(settings, relay_port)) if args.demo else None
            return localrun.supervise(services, task=task)
    except localrun.DependencyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def cmd_volumes(args: argparse.Namespace) -> int:
    uid, gid = args.owner
    try:
        for path in args.paths:
            print(f"{path}: {prepare_volume(path=Path(path), uid=uid, gid=gid)} for {uid}:{gid}")
    except (VolumeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_storage(args: argparse.Namespace) -> int:
    from posegen.storage import open_storage
    from posegen_cli import storage

    settings = load_settings(CommonSettings)
    configure_logging(settings.log_format, settings.log_level)
    return storage.run(
        args.storage_command, open_storage(settings), source_dir=getattr(args, "source", None) or settings.storage_dir
    )


RUN_SERVICES: tuple[str, ...] = ("gateway", "relay", "worker", "extractor")
"""The long-running services ``posegen run`` starts after migrating and seeding."""
RUN_ENV = {"gateway": {"GATEWAY_SERVE_RELAY": "true"}}
"""Without an edge, the gateway's port also serves the relay's path (Socket.IO and plain WebSocket)."""


def _service(module: str) -> Callable[[argparse.Namespace], int]:
    """``posegen <service>`` runs the ``main()`` of its module, imported only then (as is every command's stack)."""
    return lambda _args: importlib.import_module(module).main()


def _client(name: str) -> Callable[[argparse.Namespace], int]:
    return lambda args: getattr(importlib.import_module("posegen_cli.client"), name)(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posegen", description="Pose Generator cluster")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, help_text, func in (
        ("migrate", "create the database if missing and apply SQL migrations", _on_database(migrate_database)),
        ("seed", "upsert the pose library (idempotent)", _on_database(seed_database)),
        ("gateway", "serve the REST API (uvicorn)", _service("posegen_gateway.main")),
        ("relay", "serve the WebSocket relay", _service("posegen_relay.main")),
        ("worker", "run a GPU worker on the pose-generation queue", _service("posegen_worker.main")),
        (
            "extractor",
            "run a CPU pose extractor (poses from photos) on the pose-extraction queue",
            _service("posegen_worker.extractor"),
        ),
    ):
        commands.add_parser(name, help=help_text).set_defaults(func=func)

    token = commands.add_parser("token", help="mint a development JWT")
    token.add_argument("--user", required=True, help="the userId claim")
    token.add_argument("--admin", action="store_true", help="role: admin")
    token.add_argument("--ttl", type=parse_duration, default=parse_duration("12h"), help="lifetime (12h)")
    token.add_argument("--email", default=None)
    token.set_defaults(func=cmd_token)

    models.add_parser(commands).set_defaults(func=models.run)

    volumes = commands.add_parser("volumes", help="prepare shared volumes (an init container, as root)")
    volumes_commands = volumes.add_subparsers(dest="volumes_command", required=True, metavar="ACTION")
    prepare = volumes_commands.add_parser("prepare", help="give each volume's top folder to the services' user")
    prepare.add_argument(
        "--owner", type=parse_owner, default="10001:10001", help="uid:gid that must be able to write (10001:10001)"
    )
    prepare.add_argument("paths", nargs="+", help="the volumes' mount paths")
    volumes.set_defaults(func=cmd_volumes)

    storage = commands.add_parser("storage", help="object storage: create the bucket, check, migrate STORAGE_DIR")
    storage_commands = storage.add_subparsers(dest="storage_command", required=True, metavar="ACTION")
    storage_commands.add_parser("init", help="create S3_BUCKET if it is missing (STORAGE_BACKEND=s3)")
    storage_commands.add_parser("check", help="exit 1 unless the configured backend can be used")
    migrate_files = storage_commands.add_parser(
        "migrate", help="copy every file under STORAGE_DIR to S3_BUCKET (same keys), then read each back and compare"
    )
    migrate_files.add_argument("--source", default=None, help="the folder to copy (default: STORAGE_DIR)")
    storage.set_defaults(func=cmd_storage)

    generate = commands.add_parser("generate", help="submit a generation through the gateway")
    generate.add_argument("--project", default=None, help="project id (default: a new project)")
    generate.add_argument("--poses", required=True, help="comma-separated library pose ids")
    generate.add_argument("--variations", type=int, default=1)
    generate.add_argument("--steps", type=int, default=20)
    generate.add_argument("--size", type=int, default=512)
    generate.add_argument("--prompt", default=None)
    generate.add_argument("--seed", type=int, default=None)
    generate.add_argument(
        "--identity-strength",
        type=float,
        default=None,
        help="0..1: how strongly the project's avatar shapes the images (default: the server's, 0 without avatar)",
    )
    generate.add_argument("--watch", action="store_true", help="follow it live with a progress bar per image")
    library = commands.add_parser("library", help="list library poses")
    library.add_argument("--search", default=None)
    library.add_argument("--category", default=None)
    library.add_argument("--limit", type=int, default=20)
    library.add_argument("--json", action="store_true", help="one JSON object per line")
    status = commands.add_parser("status", help="show a generation")
    status.add_argument("generation_id")
    for client_command, function in ((generate, "generate"), (library, "library"), (status, "status")):
        client_command.add_argument("--token", default=None, help="a JWT (default: POSEGEN_TOKEN, or a dev token)")
        client_command.set_defaults(func=_client(function))
    export.add_parser(commands).set_defaults(func=export.export)

    run = commands.add_parser("run", help="migrate, seed and run every service locally")
    run.add_argument("--var-dir", type=Path, default="var", help="where private PostgreSQL/Redis keep their data")
    run.add_argument("--no-services", action="store_true", help="only start dependencies, migrate and seed")
    run.add_argument("--demo", action="store_true", help="submit one generation, follow it, print its images, stop")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
