"""The model download is all-or-nothing, one downloader at a time, and `posegen models verify` tells a whole
model folder from a damaged one; a recorder stands in for the Hub (no network here)."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from posegen.fslock import exclusive_lock
from posegen.inference.download import (
    DOWNLOAD_LOCK,
    LOCK_FILE,
    ModelStoreError,
    download_models,
    load_manifest,
    verify_models,
    write_lock,
)
from posegen.inference.modelcheck import MARKER, file_problem

from .fake_hub import CONTENTS, RecordingHub, safetensors_bytes, write_manifest

FAKE_HUB = Path(__file__).with_name("fake_hub.py")


@pytest.fixture
def specs(tmp_path):
    return load_manifest(write_manifest(tmp_path))


def download(model_dir, specs, hub, **kwargs):
    messages = []
    return download_models(model_dir=model_dir, specs=specs, hub=hub, report=messages.append, **kwargs), messages


def test_an_interrupted_download_leaves_no_model_folder_and_the_next_run_completes_it(tmp_path, specs):
    models = tmp_path / "models"
    with pytest.raises(ConnectionError):
        download(models, specs, RecordingHub(fail_after=1))
    base = models / "base-model"
    assert not base.exists(), "a half-downloaded model must never appear under its final name"
    assert (models / ".base-model.partial/model_index.json").is_file()  # kept: the next run resumes
    assert verify_models(model_dir=models, specs=specs)["base"] == [f"{base} does not exist"]

    hub = RecordingHub()
    folders, _ = download(models, specs, hub)
    assert folders == {"base": base, "controlnet": models / "controlnet-model"}
    assert verify_models(model_dir=models, specs=specs) == {"base": [], "controlnet": []}
    for role, files in CONTENTS.items():
        for name, content in files.items():
            assert (folders[role] / name).read_bytes() == content
        assert json.loads((folders[role] / MARKER).read_text())["commit"] == hub.commit
    assert not list(models.glob(".*.partial")) and not list(models.glob(".*.old"))


def test_a_folder_the_old_download_left_half_done_is_detected_and_replaced(tmp_path, specs):
    """The old init container skipped the download once model_index.json existed: the first file to land."""
    models = tmp_path / "models"
    (models / "base-model").mkdir(parents=True)
    (models / "base-model/model_index.json").write_bytes(CONTENTS["base"]["model_index.json"])
    problems = verify_models(model_dir=models, specs=specs)
    assert "unet/diffusion_pytorch_model.fp16.safetensors is missing" in problems["base"]
    assert problems["controlnet"] == [f"{models / 'controlnet-model'} does not exist"]

    download(models, specs, RecordingHub())
    assert verify_models(model_dir=models, specs=specs) == {"base": [], "controlnet": []}


def test_whole_models_are_not_downloaded_again(tmp_path, specs):
    models = tmp_path / "models"
    download(models, specs, RecordingHub())
    again = RecordingHub()
    _, messages = download(models, specs, again)
    assert again.calls == [] and all("already whole" in m for m in messages)


@pytest.mark.parametrize(("damage", "expected"), [("truncate", "bytes, the Hub lists"), ("flip", "SHA-256")])
def test_damaged_bytes_never_reach_the_model_folder(tmp_path, specs, damage, expected):
    models = tmp_path / "models"
    name = "diffusion_pytorch_model.fp16.safetensors"
    with pytest.raises(ModelStoreError, match=expected):
        download(models, specs, RecordingHub(damage={name: damage}))
    assert (models / "base-model").is_dir() and not (models / "controlnet-model").exists()
    assert not (models / ".controlnet-model.partial").exists(), "a damaged download is thrown away, not resumed"


def test_a_small_file_is_checked_against_its_git_blob_id(tmp_path, specs):
    with pytest.raises(ModelStoreError, match="git blob id"):
        download(tmp_path / "models", specs, RecordingHub(damage={"model_index.json": "flip"}))


def test_verify_finds_truncated_weights_and_broken_json_without_the_network(tmp_path, specs):
    models = tmp_path / "models"
    download(models, specs, RecordingHub())
    weights = models / "controlnet-model/diffusion_pytorch_model.fp16.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    config = models / "base-model/unet/config.json"
    config.write_bytes(b"{" * config.stat().st_size)  # same size: only parsing can tell
    problems = verify_models(model_dir=models, specs=specs)
    size = len(CONTENTS["controlnet"][weights.name])
    assert problems["controlnet"] == [f"{weights.name} has {size - 10} bytes, {size} were downloaded"]
    assert problems["base"] == ["unet/config.json is not valid JSON"]


def test_safetensors_length_is_checked_against_its_header(tmp_path):
    path = tmp_path / "w.safetensors"
    whole = safetensors_bytes(100)
    cases = {
        whole: None,
        whole[:-1]: f"has {len(whole) - 1} bytes, its safetensors header describes {len(whole)}",
        whole[:20]: "is truncated (its safetensors header is cut off)",
        whole[:5]: "is truncated (no safetensors header)",
    }
    for content, problem in cases.items():
        path.write_bytes(content)
        assert file_problem(path) == problem


def test_a_new_lock_makes_a_model_of_another_commit_stale(tmp_path):
    manifest = write_manifest(tmp_path)
    models = tmp_path / "models"
    download(models, load_manifest(manifest), RecordingHub(commit="a" * 40))
    lock = write_lock(specs=load_manifest(manifest, locked=False), model_dir=models, hub=RecordingHub(commit="b" * 40))
    assert lock == {"base": "b" * 40, "controlnet": "b" * 40}
    locked = load_manifest(manifest, model_dir=models)
    assert {s.revision for s in locked} == {"b" * 40}
    stale = verify_models(model_dir=models, specs=locked)["base"]
    assert stale == [f"holds commit {'a' * 40}, the lock asks for {'b' * 40}"]
    download(models, locked, RecordingHub(commit="b" * 40))
    assert verify_models(model_dir=models, specs=locked) == {"base": [], "controlnet": []}


def test_write_lock_writes_into_the_model_dir_not_next_to_the_read_only_manifest(tmp_path):
    image = tmp_path / "app/models"
    image.mkdir(parents=True)
    manifest = write_manifest(image)
    (image / LOCK_FILE).write_text(json.dumps({"base": "d" * 40, "controlnet": "d" * 40}))  # shipped with the image
    image.chmod(0o555)
    try:
        write_lock(specs=load_manifest(manifest, locked=False), model_dir=tmp_path / "models", hub=RecordingHub())
    finally:
        image.chmod(0o755)
    assert json.loads((image / LOCK_FILE).read_text())["base"] == "d" * 40
    assert {s.revision for s in load_manifest(manifest, model_dir=tmp_path / "models")} == {"c" * 40}
    assert {s.revision for s in load_manifest(manifest, model_dir=tmp_path / "elsewhere")} == {"d" * 40}


CHILD = textwrap.dedent(
    """
    import importlib.util, sys
    from pathlib import Path
    from posegen.inference.download import download_models, load_manifest
    spec = importlib.util.spec_from_file_location("fake_hub", sys.argv[1])
    fake_hub = importlib.util.module_from_spec(spec); spec.loader.exec_module(fake_hub)
    manifest, models, log, start = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
    while not start.exists():
        pass
    download_models(model_dir=models, specs=load_manifest(manifest), hub=fake_hub.RecordingHub(log=log, delay=0.2))
    """
)


def test_two_replicas_sharing_the_volume_download_once(tmp_path):
    manifest, models = write_manifest(tmp_path), tmp_path / "models"
    log, start = tmp_path / "calls.log", tmp_path / "go"
    args = [sys.executable, "-c", CHILD, str(FAKE_HUB), str(manifest), str(models), str(log), str(start)]
    replicas = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(0.5)
    start.touch()
    outputs = [replica.communicate(timeout=120) for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0], outputs
    calls = sorted(log.read_text().splitlines())
    assert calls == ["fetch base", "fetch controlnet", "resolve base", "resolve controlnet"]
    stdout = "".join(out for out, _ in outputs)
    assert "waiting for it" in stdout and stdout.count("already whole") == 2
    assert verify_models(model_dir=models, specs=load_manifest(manifest)) == {"base": [], "controlnet": []}


def test_the_lock_waits_for_its_holder_and_times_out(tmp_path):
    path = tmp_path / DOWNLOAD_LOCK
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from posegen.fslock import exclusive_lock\n"
            "with exclusive_lock(path=Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(2)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    held_at = time.monotonic()
    waits = []
    with pytest.raises(TimeoutError), exclusive_lock(path=path, timeout=0.3, poll=0.1, on_wait=lambda: waits.append(1)):
        pass
    assert waits == [1]
    with exclusive_lock(path=path, poll=0.1):
        assert 1.5 < time.monotonic() - held_at < 10, "acquired once the holder let go, not before"
    holder.wait()


def cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "posegen_cli", "models", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        timeout=120,
    )


def test_models_verify_command(tmp_path):
    manifest, models = write_manifest(tmp_path), tmp_path / "models"
    env = {"POSEGEN_MODELS_MANIFEST": str(manifest), "MODEL_DIR": str(models)}
    missing = cli("verify", env=env)
    assert missing.returncode == 1
    assert "base: " in missing.stderr and "does not exist" in missing.stderr and "models download" in missing.stderr
    download(models, load_manifest(manifest), RecordingHub())
    whole = cli("verify", env=env)
    assert whole.returncode == 0, whole.stderr
    assert "base: " in whole.stdout and "is whole (3 files)" in whole.stdout


def test_models_download_into_a_folder_it_cannot_write_says_so(tmp_path, monkeypatch, capsys):
    """What a non-root pod meets on a volume whose owner change the CSI driver skipped (as root, simulated)."""
    from posegen import fslock
    from posegen_cli import main as cli

    def refuse(path, *args):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(fslock.os, "open", refuse)
    monkeypatch.setenv("POSEGEN_MODELS_MANIFEST", str(write_manifest(tmp_path)))
    assert cli.main(["models", "download", "--model-dir", str(tmp_path / "models")]) == 1
    assert "MODEL_DIR must be writable by this user" in capsys.readouterr().err


def test_the_real_hub_client_maps_huggingface_hub_metadata(tmp_path, specs, monkeypatch):
    """HubClient over huggingface_hub's own ModelInfo (built from the API's JSON shape) and a stand-in
    snapshot_download: the commit is pinned, only the manifest's files are asked for, hashes are checked."""
    import huggingface_hub
    from huggingface_hub.hf_api import ModelInfo

    from posegen.inference.download import HubClient

    from .fake_hub import remote_file

    def model_info(self, repo_id, *, revision, files_metadata):
        role = repo_id.split("/")[1]
        siblings = [{"rfilename": "README.md", "size": 10, "blobId": "0" * 40}]
        for name, content in CONTENTS[role].items():
            remote = remote_file(name, content)
            sibling = {"rfilename": name, "size": remote.size, "blobId": remote.blob_id or "f" * 40}
            if remote.sha256:
                sibling["lfs"] = {"size": remote.size, "sha256": remote.sha256, "pointerSize": 134}
            siblings.append(sibling)
        assert files_metadata and revision == "main"
        return ModelInfo(id=repo_id, sha="9" * 40, siblings=siblings)

    fetched = []

    def snapshot_download(*, repo_id, revision, allow_patterns, local_dir):
        fetched.append((repo_id, revision, sorted(allow_patterns)))
        for name, content in CONTENTS[repo_id.split("/")[1]].items():
            (Path(local_dir) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(local_dir) / name).write_bytes(content)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    folders, _ = download(tmp_path / "models", specs, HubClient())
    assert fetched == [(f"example/{role}", "9" * 40, sorted(CONTENTS[role])) for role in ("base", "controlnet")]
    assert json.loads((folders["base"] / MARKER).read_text())["commit"] == "9" * 40
