"""Randomised chaos under load (issue 13): ``make test-chaos`` (``SEED=...`` to choose the schedule).

The load test's users generate (and now and then cancel) and its WebSocket clients watch, on a real local
cluster (gateway, relay, two workers with the tiny model) against a PostgreSQL and a Redis of this run's
own, while every few seconds a fault from a schedule drawn from ``--seed`` (printed at the start, so a run
can be repeated) strikes: a worker killed (SIGKILL) or stopped (SIGTERM), the relay or the gateway killed or
stopped, Redis or PostgreSQL restarted. A supervisor starts every process that exits again, as an
orchestrator would. After ``--duration`` seconds of faults the run waits for every generation to end and
checks, from PostgreSQL, the storage folder and what the clients received:

- every generation is in a final status;
- every client got every final event of its user, live or by replay of the stream after reconnecting, and it
  matches the status;
- every user's books balance (granted - charged + refunded = balance, each ledger row's balance is the sum
  so far), each generation is charged once, and charged - refunded = 30 x its completed images;
- no completed image is refunded, every planned image is either made or refunded, and every completed
  image's file and thumbnail exist.

It writes the figures to ``docs/benchmarks/chaos.md`` (one section per seed) and exits 1 on any loss.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import redis
from harness import (
    TERMINAL,
    LocalCluster,
    Supervisor,
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
from posegen_cli.localrun import free_port, start_private_postgres, start_private_redis

REPO = Path(__file__).resolve().parent.parent
KINDS = ("worker SIGKILL", "worker SIGTERM", "relay killed", "gateway killed", "Redis restart", "PostgreSQL restart")
DEFAULT_SEED = 1313
CHAOS_ENV = {"WORKER_LEASE_SECONDS": "10", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""A killed worker's generation is recovered 10 s after its last lease renewal (30 s by default); one torch
thread per worker, so two workers on a small shared machine do not fight over cores."""


@dataclass(frozen=True)
class Fault:
    at: float
    """Seconds after the faults start."""
    kind: str
    target: str
    signal: str = ""
    down: float = 0.0
    """How long Redis or PostgreSQL stays down."""

    def __str__(self) -> str:
        how = f" ({self.signal})" if self.signal and self.kind.endswith("killed") else ""
        down = f", down {self.down:.1f} s" if self.down else ""
        return f"t={self.at:6.1f}s  {self.kind:<18} {self.target}{how}{down}"


def fault_schedule(seed: int, duration: float, workers: list[str], gap: tuple[float, float]) -> list[Fault]:
    """The same seed, duration and workers always give the same schedule."""
    rng = random.Random(seed)
    faults, at = [], rng.uniform(*gap)
    while at < duration:
        kind = rng.choice(KINDS)
        if kind.startswith("worker"):
            fault = Fault(at, kind, rng.choice(workers), kind.split()[1])
        elif kind.endswith("killed"):
            fault = Fault(at, kind, kind.split()[0], rng.choice(("SIGKILL", "SIGTERM")))
        else:
            fault = Fault(at, kind, kind.split()[0].lower(), down=round(rng.uniform(0.5, 4.0), 1))
        faults.append(fault)
        at += rng.uniform(*gap)
    return faults


class Dependency:
    """A private PostgreSQL or Redis that can be restarted (``localrun`` starts and stops it)."""

    def __init__(self, url: str, var: Path, start) -> None:
        self.url, self.var, self._start = url, var, start
        self._stop = None

    def start(self) -> None:
        self._stop = self._start(self.url, self.var)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


class Injector:
    """Runs the schedule in a thread; restarts Redis and PostgreSQL itself, the supervisor restarts processes."""

    def __init__(self, schedule: list[Fault], cluster: LocalCluster, deps: dict[str, Dependency]) -> None:
        self.schedule, self.cluster, self.deps = schedule, cluster, deps
        self.injected: Counter[str] = Counter()
        self.log: list[str] = []
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        try:
            for fault in self.schedule:
                wait = self.started + fault.at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self._inject(fault)
        finally:
            self.done.set()

    def _inject(self, fault: Fault) -> None:
        stamp = time.monotonic() - self.started
        if fault.target in self.deps:
            dependency = self.deps[fault.target]
            dependency.stop()
            time.sleep(fault.down)
            dependency.start()
            outcome = "restarted"
        else:
            service = self.cluster.services[fault.target]
            outcome = "sent" if service.signal(getattr(signal, fault.signal)) else "not running (skipped)"
        if outcome != "not running (skipped)":
            self.injected[fault.kind] += 1
        line = f"[chaos t={stamp:6.1f}s] {fault.kind} {fault.target} {fault.signal} {outcome}"
        self.log.append(line)
        print(line, flush=True)


