"""GPU benchmark (issues 4 and 17), for a CUDA machine: ``make bench-gpu`` prepares the wheels, ``bench/gpu_run.sh``
runs it there in at most 8 minutes and leaves the report in $OUT.

It measures the worker's own path: the full-size SD1.5 + OpenPose ControlNet + identity adapter with random
weights (they cost what the real ones cost), built by the project's builder, saved in the fp16 layout that
`posegen models download` produces, loaded by ``load_pipeline`` with ``TORCH_DEVICE=cuda`` and warmed up by
the worker's warm-up; images run through ``generate_batch``, the worker's call. 512 px, 20 UniPC steps, CFG
7.5, fp16, SDPA attention. Each figure is written to the report as soon as it is measured, so a run cut short
still leaves every figure it got. Every CUDA-only call goes through :class:`CudaOps`, which the CPU test
replaces with a recorder, so each line the GPU run executes has run once on the CPU.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_report import Report  # noqa: E402

STEPS, SIZE, GUIDANCE = 20, 512, 7.5

JWT_SECRET = "bnGgW0zWXHtcgCoF2-ut1jhgmAJD3mtlx-NEy3xf97c3ozdm"


class CudaOps:
    """The only calls that need a CUDA device."""

    def synchronize(self) -> None:
        import torch

        torch.cuda.synchronize()

    def reset_peak(self) -> None:
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()

    def peak_bytes(self) -> int:
        import torch

        return torch.cuda.max_memory_allocated()

    def device_name(self) -> str:
        import torch

        return torch.cuda.get_device_name()


class CpuStandIn(CudaOps):
    """For the smoke run on a machine without a GPU: nothing to wait for, no device memory."""

    def synchronize(self) -> None:
        pass

    def reset_peak(self) -> None:
        pass

    def peak_bytes(self) -> int:
        return 0

    def device_name(self) -> str:
        return "CPU (smoke run: tiny model, not a measurement)"


class CaseTimeout(Exception):
    pass


@contextmanager
def budget(seconds: int):
    """A hard limit for one case: the figures measured so far stay in the report."""

    def expire(_signum, _frame):
        raise CaseTimeout(f"over its {seconds}s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def build_model(folder: Path, *, tiny: bool) -> Path:
    """The project's builder, saved as `posegen models download` lays SD1.5 out: fp16 weight files."""
    from posegen.inference.architectures import SD15, TINY, build_pipeline

    return build_pipeline(TINY if tiny else SD15, folder, variant="fp16")


def load(model: Path, device: str, **settings):
    from posegen.inference.loading import load_pipeline
    from posegen.settings import WorkerSettings

    values = {"model_base": str(model), "model_controlnet": str(model / "controlnet"), "torch_device": device}
    return load_pipeline(WorkerSettings(_env_file=None, jwt_secret=JWT_SECRET, **{**values, **settings}))


