"""deploy/systemd: the units for one GPU host without containers (docs/deployment.md, "systemd").

No systemd runs as PID 1 where this is tested, so nothing here starts a unit. ``systemd-analyze verify``
checks every unit as systemd would load it (syntax, every directive and value, dependencies, executables);
the other tests read the unit files (a small reader for the unit-file syntax: sections, repeated keys,
backslash continuations) and cross-check them against the code, compose and Kubernetes.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings

import posegen.settings
from posegen_cli.main import build_parser
from posegen_relay.core import CLOSE_SECONDS
from posegen_relay.server import GRACEFUL_SHUTDOWN_SECONDS

from .conftest import REPO

UNITS_DIR = REPO / "deploy/systemd"
ENV_EXAMPLE = UNITS_DIR / "posegen.env.example"
INSTALLED_POSEGEN = "/opt/posegen/venv/bin/posegen"
"""Where docs/deployment.md installs the package; every ExecStart runs this."""
ENV_FILE = "/etc/posegen/posegen.env"
SERVICES = ["posegen-migrate", "posegen-gateway", "posegen-relay", "posegen-extractor", "posegen-worker@"]
LONG_RUNNING = SERVICES[1:]
USES_POSTGRESQL = ["posegen-gateway", "posegen-extractor", "posegen-worker@"]
"""The relay reads Redis only (its NetworkPolicy admits it to Redis, never to PostgreSQL), so it neither waits
for nor restarts with the migrations."""
COMPOSE = yaml.safe_load((REPO / "compose/docker-compose.yml").read_text())["services"]
COMPOSE_NAME = {
    "posegen-gateway": "gateway",
    "posegen-relay": "relay",
    "posegen-extractor": "extractor",
    "posegen-worker@": "worker",
}
PER_INSTANCE = {"CUDA_VISIBLE_DEVICES", "WORKER_NAME", "WORKER_METRICS_PORT"}
KUBERNETES_DEFAULT_GRACE_SECONDS = 30
"""terminationGracePeriodSeconds when a pod does not set it (the gateway's)."""


def read_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The sections of a unit file, each a list of (key, value) in order (keys repeat, as systemd allows);
    a line ending in a backslash continues on the next, joined with a space."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in path.read_text().splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            assert current is not None, f"{path.name}: {line!r} before any section"
            current.append((key.strip(), value.strip()))
    return sections


def unit(name: str) -> dict[str, list[tuple[str, str]]]:
    suffix = ".target" if name == "posegen" else ".service"
    return read_unit(UNITS_DIR / f"{name}{suffix}")


def values(name: str, section: str, key: str) -> list[str]:
    """Every value of ``key`` (a space-separated list setting yields one entry per item)."""
    return [item for k, v in unit(name).get(section, []) if k == key for item in v.split()]


def value(name: str, section: str, key: str) -> str | None:
    found = [v for k, v in unit(name).get(section, []) if k == key]
    assert len(found) <= 1, f"{name}: {key} set {len(found)} times"
    return found[0] if found else None


def environment(name: str) -> dict[str, str]:
    return dict(v.split("=", 1) for k, v in unit(name)["Service"] if k == "Environment")


def read_env_file(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and line[0] != "#"]
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"{path.name} sets a variable twice"
    return dict(pairs)


def seconds(span: str) -> float:
    """A systemd time span such as 300s, 15min, 1min 30s or a bare number of seconds."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span)
    assert parts and "".join(a + b for a, b in parts) == span.replace(" ", ""), f"cannot read {span!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def memory_bytes(limit: str) -> int:
    """1G, 512M (systemd) or 1g, 512m (compose): both powers of 1024."""
    match = re.fullmatch(r"(\d+)([kmgt]?)", limit.lower())
    assert match, f"cannot read {limit!r}"
    return int(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " ")


def exec_lines(name: str) -> list[list[str]]:
    """Each ExecStart= as its words; a ``/bin/sh -c '...'`` line as the words of its script."""
    commands = []
    for line in values_raw(name, "ExecStart"):
        words = shlex.split(line)
        if words[:2] == ["/bin/sh", "-c"]:
            words = shlex.split(words[2].replace("$$", "$"))
        commands.append(words)
    return commands


def values_raw(name: str, key: str) -> list[str]:
    return [v for k, v in unit(name)["Service"] if k == key]


def posegen_arguments(name: str) -> list[list[str]]:
    """The arguments each ExecStart= gives the installed ``posegen``."""
    found = []
    for words in exec_lines(name):
        assert INSTALLED_POSEGEN in words, f"{name}: ExecStart does not run {INSTALLED_POSEGEN}: {words}"
        found.append(words[words.index(INSTALLED_POSEGEN) + 1 :])
    return found


def writable(name: str) -> list[PurePosixPath]:
    """What ProtectSystem=strict leaves writable for ``name`` (besides its private /tmp)."""
    paths = [PurePosixPath("/var/lib") / d for d in values(name, "Service", "StateDirectory")]
    paths += [PurePosixPath("/var/cache") / d for d in values(name, "Service", "CacheDirectory")]
    paths += [PurePosixPath(p.lstrip("-")) for p in values(name, "Service", "ReadWritePaths")]
    return paths


def pod_spec(manifest: str) -> dict:
    """The pod template of the Deployment in ``k8s/base/<manifest>``."""
    documents = yaml.safe_load_all((REPO / "k8s/base" / manifest).read_text())
    [deployment] = [d for d in documents if d and d["kind"] == "Deployment"]
    return deployment["spec"]["template"]["spec"]


def is_under(path: str, roots: list[PurePosixPath]) -> bool:
    return any(PurePosixPath(path) == root or root in PurePosixPath(path).parents for root in roots)


# --- systemd-analyze verify -----------------------------------------------------------------------


def systemd_analyze() -> str:
    """The binary, or a skip on a developer machine without it; in CI (``CI`` set) its absence fails."""
    found = shutil.which("systemd-analyze") or (
        "/usr/bin/systemd-analyze" if Path("/usr/bin/systemd-analyze").exists() else None
    )
    if found:
        return found
    message = "systemd-analyze is not installed (Debian/Ubuntu: apt-get install systemd)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must verify the systemd units")
    pytest.skip(message)


def render(target: Path, posegen: Path, *, edit=lambda text: text) -> list[str]:
    """Copies of the units with ``/opt/posegen/venv/bin/posegen`` replaced by ``posegen``; the arguments to
    verify every unit, the worker template as two instances."""
    for source in UNITS_DIR.iterdir():
        if source.suffix in (".service", ".target"):
            (target / source.name).write_text(edit(source.read_text().replace(INSTALLED_POSEGEN, str(posegen))))
    names = ["posegen.target"] + [f"{s}.service" for s in SERVICES if not s.endswith("@")]
    return [str(target / n) for n in names + ["posegen-worker@0.service", "posegen-worker@1.service"]]


def verify(paths: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [systemd_analyze(), "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C", "SYSTEMD_COLORS": "0"},
        timeout=120,
    )


def installed_posegen() -> Path:
    posegen = Path(sys.executable).with_name("posegen")
    assert os.access(posegen, os.X_OK), f"{posegen}: the posegen command of this environment is not installed"
    return posegen


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    """``systemd-analyze verify`` on every unit, the worker as instances @0 and @1. It checks that each
    ExecStart's program exists and is executable, and the units name ``/opt/posegen/venv/bin/posegen``, which
    exists only on an installed host; so it verifies copies whose ExecStart runs this environment's own
    ``posegen`` (the same console script, installed by pip), nothing else changed. Its warnings (an unknown
    key, a value it cannot parse) do not change its exit status, so any output fails too. It does not look
    ``User=posegen`` up (the user is resolved when a unit starts), nor read the EnvironmentFile."""
    posegen = installed_posegen()
    result = verify(render(tmp_path, posegen))
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    # The worker's ExecStart is a shell line: verify checks /bin/sh, so check its posegen here.
    worker = (tmp_path / "posegen-worker@.service").read_text()
    assert f"exec {posegen} worker" in worker


def test_systemd_analyze_verify_reports_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt key, a bad memory limit and a missing program are each reported."""
    broken = render(
        tmp_path,
        Path("/nonexistent/posegen"),
        edit=lambda text: text.replace("ProtectProc=", "ProtectProcs=").replace("MemoryMax=24G", "MemoryMax=24X"),
    )
    result = verify(broken)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Unknown key" in output and "ProtectProcs" in output
    assert "24X" in output
    assert "/nonexistent/posegen" in output


# --- what each unit runs ----------------------------------------------------------------------------


def test_every_exec_start_is_a_real_posegen_subcommand():
    parser = build_parser()
    expected = {
        "posegen-migrate": [["migrate"], ["seed"]],
        "posegen-gateway": [["gateway"]],
        "posegen-relay": [["relay"]],
        "posegen-extractor": [["extractor"]],
        "posegen-worker@": [["worker"]],
    }
    for name in SERVICES:
        arguments = posegen_arguments(name)
        assert arguments == expected[name], name
        for argv in arguments:
            assert parser.parse_args(argv).command == argv[0]


def test_migrate_is_a_oneshot_the_database_users_require_and_follow():
    assert value("posegen-migrate", "Service", "Type") == "oneshot"
    assert value("posegen-migrate", "Service", "RemainAfterExit") == "yes"
    assert "posegen-migrate.service" not in values("posegen-migrate", "Unit", "Requires")
    for name in USES_POSTGRESQL:
        assert "posegen-migrate.service" in values(name, "Unit", "Requires"), name
        assert "posegen-migrate.service" in values(name, "Unit", "After"), name
    assert "posegen-migrate.service" not in values("posegen-relay", "Unit", "Requires") + values(
        "posegen-relay", "Unit", "After"
    )


def test_local_databases_are_wanted_never_required():
    """Wants=/After=: a host whose PostgreSQL or Redis runs elsewhere has no such unit, and that is fine."""
    needs = {
        "posegen-migrate": {"postgresql.service"},
        "posegen-gateway": {"postgresql.service", "redis-server.service"},
        "posegen-relay": {"redis-server.service"},
        "posegen-extractor": {"postgresql.service", "redis-server.service"},
        "posegen-worker@": {"postgresql.service", "redis-server.service"},
    }
    for name, stores in needs.items():
        assert stores <= set(values(name, "Unit", "Wants")) & set(values(name, "Unit", "After")), name
        assert not stores & set(values(name, "Unit", "Requires") + values(name, "Unit", "BindsTo")), name
        assert {"network-online.target"} <= set(values(name, "Unit", "Wants")) & set(values(name, "Unit", "After"))


def test_every_service_is_part_of_the_target_runs_as_posegen_and_reads_the_environment_file():
    assert values("posegen", "Install", "WantedBy") == ["multi-user.target"]
    for name in SERVICES:
        assert values(name, "Unit", "PartOf") == ["posegen.target"], name
        assert value(name, "Service", "User") == "posegen", name
        assert value(name, "Service", "Group") == "posegen", name
        assert values(name, "Service", "EnvironmentFile") == [ENV_FILE], name
    for name in LONG_RUNNING:
        assert values(name, "Install", "WantedBy") == ["posegen.target"], name
        assert value(name, "Service", "Restart") == "on-failure", name
        assert value(name, "Service", "KillSignal") == "SIGTERM", name
        # A configuration error exits 2 with one line naming the variable: restarting cannot fix it.
        assert value(name, "Service", "RestartPreventExitStatus") == "2", name


# --- the worker's instances ---------------------------------------------------------------------------


def test_each_worker_instance_sees_only_its_gpu():
    env = environment("posegen-worker@")
    assert env["CUDA_VISIBLE_DEVICES"] == "%i"
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID", "without it CUDA numbers GPUs fastest first, not as nvidia-smi"


def run_worker_line(tmp_path: Path, instance: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The worker's ExecStart as systemd would run it for ``instance`` (its %i, %H and $$ substituted, as
    systemd does for those three), with a stand-in for ``posegen`` that prints what it was given."""
    stub = tmp_path / "posegen"
    stub.write_text('#!/bin/sh\necho "args=$*"\necho "WORKER_NAME=$WORKER_NAME"\necho "PORT=$WORKER_METRICS_PORT"\n')
    stub.chmod(0o755)
    [line] = values_raw("posegen-worker@", "ExecStart")
    line = (
        line.replace("%i", instance).replace("%H", "gpuhost").replace("$$", "$").replace(INSTALLED_POSEGEN, str(stub))
    )
    return subprocess.run(shlex.split(line), capture_output=True, text=True, env=env, timeout=30)


def test_worker_instances_get_their_own_metrics_port_and_name(tmp_path):
    """Set in the shell, they win over the environment file (here: one port and one name for everyone)."""
    from_env_file = {"PATH": os.environ["PATH"], "WORKER_METRICS_PORT": "9100", "WORKER_NAME": "shared"}
    seen = {}
    for gpu in ["0", "1", "7", "15"]:
        result = run_worker_line(tmp_path, gpu, from_env_file)
        assert result.returncode == 0, result.stderr
        lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
        assert lines["args"] == "worker"
        seen[gpu] = (int(lines["PORT"]), lines["WORKER_NAME"])
    assert seen["0"] == (9110, "gpuhost-gpu0") and seen["1"] == (9111, "gpuhost-gpu1")
    ports = [port for port, _ in seen.values()]
    assert len(set(ports)) == len(ports) and len({name for _, name in seen.values()}) == len(seen)
    env = read_env_file(ENV_EXAMPLE)
    taken = {int(env[key]) for key in ("GATEWAY_PORT", "RELAY_PORT", "EXTRACTOR_METRICS_PORT")}
    assert not taken & set(ports)
    assert all(1 <= port <= 65535 for port in ports)


@pytest.mark.parametrize("instance", ["gpu0", "01", "1;id", ""])
def test_a_worker_instance_that_is_not_a_gpu_index_is_refused(tmp_path, instance):
    result = run_worker_line(tmp_path, instance, {"PATH": os.environ["PATH"]})
    assert result.returncode == 2  # RestartPreventExitStatus: no restart loop
    assert "must be a GPU index" in result.stderr and "args=" not in result.stdout


def test_the_worker_keeps_access_to_its_gpu():
    """PrivateDevices= and ProtectClock= restrict /dev through the device cgroup (ProtectClock= adds
    DeviceAllow=char-rtc, which closes every other device on systemd before 253): no /dev/nvidia*. CUDA and
    Triton generate code at run time, which MemoryDenyWriteExecute= forbids."""
    service = dict(unit("posegen-worker@")["Service"])
    for key in ("PrivateDevices", "ProtectClock", "DeviceAllow", "DevicePolicy", "MemoryDenyWriteExecute"):
        assert key not in service, key


# --- stopping, memory, hardening -------------------------------------------------------------------


def test_the_worker_has_as_long_to_drain_as_compose_and_kubernetes_give_it():
    """SIGTERM finishes the batch in flight, saves it and re-queues the generation (posegen_worker.rqworker)."""
    stop = seconds(value("posegen-worker@", "Service", "TimeoutStopSec"))
    compose = seconds(COMPOSE["worker"]["stop_grace_period"])
    grace = pod_spec("worker/worker.yaml")["terminationGracePeriodSeconds"]
    assert stop >= compose and stop >= grace
    assert value("posegen-worker@", "Service", "KillMode") == "mixed"


def test_gateway_relay_and_extractor_stop_within_their_own_grace():
    relay = seconds(value("posegen-relay", "Service", "TimeoutStopSec"))
    assert relay > GRACEFUL_SHUTDOWN_SECONDS + CLOSE_SECONDS
    for name, manifest in (("posegen-relay", "relay/relay.yaml"), ("posegen-extractor", "extractor/extractor.yaml")):
        grace = pod_spec(manifest)["terminationGracePeriodSeconds"]
        assert seconds(value(name, "Service", "TimeoutStopSec")) == grace, name
    assert seconds(value("posegen-extractor", "Service", "TimeoutStopSec")) >= seconds(
        COMPOSE["extractor"]["stop_grace_period"]
    )
    assert seconds(value("posegen-gateway", "Service", "TimeoutStopSec")) == KUBERNETES_DEFAULT_GRACE_SECONDS


def test_memory_limits_match_compose():
    for name in LONG_RUNNING:
        limit = value(name, "Service", "MemoryMax")
        assert limit, f"{name} has no MemoryMax="
        compose = COMPOSE[COMPOSE_NAME[name]]["deploy"]["resources"]["limits"]["memory"]
        assert memory_bytes(limit) == memory_bytes(compose), name


def test_the_relay_may_hold_as_many_connections_as_it_accepts():
    limit = int(value("posegen-relay", "Service", "LimitNOFILE"))
    assert limit > posegen.settings.RelaySettings.model_fields["relay_max_connections"].default


def test_every_service_is_sandboxed():
    for name in SERVICES:
        service = dict(unit(name)["Service"])
        assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict", name
        assert service["PrivateTmp"] == "yes" and service["ProtectHome"] == "yes", name
        assert service["CapabilityBoundingSet"] == "", name


def test_what_the_services_write_is_writable():
    """ProtectSystem=strict makes the whole file system read-only but for what each unit lists."""
    env = read_env_file(ENV_EXAMPLE)
    for name in ["posegen-gateway", "posegen-extractor", "posegen-worker@"]:
        assert is_under(env["STORAGE_DIR"], writable(name)), name
    worker = environment("posegen-worker@")
    for path in [env["MODEL_DIR"], worker["TORCHINDUCTOR_CACHE_DIR"], worker["TRITON_CACHE_DIR"]]:
        assert is_under(path, writable("posegen-worker@")), path
    for model in ("MODEL_BASE", "MODEL_CONTROLNET", "IP_ADAPTER"):
        assert PurePosixPath(env["MODEL_DIR"]) in PurePosixPath(env[model]).parents, model
    assert writable("posegen-relay") == [] and writable("posegen-migrate") == []


# --- the environment file ------------------------------------------------------------------------------


def setting_classes() -> list[type[BaseSettings]]:
    return [
        cls
        for cls in vars(posegen.settings).values()
        if isinstance(cls, type) and issubclass(cls, BaseSettings) and cls.__module__ == posegen.settings.__name__
    ]


def variables_read_by_name() -> set[str]:
    """Environment variables the code reads itself (``os.environ.get("NAME")``), outside the settings."""
    pattern = re.compile(r"""os\.environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
    return {
        name
        for root in (REPO / "libs", REPO / "services")
        for path in root.rglob("*.py")
        for name in pattern.findall(path.read_text())
    }


def test_the_environment_file_names_only_real_settings():
    env = read_env_file(ENV_EXAMPLE)
    settings = {field.upper() for cls in setting_classes() for field in cls.model_fields}
    unknown = set(env) - settings - variables_read_by_name()
    assert not unknown, f"not read by any service: {sorted(unknown)}"
    assert not PER_INSTANCE & set(env), "set per worker instance by posegen-worker@.service"
    documented = read_env_file(REPO / ".env.example")
    assert set(env) & settings <= set(documented), "every setting is described in .env.example"


def test_the_environment_file_is_valid_once_its_secret_is_set(monkeypatch):
    """With a real JWT_SECRET every service accepts the file; with its placeholder every service refuses it."""
    env = read_env_file(ENV_EXAMPLE)
    for cls in setting_classes():
        for field in cls.model_fields:
            monkeypatch.delenv(field.upper(), raising=False)
    services = [
        posegen.settings.GatewaySettings,
        posegen.settings.RelaySettings,
        posegen.settings.WorkerSettings,
        posegen.settings.ExtractorSettings,
    ]
    for cls in services:
        fields = {key.lower(): v for key, v in env.items() if key.lower() in cls.model_fields}
        cls(_env_file=None, **{**fields, "jwt_secret": secrets.token_urlsafe(48)})
        with pytest.raises(ValidationError, match="JWT_SECRET must be at least 32 characters.*openssl rand"):
            cls(_env_file=None, **fields)


def test_the_environment_file_holds_no_real_secret():
    env = read_env_file(ENV_EXAMPLE)
    assert env["JWT_SECRET"] == "CHANGE-ME"
    assert ":CHANGE-ME@" in env["DATABASE_URL"]
    assert not env.get("AWS_SECRET_ACCESS_KEY")


def test_the_deployment_guide_names_every_file():
    guide = (REPO / "docs/deployment.md").read_text()
    start = guide.index("## systemd (one GPU host, no containers)")
    section = guide[start : guide.index("\n## ", start + 1)]
    for path in UNITS_DIR.iterdir():
        assert path.name in section, f"docs/deployment.md's systemd section does not mention {path.name}"