async def _post(http: httpx.AsyncClient, url: str, user: str, body: dict | None, until: float) -> dict | None:
    """POST until it is answered (the gateway may be down or restarting); None when the time is up. A lost
    answer may leave a generation the user never heard of: the checks count every generation in PostgreSQL."""
    while time.monotonic() < until:
        try:
            response = await http.post(url, headers=auth(user), json=body)
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code < 300:
            return response.json()
        if response.status_code not in (429, 500, 502, 503, 504):
            print(f"{user}: POST {url} answered {response.status_code}: {response.text[:300]}", flush=True)
            return None
        await asyncio.sleep(0.5)
    return None


async def drive_users(cluster, watchers, users, generations, steps, duration, seed, stats) -> None:
    """Submit ``generations`` spread over the fault window; cancel about one in six a moment later."""
    rng = random.Random(f"{seed}-users")
    pose, projects = users
    names = list(projects)
    async with httpx.AsyncClient(timeout=30) as http:
        until = time.monotonic() + duration + 180
        started = time.monotonic()
        cancels = []

        async def cancel_later(user: str, generation_id: str, delay: float) -> None:
            await asyncio.sleep(delay)
            if await _post(http, f"{cluster.api}/generations/{generation_id}/cancel", user, None, until):
                stats["cancels"] += 1

        for n in range(generations):
            await asyncio.sleep(max(0.0, started + n * duration / generations - time.monotonic()))
            user = names[n % len(names)]
            accepted = await _post(
                http, f"{cluster.api}/generate", user, generation_body(projects[user], pose, n, steps), until
            )
            if accepted is None:
                stats["submissions refused"] += 1
                continue
            stats["submitted"] += 1
            for watcher in watchers[user]:
                watcher.known.add(accepted["generationId"])
            if rng.random() < 1 / 6:
                cancels.append(asyncio.create_task(cancel_later(user, accepted["generationId"], rng.uniform(0.2, 4))))
        await asyncio.gather(*cancels)


def wait_all_final(database_url: str, names: list[str], timeout: float) -> dict[str, dict[str, str]]:
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        try:
            found = user_generations(database_url, names)
        except psycopg.OperationalError:
            time.sleep(1)
            continue
        if all(status in TERMINAL for group in found.values() for status in group.values()):
            return found
        time.sleep(1)
    return found


async def run(args, cluster: LocalCluster, database_url: str, injector: Injector) -> dict:
    names = [f"load-{u}" for u in range(args.users)]
    watchers = make_watchers(cluster.relay_url, names, args.clients_per_user)
    stop = asyncio.Event()
    tasks = await start_watchers(watchers, stop)
    stats: Counter[str] = Counter()
    async with httpx.AsyncClient(timeout=30) as http:
        users = await prepare_users(http, cluster.api, names, 10_000)
    started = time.monotonic()
    injector.start()
    await drive_users(cluster, watchers, users, args.generations, args.steps, args.duration, args.seed, stats)
    await asyncio.to_thread(injector.join)
    faults_over = time.monotonic()
    print(f"faults over after {faults_over - started:.0f} s; waiting for every generation to end", flush=True)
    expected = await asyncio.to_thread(wait_all_final, database_url, names, args.settle)
    all_final = time.monotonic()
    # Live events still on their way: give the clients a moment, then stop them and replay what is missing.
    deadline = time.monotonic() + 30
    while missing_finals(watchers, expected) and time.monotonic() < deadline:
        await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    expected = await asyncio.to_thread(user_generations, database_url, names)
    await asyncio.gather(*(w.catch_up(set(expected[user])) for user, group in watchers.items() for w in group))
    return {
        "names": names,
        "watchers": watchers,
        "expected": expected,
        "stats": stats,
        "faults_seconds": faults_over - started,
        "settle_seconds": all_final - faults_over,
        "total_seconds": all_final - started,
    }


def _counts(counter: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))


