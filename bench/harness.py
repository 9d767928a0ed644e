"""What the load test (``bench/load.py``) and the chaos run (``bench/chaos.py``) share: the real cluster as
separate processes (restartable one by one, as an orchestrator restarts them), the users who buy credits and
generate, the WebSocket clients who watch (reconnecting and replaying with ``lastEventId`` when their
connection drops), and the checks read from PostgreSQL at the end."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from posegen.auth import mint_token
from posegen.storage import Storage
from posegen_cli.localrun import free_port

SECRET = "iABjIZe1sn974pqN_qmb2rILjvfjiG5VBNyC7vtgk75qadlS"
TERMINAL = {"completed", "failed", "cancelled", "partial"}
FINAL_EVENT_OF = {"completed": "completed", "partial": "completed", "failed": "failed", "cancelled": "cancelled"}
"""The final event a generation's status owes (``partial`` is announced by a ``completed`` event)."""
FINAL_EVENTS = {"completed", "failed", "cancelled"}
API_PATH = "/api/apps/pose-generator"
CREDITS_PER_IMAGE = 30


def token(user_id: str, role: str = "user") -> str:
    return mint_token(user_id=user_id, role=role, secret=SECRET, algorithm="HS256", ttl_seconds=7200)


def auth(user_id: str, role: str = "user") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id, role)}"}


@dataclass
class Service:
    """One process of the cluster, started again with the same command and settings after it dies."""

    name: str
    env: dict[str, str]
    log: Path
    command: str
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> None:
        with open(self.log, "a") as out:
            out.write(f"\n----- start {self.starts + 1} at {time.strftime('%H:%M:%S')} -----\n")
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "posegen_cli", self.command],
                env=self.env,
                cwd=self.log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> bool:
        if not self.alive():
            return False
        self.process.send_signal(signum)
        return True

    def stop(self, timeout: float = 60) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


class LocalCluster:
    """Gateway, relay and ``workers`` workers with the tiny model, on the given PostgreSQL and Redis."""

    def __init__(
        self,
        database_url: str,
        redis_url: str,
        workdir: Path,
        model: Path,
        *,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.ports = {"gateway": free_port(), "relay": free_port()}
        self.workdir = workdir
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "JWT_SECRET": SECRET,
            "STORAGE_DIR": str(workdir / "storage"),
            "MODEL_BASE": str(model),
            "MODEL_CONTROLNET": str(model / "controlnet"),
            "TORCH_DEVICE": "cpu",
            "GATEWAY_PORT": str(self.ports["gateway"]),
            "GATEWAY_HOST": "127.0.0.1",
            "RELAY_PORT": str(self.ports["relay"]),
            "RELAY_HOST": "127.0.0.1",
            "GENERATE_RATE_LIMIT": "1000/min",
            "LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
            "RELAY_MAX_CONNECTIONS_PER_USER": "50",
            "RELAY_MAX_MESSAGES_PER_SECOND": "1000",
            "PYTHONUNBUFFERED": "1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports['gateway']}",
            **(extra_env or {}),
        }
        self.services: dict[str, Service] = {}
        for name in ("gateway", "relay"):
            self.services[name] = Service(name, self.env, workdir / f"{name}.log", name)
        for index in range(workers):
            port = free_port()
            name = "worker" if workers == 1 else f"worker-{index + 1}"
            self.ports[name] = port
            env = {**self.env, "WORKER_METRICS_PORT": str(port), "WORKER_NAME": f"{name}-{port}"}
            self.services[name] = Service(name, env, workdir / f"{name}.log", "worker")

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}{API_PATH}"

    @property
    def relay_url(self) -> str:
        return f"ws://127.0.0.1:{self.ports['relay']}/pose-generator-ws"

    @property
    def workers(self) -> list[str]:
        return [name for name in self.services if name.startswith("worker")]

    def start(self, timeout: float = 240) -> None:
        for service in self.services.values():
            service.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        urls = [f"{self.api}/health", f"http://127.0.0.1:{self.ports['relay']}/ready"]
        urls += [f"http://127.0.0.1:{self.ports[name]}/ready" for name in self.workers]
        deadline = time.monotonic() + timeout
        while not all(_status(url) == 200 for url in urls):
            if time.monotonic() > deadline:
                raise SystemExit(f"the cluster did not become ready; logs in {self.workdir}")
            time.sleep(0.5)

    def stop(self) -> dict[str, int | None]:
        for service in self.services.values():
            service.signal(signal.SIGTERM)
        return {name: service.stop() for name, service in self.services.items()}


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


