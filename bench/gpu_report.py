"""The GPU benchmark's report: rewritten after every figure, so a run that is cut short keeps what it measured."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path


class Report:
    def __init__(self, path: Path, *, device: str, steps: int, size: int) -> None:
        self.path, self.device, self.steps, self.size = path, device, steps, size
        self.rows: list[tuple[str, int, float, int]] = []
        self.figures: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.started = datetime.now(UTC)
        self.write()

    def throughput(self, config: str, batch: int, images_per_second: float, peak_bytes: int) -> None:
        self.rows.append((config, batch, images_per_second, peak_bytes))
        self.write()

    def figure(self, name: str, value: str) -> None:
        self.figures.append((name, value))
        self.write()

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.write()

    def write(self) -> None:
        import diffusers
        import torch

        best = {}
        for _config, batch, speed, _peak in self.rows:
            best[batch] = max(best.get(batch, 0.0), speed)
        table = "\n".join(
            f"| {config} | {batch} | {speed:.2f} | {speed / best[batch]:.2f} | {peak / 2**30:.2f} |"
            for config, batch, speed, peak in self.rows
        )
        figures = "\n".join(f"| {name} | {value} |" for name, value in self.figures)
        notes = "\n".join(f"- {note}" for note in self.notes)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            f"""# GPU benchmark

Made by `bench/gpu_run.sh` (`python3 bench/gpu.py`), started {self.started:%Y-%m-%d %H:%M} UTC: {self.device},
torch {torch.__version__}, diffusers {diffusers.__version__}, Python {platform.python_version()}. Full-size SD1.5 +
OpenPose ControlNet + IP-Adapter Plus-Face with random weights (the cost of the real ones), saved in the fp16
layout and loaded by the worker's `load_pipeline`; {self.size}x{self.size}, {self.steps} UniPC steps, CFG 7.5
(the UNet and ControlNet run at twice the batch), SDPA attention, through the worker's `generate_batch`.

| configuration | batch | images/s | of the best at this batch | peak GPU memory (GiB) |
|---|---:|---:|---:|---:|
{table}

| figure | value |
|---|---|
{figures}

{notes}
""",
            encoding="utf-8",
        )
        self.path.with_suffix(".json").write_text(
            json.dumps({"device": self.device, "throughput": self.rows, "figures": self.figures, "notes": self.notes}),
            encoding="utf-8",
        )