def write_report(path: Path, args, schedule, injector, supervisor, result, figures, missing, ok, command) -> str:
    watchers = [w for group in result["watchers"].values() for w in group]
    finals = Counter(how for w in watchers for _, how in w.finals.values())
    expected = sum(len(result["expected"][w.user]) for w in watchers)
    problems = {kind: found for kind, found in figures["problems"].items() if found}
    if missing:
        problems["final events missing"] = missing
    section = f"""## Seed {args.seed}

`{command}`, on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.

| figure | value |
|---|---|
| faults injected ({sum(injector.injected.values())}) | {_counts(injector.injected)} |
| processes restarted by the supervisor | {_counts(supervisor.restarts) or "none"} |
| users / watching clients | {args.users} / {args.users * args.clients_per_user} |
| generations (submitted / in PostgreSQL) | {result["stats"]["submitted"]} / {figures["generations"]} |
| generations by final status | {", ".join(f"{k} {v}" for k, v in sorted(figures["statuses"].items()))} |
| cancels accepted | {result["stats"]["cancels"]} |
| images made / failed | {figures["images"]} / {figures["failed_images"]} |
| events received by the clients | {sum(w.events for w in watchers)} |
| final events owed to clients / live / by replay / missing | {expected} / {finals["live"]} / \
{finals["replay"]} / {len(missing)} |
| client reconnections | {sum(max(0, w.connections - 1) for w in watchers)} |
| time: faults / from the last fault until all were final / total | {result["faults_seconds"]:.0f} s / \
{result["settle_seconds"]:.0f} s / {result["total_seconds"]:.0f} s |
| result | {"nothing lost" if ok else "FAILED: " + "; ".join(f"{k} ({len(v)})" for k, v in problems.items())} |

<details><summary>The schedule ({len(schedule)} faults)</summary>

```
{chr(10).join(str(f) for f in schedule)}
```
</details>
"""
    header = """# Chaos under load

Made by `make test-chaos` (`bench/chaos.py`): the load test's users and watching clients on a real local
cluster (gateway, relay, two workers with the tiny model, a private PostgreSQL and Redis), with a random
fault every few seconds from a seeded schedule; a supervisor restarts what dies. One section per seed; the
same seed gives the same schedule (what the faults hit in flight depends on timing). See
[../reliability.md](../reliability.md).
"""
    text = path.read_text(encoding="utf-8") if path.exists() else header
    sections = text.split("\n## Seed ")
    kept = [s for s in sections[1:] if not s.startswith(f"{args.seed}\n")]
    path.write_text(
        "\n## Seed ".join([sections[0].rstrip("\n") + "\n", *kept]).rstrip("\n") + "\n\n" + section, encoding="utf-8"
    )
    return section


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=None, help=f"the fault schedule's seed (default {DEFAULT_SEED})")
    parser.add_argument("--duration", type=float, default=90.0, help="seconds of faults (and of submissions)")
    parser.add_argument("--gap", type=float, nargs=2, default=(3.0, 8.0), help="seconds between faults (min max)")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--clients-per-user", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--settle", type=float, default=600.0, help="seconds allowed for all to end after faults")
    parser.add_argument("--dry-run", action="store_true", help="print the schedule and stop")
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/chaos.md"))
    args = parser.parse_args()
    args.seed = args.seed if args.seed is not None else int(os.environ.get("SEED") or DEFAULT_SEED)
    workers = ["worker"] if args.workers == 1 else [f"worker-{i + 1}" for i in range(args.workers)]
    schedule = fault_schedule(args.seed, args.duration, workers, tuple(args.gap))
    command = (
        f"python bench/chaos.py --seed {args.seed} --duration {args.duration:g} --users {args.users}"
        f" --generations {args.generations} --clients-per-user {args.clients_per_user}"
        f" --workers {args.workers} --steps {args.steps}"
        + ("" if tuple(args.gap) == (3.0, 8.0) else f" --gap {args.gap[0]:g} {args.gap[1]:g}")
    )
    print(f"chaos seed {args.seed} ({command}); {len(schedule)} faults:")
    print("\n".join(f"  {fault}" for fault in schedule), flush=True)
    if args.dry_run:
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    workdir = Path(tempfile.mkdtemp(prefix=f"posegen-chaos-{args.seed}-"))
    workdir.chmod(0o755)  # PostgreSQL runs as its own user under it
    print(f"logs and data in {workdir}", flush=True)
    database_url = f"postgresql://postgres@127.0.0.1:{free_port()}/posegen_chaos"
    deps = {
        "postgresql": Dependency(database_url, workdir / "var", start_private_postgres),
        "redis": Dependency(
            f"redis://127.0.0.1:{free_port()}/0",
            workdir / "var",
            lambda url, var: start_private_redis(url, var, append_only=True),
        ),
    }
    cluster = supervisor = None
    try:
        for dependency in deps.values():
            dependency.start()
        bootstrap_database(database_url, reset=True)
        redis.Redis.from_url(deps["redis"].url).flushdb()
        cluster = LocalCluster(
            database_url,
            deps["redis"].url,
            workdir,
            build_pipeline(TINY, workdir / "tiny"),
            workers=args.workers,
            extra_env=CHAOS_ENV,
        )
        cluster.start()
        supervisor = Supervisor(cluster)
        supervisor.start()
        injector = Injector(schedule, cluster, deps)
        result = asyncio.run(run(args, cluster, database_url, injector))
    finally:
        if supervisor is not None:
            supervisor.stop()
        if cluster is not None:
            cluster.stop()
        for dependency in deps.values():
            if dependency.url.startswith("redis"):
                dependency.stop()
    try:
        figures = audit(database_url, result["names"], LocalStorage(workdir / "storage"))
        missing = missing_finals(result["watchers"], result["expected"])
    finally:
        deps["postgresql"].stop()
    unsubmitted = args.generations - result["stats"]["submitted"]
    if unsubmitted:
        figures["problems"]["generations never accepted"] = [f"{unsubmitted} of {args.generations}"]
    ok = not missing and not any(figures["problems"].values())
    for kind, found in [*figures["problems"].items(), ("final event missing", missing)]:
        for line in found[:20]:
            print(f"{kind}: {line}")
    print(write_report(Path(args.out), args, schedule, injector, supervisor, result, figures, missing, ok, command))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
