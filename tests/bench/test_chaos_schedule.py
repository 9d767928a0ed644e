"""The chaos run's schedule (bench/chaos.py) is a function of its seed: printed at the start, the same for
the same seed, different for another, every kind of fault drawn, gaps within the bounds asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .scripts import load_script

REPO = Path(__file__).resolve().parents[2]


def test_the_schedule_is_the_seeds():
    chaos = load_script("chaos")
    workers = ["worker-1", "worker-2"]
    first = chaos.fault_schedule(7, 90, workers, (3.0, 8.0))
    assert first == chaos.fault_schedule(7, 90, workers, (3.0, 8.0))
    assert first != chaos.fault_schedule(8, 90, workers, (3.0, 8.0))
    assert all(3.0 <= later.at - earlier.at <= 8.0 for earlier, later in zip(first, first[1:], strict=False))
    assert first[0].at >= 3.0 and first[-1].at < 90
    long = chaos.fault_schedule(7, 2000, workers, (3.0, 8.0))
    assert {fault.kind for fault in long} == set(chaos.KINDS)
    assert {fault.target for fault in long if fault.kind.startswith("worker")} == set(workers)
    assert all(0.5 <= fault.down <= 4.0 for fault in long if fault.kind.endswith("restart"))


def test_dry_run_prints_the_schedule_and_starts_nothing():
    result = subprocess.run(
        [sys.executable, str(REPO / "bench/chaos.py"), "--seed", "42", "--dry-run"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    chaos = load_script("chaos")
    schedule = chaos.fault_schedule(42, 90, ["worker-1", "worker-2"], (3.0, 8.0))
    assert result.stdout.splitlines()[0].startswith("chaos seed 42 (python bench/chaos.py --seed 42")
    assert [line.strip() for line in result.stdout.splitlines()[1:]] == [str(fault) for fault in schedule]
