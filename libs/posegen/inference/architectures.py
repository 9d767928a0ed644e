"""Building SD1.5-architecture pipelines offline: a tiny one (the default model without real weights, and
the tests' model) and the full-size one with random weights (it costs exactly what the real one costs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TOKENIZER_MAX_LENGTH = 77
SD15_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "steps_offset": 1,
    "timestep_spacing": "leading",
}
WITHOUT_SAFETY_CHECKER = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
"""Keyword arguments of ``StableDiffusionControlNetPipeline``: built and loaded without the safety checker."""
MARKER_FILE = "posegen_model.json"
"""Written next to a built model; says what it is (``tiny`` or ``random-full-size``), so the worker can
warn loudly that it draws noise, and where its identity adapter is."""
BUILD_FORMAT = 2
"""2: the real CLIP vocabulary and an IP-Adapter folder; older builds are rebuilt when the worker needs one."""
ADAPTER_FOLDER = "ip-adapter"


@dataclass(frozen=True)
class Architecture:
    name: str
    unet: dict
    controlnet_embedding: tuple[int, ...]
    vae: dict
    text: dict
    vision: dict
    """The IP-Adapter's CLIP vision encoder (``CLIPVisionConfig``)."""
    resampler: dict
    """The Plus adapter's Resampler: width, heads and image tokens."""


def _vae(channels: tuple[int, ...], *, layers: int, groups: int, sample_size: int) -> dict:
    """SD1.5's VAE layout (a down and an up block per width, 4 latent channels) at the given sizes."""
    return {
        "block_out_channels": channels,
        "down_block_types": ("DownEncoderBlock2D",) * len(channels),
        "up_block_types": ("UpDecoderBlock2D",) * len(channels),
        "latent_channels": 4,
        "layers_per_block": layers,
        "norm_num_groups": groups,
        "sample_size": sample_size,
    }


def _clip(*, hidden: int, intermediate: int, layers: int, heads: int, projection: int, **extra) -> dict:
    """A CLIP encoder's sizes, as ``CLIPTextConfig`` and ``CLIPVisionConfig`` name them."""
    return {
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "projection_dim": projection,
        **extra,
    }


TINY = Architecture(
    name="tiny",
    unet={
        "sample_size": 32,
        "block_out_channels": (32, 64),
        "layers_per_block": 1,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "cross_attention_dim": 32,
        "attention_head_dim": (2, 4),
        "norm_num_groups": 8,
    },
    controlnet_embedding=(8, 16, 32, 64),
    vae=_vae((8, 16, 32, 32), layers=1, groups=8, sample_size=256),
    text=_clip(hidden=32, intermediate=37, layers=2, heads=4, projection=32),
    vision=_clip(hidden=32, intermediate=37, layers=2, heads=4, projection=16, image_size=32, patch_size=8),
    resampler={"dim": 32, "heads": 1, "queries": 16},
)

SD15 = Architecture(
    name="random-full-size",
    unet={
        "sample_size": 64,
        "block_out_channels": (320, 640, 1280, 1280),
        "layers_per_block": 2,
        "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        "cross_attention_dim": 768,
        "attention_head_dim": 8,
        "norm_num_groups": 32,
    },
    controlnet_embedding=(16, 32, 96, 256),
    vae=_vae((128, 256, 512, 512), layers=2, groups=32, sample_size=512),
    text=_clip(hidden=768, intermediate=3072, layers=12, heads=12, projection=768, hidden_act="quick_gelu"),
    # ViT-H/14, the encoder of h94/IP-Adapter's models/image_encoder; the Resampler of ip-adapter-plus(-face)_sd15.
    vision=_clip(
        hidden=1280,
        intermediate=5120,
        layers=32,
        heads=16,
        projection=1024,
        image_size=224,
        patch_size=14,
        hidden_act="gelu",
    ),
    resampler={"dim": 768, "heads": 12, "queries": 16},
)


def build_pipeline(architecture: Architecture, folder: Path, *, seed: int = 0, variant: str | None = None) -> Path:
    """Build the pipeline with random weights (seeded, so a rebuild gives the same model) and save it with
    ``save_pretrained``: ``folder`` is the base model, ``folder/controlnet`` the ControlNet and
    ``folder/ip-adapter`` the IP-Adapters and their image encoder (see ``adapters``).
    ``variant="fp16"`` saves half-precision ``*.fp16.safetensors`` files, as the real weights are published."""
    import torch

    from posegen.inference.adapters import write_adapters

    folder = Path(folder)
    pipeline = assemble_pipeline(architecture, folder / "tokenizer", seed=seed)
    dtype = torch.float16 if variant == "fp16" else torch.float32
    pipeline.to(dtype=dtype)
    pipeline.save_pretrained(folder, safe_serialization=True, variant=variant)
    write_adapters(
        pipeline.unet,
        folder / ADAPTER_FOLDER,
        vision=architecture.vision,
        resampler=architecture.resampler,
        seed=seed + 1,
        dtype=dtype,
    )
    marker = {"kind": architecture.name, "seed": seed, "format": BUILD_FORMAT, "ip_adapter": ADAPTER_FOLDER}
    (folder / MARKER_FILE).write_text(json.dumps(marker), encoding="utf-8")
    return folder


def assemble_pipeline(architecture: Architecture, tokenizer_dir: Path, *, seed: int = 0):
    """The pipeline in memory with random weights (its CLIP tokenizer is written to ``tokenizer_dir``)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        StableDiffusionControlNetPipeline,
        UNet2DConditionModel,
        UniPCMultistepScheduler,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from posegen.inference.tokenizer import write_clip_tokenizer

    write_clip_tokenizer(Path(tokenizer_dir))
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir, model_max_length=TOKENIZER_MAX_LENGTH)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**architecture.unet)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=architecture.controlnet_embedding)
    vae = AutoencoderKL(**architecture.vae, scaling_factor=0.18215)
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=TOKENIZER_MAX_LENGTH,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **architecture.text,
    )
    return StableDiffusionControlNetPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(text_config),
        tokenizer=tokenizer,
        unet=unet,
        controlnet=controlnet,
        scheduler=UniPCMultistepScheduler(**SD15_SCHEDULER),
        **WITHOUT_SAFETY_CHECKER,
    )


def _marker(folder: str | Path) -> dict:
    marker = Path(folder) / MARKER_FILE
    return json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}


def built_kind(folder: str | Path) -> str | None:
    """``tiny`` or ``random-full-size`` for a model built here, None for anything else."""
    return _marker(folder).get("kind")


def built_adapter(folder: str | Path) -> Path | None:
    """The IP-Adapter folder built with the model in ``folder``, if any."""
    name = _marker(folder).get("ip_adapter")
    return Path(folder) / name if name else None


def is_current_build(folder: str | Path) -> bool:
    return _marker(folder).get("format", 1) >= BUILD_FORMAT
