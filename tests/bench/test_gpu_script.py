"""The GPU benchmark only runs where a GPU is lent; its code path is kept working by a CPU smoke run."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_benchmark_script_runs_end_to_end_in_smoke_mode(tmp_path):
    out = tmp_path / "gpu.md"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench/gpu.py"), "--smoke", "--batches", "1,2", "--repeats", "1",
         "--no-compile", "--out", str(out)],
        capture_output=True, text=True, timeout=300, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = out.read_text()
    assert "| 1 |" in report and "| 2 |" in report
    assert "2 callbacks for 2 steps" in report
