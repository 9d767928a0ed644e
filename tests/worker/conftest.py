"""The worker on the CPU with the tiny model, against the test's own PostgreSQL and Redis. Most tests run a
generation in-process with a shared warm pipeline; the shutdown and crash tests run real `posegen worker`
processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import redis
from psycopg.rows import dict_row

from posegen.contracts import parse_event, user_channel
from posegen.db import credits, projects
from posegen.db import generations as generations_db
from posegen.db.users import ensure_user
from posegen.plan import plan_images

SECRET = "worker-test-secret-" + "w" * 40
CREDITS_PER_IMAGE = 30


@pytest.fixture(scope="session")
def worker_redis_url(claim_redis_db) -> str:
    """The worker tests' own Redis database: their queue holds only the jobs they enqueue."""
    return claim_redis_db()


@pytest.fixture
def redis_client(worker_redis_url) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(worker_redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def worker_env(database_url, worker_redis_url, tiny_model, tmp_path_factory) -> dict[str, str]:
    """Settings of a worker on the test databases (as environment variables)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": worker_redis_url,
        "JWT_SECRET": SECRET,
        "STORAGE_DIR": str(tmp_path_factory.mktemp("storage")),
        "MODEL_BASE": str(tiny_model),
        "MODEL_CONTROLNET": str(tiny_model / "controlnet"),
        "TORCH_DEVICE": "cpu",
        "WORKER_PREVIEW_EVERY": "4",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "LOG_LEVEL": "INFO",
    }


def worker_settings(env: dict[str, str], **overrides):
    from posegen.settings import WorkerSettings

    values = {key.lower(): value for key, value in env.items() if key.lower() in WorkerSettings.model_fields}
    values.update(overrides)
    return WorkerSettings(_env_file=None, **values)


@pytest.fixture(scope="session")
def warm_pipeline(worker_env):
    from posegen.inference.loading import load_pipeline

    return load_pipeline(worker_settings(worker_env))


@pytest.fixture
def make_runtime(worker_env, warm_pipeline) -> Iterator[Callable]:
    from posegen_worker.runtime import Runtime

    opened = []

    def make(**overrides) -> Runtime:
        settings = worker_settings(worker_env, worker_name=f"w-{uuid.uuid4().hex[:6]}", **overrides)
        runtime = Runtime.open(settings, pipeline=warm_pipeline)
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


class Scenario:
    """A user with credits, a project, and generations made the way the gateway makes them."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url = database_url
        self.redis = redis.Redis.from_url(redis_url)
        self.user_id = f"user-{uuid.uuid4().hex[:8]}"
        self.granted = 10_000
        with self.connect() as conn:
            ensure_user(conn=conn, user_id=self.user_id, role="user", email=None, starting_credits=0)
            credits.grant(conn=conn, user_id=self.user_id, amount=self.granted, reference_type="test",
                          reference_id=self.user_id)  # fmt: skip
            self.project_id = projects.create_project(
                conn=conn,
                user_id=self.user_id,
                name="Worker test",
                description=None,
                avatar_source=None,
                avatar_image=None,
            )["id"]
            self.pose_ids = [r["id"] for r in conn.execute("SELECT id FROM poses ORDER BY name LIMIT 10").fetchall()]

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row)

    def generation(self, *, poses: int = 2, variations: int = 1, steps: int = 8, size: int = 256,
                   seed: int | None = 7, text: str | None = None, prompt: str = "studio",
                   identity_strength: float = 0.0, avatar_key: str | None = None) -> str:  # fmt: skip
        generation_id = str(uuid.uuid4())
        pose_ids = [] if text else self.pose_ids[:poses]
        kind = "TEXT_DESCRIPTION" if text else "GALLERY_REFERENCE"
        total = len(plan_images(generation_type=kind, pose_ids=pose_ids, variations=variations))
        with self.connect() as conn, conn.transaction():
            generations_db.insert_generation(conn=conn, generation_id=generation_id, user_id=self.user_id, fields={
                "project_id": self.project_id, "generation_type": kind, "text_prompt": text, "prompt": prompt,
                "negative_prompt": None, "variations_per_pose": variations, "width": size, "height": size,
                "steps": steps, "guidance_scale": 7.5, "seed": seed, "poses_total": total,
                "identity_strength": identity_strength, "avatar_key": avatar_key,
                "credit_charged": CREDITS_PER_IMAGE * total,
            })  # fmt: skip
            generations_db.insert_generation_poses(conn=conn, generation_id=generation_id, pose_ids=pose_ids)
            credits.charge(conn=conn, user_id=self.user_id, amount=CREDITS_PER_IMAGE * total,
                           reference_type="generation", reference_id=generation_id)  # fmt: skip
        return generation_id

    def row(self, generation_id: str) -> dict:
        with self.connect() as conn:
            return generations_db.get_generation(conn=conn, generation_id=generation_id)

    def images(self, generation_id: str) -> list[dict]:
        with self.connect() as conn:
            return generations_db.generated_poses(conn=conn, generation_id=generation_id)

    def balance(self) -> int:
        with self.connect() as conn:
            return credits.balance(conn=conn, user_id=self.user_id)

    def refunds(self) -> int:
        with self.connect() as conn:
            row = conn.execute("SELECT count(*) AS n FROM credit_ledger WHERE user_id = %s AND type = 'refund'",
                               (self.user_id,)).fetchone()  # fmt: skip
            return row["n"]


