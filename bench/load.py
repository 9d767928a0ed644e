"""Load test (issue 8): ``make test-load`` runs the real cluster (gateway, relay, one worker with the tiny
model) on a database and Redis database of its own; 10 users submit 50 generations while 200 WebSocket
clients (20 per user) watch. At the end every generation must be terminal, every client must have received
every terminal event of its user, and for every user: grants - charges + refunds = balance, with charges
minus refunds = 30 per completed image. Writes the figures to docs/benchmarks/load.md; exits 1 on any loss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import redis
from websockets.asyncio.client import connect

from posegen.auth import mint_token
from posegen.db.bootstrap import bootstrap_database
from posegen.inference.architectures import TINY, build_pipeline
from posegen_cli.localrun import free_port

REPO = Path(__file__).resolve().parent.parent
SECRET = "load-secret-" + "l" * 40
TERMINAL = {"completed", "failed", "cancelled"}
S3_BUCKET = "posegen-load"


def start_s3(workdir: Path):
    """A SeaweedFS of the run's own (the tests' helper), with the bucket the cluster writes to."""
    sys.path.insert(0, str(REPO))
    from tests.s3server import SeaweedS3

    server = SeaweedS3(workdir / "s3")
    server.start()
    server.storage(S3_BUCKET).create_bucket()
    return server


def start_cluster(
    database_url: str, redis_url: str, workdir: Path, storage_env: dict[str, str]
) -> tuple[dict, list[subprocess.Popen]]:
    model = build_pipeline(TINY, workdir / "tiny")
    ports = {"gateway": free_port(), "relay": free_port(), "worker": free_port()}
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "JWT_SECRET": SECRET,
           "STORAGE_DIR": str(workdir / "storage"), "MODEL_BASE": str(model),
           "MODEL_CONTROLNET": str(model / "controlnet"),
           "TORCH_DEVICE": "cpu", "GATEWAY_PORT": str(ports["gateway"]), "GATEWAY_HOST": "127.0.0.1",
           "RELAY_PORT": str(ports["relay"]), "RELAY_HOST": "127.0.0.1",
           "WORKER_METRICS_PORT": str(ports["worker"]),
           "GENERATE_RATE_LIMIT": "1000/min", "LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1",
           "RELAY_MAX_CONNECTIONS_PER_USER": "50",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}", **storage_env}  # fmt: skip
    processes = [subprocess.Popen([sys.executable, "-m", "posegen_cli", name], env=env, cwd=workdir,
                                  stdout=open(workdir / f"{name}.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
                 for name in ("gateway", "relay", "worker")]  # fmt: skip
    health = f"http://127.0.0.1:{ports['gateway']}/api/apps/pose-generator/health"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=2).status_code == 200:
                return ports, processes
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the cluster did not become healthy")


async def watcher(url: str, token: str, seen: set, ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with connect(url, open_timeout=60, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.recv()
        ready.set()
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            data = message.get("data", {})
            if message.get("event") == "pose-generation-update" and data.get("type") in TERMINAL:
                seen.add((data["generationId"], data["type"]))


async def run_load(ports: dict, users: int, generations: int, clients_per_user: int, steps: int) -> dict:
    api = f"http://127.0.0.1:{ports['gateway']}/api/apps/pose-generator"
    relay = f"ws://127.0.0.1:{ports['relay']}/pose-generator-ws"
    admin = {
        "Authorization": f"Bearer {mint_token(user_id='load-admin', role='admin', secret=SECRET, algorithm='HS256')}"
    }
    tokens = {f"load-{u}": mint_token(user_id=f"load-{u}", secret=SECRET, algorithm="HS256", ttl_seconds=7200)
              for u in range(users)}  # fmt: skip
    stop = asyncio.Event()
    seen = {user: [set() for _ in range(clients_per_user)] for user in tokens}
    readies = []
    tasks = []
    for user, token in tokens.items():
        for index in range(clients_per_user):
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(asyncio.create_task(watcher(relay, token, seen[user][index], ready, stop)))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    submitted: dict[str, list[str]] = {user: [] for user in tokens}
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        pose = (
            await http.get(f"{api}/library?limit=1", headers={"Authorization": f"Bearer {tokens['load-0']}"})
        ).json()
        pose_id = pose["items"][0]["id"]
        projects = {}
        for user, token in tokens.items():
            (
                await http.post(f"{api}/admin/users/{user}/credits", json={"amount": 10_000}, headers=admin)
            ).raise_for_status()
            projects[user] = (await http.post(f"{api}/projects", json={"projectName": "Load"},
                                              headers={"Authorization": f"Bearer {token}"})).json()["id"]  # fmt: skip
        users_list = list(tokens)
        for n in range(generations):
            user = users_list[n % users]
            response = await http.post(f"{api}/generate", headers={"Authorization": f"Bearer {tokens[user]}"}, json={
                "projectId": projects[user], "selectedPoseIds": [pose_id], "variationsPerPose": 1 + n % 2,
                "steps": steps, "width": 256, "height": 256,
            })  # fmt: skip
            response.raise_for_status()
            submitted[user].append(response.json()["generationId"])
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            states = []
            for user, generation_ids in submitted.items():
                headers = {"Authorization": f"Bearer {tokens[user]}"}
                for generation_id in generation_ids:
                    states.append(
                        (await http.get(f"{api}/generations/{generation_id}", headers=headers)).json()["status"]
                    )
            if all(s in TERMINAL | {"partial"} for s in states):
                break
            await asyncio.sleep(1)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"tokens": tokens, "submitted": submitted, "seen": seen, "elapsed": elapsed}


def check(database_url: str, result: dict) -> dict:
    with psycopg.connect(database_url) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM generations GROUP BY status").fetchall())
        books = conn.execute(
            "SELECT u.id, u.credit_balance,"
            " coalesce((SELECT sum(amount) FROM credit_ledger l WHERE l.user_id = u.id AND type = 'grant'), 0),"
            " coalesce((SELECT -sum(amount) FROM credit_ledger l WHERE l.user_id = u.id AND type = 'usage'), 0),"
            " coalesce((SELECT sum(amount) FROM credit_ledger l WHERE l.user_id = u.id AND type = 'refund'), 0),"
            " (SELECT count(*) FROM generated_poses p JOIN generations g ON g.id = p.generation_id"
            "   WHERE g.user_id = u.id AND p.status = 'completed')"
            " FROM users u WHERE u.id LIKE 'load-%' AND u.id <> 'load-admin'"
        ).fetchall()
    books_ok = all(balance == granted - charged + refunded and charged - refunded == 30 * images
                   for _, balance, granted, charged, refunded, images in books)  # fmt: skip
    missing = 0
    for user, generation_ids in result["submitted"].items():
        expected = set(generation_ids)
        for client_seen in result["seen"][user]:
            missing += len(expected - {g for g, _ in client_seen})
    return {"statuses": statuses, "books_ok": books_ok, "users": len(books), "missing_terminal_events": missing,
            "images": sum(row[5] for row in books)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/posegen_load")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--clients-per-user", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--storage", choices=["local", "s3"], default="local",
                        help="s3: the images go to a SeaweedFS the run starts (STORAGE_BACKEND=s3)")  # fmt: skip
    parser.add_argument("--out", default=None, help="default: docs/benchmarks/load.md (load-s3.md with s3)")
    args = parser.parse_args()
    args.out = args.out or str(REPO / "docs/benchmarks" / ("load-s3.md" if args.storage == "s3" else "load.md"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    bootstrap_database(args.postgres, reset=True)
    redis.Redis.from_url(args.redis).flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="posegen-load-"))
    s3 = start_s3(workdir) if args.storage == "s3" else None
    storage_env = {**s3.client_env, "S3_BUCKET": S3_BUCKET} if s3 else {}
    try:
        ports, processes = start_cluster(args.postgres, args.redis, workdir, storage_env)
        try:
            result = asyncio.run(run_load(ports, args.users, args.generations, args.clients_per_user, args.steps))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)
        figures = check(args.postgres, result)
        if s3:
            stored = s3.storage(S3_BUCKET).keys("poses/")
        else:
            stored = [p for p in (workdir / "storage/poses").rglob("*") if p.is_file()]
        figures["objects"] = len(stored)
    finally:
        if s3:
            s3.stop()
    ok = (
        figures["books_ok"]
        and figures["missing_terminal_events"] == 0
        and set(figures["statuses"]) <= TERMINAL | {"partial"}
        and figures["objects"] == 2 * figures["images"]
    )
    where = "a SeaweedFS bucket (`STORAGE_BACKEND=s3`)" if s3 else "`STORAGE_DIR` (local files)"
    Path(args.out).write_text(f"""# Load test

