import json
import os
import subprocess
import sys

from posegen.inference.architectures import built_kind
from posegen.inference.download import load_manifest, manifest_path
from posegen.inference.loading import load_pipeline

from .conftest import worker_settings


def posegen(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "posegen_cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def test_manifest_names_sd15_and_the_openpose_controlnet_in_fp16():
    specs = {spec.role: spec for spec in load_manifest()}
    assert specs["base"].repo_id == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert specs["controlnet"].repo_id == "lllyasviel/control_v11p_sd15_openpose"
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in specs["base"].files
    assert "diffusion_pytorch_model.fp16.safetensors" in specs["controlnet"].files
    weights = ("base", "controlnet")
    assert all(name.endswith((".json", ".txt", ".fp16.safetensors")) for r in weights for name in specs[r].files)


def test_manifest_names_the_identity_adapter_and_its_encoder_as_the_worker_loads_them():
    from posegen.settings import WorkerSettings

    spec = {spec.role: spec for spec in load_manifest()}["ip_adapter"]
    default = WorkerSettings.model_fields["ip_adapter_weight_name"].default
    assert spec.repo_id == "h94/IP-Adapter"
    assert f"models/{default}" in spec.files
    assert {"models/image_encoder/config.json", "models/image_encoder/model.safetensors"} <= set(spec.files)


def test_a_lock_file_pins_the_revisions(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(manifest_path().read_text())
    (tmp_path / "manifest.lock.json").write_text(json.dumps({"base": "a" * 40, "controlnet": "b" * 40}))
    specs = {spec.role: spec for spec in load_manifest(manifest)}
    assert (specs["base"].revision, specs["controlnet"].revision) == ("a" * 40, "b" * 40)


def test_download_goes_as_far_as_the_hub_and_says_what_it_wanted(tmp_path):
    result = posegen("models", "download", "--model-dir", str(tmp_path), env={"MODEL_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "stable-diffusion-v1-5/stable-diffusion-v1-5@" in result.stderr
    assert "lllyasviel/control_v11p_sd15_openpose@" in result.stderr
    assert "h94/IP-Adapter@" in result.stderr
    assert "offline" in result.stderr.lower() or "HF_HUB_OFFLINE" in result.stderr


def test_build_tiny_writes_a_loadable_pipeline(tmp_path, worker_env):
    folder = tmp_path / "tiny"
    result = posegen("models", "build-tiny", "--output", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (folder / "model_index.json").is_file() and built_kind(folder) == "tiny"
    loaded = load_pipeline(
        worker_settings(worker_env, model_base=str(folder), model_controlnet=str(folder / "controlnet"))
    )
    assert (loaded.kind, loaded.device, loaded.makes_noise) == ("tiny", "cpu", True)


def test_build_random_needs_full_size(tmp_path):
    result = posegen("models", "build-random", "--output", str(tmp_path / "x"), cwd=tmp_path)
    assert result.returncode == 2 and "--full-size" in result.stderr