class Supervisor:
    """Restarts any process of the cluster that exited, after ``delay`` seconds, as an orchestrator would."""

    def __init__(self, cluster: LocalCluster, *, delay: float = 1.0) -> None:
        self.cluster = cluster
        self.delay = delay
        self.restarts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        dead_since: dict[str, float] = {}
        while not self._stop.wait(0.2):
            for name, service in self.cluster.services.items():
                if service.alive():
                    dead_since.pop(name, None)
                    continue
                since = dead_since.setdefault(name, time.monotonic())
                if time.monotonic() - since >= self.delay:
                    service.start()
                    self.restarts[name] += 1
                    dead_since.pop(name, None)


@dataclass
class Watcher:
    """A user's WebSocket client. It listens to all of its user's events; after a dropped connection it
    reconnects and subscribes again (with ``lastEventId``) to every generation it knows that has not ended,
    so what it missed is replayed. ``finals`` records each final event and whether it came live or by replay."""

    url: str
    user: str
    known: set[str] = field(default_factory=set)
    """Generation ids of the user (the submitter adds them; events add the ones it did not know)."""
    finals: dict[str, tuple[str, str]] = field(default_factory=dict)
    last_ids: dict[str, str] = field(default_factory=dict)
    events: int = 0
    connections: int = 0
    trouble: list[str] = field(default_factory=list)
    """Connection errors and error events, for the report of a client that missed something."""
    _replaying: set[str] = field(default_factory=set)

    async def run(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with connect(self.url, open_timeout=30, max_queue=None) as ws:
                    await ws.send(json.dumps({"type": "auth", "token": token(self.user)}))
                    await asyncio.wait_for(ws.recv(), 30)
                    self.connections += 1
                    ready.set()
                    if self.connections > 1:
                        await self.subscribe(ws, [g for g in self.known if g not in self.finals])
                    while not stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        self.handle(json.loads(raw))
            except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake) as error:
                self.trouble.append(f"{time.strftime('%H:%M:%S')} run: {type(error).__name__}: {error}")
                self._replaying.clear()
                await asyncio.sleep(0.5)

    async def subscribe(self, ws, generation_ids: list[str]) -> None:
        for generation_id in generation_ids:
            message = {"type": "subscribe", "generationId": generation_id}
            if generation_id in self.last_ids:
                message["lastEventId"] = self.last_ids[generation_id]
            self._replaying.add(generation_id)
            await ws.send(json.dumps(message))

    def handle(self, message: dict) -> None:
        data = message.get("data") or {}
        if message.get("event") == "error":
            self.trouble.append(f"{time.strftime('%H:%M:%S')} error event: {data}")
        if message.get("event") == "subscribed":
            self._replaying.discard(data.get("generationId"))
            return
        if message.get("event") != "pose-generation-update" or "generationId" not in data:
            return
        generation_id = data["generationId"]
        self.events += 1
        self.known.add(generation_id)
        self.last_ids[generation_id] = data["id"]
        if data["type"] in FINAL_EVENTS and generation_id not in self.finals:
            self.finals[generation_id] = (data["type"], "replay" if generation_id in self._replaying else "live")

    async def catch_up(self, generation_ids: set[str], timeout: float = 90) -> None:
        """Replay, on a fresh connection, the final event of every given generation it has not received;
        again on another connection while some are missing (a replay may be refused for a moment)."""
        deadline = time.monotonic() + timeout
        while (missing := sorted(generation_ids - set(self.finals))) and time.monotonic() < deadline:
            try:
                async with connect(self.url, open_timeout=30, max_queue=None) as ws:
                    await ws.send(json.dumps({"type": "auth", "token": token(self.user)}))
                    await asyncio.wait_for(ws.recv(), 30)
                    await self.subscribe(ws, missing)
                    patience = min(deadline, time.monotonic() + 20)
                    while time.monotonic() < patience and set(missing) - set(self.finals):
                        try:
                            self.handle(json.loads(await asyncio.wait_for(ws.recv(), 1)))
                        except TimeoutError:
                            continue
            except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake) as error:
                self.trouble.append(f"{time.strftime('%H:%M:%S')} catch-up: {type(error).__name__}: {error}")
            self._replaying.clear()
            if set(missing) - set(self.finals):
                self.trouble.append(f"catch-up still without {sorted(set(missing) - set(self.finals))}")
                await asyncio.sleep(1)


