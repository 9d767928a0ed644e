"""The worker on the CPU with the tiny model, against the test's own PostgreSQL and Redis. Most tests run a
generation in-process with a shared warm pipeline; the shutdown and crash tests run real `posegen worker`
processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from ..scenario import EventLog, Scenario

SECRET = "2-0wnhRAp7Px1_hp3vJA5ECEd0ySlqxCT-8nLEx0kO3n8tDx"


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


@pytest.fixture
def scenario(database_url, worker_redis_url) -> Scenario:
    return Scenario(database_url, worker_redis_url)


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
        process = subprocess.Popen(
            [sys.executable, "-m", "posegen_cli", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        process.log_path = tmp_path / f"{name}.log"
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def direct_call(
    loaded, *, prompt, negative, control, seed: int, steps: int, size: int, embeds=None, scale: float = 0.0
):
    """One image straight from diffusers, as a user of the library would call it (identity embeddings when the
    pipeline has an adapter: the blank image's at scale 0 unless ``embeds`` are given)."""
    import torch

    extra = {}
    if loaded.identity is not None:
        loaded.pipe.set_ip_adapter_scale(scale)
        extra["ip_adapter_image_embeds"] = [embeds if embeds is not None else loaded.identity.neutral]
    return loaded.pipe(
        prompt=prompt,
        negative_prompt=negative,
        image=control,
        generator=torch.Generator("cpu").manual_seed(seed),
        num_inference_steps=steps,
        guidance_scale=7.5,
        width=size,
        height=size,
        **extra,
    ).images[0]


def stream_types(redis_client: redis.Redis, generation_id: str) -> list[str]:
    from posegen.events import read_events

    return [event.type for event in read_events(redis_client, generation_id)]


def dump(obj) -> str:
    return json.dumps(obj, default=str, indent=1)
