"""``posegen models download``: the real SD1.5 + OpenPose ControlNet weights from the Hugging Face Hub,
exactly the files the manifest lists (fp16 safetensors), at the locked commits when a lock exists."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ModelSpec:
    role: str
    repo_id: str
    revision: str
    folder: str
    files: tuple[str, ...]


def manifest_path() -> Path:
    """``POSEGEN_MODELS_MANIFEST``, else ``models/manifest.json`` of this checkout, else of the working folder."""
    if os.environ.get("POSEGEN_MODELS_MANIFEST"):
        return Path(os.environ["POSEGEN_MODELS_MANIFEST"])
    for candidate in (REPO_ROOT / "models/manifest.json", Path.cwd() / "models/manifest.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("models/manifest.json not found; set POSEGEN_MODELS_MANIFEST")


def load_manifest(path: Path | None = None) -> list[ModelSpec]:
    path = path or manifest_path()
    models = json.loads(path.read_text(encoding="utf-8"))["models"]
    lock_file = path.with_name("manifest.lock.json")
    locked = json.loads(lock_file.read_text(encoding="utf-8")) if lock_file.is_file() else {}
    return [
        ModelSpec(role, entry["repo_id"], locked.get(role, entry["revision"]), entry["folder"], tuple(entry["files"]))
        for role, entry in models.items()
    ]


def download_models(model_dir: Path, specs: list[ModelSpec]) -> dict[str, Path]:
    """Fetch each model's files into ``model_dir/<folder>``; return the folders by role."""
    from huggingface_hub import snapshot_download

    folders = {}
    for spec in specs:
        target = model_dir / spec.folder
        snapshot_download(
            repo_id=spec.repo_id, revision=spec.revision, allow_patterns=list(spec.files), local_dir=target,
        )  # fmt: skip
        missing = [name for name in spec.files if not (target / name).is_file()]
        if missing:
            raise RuntimeError(f"{spec.repo_id}@{spec.revision} did not provide: {', '.join(missing)}")
        folders[spec.role] = target
    return folders


def write_lock(specs: list[ModelSpec], path: Path | None = None) -> dict[str, str]:
    """Resolve each revision to its commit and record it next to the manifest."""
    from huggingface_hub import HfApi

    api = HfApi()
    lock = {spec.role: api.model_info(spec.repo_id, revision=spec.revision).sha for spec in specs}
    (path or manifest_path()).with_name("manifest.lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    return lock
