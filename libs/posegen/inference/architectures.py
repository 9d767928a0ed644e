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
MARKER_FILE = "posegen_model.json"
"""Written next to a built model; says what it is (``tiny`` or ``random-full-size``), so the worker can
warn loudly that it draws noise."""


@dataclass(frozen=True)
class Architecture:
    name: str
    unet: dict
    controlnet_embedding: tuple[int, ...]
    vae: dict
    text: dict


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
    vae={
        "block_out_channels": (8, 16, 32, 32),
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
        "latent_channels": 4,
        "layers_per_block": 1,
        "norm_num_groups": 8,
        "sample_size": 256,
    },
    text={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
          "projection_dim": 32},
)  # fmt: skip

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
    vae={
        "block_out_channels": (128, 256, 512, 512),
        "down_block_types": ("DownEncoderBlock2D",) * 4,
        "up_block_types": ("UpDecoderBlock2D",) * 4,
        "latent_channels": 4,
        "layers_per_block": 2,
        "norm_num_groups": 32,
        "sample_size": 512,
    },
    text={"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
          "projection_dim": 768, "hidden_act": "quick_gelu"},
)  # fmt: skip


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map of bytes to printable characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes), strict=True))


def write_byte_level_tokenizer(folder: Path) -> None:
    """A CLIP BPE tokenizer without merges: every byte is a token (made offline; the real vocabulary
    would come from the Hub)."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    vocab = {symbol: i for i, symbol in enumerate(symbols)}
    vocab.update({symbol + "</w>": len(symbols) + i for i, symbol in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")


def build_pipeline(architecture: Architecture, folder: Path, *, seed: int = 0) -> Path:
    """Build the pipeline with random weights (seeded, so a rebuild gives the same model) and save it with
    ``save_pretrained``: ``folder`` is the base model and ``folder/controlnet`` the ControlNet."""
    folder = Path(folder)
    pipeline = assemble_pipeline(architecture, folder / "tokenizer", seed=seed)
    pipeline.save_pretrained(folder, safe_serialization=True)
    (folder / MARKER_FILE).write_text(json.dumps({"kind": architecture.name, "seed": seed}), encoding="utf-8")
    return folder


def assemble_pipeline(architecture: Architecture, tokenizer_dir: Path, *, seed: int = 0):
    """The pipeline in memory with random weights (its byte-level tokenizer is written to ``tokenizer_dir``)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        StableDiffusionControlNetPipeline,
        UNet2DConditionModel,
        UniPCMultistepScheduler,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    write_byte_level_tokenizer(Path(tokenizer_dir))
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir, model_max_length=TOKENIZER_MAX_LENGTH)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**architecture.unet)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=architecture.controlnet_embedding)
    vae = AutoencoderKL(**architecture.vae, scaling_factor=0.18215)
    text_config = CLIPTextConfig(
        vocab_size=max(len(tokenizer), 49408 if architecture is SD15 else len(tokenizer)),
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
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def built_kind(folder: str | Path) -> str | None:
    """``tiny`` or ``random-full-size`` for a model built here, None for anything else."""
    marker = Path(folder) / MARKER_FILE
    if not marker.is_file():
        return None
    return json.loads(marker.read_text(encoding="utf-8")).get("kind")
