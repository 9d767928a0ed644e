"""The worker runs its pipeline before it takes any job: readiness means one denoising step has run.

With ``torch.compile`` the warm-up also decides the shapes the worker serves. The graphs are compiled with
static shapes first; each call below changes one thing, and ``torch._dynamo``'s automatic dynamic shapes
makes that dimension dynamic in the recompile. After them a worker serves every batch size (a short last
batch too), every width and height the API allows, prompts of any number of chunks, identity on and off and
guidance on and off without compiling inside a user's job (``tests/inference/test_warmup.py`` counts the
compilations). The compiled kernels land in ``TORCHINDUCTOR_CACHE_DIR``, so a new pod reuses them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PIL import Image

from posegen.inference.runner import Identity, ImageRequest, generate_batch

log = logging.getLogger("posegen.inference")
LONG_PROMPT = "a person standing in a bright studio, " * 12
"""More than one chunk of 75 tokens."""


@dataclass(frozen=True)
class WarmupCall:
    batch: int
    width: int
    height: int
    prompt_chunks: int = 1
    identity_scale: float = 0.0
    guidance_scale: float = 7.5


PLAIN = (WarmupCall(1, 256, 256),)
COMPILED = (
    WarmupCall(1, 256, 256),
    WarmupCall(2, 256, 256),
    WarmupCall(1, 320, 384),
    WarmupCall(1, 256, 256, prompt_chunks=2),
    WarmupCall(1, 256, 256, identity_scale=0.5),
    WarmupCall(1, 256, 256, guidance_scale=1.0),
)


def warm_up(loaded, *, steps: int = 1) -> float:
    """Run the calls (the compiled set when the pipeline is compiled); raises if the pipeline cannot run."""
    calls = COMPILED if loaded.compiled else PLAIN
    started = time.perf_counter()
    for call in calls:
        prompt = LONG_PROMPT if call.prompt_chunks > 1 else "a person"
        control = Image.new("RGB", (call.width, call.height))
        requests = [ImageRequest(prompt, "blurry", control, seed) for seed in range(call.batch)]
        identity = None
        if loaded.identity is not None:
            identity = Identity(loaded.identity.neutral_for(guidance=call.guidance_scale > 1), call.identity_scale)
        generate_batch(
            loaded.pipe,
            requests,
            steps=steps,
            guidance_scale=call.guidance_scale,
            width=call.width,
            height=call.height,
            identity=identity,
            prompt_chunks=call.prompt_chunks,
        )
    seconds = time.perf_counter() - started
    log.info("warm-up: %s pipeline calls in %.1fs", len(calls), seconds)
    return seconds
