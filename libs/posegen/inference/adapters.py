"""Randomly initialised IP-Adapters and CLIP vision encoders, written in exactly the layout of the published
``h94/IP-Adapter`` repository, so the offline models load through diffusers' own ``load_ip_adapter``:

    <folder>/models/ip-adapter_sd15.safetensors            plain adapter (4 image tokens from image_embeds)
    <folder>/models/ip-adapter-plus-face_sd15.safetensors  Plus adapter (a Resampler over hidden states)
    <folder>/models/image_encoder/                          CLIPVisionModelWithProjection (save_pretrained)

Weight keys are those of the original IP-Adapter code (``image_proj.*`` and ``ip_adapter.{k}.to_k_ip/to_v_ip``,
k = 1, 3, 5, ... over the UNet's cross-attention processors in order), which diffusers converts on load."""

from __future__ import annotations

from pathlib import Path

ADAPTER_SUBFOLDER = "models"
PLAIN_WEIGHTS = "ip-adapter_sd15.safetensors"
FACE_WEIGHTS = "ip-adapter-plus-face_sd15.safetensors"
ENCODER_FOLDER = "image_encoder"
RESAMPLER_HEAD_DIM = 64
"""diffusers reads the Resampler's heads as ``to_q`` rows / 64, as in the original code."""
PLAIN_TOKENS = 4


def _cross_attention_sizes(unet) -> list[int]:
    """The hidden size of each cross-attention (``attn2``) processor, in ``unet.attn_processors`` order."""
    channels = list(unet.config.block_out_channels)
    sizes = []
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            sizes.append(channels[-1])
        elif name.startswith("up_blocks"):
            sizes.append(list(reversed(channels))[int(name[len("up_blocks.")])])
        else:
            sizes.append(channels[int(name[len("down_blocks.")])])
    return sizes


def _ip_attention(unet) -> dict:
    from torch import nn

    cross = unet.config.cross_attention_dim
    weights = {}
    for i, hidden in enumerate(_cross_attention_sizes(unet)):
        k = 2 * i + 1
        weights[f"ip_adapter.{k}.to_k_ip.weight"] = nn.Linear(cross, hidden, bias=False).weight.detach()
        weights[f"ip_adapter.{k}.to_v_ip.weight"] = nn.Linear(cross, hidden, bias=False).weight.detach()
    return weights


def _plain_projection(cross: int, embed_dim: int) -> dict:
    from torch import nn

    projection = nn.Module()
    projection.proj = nn.Linear(embed_dim, PLAIN_TOKENS * cross)
    projection.norm = nn.LayerNorm(cross)
    return {f"image_proj.{k}": v.detach() for k, v in projection.state_dict().items()}


def _resampler(*, embed_dim: int, cross: int, dim: int, heads: int, queries: int, depth: int = 4) -> dict:
    """The original IP-Adapter ``Resampler`` (PerceiverAttention + FeedForward per layer), as a state dict."""
    import torch
    from torch import nn

    inner = heads * RESAMPLER_HEAD_DIM

    def perceiver() -> nn.Module:
        block = nn.Module()
        block.norm1, block.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        block.to_q = nn.Linear(dim, inner, bias=False)
        block.to_kv = nn.Linear(dim, 2 * inner, bias=False)
        block.to_out = nn.Linear(inner, dim, bias=False)
        return block

    def feed_forward() -> nn.Module:
        return nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, 4 * dim, bias=False), nn.GELU(), nn.Linear(4 * dim, dim, bias=False)
        )

    resampler = nn.Module()
    resampler.latents = nn.Parameter(torch.randn(1, queries, dim) / dim**0.5)
    resampler.proj_in = nn.Linear(embed_dim, dim)
    resampler.proj_out = nn.Linear(dim, cross)
    resampler.norm_out = nn.LayerNorm(cross)
    resampler.layers = nn.ModuleList(nn.ModuleList([perceiver(), feed_forward()]) for _ in range(depth))
    return {f"image_proj.{k}": v.detach() for k, v in resampler.state_dict().items()}


def write_adapters(unet, folder: Path, *, vision: dict, resampler: dict, seed: int = 0) -> Path:
    """Write the image encoder and both adapters for ``unet`` under ``folder``; return ``folder``."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    models = Path(folder) / ADAPTER_SUBFOLDER
    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**vision))
    encoder.save_pretrained(models / ENCODER_FOLDER, safe_serialization=True)
    cross = unet.config.cross_attention_dim
    plain = {**_plain_projection(cross, vision["projection_dim"]), **_ip_attention(unet)}
    face = {
        **_resampler(embed_dim=vision["hidden_size"], cross=cross, **resampler),
        **_ip_attention(unet),
    }
    for name, weights in ((PLAIN_WEIGHTS, plain), (FACE_WEIGHTS, face)):
        save_file({k: v.contiguous() for k, v in weights.items()}, models / name)
    return Path(folder)
