"""GPU benchmark (issue 4), for a CUDA machine: ``make bench-gpu`` prepares it, `bench/gpu_run.sh` runs it.

Full-size SD1.5 + OpenPose ControlNet (random weights: the same cost as the real ones) at 512 px, 20 steps,
fp16: images per second at batch 1, 4 and 8, eager and with ``torch.compile`` on the UNet and ControlNet,
plus the step callback on CUDA (one call per step, with a latent preview). Needs only torch, diffusers,
transformers and Pillow besides this repository's ``libs/`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

STEPS, SIZE = 20, 512
DEVICE = "cuda"


def build(dtype, *, tiny: bool = False):
    from posegen.inference.architectures import SD15, TINY, assemble_pipeline

    pipe = assemble_pipeline(TINY if tiny else SD15, Path(tempfile.mkdtemp()) / "tokenizer")
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(DEVICE, dtype)


def synchronize() -> None:

    if DEVICE == "cuda":
        synchronize()


def images_per_second(pipe, batch: int, repeats: int) -> float:
    from PIL import Image

    from posegen.inference.runner import ImageRequest, generate_batch

    control = Image.new("RGB", (SIZE, SIZE))
    requests = [ImageRequest("a person standing", "blurry", control, seed) for seed in range(batch)]
    generate_batch(pipe, requests, steps=3, guidance_scale=7.5, width=SIZE, height=SIZE)  # warm-up / compile
    generate_batch(pipe, requests, steps=3, guidance_scale=7.5, width=SIZE, height=SIZE)
    synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        generate_batch(pipe, requests, steps=STEPS, guidance_scale=7.5, width=SIZE, height=SIZE)
    synchronize()
    return batch * repeats / (time.perf_counter() - started)


def step_events(pipe) -> dict:
    from PIL import Image

    from posegen.inference.preview import latents_to_jpeg_data_url
    from posegen.inference.runner import ImageRequest, generate_batch

    stamps, previews = [], []

    def on_step(step: int, latents) -> bool:
        stamps.append(time.perf_counter())
        if step % 5 == 0:
            previews.append(len(latents_to_jpeg_data_url(latents)))
        return False

    request = ImageRequest("a person", "", Image.new("RGB", (SIZE, SIZE)), 0)
    started = time.perf_counter()
    result = generate_batch(pipe, [request], steps=STEPS, guidance_scale=7.5, width=SIZE, height=SIZE,
                            on_step=on_step)  # fmt: skip
    synchronize()
    gaps = [b - a for a, b in zip([started, *stamps], stamps, strict=False)]
    return {"callbacks": len(stamps), "steps": result.steps_run, "mean_step_ms": 1000 * sum(gaps[1:]) / len(gaps[1:]),
            "previews": len(previews), "preview_bytes": previews[:1]}  # fmt: skip


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/benchmarks/gpu.md")
    parser.add_argument("--batches", default="1,4,8")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="the tiny model on the CPU, to check the script")
    args = parser.parse_args()
    global DEVICE, STEPS, SIZE
    if args.smoke:
        DEVICE, STEPS, SIZE = "cpu", 2, 64
    elif not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = True
    batches = [int(b) for b in args.batches.split(",")]
    pipe = build(torch.float32 if args.smoke else torch.float16, tiny=args.smoke)
    results = {"eager": {b: images_per_second(pipe, b, args.repeats) for b in batches}}
    events = step_events(pipe)
    print(json.dumps({"eager": results["eager"], "events": events}), flush=True)
    if not args.no_compile:
        started = time.perf_counter()
        pipe.unet = torch.compile(pipe.unet)
        pipe.controlnet = torch.compile(pipe.controlnet)
        results["compiled"] = {b: images_per_second(pipe, b, args.repeats) for b in batches}
        results["compile_seconds"] = time.perf_counter() - started
    write(Path(args.out), results, events, batches, torch, device=torch.cuda.get_device_name() if DEVICE == "cuda"
          else "CPU (smoke run: tiny model, not a measurement)")  # fmt: skip
    print(Path(args.out).read_text())
    return 0


def write(path: Path, results: dict, events: dict, batches: list[int], torch, *, device: str) -> None:
    import diffusers

    rows = "\n".join(
        f"| {b} | {results['eager'][b]:.2f} | "
        + (f"{results['compiled'][b]:.2f} | {results['compiled'][b] / results['eager'][b]:.2f}x |"
           if "compiled" in results else "not run | |")
        for b in batches
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""# GPU benchmark

Made by `bench/gpu_run.sh` (`python3 bench/gpu.py`) on {datetime.now(UTC):%Y-%m-%d}: {device},
torch {torch.__version__}, diffusers {diffusers.__version__}, Python {platform.python_version()}.
Full-size SD1.5 + OpenPose ControlNet with random weights (same cost as the real weights), fp16, SDPA,
{SIZE}x{SIZE}, {STEPS} UniPC steps, guidance 7.5 (batch doubled by classifier-free guidance).

| batch | images/s eager | images/s compiled | speed-up |
|---:|---:|---:|---:|
{rows}

Compiling (UNet and ControlNet, `torch.compile` default mode) and its warm-up calls took
{results.get('compile_seconds', 0):.0f} s in all.

Step events on CUDA: {events['callbacks']} callbacks for {events['steps']} steps, {events['mean_step_ms']:.1f} ms
per step at batch 1 including the callback; {events['previews']} latent previews (every 5 steps).
""", encoding="utf-8")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