def make_watchers(url: str, users: list[str], per_user: int) -> dict[str, list[Watcher]]:
    return {user: [Watcher(url, user) for _ in range(per_user)] for user in users}


async def start_watchers(watchers: dict[str, list[Watcher]], stop: asyncio.Event, timeout: float = 120) -> list:
    readies, tasks = [], []
    for group in watchers.values():
        for watcher in group:
            ready = asyncio.Event()
            readies.append(ready)
            tasks.append(asyncio.create_task(watcher.run(ready, stop)))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout)
    return tasks


async def prepare_users(http: httpx.AsyncClient, api: str, users: list[str], credits: int) -> tuple[str, dict]:
    """Grant every user ``credits``, give each a project; return a library pose id and the projects."""
    pose = (await http.get(f"{api}/library?limit=1", headers=auth(users[0]))).json()["items"][0]["id"]
    projects = {}
    for user in users:
        granted = await http.post(
            f"{api}/admin/users/{user}/credits", json={"amount": credits}, headers=auth("load-admin", "admin")
        )
        granted.raise_for_status()
        created = await http.post(f"{api}/projects", json={"projectName": "Load"}, headers=auth(user))
        created.raise_for_status()
        projects[user] = created.json()["id"]
    return pose, projects


def generation_body(project: str, pose: str, n: int, steps: int) -> dict:
    return {
        "projectId": project,
        "selectedPoseIds": [pose],
        "variationsPerPose": 1 + n % 2,
        "steps": steps,
        "width": 256,
        "height": 256,
    }


def user_generations(database_url: str, users: list[str]) -> dict[str, dict[str, str]]:
    """Every generation of the users in PostgreSQL: user -> {generation id: status}."""
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute("SELECT user_id, id, status FROM generations WHERE user_id = ANY(%s)", (users,))
        found: dict[str, dict[str, str]] = {user: {} for user in users}
        for user, generation_id, status in rows:
            found[user][generation_id] = status
    return found


