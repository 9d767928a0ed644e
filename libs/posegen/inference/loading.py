"""Loading the pipeline once per worker: ``MODEL_BASE`` + ``MODEL_CONTROLNET`` (Hub ids or folders), or the
tiny offline model when none is configured."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from posegen.inference.architectures import TINY, WITHOUT_SAFETY_CHECKER, build_pipeline, built_kind, is_current_build
from posegen.inference.identity import IdentityAdapter, load_identity, resolve_adapter
from posegen.settings import WorkerSettings

log = logging.getLogger("posegen.inference")
TINY_FOLDER = "tiny-sd15-openpose"


@dataclass
class LoadedPipeline:
    pipe: object
    device: str
    dtype: object
    base: str
    controlnet: str
    kind: str
    """``real``, ``tiny`` or ``random-full-size``."""
    load_seconds: float
    identity: IdentityAdapter | None = None
    """The IP-Adapter that puts the avatar into the images; None: prompt and pose only."""
    compile_mode: str | None = None
    """``torch.compile``'s mode for the UNet and ControlNet, or None when they run eager
    (see ``posegen.inference.warmup``)."""

    @property
    def compiled(self) -> bool:
        return self.compile_mode is not None

    @property
    def makes_noise(self) -> bool:
        return self.kind != "real"


def resolve_models(settings: WorkerSettings) -> tuple[str, str]:
    """The base and ControlNet to load: the configured ones, else the tiny model (built if missing)."""
    if settings.model_base:
        controlnet = settings.model_controlnet or str(Path(settings.model_base) / "controlnet")
        return settings.model_base, controlnet
    tiny = Path(settings.model_dir) / TINY_FOLDER
    if not (tiny / "model_index.json").is_file() or not is_current_build(tiny):
        log.info("building the tiny offline model in %s", tiny)
        build_pipeline(TINY, tiny)
    return str(tiny), settings.model_controlnet or str(tiny / "controlnet")


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("TORCH_DEVICE=cuda but torch sees no CUDA device")
    return requested


def pick_dtype(requested: str, device: str):
    import torch

    if requested == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return getattr(torch, requested)


def _variant(folder: str, component: str) -> str | None:
    """``fp16`` when a local folder holds fp16 weight files (as ``posegen models download`` fetches)."""
    path = Path(folder, component)
    return "fp16" if path.is_dir() and any(path.glob("*.fp16.safetensors")) else None


def load_pipeline(settings: WorkerSettings) -> LoadedPipeline:
    import torch
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline, UniPCMultistepScheduler
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    for library_logging in (diffusers_logging, transformers_logging):
        library_logging.disable_progress_bar()
        library_logging.set_verbosity_error()
    started = time.perf_counter()
    base, controlnet_id = resolve_models(settings)
    device = pick_device(settings.torch_device)
    dtype = pick_dtype(settings.torch_dtype, device)
    controlnet = ControlNetModel.from_pretrained(controlnet_id, dtype=dtype, variant=_variant(controlnet_id, ""))
    pipe = StableDiffusionControlNetPipeline.from_pretrained(
        base, controlnet=controlnet, dtype=dtype, variant=_variant(base, "unet"), **WITHOUT_SAFETY_CHECKER
    )
    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    source = resolve_adapter(settings, base)
    identity = load_identity(pipe, source, dtype=dtype, device=device) if source else None
    if device == "cuda":
        _tune_for_cuda(pipe, settings)
    kind = built_kind(base) or "real"
    compiled = device == "cuda" and settings.worker_torch_compile
    loaded = LoadedPipeline(
        pipe,
        device,
        dtype,
        base,
        controlnet_id,
        kind,
        time.perf_counter() - started,
        identity,
        compile_mode=settings.worker_compile_mode if compiled else None,
    )
    _announce(loaded, torch.get_num_threads())
    return loaded


def _tune_for_cuda(pipe, settings: WorkerSettings) -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = True
    if settings.worker_channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.controlnet.to(memory_format=torch.channels_last)
    if settings.worker_torch_compile:
        compile_denoisers(pipe, mode=settings.worker_compile_mode)


RECOMPILE_LIMIT = 32
"""Per code object; the warm-up's few shape changes and UNet/ControlNet sharing blocks stay well inside it."""


def compile_denoisers(pipe, *, mode: str | None = None, backend="inductor") -> None:
    """``torch.compile`` the UNet and the ControlNet, shapes static at first: the warm-up's calls then make
    batch, size and prompt length dynamic before any job runs (``posegen.inference.warmup``)."""
    import torch
    import torch._dynamo.config

    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    options = {"mode": mode} if backend == "inductor" else {}
    pipe.unet = torch.compile(pipe.unet, backend=backend, **options)
    pipe.controlnet = torch.compile(pipe.controlnet, backend=backend, **options)


def _announce(loaded: LoadedPipeline, threads: int) -> None:
    where = f"{loaded.device} ({loaded.dtype}, {threads} CPU threads)"
    if loaded.makes_noise:
        banner = "!" * 100
        log.warning(
            "\n%s\n!! NO REAL MODEL: the worker runs the %s SD1.5-architecture pipeline with RANDOM weights\n"
            "!! from %s. It produces noise, not people.\n"
            "!! Set MODEL_BASE and MODEL_CONTROLNET (see `posegen models download`).\n%s",
            banner,
            loaded.kind,
            loaded.base,
            banner,
        )
    log.info(
        "pipeline loaded in %.2fs on %s: base %s, controlnet %s",
        loaded.load_seconds,
        where,
        loaded.base,
        loaded.controlnet,
    )
    if loaded.identity is None:
        log.warning(
            "no identity adapter (IP_ADAPTER): images follow the prompt and the pose only; avatars are "
            "ignored and results record identityStrength 0"
        )
    else:
        log.info("identity adapter %s loaded in %.2fs", loaded.identity.source.describe(), loaded.identity.load_seconds)
