"""A stand-in for the Hugging Face Hub (no network here): two small models whose files it writes the way
``snapshot_download`` does, recording each call; it can stop half-way or deliver damaged bytes. Loaded by
path in child processes too, so it imports nothing from the tests."""

from __future__ import annotations

import hashlib
import json
import struct
import time
from pathlib import Path

from posegen.inference.download import ModelSpec
from posegen.inference.modelcheck import RemoteFile, Snapshot

COMMIT = "c" * 40


def safetensors_bytes(values: int) -> bytes:
    """A valid safetensors file holding one float16 tensor of ``values`` elements."""
    header = json.dumps({"w": {"dtype": "F16", "shape": [values], "data_offsets": [0, 2 * values]}}).encode()
    data = (bytes(range(256)) * (2 * values // 256 + 1))[: 2 * values]
    return struct.pack("<Q", len(header)) + header + data


CONTENTS = {
    "base": {
        "model_index.json": b'{"_class_name": "StableDiffusionPipeline"}',
        "unet/config.json": b'{"sample_size": 64}',
        "unet/diffusion_pytorch_model.fp16.safetensors": safetensors_bytes(4096),
    },
    "controlnet": {
        "config.json": b'{"_class_name": "ControlNetModel"}',
        "diffusion_pytorch_model.fp16.safetensors": safetensors_bytes(1000),
    },
}


def write_manifest(folder: Path) -> Path:
    """A manifest of the two fake models, shaped like models/manifest.json."""
    models = {
        role: {"repo_id": f"example/{role}", "revision": "main", "folder": f"{role}-model", "files": list(files)}
        for role, files in CONTENTS.items()
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps({"models": models}))
    return path


def remote_file(name: str, content: bytes) -> RemoteFile:
    if name.endswith(".safetensors"):
        return RemoteFile(size=len(content), sha256=hashlib.sha256(content).hexdigest())
    blob = hashlib.sha1(f"blob {len(content)}\0".encode() + content, usedforsecurity=False).hexdigest()
    return RemoteFile(size=len(content), blob_id=blob)


class RecordingHub:
    """``fail_after``: raise after writing that many files of a model (an interrupted download);
    ``damage``: file names whose delivered bytes differ from what the Hub lists (``truncate`` or ``flip``);
    ``log``: a file that gets one line per call (shared by processes); ``delay``: seconds per file."""

    def __init__(self, *, commit=COMMIT, fail_after=None, damage=None, log=None, delay=0.0):
        self.commit, self.fail_after, self.damage = commit, fail_after, damage or {}
        self.log, self.delay = log, delay
        self.calls: list[tuple[str, str]] = []

    def _record(self, call: str, role: str) -> None:
        self.calls.append((call, role))
        if self.log:
            with open(self.log, "a") as stream:
                stream.write(f"{call} {role}\n")

    def resolve(self, spec: ModelSpec) -> Snapshot:
        self._record("resolve", spec.role)
        contents = CONTENTS[spec.role]
        return Snapshot(commit=self.commit, files={name: remote_file(name, contents[name]) for name in spec.files})

    def fetch(self, spec: ModelSpec, *, commit: str, folder: Path) -> None:
        self._record("fetch", spec.role)
        for count, name in enumerate(spec.files):
            if self.fail_after is not None and count == self.fail_after:
                raise ConnectionError("connection reset by peer (in the middle of the download)")
            content = CONTENTS[spec.role][name]
            if self.damage.get(name) == "truncate":
                content = content[: len(content) // 2]
            elif self.damage.get(name) == "flip":
                content = content[:-1] + bytes([content[-1] ^ 0xFF])
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            time.sleep(self.delay)
