"""No CUDA machine is lent to most sessions, so every CUDA-only line must run here first: the GPU benchmark's
whole flow and the worker's CUDA loading path run on the CPU with CUDA's semantics (``torch.cuda`` says yes,
moves to ``cuda`` stay on the CPU, ``torch.compile`` and the benchmark's CUDA calls are recorded)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .scripts import load_script

REPO = Path(__file__).resolve().parents[2]


class CudaRecorder:
    """Stands in for every CUDA-only call of bench/gpu.py and remembers which ones ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def synchronize(self) -> None:
        self.calls.append("synchronize")

    def reset_peak(self) -> None:
        self.calls.append("reset_peak")

    def peak_bytes(self) -> int:
        self.calls.append("peak_bytes")
        return 3 * 2**30

    def device_name(self) -> str:
        self.calls.append("device_name")
        return "NVIDIA H200 (recorded)"


@pytest.fixture
def cuda_semantics(monkeypatch):
    """``torch.cuda.is_available()`` is true, a move to ``cuda`` is recorded and skipped, ``torch.compile`` is
    recorded and returns the module as it is."""
    moved, compiled = [], []
    original_to = torch.nn.Module.to

    def to(module, *args, **kwargs):
        args = [a for a in args if not (isinstance(a, str | torch.device) and str(a).startswith("cuda"))]
        if "device" in kwargs and str(kwargs["device"]).startswith("cuda"):
            kwargs.pop("device")
        if len(args) != len([a for a in args]) or not args and not kwargs:
            return module
        return original_to(module, *args, **kwargs)

    def pipeline_to(pipe, *args, **kwargs):
        moved.extend(str(a) for a in args if str(a).startswith("cuda"))
        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module):
                to(component, *args, **kwargs)
        return pipe

    def record_compile(model, **options):
        compiled.append((type(model).__name__, options))
        return model

    from diffusers import DiffusionPipeline

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.nn.Module, "to", to)
    monkeypatch.setattr(DiffusionPipeline, "to", pipeline_to)
    monkeypatch.setattr(torch, "compile", record_compile)
    allow_tf32 = torch.backends.cuda.matmul.allow_tf32
    yield {"moved": moved, "compiled": compiled}
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32


def test_the_gpu_benchmark_runs_every_cuda_line_on_the_cpu(cuda_semantics, tmp_path):
    gpu = load_script("gpu")
    recorder = CudaRecorder()
    out = tmp_path / "gpu.md"
    argv = [
        "--tiny",
        "--device",
        "cuda",
        "--dtype",
        "float32",
        "--steps",
        "2",
        "--size",
        "128",
        "--batches",
        "1,2",
        "--repeats",
        "1",
        "--case-seconds",
        "240",
        "--compile-seconds",
        "240",
        "--out",
        str(out),
    ]
    assert gpu.main(argv, cuda=recorder) == 0
    assert {"synchronize", "reset_peak", "peak_bytes", "device_name"} == set(recorder.calls)
    report = out.read_text()
    for config in (
        "| eager | 1 |",
        "| eager | 2 |",
        "| eager, channels-last | 2 |",
        "| compiled (max-autotune-no-cudagraphs) | 2 |",
    ):
        assert config in report, config
    for figure in ("step callback", "identity adapter", "VAE decode share", "load, compile and warm up"):
        assert figure in report, figure
    assert "NVIDIA H200 (recorded)" in report and "| 3.00 |" in report, "peak memory per batch"
    assert [name for name, _ in cuda_semantics["compiled"]] == ["UNet2DConditionModel", "ControlNetModel"]
    assert cuda_semantics["moved"], "the pipeline was sent to cuda"


def test_the_workers_cuda_loading_path(cuda_semantics, tmp_path, worker_settings_for):
    from posegen.inference.architectures import TINY, build_pipeline
    from posegen.inference.loading import load_pipeline

    model = build_pipeline(TINY, tmp_path / "fp16", variant="fp16")
    assert (model / "unet/diffusion_pytorch_model.fp16.safetensors").is_file()
    settings = worker_settings_for(model, torch_device="cuda", worker_torch_compile=True, worker_channels_last=True)
    loaded = load_pipeline(settings)
    assert (loaded.device, loaded.dtype, loaded.compile_mode) == ("cuda", torch.float16, "max-autotune-no-cudagraphs")
    assert next(loaded.pipe.unet.parameters()).dtype == torch.float16, "the fp16 variant, loaded in fp16"
    assert next(loaded.pipe.image_encoder.parameters()).dtype == torch.float16
    conv = loaded.pipe.unet.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert loaded.pipe.controlnet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert cuda_semantics["compiled"] == [
        ("UNet2DConditionModel", {"backend": "inductor", "mode": "max-autotune-no-cudagraphs"}),
        ("ControlNetModel", {"backend": "inductor", "mode": "max-autotune-no-cudagraphs"}),
    ]
    assert torch.backends.cuda.matmul.allow_tf32 is True
    assert "cuda" in cuda_semantics["moved"]


@pytest.fixture
def worker_settings_for():
    from posegen.settings import WorkerSettings

    def make(model: Path, **values):
        return WorkerSettings(
            _env_file=None,
            jwt_secret="zL4PF1NyifWKzxy_3IKySRFNSKfevRIKvvm5GwsAZcMm-BcW",
            model_base=str(model),
            model_controlnet=str(model / "controlnet"),
            **values,
        )

    return make


def test_gpu_run_sh_smoke_mode_runs_end_to_end(tmp_path):
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "OUT": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(REPO / "bench/gpu_run.sh"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "TMPDIR": os.environ.get("TMPDIR", "/tmp")},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"report: {tmp_path}/gpu.md" in result.stdout
    report = (tmp_path / "gpu.md").read_text()
    assert "| eager | 1 |" in report and "| eager | 2 |" in report and "whole run" in report