def audit(database_url: str, users: list[str], storage: Storage) -> dict:
    """The books and images of the users, from PostgreSQL and the cluster's storage. Each list names what is
    wrong; all empty means nothing was lost or paid twice."""
    problems: dict[str, list[str]] = {
        "not final": [],
        "books": [],
        "ledger": [],
        "charged twice": [],
        "images": [],
        "files": [],
    }
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        for user, balance in conn.execute("SELECT id, credit_balance FROM users WHERE id = ANY(%s)", (users,)):
            rows = conn.execute(
                "SELECT type, amount, balance, reference_id FROM credit_ledger WHERE user_id = %s ORDER BY id", (user,)
            ).fetchall()
            sums = Counter()
            for kind, amount, _, _ in rows:
                sums[kind] += amount
            if balance != sums["grant"] + sums["usage"] + sums["refund"]:
                problems["books"].append(
                    f"{user}: balance {balance} != granted {sums['grant']} - charged "
                    f"{-sums['usage']} + refunded {sums['refund']}"
                )
            running = 0
            for kind, amount, after, reference in rows:
                running += amount
                if after != running:
                    problems["ledger"].append(f"{user}: ledger row {kind} {reference} says {after}, sum {running}")
                    break
        generations = conn.execute(
            "SELECT g.id, g.user_id, g.status, g.poses_total, g.poses_completed, g.poses_failed, g.credit_charged,"
            " g.credit_refunded,"
            " (SELECT coalesce(-sum(amount), 0) FROM credit_ledger l WHERE l.type = 'usage'"
            "   AND l.reference_type = 'generation' AND l.reference_id = g.id),"
            " (SELECT count(*) FROM credit_ledger l WHERE l.type = 'usage' AND l.reference_id = g.id),"
            " (SELECT coalesce(sum(amount), 0) FROM credit_ledger l WHERE l.type = 'refund'"
            "   AND l.reference_id LIKE g.id || ':%%'),"
            " (SELECT count(*) FROM credit_ledger l JOIN generated_poses p ON p.generation_id = g.id"
            "   AND l.reference_id = g.id || ':' || p.variation_key"
            "   WHERE l.type = 'refund' AND p.status = 'completed'),"
            " (SELECT count(*) FROM credit_ledger l WHERE l.type = 'refund' AND l.reference_id LIKE g.id || ':%%')"
            " FROM generations g WHERE g.user_id = ANY(%s)",
            (users,),
        ).fetchall()
        for (
            generation_id,
            user,
            status,
            total,
            completed,
            _failed,
            charged,
            refunded,
            ledger_charged,
            charges,
            ledger_refunded,
            refunded_completed,
            refunds,
        ) in generations:
            name = f"{user}/{generation_id}"
            if status not in TERMINAL:
                problems["not final"].append(f"{name}: {status}")
            if charges != 1 or ledger_charged != charged or ledger_refunded != refunded:
                problems["ledger"].append(
                    f"{name}: {charges} charges of {ledger_charged} (row says {charged}),"
                    f" refunds {ledger_refunded} (row says {refunded})"
                )
            if refunded_completed:
                problems["charged twice"].append(f"{name}: {refunded_completed} completed images refunded")
            if status in TERMINAL and charged - refunded != CREDITS_PER_IMAGE * completed:
                problems["charged twice"].append(
                    f"{name}: charged {charged} - refunded {refunded} for {completed} images"
                )
            if status in TERMINAL and completed + refunds != total:
                problems["images"].append(f"{name}: {completed} made + {refunds} refunded of {total} planned")
        for generation_id, image, thumbnail in conn.execute(
            "SELECT p.generation_id, p.image_key, p.thumbnail_key FROM generated_poses p JOIN generations g"
            " ON g.id = p.generation_id WHERE g.user_id = ANY(%s) AND p.status = 'completed'",
            (users,),
        ):
            for key in (image, thumbnail):
                if not storage.exists(key):
                    problems["files"].append(f"{generation_id}: {key} missing")
        statuses = Counter(status for _, _, status, *_ in generations)
        images = sum(row[4] for row in generations)
        failed_images = sum(row[5] for row in generations)
    return {
        "problems": problems,
        "statuses": dict(statuses),
        "images": images,
        "failed_images": failed_images,
        "generations": len(generations),
    }


def missing_finals(watchers: dict[str, list[Watcher]], expected: dict[str, dict[str, str]]) -> list[str]:
    """Every (watcher, generation) whose final event never arrived or does not match the status."""
    missing = []
    for user, group in watchers.items():
        for index, watcher in enumerate(group):
            for generation_id, status in expected[user].items():
                got = watcher.finals.get(generation_id)
                if got is None or got[0] != FINAL_EVENT_OF.get(status):
                    missing.append(
                        f"{user}#{index}/{generation_id}: {status}, got {got};"
                        f" {watcher.connections} connections, trouble: {watcher.trouble[-6:]}"
                    )
    return missing
