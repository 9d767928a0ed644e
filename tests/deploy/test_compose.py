"""The compose file as `docker compose --profile ...` would read it (no engine here): which services each
profile starts, and what the GPU worker needs before it starts."""

from itertools import combinations
from pathlib import PurePosixPath

import pytest
import yaml

from posegen.inference.download import load_manifest
from posegen_cli.main import build_parser

from .conftest import REPO

COMPOSE = yaml.safe_load((REPO / "compose/docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PROFILES = sorted({p for s in SERVICES.values() for p in s.get("profiles", [])})


def started(profiles: set[str]) -> set[str]:
    return {name for name, s in SERVICES.items() if not s.get("profiles") or profiles & set(s["profiles"])}


def named_volume(service: dict, path: str) -> str:
    """The named volume mounted at ``path`` or above it."""
    for entry in service["volumes"]:
        source, _, target = entry.partition(":")
        if PurePosixPath(target) == PurePosixPath(path) or PurePosixPath(target) in PurePosixPath(path).parents:
            assert source in COMPOSE["volumes"], f"{source} is not a named volume: it would not persist"
            return source
    raise AssertionError(f"nothing is mounted at {path}")


@pytest.mark.parametrize("selection", [c for n in range(3) for c in combinations(PROFILES, n)], ids="+".join)
def test_each_profile_starts_its_own_worker_only_and_all_it_depends_on(selection):
    services = started(set(selection))
    workers = {name for name in services if name.startswith("worker")}
    if {"cpu", "gpu"} <= set(selection):
        assert workers == {"worker", "worker-cpu"}  # asked for both
    elif "gpu" in selection:
        assert workers == {"worker"}
    elif "cpu" in selection:
        assert workers == {"worker-cpu"}
    else:
        assert not workers, f"--profile {selection} starts {sorted(workers)}"
    for name in services:
        assert set(SERVICES[name].get("depends_on", {})) <= services, f"{name} depends on a service not started"


def test_the_usage_line_names_both_worker_profiles():
    header = (REPO / "compose/docker-compose.yml").read_text().split("\nname:")[0]
    assert "--profile gpu up" in header and "--profile cpu up" in header


def test_the_gpu_worker_starts_on_whole_models():
    worker, download = SERVICES["worker"], SERVICES["models-download"]
    assert worker["depends_on"]["models-download"] == {"condition": "service_completed_successfully"}
    steps = [part.split() for part in download["command"][2].split("&&")]
    parsed = [build_parser().parse_args(step[1:]) for step in steps]
    assert [(p.command, p.models_command) for p in parsed] == [("models", "download"), ("models", "verify")]
    model_dir = download["environment"]["MODEL_DIR"]
    assert worker["environment"]["MODEL_DIR"] == model_dir
    assert named_volume(worker, model_dir) == named_volume(download, model_dir)
    folders = {spec.role: spec.folder for spec in load_manifest()}
    assert worker["environment"]["MODEL_BASE"] == f"{model_dir}/{folders['base']}"
    assert worker["environment"]["MODEL_CONTROLNET"] == f"{model_dir}/{folders['controlnet']}"
    assert worker["environment"]["IP_ADAPTER"] == f"{model_dir}/{folders['ip_adapter']}"


def test_the_gpu_worker_keeps_its_compiled_kernels_on_a_volume():
    worker = SERVICES["worker"]
    volumes = {named_volume(worker, worker["environment"][v]) for v in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")}
    assert len(volumes) == 1 and volumes.isdisjoint({"storage", "models"})


def test_the_services_keep_images_in_the_seaweedfs_bucket_created_before_they_start():
    from posegen.settings import CommonSettings

    app_env = COMPOSE["x-app"]["environment"]
    store = SERVICES["seaweedfs"]
    assert store["image"].startswith("chrislusf/seaweedfs:")
    endpoint = app_env["S3_ENDPOINT_URL"]
    assert endpoint.split("//")[1] == f"seaweedfs:{store['command'][store['command'].index('-s3.port=8333')][9:]}"
    assert store["environment"]["AWS_ACCESS_KEY_ID"] == app_env["AWS_ACCESS_KEY_ID"]
    assert store["environment"]["AWS_SECRET_ACCESS_KEY"] == app_env["AWS_SECRET_ACCESS_KEY"]
    settings = CommonSettings(
        _env_file=None,
        storage_backend=app_env["STORAGE_BACKEND"],
        s3_bucket=app_env["S3_BUCKET"],
        s3_endpoint_url=endpoint,
    )
    assert settings.storage_backend == "s3"
    steps = [part.split() for part in SERVICES["migrate"]["command"][2].split("&&")]
    init = build_parser().parse_args(steps[-1][1:])
    assert (init.command, init.storage_command) == ("storage", "init")
    assert SERVICES["migrate"]["depends_on"]["seaweedfs"] == {"condition": "service_healthy"}
    assert "storage" not in COMPOSE["volumes"]
    for name, service in SERVICES.items():
        mounts = [entry.split(":")[1] for entry in service.get("volumes", []) if ":" in entry]
        assert "/data/storage" not in mounts, f"{name} still mounts a storage volume"


def test_prometheus_scrapes_every_worker_service_and_replica():
    """`--profile cpu` runs worker-cpu, not worker; `--scale` adds replicas: DNS discovery on each service name
    finds them all (a static `worker:9100` scraped nothing under the CPU profile)."""
    prometheus = yaml.safe_load((REPO / "compose/prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "posegen-worker")
    names = {name for sd in job.get("dns_sd_configs", []) for name in sd["names"]}
    assert names == {name for name in SERVICES if name.startswith("worker")}
    assert all(sd["port"] == 9100 for sd in job["dns_sd_configs"])


def test_prometheus_scrapes_the_gateway_on_its_metrics_port_not_the_public_one():
    from posegen.settings import GatewaySettings

    prometheus = yaml.safe_load((REPO / "compose/prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "posegen-gateway")
    port = GatewaySettings.model_fields["gateway_metrics_port"].default
    assert job["static_configs"] == [{"targets": [f"gateway:{port}"]}]
