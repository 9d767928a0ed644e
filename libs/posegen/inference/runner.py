"""One pipeline call for a batch of images, each with its own prompt, control image and seed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

StepHook = Callable[[int, object], bool]
"""Called after each denoising step with the 1-based step and the latents; returning True stops the run."""


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    negative_prompt: str
    control_image: Image.Image
    seed: int


@dataclass(frozen=True)
class Identity:
    """The image embedding every image of the call is conditioned on, and how strongly (0: not at all)."""

    embeds: object
    scale: float


@dataclass
class BatchResult:
    images: list[Image.Image]
    interrupted: bool


def generate_batch(
    pipe,
    requests: list[ImageRequest],
    *,
    steps: int,
    guidance_scale: float,
    width: int,
    height: int,
    on_step: StepHook | None = None,
    identity: Identity | None = None,
    prompt_chunks: int = 1,
) -> BatchResult:
    """Denoise the batch in one call. Generators live on the CPU so a seed gives the same image on any
    device; ``on_step`` may stop the run within the step it is called for. ``identity`` is required when the
    pipeline has an IP-Adapter loaded. Prompts of more than one chunk of tokens are encoded whole
    (``posegen.inference.text``); one chunk goes through diffusers' own encoding."""
    import torch

    from posegen.inference.text import encode_chunked

    interrupted = False

    def callback(pipeline, step_index: int, _timestep, callback_kwargs: dict) -> dict:
        nonlocal interrupted
        if on_step is not None and on_step(step_index + 1, callback_kwargs["latents"]):
            interrupted = pipeline._interrupt = True
        return callback_kwargs

    prompts, negatives = [r.prompt for r in requests], [r.negative_prompt for r in requests]
    if prompt_chunks > 1:
        text = {
            "prompt_embeds": encode_chunked(pipe, prompts, prompt_chunks),
            "negative_prompt_embeds": encode_chunked(pipe, negatives, prompt_chunks),
        }
    else:
        text = {"prompt": prompts, "negative_prompt": negatives}
    extra = {}
    if identity is not None:
        pipe.set_ip_adapter_scale(identity.scale)
        extra["ip_adapter_image_embeds"] = [identity.embeds]
    with torch.inference_mode():
        output = pipe(
            **text,
            **extra,
            image=[r.control_image for r in requests],
            generator=[torch.Generator("cpu").manual_seed(r.seed) for r in requests],
            num_inference_steps=steps,
            guidance_scale=guidance_scale,
            width=width,
            height=height,
            output_type="pil",
            callback_on_step_end=callback,
            callback_on_step_end_tensor_inputs=["latents"],
        )
    return BatchResult(images=list(output.images), interrupted=interrupted)