Made by `make test-load{" LOAD_STORAGE=s3" if s3 else ""}` (`python bench/load.py --users {args.users} \
--generations {args.generations} --clients-per-user {args.clients_per_user} --steps {args.steps} \
--storage {args.storage}`) on {datetime.now(UTC):%Y-%m-%d}, on this project's 2-core machine: the real gateway,
relay and one CPU worker with the tiny model (256 px), against PostgreSQL and Redis, images in {where}.

| figure | value |
|---|---|
| users / generations / watching WebSocket clients | \
{args.users} / {args.generations} / {args.users * args.clients_per_user} |
| images made | {figures["images"]} |
| objects stored (each image and its thumbnail) | {figures["objects"]} |
| generations by final status | {", ".join(f"{k} {v}" for k, v in sorted(figures["statuses"].items()))} |
| time from the first submission until all were final | {result["elapsed"]:.1f} s |
| terminal events a client missed (of {args.generations * args.clients_per_user} expected) | \
{figures["missing_terminal_events"]} |
| users whose books balance (grants - charges + refunds = balance; charges - refunds = 30 per image) | \
{figures["users"] if figures["books_ok"] else "NOT ALL"} of {figures["users"]} |
| verdict | {"nothing lost" if ok else "FAILED"} |
""", encoding="utf-8")  # fmt: skip
    print(Path(args.out).read_text())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
