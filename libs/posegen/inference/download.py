"""``posegen models download``: the real SD1.5 + OpenPose ControlNet weights from the Hugging Face Hub,
exactly the files the manifest lists (fp16 safetensors), at the locked commits when a lock exists.

A model folder appears under ``MODEL_DIR`` only whole: each model is fetched into a hidden sibling folder,
checked (every manifest file, sizes and hashes as the Hub lists them) and then renamed into place. One
downloader at a time holds a lock file in ``MODEL_DIR``, so replicas sharing the volume wait for each other
and then find the models complete instead of downloading them again."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from posegen.fslock import exclusive_lock
from posegen.inference.modelcheck import RemoteFile, Snapshot, folder_problems, remote_mismatches, write_marker

REPO_ROOT = Path(__file__).resolve().parents[3]
LOCK_FILE = "manifest.lock.json"
"""The commits each revision resolved to; written into ``MODEL_DIR`` by ``--write-lock``."""
DOWNLOAD_LOCK = ".posegen-download.lock"


class ModelStoreError(RuntimeError):
    """A model could not be downloaded whole, or is not whole on disk."""


@dataclass(frozen=True)
class ModelSpec:
    role: str
    repo_id: str
    revision: str
    folder: str
    files: tuple[str, ...]


class Hub(Protocol):
    """What the download needs from the Hub; ``HubClient`` is the real one, tests pass a recorder."""

    def resolve(self, spec: ModelSpec) -> Snapshot: ...

    def fetch(self, spec: ModelSpec, *, commit: str, folder: Path) -> None: ...


class HubClient:
    """huggingface_hub: ``HF_TOKEN``, ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` apply as usual."""

    def resolve(self, spec: ModelSpec) -> Snapshot:
        from huggingface_hub import HfApi

        info = HfApi().model_info(spec.repo_id, revision=spec.revision, files_metadata=True)
        siblings = {sibling.rfilename: sibling for sibling in info.siblings or []}
        missing = [name for name in spec.files if name not in siblings]
        if missing:
            raise ModelStoreError(f"{spec.repo_id}@{spec.revision} does not provide: {', '.join(missing)}")

        def remote(sibling) -> RemoteFile:
            if sibling.lfs:
                return RemoteFile(size=sibling.size, sha256=sibling.lfs.sha256)
            return RemoteFile(size=sibling.size, blob_id=sibling.blob_id)

        return Snapshot(commit=info.sha, files={name: remote(siblings[name]) for name in spec.files})

    def fetch(self, spec: ModelSpec, *, commit: str, folder: Path) -> None:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id=spec.repo_id, revision=commit, allow_patterns=list(spec.files), local_dir=folder)


def manifest_path() -> Path:
    """``POSEGEN_MODELS_MANIFEST``, else ``models/manifest.json`` of this checkout, else of the working folder."""
    if os.environ.get("POSEGEN_MODELS_MANIFEST"):
        return Path(os.environ["POSEGEN_MODELS_MANIFEST"])
    for candidate in (REPO_ROOT / "models/manifest.json", Path.cwd() / "models/manifest.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("models/manifest.json not found; set POSEGEN_MODELS_MANIFEST")


def load_manifest(path: Path | None = None, *, model_dir: Path | None = None, locked: bool = True) -> list[ModelSpec]:
    """The manifest's models; with ``locked``, each revision replaced by its commit from the lock in
    ``model_dir`` (what ``--write-lock`` wrote there), else from a lock shipped next to the manifest."""
    path = path or manifest_path()
    models = json.loads(path.read_text(encoding="utf-8"))["models"]
    candidates = ([model_dir / LOCK_FILE] if model_dir else []) + [path.with_name(LOCK_FILE)]
    lock_file = next((candidate for candidate in candidates if candidate.is_file()), None) if locked else None
    lock = json.loads(lock_file.read_text(encoding="utf-8")) if lock_file else {}
    return [
        ModelSpec(role, entry["repo_id"], lock.get(role, entry["revision"]), entry["folder"], tuple(entry["files"]))
        for role, entry in models.items()
    ]


def write_lock(*, specs: list[ModelSpec], model_dir: Path, hub: Hub | None = None) -> dict[str, str]:
    """Resolve each revision to its commit and record it in ``model_dir`` (the image's manifest is
    read-only; the lock belongs with the weights it pins)."""
    hub = hub or HubClient()
    lock = {spec.role: hub.resolve(spec).commit for spec in specs}
    model_dir.mkdir(parents=True, exist_ok=True)
    partial = model_dir / (LOCK_FILE + ".tmp")
    partial.write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, model_dir / LOCK_FILE)
    return lock


def verify_models(*, model_dir: Path, specs: list[ModelSpec]) -> dict[str, list[str]]:
    """The problems of each model folder by role (an empty list: whole)."""
    return {spec.role: folder_problems(folder=model_dir / spec.folder, spec=spec) for spec in specs}


def download_models(
    *,
    model_dir: Path,
    specs: list[ModelSpec],
    hub: Hub | None = None,
    lock_timeout: float | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, Path]:
    """Make each model whole under ``model_dir/<folder>``, downloading only what is not; the folders by role."""
    hub = hub or HubClient()
    model_dir.mkdir(parents=True, exist_ok=True)
    waiting = f"another process is downloading into {model_dir}; waiting for it"
    with exclusive_lock(path=model_dir / DOWNLOAD_LOCK, timeout=lock_timeout, on_wait=lambda: report(waiting)):
        return {spec.role: _ensure(model_dir=model_dir, spec=spec, hub=hub, report=report) for spec in specs}


def _ensure(*, model_dir: Path, spec: ModelSpec, hub: Hub, report: Callable[[str], None]) -> Path:
    target = model_dir / spec.folder
    problems = folder_problems(folder=target, spec=spec)
    if not problems:
        report(f"{spec.repo_id}: already whole in {target}")
        return target
    if target.exists():
        report(f"{spec.repo_id}: {target} is not whole ({problems[0]}); downloading it again")
    snapshot = hub.resolve(spec)
    # A sibling of the target: the same file system, so the final rename is atomic. Kept after a failed
    # attempt, so the next one resumes (huggingface_hub skips files it already has).
    staging = model_dir / f".{spec.folder}.partial"
    report(f"{spec.repo_id}@{snapshot.commit}: downloading {len(spec.files)} files into {staging}")
    hub.fetch(spec, commit=snapshot.commit, folder=staging)
    problems = folder_problems(folder=staging, spec=spec) + remote_mismatches(folder=staging, snapshot=snapshot)
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelStoreError(f"{spec.repo_id}@{snapshot.commit} arrived damaged: {'; '.join(problems)}")
    write_marker(folder=staging, spec=spec, snapshot=snapshot)
    _replace(staging=staging, target=target)
    report(f"{spec.repo_id}@{snapshot.commit}: checked and moved into {target}")
    return target


def _replace(*, staging: Path, target: Path) -> None:
    retired = target.with_name(f".{target.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        os.rename(target, retired)
    os.rename(staging, target)
    _sync_directory(target.parent)
    shutil.rmtree(retired, ignore_errors=True)


def _sync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network file systems refuse fsync on a directory; their renames are synchronous
    finally:
        os.close(fd)