@pytest.fixture
def scenario(database_url, worker_redis_url) -> Scenario:
    return Scenario(database_url, worker_redis_url)


class EventLog:
    """Every event published on a user's channel, collected by a real Redis subscriber."""

    def __init__(self, redis_url: str, user_id: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(user_channel(user_id))
        self.events: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                self.events.append(parse_event(message["data"]))

    def wait_for(self, predicate, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if predicate(event):
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no matching event within {timeout}s; got {[e.type for e in self.events]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def events(worker_redis_url, scenario) -> Iterator[EventLog]:
    log = EventLog(worker_redis_url, scenario.user_id)
    time.sleep(0.1)
    yield log
    log.close()


@pytest.fixture
def spawn_worker(worker_env, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start real `posegen worker` processes; whatever is still running at the end is killed."""
    processes: list[subprocess.Popen] = []

    def spawn(name: str, **env_overrides: str) -> subprocess.Popen:
        env = {**os.environ, **worker_env, "WORKER_NAME": name, "WORKER_METRICS_PORT": "0", **env_overrides}
        log_file = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "posegen_cli", "worker"], env=env, cwd=tmp_path,
                                   stdout=log_file, stderr=subprocess.STDOUT)  # fmt: skip
        process.log_path = tmp_path / f"{name}.log"
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def direct_call(loaded, *, prompt, negative, control, seed: int, steps: int, size: int, embeds=None,
                scale: float = 0.0):  # fmt: skip
    """One image straight from diffusers, as a user of the library would call it (identity embeddings when the
    pipeline has an adapter: the blank image's at scale 0 unless ``embeds`` are given)."""
    import torch

    extra = {}
    if loaded.identity is not None:
        loaded.pipe.set_ip_adapter_scale(scale)
        extra["ip_adapter_image_embeds"] = [embeds if embeds is not None else loaded.identity.neutral]
    return loaded.pipe(
        prompt=prompt, negative_prompt=negative, image=control, generator=torch.Generator("cpu").manual_seed(seed),
        num_inference_steps=steps, guidance_scale=7.5, width=size, height=size, **extra,
    ).images[0]  # fmt: skip


def stream_types(redis_client: redis.Redis, generation_id: str) -> list[str]:
    from posegen.events import read_events

    return [event.type for event in read_events(redis_client, generation_id)]


def dump(obj) -> str:
    return json.dumps(obj, default=str, indent=1)
