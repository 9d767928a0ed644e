"""Is a model folder whole? Checks that need neither torch nor the network: every manifest file present,
JSON files parse, each safetensors file is as long as its header says, and sizes match what the download
recorded. ``posegen models verify`` runs them before a worker starts; the download runs them, plus the Hub's
sizes and hashes, before it moves a folder into place."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from posegen.inference.download import ModelSpec

MARKER = ".posegen-model.json"
"""Written into a model folder once every file was checked against the Hub; it records what was checked."""

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors caps its JSON header at 100 MB
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class RemoteFile:
    """What the Hub says about one file: its size, and the SHA-256 of an LFS file or the git blob id of a
    small one (either may be missing)."""

    size: int | None = None
    sha256: str | None = None
    blob_id: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """One model repository at one commit: the manifest's files as the Hub describes them."""

    commit: str
    files: dict[str, RemoteFile]


def read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_marker(*, folder: Path, spec: ModelSpec, snapshot: Snapshot) -> None:
    record = {
        "repo_id": spec.repo_id,
        "revision": spec.revision,
        "commit": snapshot.commit,
        "files": {name: (folder / name).stat().st_size for name in spec.files},
    }
    partial = folder / (MARKER + ".tmp")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder / MARKER)


def folder_problems(*, folder: Path, spec: ModelSpec) -> list[str]:
    """Everything that would stop ``from_pretrained`` loading this folder, one line each; empty when whole."""
    if not folder.is_dir():
        return [f"{folder} does not exist"]
    marker = read_marker(folder) or {}
    recorded = marker.get("files", {})
    problems = []
    for name in spec.files:
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
            continue
        size = path.stat().st_size
        if name in recorded and recorded[name] != size:
            problems.append(f"{name} has {size} bytes, {recorded[name]} were downloaded")
        elif problem := file_problem(path):
            problems.append(f"{name} {problem}")
    if marker.get("commit") and _COMMIT.match(spec.revision) and marker["commit"] != spec.revision:
        problems.append(f"holds commit {marker['commit']}, the lock asks for {spec.revision}")
    return problems


def file_problem(path: Path) -> str | None:
    """Why a JSON or safetensors file cannot be read whole, or None."""
    if path.suffix == ".json":
        try:
            json.loads(path.read_bytes())
        except ValueError:
            return "is not valid JSON"
    elif path.suffix == ".safetensors":
        return _safetensors_problem(path)
    return None


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with path.open("rb") as stream:
        prefix = stream.read(8)
        if len(prefix) < 8:
            return "is truncated (no safetensors header)"
        header_size = int.from_bytes(prefix, "little")
        if header_size > min(size - 8, _MAX_HEADER):
            return "is truncated (its safetensors header is cut off)"
        try:
            header = json.loads(stream.read(header_size))
        except ValueError:
            return "has an unreadable safetensors header"
    try:
        data_end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (AttributeError, KeyError, IndexError, TypeError):
        return "has an unreadable safetensors header"
    expected = 8 + header_size + data_end
    return None if size == expected else f"has {size} bytes, its safetensors header describes {expected}"


def remote_mismatches(*, folder: Path, snapshot: Snapshot) -> list[str]:
    """Files whose size or hash differs from what the Hub published for that commit."""
    problems = []
    for name, remote in snapshot.files.items():
        path = folder / name
        if not path.is_file():
            continue  # folder_problems reports it
        size = path.stat().st_size
        if remote.size is not None and size != remote.size:
            problems.append(f"{name} has {size} bytes, the Hub lists {remote.size}")
            continue
        if remote.sha256 is None and remote.blob_id is None:
            continue
        sha256, blob_id = file_digests(path)
        if remote.sha256 is not None and sha256 != remote.sha256:
            problems.append(f"{name} has SHA-256 {sha256}, the Hub lists {remote.sha256}")
        elif remote.sha256 is None and remote.blob_id is not None and blob_id != remote.blob_id:
            problems.append(f"{name} has git blob id {blob_id}, the Hub lists {remote.blob_id}")
    return problems


def file_digests(path: Path) -> tuple[str, str]:
    """SHA-256 (what the Hub lists for LFS files) and git blob SHA-1 (for the others), in one read."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()
