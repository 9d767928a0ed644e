"""The warm-up decides the shapes a compiled worker serves: after it, no job compiles again (counted with
torch._dynamo's counting backend on the CPU, the same calls inductor would compile on a GPU)."""

from __future__ import annotations

import pytest
from PIL import Image

from posegen.inference.loading import compile_denoisers, load_pipeline
from posegen.inference.runner import Identity, ImageRequest, generate_batch
from posegen.inference.text import chunks_needed
from posegen.inference.warmup import COMPILED, LONG_PROMPT, warm_up
from posegen.settings import WorkerSettings


@pytest.fixture(scope="module")
def compiled(tiny_model):
    from torch._dynamo.testing import CompileCounter

    settings = WorkerSettings(
        _env_file=None,
        jwt_secret="11oXFE5nKvU-X_6YkPaJ_-QEk7ZyHqp1cKMpCrkeHWZ_tw0M",
        model_base=str(tiny_model),
        model_controlnet=str(tiny_model / "controlnet"),
        torch_device="cpu",
    )
    loaded = load_pipeline(settings)
    counter = CompileCounter()
    compile_denoisers(loaded.pipe, backend=counter)
    loaded.compile_mode = "counting"
    return loaded, counter


def job(loaded, *, batch: int, width: int, height: int, chunks: int = 1, scale: float = 0.0, guidance: float = 7.5):
    prompt = " ".join([LONG_PROMPT] * (chunks - 1)) if chunks > 1 else "a dancer"
    requests = [ImageRequest(prompt, "", Image.new("RGB", (width, height)), seed) for seed in range(batch)]
    identity = Identity(loaded.identity.neutral_for(guidance=guidance > 1), scale)
    prompt_chunks = chunks_needed(loaded.pipe.tokenizer, [prompt])
    assert prompt_chunks == chunks
    generate_batch(
        loaded.pipe,
        requests,
        steps=1,
        guidance_scale=guidance,
        width=width,
        height=height,
        identity=identity,
        prompt_chunks=prompt_chunks,
    )


def test_after_the_warm_up_no_job_compiles_again(compiled):
    loaded, counter = compiled
    warm_up(loaded)
    assert counter.frame_count >= 2, "the warm-up compiled the UNet and the ControlNet"
    warmed = counter.frame_count
    job(loaded, batch=3, width=384, height=320, chunks=3, scale=0.8)
    job(loaded, batch=1, width=448, height=256, scale=0.3)
    job(loaded, batch=2, width=256, height=320, guidance=1.0, scale=0.6)
    assert counter.frame_count == warmed


def test_the_compiled_warm_up_covers_each_dimension_a_job_can_change():
    changed = {
        (
            c.batch > 1,
            (c.width, c.height) != (256, 256),
            c.prompt_chunks > 1,
            c.identity_scale > 0,
            c.guidance_scale <= 1,
        )
        for c in COMPILED
    }
    assert all(any(flags[i] for flags in changed) for i in range(5))
