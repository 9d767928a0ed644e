"""``bench-gateway-memory``'s cases run end to end in a tiny configuration (two small uploads, two exports, two
slow fetches) against a real gateway process, so the benchmark cannot rot unnoticed between its runs. Only
what was answered is checked, never a figure of memory or time."""

from __future__ import annotations

import shutil

import pytest

from .scripts import load_script


@pytest.mark.timeout(300)
def test_the_memory_benchmark_runs_every_case(fresh_database_url, redis_url, tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed for the slow server's certificate")
    bench = load_script("gateway_memory")
    args = bench.parser().parse_args(
        ["--uploads", "2", "--side", "512", "--exports", "2", "--fetches", "2", "--library-requests", "2"]
        + ["--postgres", fresh_database_url(), "--redis", redis_url, "--out", str(tmp_path / "report.md")]
    )
    figures = bench.run_cases(args)
    assert figures["uploads"]["codes"] == [200, 200]
    assert figures["exports"]["distinct"]["codes"] == [200, 200]
    assert figures["exports"]["distinct"]["renders"] == 2
    assert figures["exports"]["identical"]["codes"] == [200, 200]
    assert figures["exports"]["identical"]["renders"] == 1
    fetches = figures["slow_fetches"]
    assert fetches["in_flight_when_timed"] == 2 and fetches["library_codes"] == [200]
    assert fetches["fetch_codes"] == [200]
    report = bench.report({"after": figures}, command="python bench/gateway_memory.py")
    assert "print_a4" in report and "GET /library" in report