class Bench:
    def __init__(self, cuda: CudaOps, report: Report, *, steps: int, size: int) -> None:
        self.cuda, self.report, self.steps, self.size = cuda, report, steps, size

    def requests(self, batch: int):
        from PIL import Image

        from posegen.inference.runner import ImageRequest

        control = Image.new("RGB", (self.size, self.size))
        return [ImageRequest("a person standing, full body photo", "blurry", control, seed) for seed in range(batch)]

    def call(self, loaded, batch: int, *, scale: float = 0.0, embeds=None, on_step=None) -> float:
        """Seconds of one ``generate_batch`` call, the worker's, synchronised on both ends."""
        from posegen.inference.runner import Identity, generate_batch

        identity = None
        if loaded.identity is not None:
            identity = Identity(embeds if embeds is not None else loaded.identity.neutral, scale)
        self.cuda.synchronize()
        started = time.perf_counter()
        generate_batch(
            loaded.pipe,
            self.requests(batch),
            steps=self.steps,
            guidance_scale=GUIDANCE,
            width=self.size,
            height=self.size,
            identity=identity,
            on_step=on_step,
        )
        self.cuda.synchronize()
        return time.perf_counter() - started

    def best_of(self, repeats: int, run: Callable[[], float]) -> float:
        run()
        return min(run() for _ in range(repeats))

    def throughput(self, loaded, config: str, batches: list[int], repeats: int) -> None:
        for batch in batches:
            self.cuda.reset_peak()
            seconds = self.best_of(repeats, lambda b=batch: self.call(loaded, b))
            self.report.throughput(config, batch, batch / seconds, self.cuda.peak_bytes())

    def callback_cost(self, loaded, repeats: int) -> None:
        from posegen.inference.preview import latents_to_jpeg_data_url

        def worker_hook(step: int, latents) -> bool:
            if step % 5 == 0:
                latents_to_jpeg_data_url(latents)
            return False

        bare = self.best_of(repeats, lambda: self.call(loaded, 1))
        hooked = self.best_of(repeats, lambda: self.call(loaded, 1, on_step=worker_hook))
        cost = f"{100 * (hooked - bare) / bare:+.1f}% of the time ({1000 * hooked / self.steps:.1f} ms per step)"
        self.report.figure("step callback with a preview every 5 steps", cost)

    def identity_cost(self, loaded, repeats: int) -> None:
        import numpy as np
        from PIL import Image

        avatar = Image.fromarray(np.random.default_rng(0).integers(0, 256, (512, 384, 3), dtype=np.uint8))
        self.cuda.synchronize()
        started = time.perf_counter()
        embeds = loaded.identity.embed(loaded.pipe, avatar, guidance=True)
        self.cuda.synchronize()
        encode = time.perf_counter() - started
        off = self.best_of(repeats, lambda: self.call(loaded, 1, scale=0.0, embeds=embeds))
        on = self.best_of(repeats, lambda: self.call(loaded, 1, scale=0.6, embeds=embeds))
        value = f"{on / off:.3f}x the time (goal: at most 1.10); the avatar's embedding, once: {1000 * encode:.0f} ms"
        self.report.figure("identity adapter (strength 0.6 over 0), batch 1", value)

    def decode_share(self, loaded, repeats: int) -> None:
        import torch

        latents = torch.randn(1, 4, self.size // 8, self.size // 8, dtype=loaded.dtype, device=loaded.pipe.device)
        vae = loaded.pipe.vae

        def decode() -> float:
            self.cuda.synchronize()
            started = time.perf_counter()
            with torch.inference_mode():
                vae.decode(latents / vae.config.scaling_factor)
            self.cuda.synchronize()
            return time.perf_counter() - started

        total = self.best_of(repeats, lambda: self.call(loaded, 1))
        self.report.figure("VAE decode share of a batch-1 image", f"{100 * self.best_of(repeats, decode) / total:.1f}%")


def channels_last(loaded) -> None:
    import torch

    loaded.pipe.unet.to(memory_format=torch.channels_last)
    loaded.pipe.controlnet.to(memory_format=torch.channels_last)


def run(args, cuda: CudaOps) -> Report:
    report = Report(Path(args.out), device=cuda.device_name(), steps=args.steps, size=args.size)
    bench = Bench(cuda, report, steps=args.steps, size=args.size)
    batches = [int(b) for b in args.batches.split(",")]
    started = time.monotonic()
    model = build_model(Path(tempfile.mkdtemp(prefix="posegen-gpu-")) / "model", tiny=args.tiny)
    report.figure("build and save (fp16 layout)", f"{time.monotonic() - started:.0f} s")
    loaded = load(model, args.device, torch_dtype=args.dtype)
    report.figure(f"load_pipeline (TORCH_DEVICE={args.device}, {loaded.dtype})", f"{loaded.load_seconds:.1f} s")
    cases = [
        ("eager", args.case_seconds, lambda: bench.throughput(loaded, "eager", batches, args.repeats)),
        ("callback", args.case_seconds, lambda: bench.callback_cost(loaded, args.repeats)),
        ("identity", args.case_seconds, lambda: bench.identity_cost(loaded, args.repeats)),
        ("decode", args.case_seconds, lambda: bench.decode_share(loaded, args.repeats)),
        (
            "channels-last",
            args.case_seconds,
            lambda: (channels_last(loaded), bench.throughput(loaded, "eager, channels-last", batches, args.repeats)),
        ),
    ]
    if not args.no_compile:
        cases.append(("compiled", args.compile_seconds, lambda: compiled(args, model, bench, batches)))
    for name, seconds, case in cases:
        if time.monotonic() - started > args.total_seconds:
            report.note(f"{name}: not run, the run's {args.total_seconds}s are spent")
            continue
        try:
            with budget(seconds):
                case()
        except CaseTimeout as error:
            report.note(f"{name}: stopped, {error}")
    report.note(f"whole run: {time.monotonic() - started:.0f} s")
    return report


def compiled(args, model: Path, bench: Bench, batches: list[int]) -> None:
    """The mode production uses: WORKER_TORCH_COMPILE with WORKER_COMPILE_MODE's default, warmed as the
    worker warms up (its compiled shapes), then measured."""
    from posegen.inference.warmup import warm_up

    started = time.perf_counter()
    loaded = load(model, args.device, torch_dtype=args.dtype, worker_torch_compile=True)
    warmup = warm_up(loaded, steps=2)
    total = time.perf_counter() - started
    bench.report.figure("load, compile and warm up as the worker does", f"{total:.0f} s (warm-up {warmup:.0f} s)")
    mode = f"compiled ({loaded.compile_mode})" if loaded.compiled else "compile asked, eager on this device"
    bench.throughput(loaded, mode, batches, args.repeats)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/benchmarks/gpu.md")
    parser.add_argument("--batches", default="1,4,8")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="the tiny model on the CPU, to check the script")
    parser.add_argument("--tiny", action="store_true", help="the tiny model (implied by --smoke)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--case-seconds", type=int, default=75, help="hard budget of each case")
    parser.add_argument("--compile-seconds", type=int, default=200)
    parser.add_argument("--total-seconds", type=int, default=420, help="no case starts after this")
    args = parser.parse_args(argv)
    if args.smoke:
        args.tiny = True
        args.device, args.steps, args.size, args.batches, args.repeats = "cpu", 2, 128, "1,2", 1
        args.case_seconds, args.compile_seconds, args.total_seconds = 60, 60, 120
    return args


def main(argv: list[str] | None = None, cuda: CudaOps | None = None) -> int:
    args = parse(argv)
    report = run(args, cuda or (CpuStandIn() if args.smoke else CudaOps()))
    print(f"report: {report.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
