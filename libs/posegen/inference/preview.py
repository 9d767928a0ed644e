"""A small JPEG preview straight from SD1.5 latents (no VAE decode): a fixed 4x3 projection to RGB."""

from __future__ import annotations

import base64

LATENT_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)


def latents_to_jpeg_data_url(latents) -> str:
    """The first image of a denoising step's (batch, 4, h, w) ``latents`` as ``data:image/jpeg;base64,...``."""
    import torch
    from PIL import Image

    from posegen.images import encode_jpeg

    matrix = torch.tensor(LATENT_RGB, dtype=torch.float32)
    latent = latents[0].detach().to("cpu", torch.float32)
    rgb = torch.einsum("chw,cr->hwr", latent, matrix)
    pixels = ((rgb + 1) / 2).clamp(0, 1).mul(255).to(torch.uint8).numpy()
    jpeg = encode_jpeg(Image.fromarray(pixels), quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
