"""Load test (issue 8): ``make test-load`` runs the real cluster (gateway, relay, one worker with the tiny
model) on a database and Redis database of its own; 10 users submit 50 generations while 200 WebSocket
clients (20 per user) watch. At the end every generation must be terminal, every client must have received
every terminal event of its user, and for every user: grants - charges + refunds = balance, with charges
minus refunds = 30 per completed image. Writes the figures to docs/benchmarks/load.md; exits 1 on any loss.
The cluster, users, watchers and checks are shared with the chaos run (``bench/harness.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis
from harness import (
    TERMINAL,
    LocalCluster,
    audit,
    auth,
    generation_body,
    make_watchers,
    missing_finals,
    prepare_users,
    start_watchers,
    user_generations,
)

from posegen.db.bootstrap import bootstrap_database
from posegen.inference.architectures import TINY, build_pipeline
from posegen.storage import LocalStorage

REPO = Path(__file__).resolve().parent.parent
S3_BUCKET = "posegen-load"


def start_s3(workdir: Path):
    """A SeaweedFS of the run's own (the tests' helper), with the bucket the cluster writes to."""
    sys.path.insert(0, str(REPO))
    from tests.s3server import SeaweedS3

    server = SeaweedS3(workdir / "s3")
    server.start()
    server.storage(S3_BUCKET).create_bucket()
    return server


async def run_load(cluster: LocalCluster, users: int, generations: int, clients_per_user: int, steps: int) -> dict:
    names = [f"load-{u}" for u in range(users)]
    watchers = make_watchers(cluster.relay_url, names, clients_per_user)
    stop = asyncio.Event()
    tasks = await start_watchers(watchers, stop)
    submitted: dict[str, list[str]] = {user: [] for user in names}
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        pose, projects = await prepare_users(http, cluster.api, names, 10_000)
        for n in range(generations):
            user = names[n % users]
            response = await http.post(
                f"{cluster.api}/generate", headers=auth(user), json=generation_body(projects[user], pose, n, steps)
            )
            response.raise_for_status()
            submitted[user].append(response.json()["generationId"])
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            states = [
                (await http.get(f"{cluster.api}/generations/{generation_id}", headers=auth(user))).json()["status"]
                for user, generation_ids in submitted.items()
                for generation_id in generation_ids
            ]
            if all(s in TERMINAL for s in states):
                break
            await asyncio.sleep(1)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"names": names, "watchers": watchers, "elapsed": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/posegen_load")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--clients-per-user", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument(
        "--storage",
        choices=["local", "s3"],
        default="local",
        help="s3: the images go to a SeaweedFS the run starts (STORAGE_BACKEND=s3)",
    )
    parser.add_argument("--out", default=None, help="default: docs/benchmarks/load.md (load-s3.md with s3)")
    args = parser.parse_args()
    args.out = args.out or str(REPO / "docs/benchmarks" / ("load-s3.md" if args.storage == "s3" else "load.md"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    bootstrap_database(args.postgres, reset=True)
    redis.Redis.from_url(args.redis).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="posegen-load-"))
    s3 = start_s3(workdir) if args.storage == "s3" else None
    try:
        storage_env = {**s3.client_env, "S3_BUCKET": S3_BUCKET} if s3 else {}
        storage = s3.storage(S3_BUCKET) if s3 else LocalStorage(workdir / "storage")
        cluster = LocalCluster(
            args.postgres, args.redis, workdir, build_pipeline(TINY, workdir / "tiny"), extra_env=storage_env
        )
        cluster.start()
        try:
            result = asyncio.run(run_load(cluster, args.users, args.generations, args.clients_per_user, args.steps))
        finally:
            cluster.stop()
        figures = audit(args.postgres, result["names"], storage)
        objects = len(storage.keys("poses/"))
    finally:
        if s3:
            s3.stop()
    missing = missing_finals(result["watchers"], user_generations(args.postgres, result["names"]))
    books_ok = not (figures["problems"]["books"] or figures["problems"]["charged twice"])
    ok = not missing and not any(figures["problems"].values()) and objects == 2 * figures["images"]
    where = "a SeaweedFS bucket (`STORAGE_BACKEND=s3`)" if s3 else "`STORAGE_DIR` (local files)"
    for kind, found in figures["problems"].items():
        for line in found[:20]:
            print(f"{kind}: {line}")
    Path(args.out).write_text(
        f"""# Load test

Made by `make test-load{" LOAD_STORAGE=s3" if s3 else ""}` (`python bench/load.py --users {args.users} \
--generations {args.generations} --clients-per-user {args.clients_per_user} --steps {args.steps} \
--storage {args.storage}`) on {datetime.now(UTC):%Y-%m-%d}, on this project's 2-core machine: the real gateway,
relay and one CPU worker with the tiny model (256 px), against PostgreSQL and Redis, images in {where}.

| figure | value |
|---|---|
| users / generations / watching WebSocket clients | \
{args.users} / {args.generations} / {args.users * args.clients_per_user} |
| images made | {figures["images"]} |
| objects stored (each image and its thumbnail) | {objects} |
| generations by final status | {", ".join(f"{k} {v}" for k, v in sorted(figures["statuses"].items()))} |
| time from the first submission until all were final | {result["elapsed"]:.1f} s |
| terminal events a client missed (of {args.generations * args.clients_per_user} expected) | {len(missing)} |
| users whose books balance (grants - charges + refunds = balance; charges - refunds = 30 per image) | \
{args.users if books_ok else "NOT ALL"} of {args.users} |
| verdict | {"nothing lost" if ok else "FAILED"} |
""",
        encoding="utf-8",
    )
    print(Path(args.out).read_text())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
