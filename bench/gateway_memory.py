"""The gateway's peak memory under image load, and whether it still answers (issue 24):
``make bench-gateway-memory``.

Starts one real gateway process (``posegen gateway``'s own ``main``, one uvicorn worker, as in its container)
on a database and Redis database of its own, then:

* **uploads**: 16 concurrent avatar uploads of a 4096x4096 JPEG;
* **exports**: 16 concurrent ``print_a4`` exports of 16 different images (every one rendered), then 16
  concurrent ``print_a4`` exports of one image (single-flight: rendered once);
* **slow fetches**: 20 avatar URLs on a local HTTPS server that trickles one byte every half second, and
  ``GET /library`` timed while all 20 are in flight.

The peak is the process's resident high-water mark (``VmHWM``, reset between cases through ``clear_refs``),
against the goal of 60% of the 1 GiB the gateway's container gets in compose and Kubernetes. The figures go
to docs/benchmarks/gateway-memory.md.

The gateway is started as ``python bench/gateway_memory.py --serve``: ``posegen gateway`` whose avatar fetcher
trusts the slow server's certificate and reaches ``avatars.example.test`` on loopback (the fetcher refuses
loopback in production; the tests do the same with the same fetcher). ``--pythonpath`` runs another checkout's
gateway (a "before" figure; its fetch case is skipped when that gateway has no such fetcher).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import redis
from PIL import Image

from posegen.auth import mint_token
from posegen.db.bootstrap import bootstrap_database
from posegen_cli.localrun import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
import exports_bench  # noqa: E402 - bench/ beside this script
from slow_https import TEST_HOST, SlowHttpsServer  # noqa: E402

PREFIX = "/api/apps/pose-generator"
SECRET = "Qm7vT2xLp9RkWc4ZsN8hYd3FgJ6bAe1UoPiKq5MtXr0VwHy"
REPO = Path(__file__).resolve().parent.parent
CONTAINER_MIB = 1024
GOAL = 0.6


def rss_mib(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)


def reset_peak(pid: int) -> None:
    """Start the process's high-water mark again from its current resident size (Linux ``clear_refs`` 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def big_jpeg(side: int) -> bytes:
    """A photo-like JPEG: smooth colour with grain (a few MB at 4096x4096, under the 10 MB upload limit)."""
    rng = np.random.default_rng(7)
    small = Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8))
    base = np.asarray(small.resize((side, side), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-6, 7, base.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@contextmanager
def running_gateway(*, database_url: str, redis_url: str, storage_dir: str, fetch_port: int, cafile: str, **env):
    """The gateway process (``--serve``): yields its base URL, pid and metrics URL."""
    port, metrics_port = free_port(), free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": SECRET,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": str(metrics_port),
        "GATEWAY_WORKERS": "1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "STORAGE_DIR": storage_dir,
        "LOG_LEVEL": "WARNING",
        "AVATAR_URL_HOSTS": TEST_HOST,
        "AVATAR_FETCH_TIMEOUT_SECONDS": "60",
        **{f"{name}_RATE_LIMIT": "1000000/min" for name in ("GENERATE", "PROJECT", "UPLOAD", "EXPORT")},
        "AVATAR_FETCH_RATE_LIMIT": "1000000/min",
        "BENCH_FETCH_PORT": str(fetch_port),
        "BENCH_FETCH_CAFILE": cafile,
        **env,
    }
    command = [sys.executable, str(Path(__file__).resolve()), "--serve"]
    gateway = subprocess.Popen(command, env=environment, cwd=tempfile.gettempdir())
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if gateway.poll() is not None:
                raise SystemExit("the gateway exited at start")
            time.sleep(0.1)
        yield base, gateway.pid, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        gateway.terminate()
        gateway.wait(timeout=60)


def serve() -> int:
    """``posegen gateway``, its avatar fetcher pointed at the bench's slow server on loopback."""
    import ipaddress
    import ssl
    from dataclasses import replace

    from posegen_gateway import context as context_module
    from posegen_gateway.main import main

    opened = context_module.GatewayContext.open.__func__

    def open_for_bench(cls, settings):
        ctx = opened(cls, settings)
        if hasattr(ctx, "avatar_fetcher"):
            ctx.avatar_fetcher = replace(
                ctx.avatar_fetcher,
                ssl_context=ssl.create_default_context(cafile=os.environ["BENCH_FETCH_CAFILE"]),
                allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),),
                connect_to={(TEST_HOST, 443): ("127.0.0.1", int(os.environ["BENCH_FETCH_PORT"]))},
            )
        return ctx

    context_module.GatewayContext.open = classmethod(open_for_bench)
    return main()


class Peak:
    """The gateway's resident memory over one case: its high-water mark, reset when the case starts."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __enter__(self) -> Peak:
        reset_peak(self.pid)
        self.before = rss_mib(self.pid, "VmRSS")
        return self

    def __exit__(self, *_exc) -> None:
        self.peak = rss_mib(self.pid, "VmHWM")
        self.after = rss_mib(self.pid, "VmRSS")

    def figures(self) -> dict:
        return {
            "rss_before_mib": round(self.before),
            "peak_mib": round(self.peak),
            "peak_share_of_1gib": round(self.peak / CONTAINER_MIB, 3),
            "rss_after_mib": round(self.after),
        }


def concurrently(count: int, call) -> tuple[list[int], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(count) as threads:
        codes = list(threads.map(call, range(count)))
    return codes, time.perf_counter() - started


def rendered(metrics_url: str, fmt: str) -> float:
    prefix = f'posegen_gateway_export_renditions_total{{format="{fmt}",source="rendered"}} '
    lines = [line for line in httpx.get(metrics_url, timeout=10).text.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def upload_case(base: str, pid: int, auth: dict, *, uploads: int, side: int) -> dict:
    data = big_jpeg(side)
    with httpx.Client(base_url=base + PREFIX, headers=auth, timeout=300) as http:
        projects = [http.post("/projects", json={"projectName": f"Upload {n}"}).json()["id"] for n in range(uploads)]

        def upload(n: int) -> int:
            files = {"file": ("big.jpg", data, "image/jpeg")}
            return http.post(f"/projects/{projects[n]}/avatar", files=files).status_code

        with Peak(pid) as peak:
            codes, seconds = concurrently(uploads, upload)
    return {"uploads": uploads, "side": side, "jpeg_bytes": len(data), "codes": codes, "seconds": round(seconds, 1)} | (
        peak.figures()
    )


def export_case(base: str, pid: int, auth: dict, metrics_url: str, *, exports: int, storage_dir: str, db: str) -> dict:
    fmt = "print_a4"
    with httpx.Client(base_url=base, headers=auth, timeout=300) as http:
        project = http.post(f"{PREFIX}/projects", json={"projectName": "Exports"}).json()["id"]
        generation, _ = exports_bench.prepare(
            http, auth, project=project, database_url=db, storage_dir=storage_dir, images_count=exports + 1
        )
        results = [r["id"] for r in http.get(f"{PREFIX}/generations/{generation}/results").json()["results"]]
        url = f"{PREFIX}/generations/{generation}/results/{{}}/export/{fmt}"
        distinct = [url.format(result) for result in results[:exports]]
        same = url.format(results[exports])
        before = rendered(metrics_url, fmt)
        with Peak(pid) as distinct_peak:
            distinct_codes, distinct_seconds = concurrently(exports, lambda n: http.get(distinct[n]).status_code)
        middle = rendered(metrics_url, fmt)
        with Peak(pid) as same_peak:
            same_codes, same_seconds = concurrently(exports, lambda n: http.get(same).status_code)
        after = rendered(metrics_url, fmt)
    return {
        "exports": exports,
        "format": fmt,
        "distinct": {"codes": distinct_codes, "seconds": round(distinct_seconds, 1), "renders": middle - before}
        | distinct_peak.figures(),
        "identical": {"codes": same_codes, "seconds": round(same_seconds, 1), "renders": after - middle}
        | same_peak.figures(),
    }


def fetch_case(base: str, auth: dict, server: SlowHttpsServer, *, fetches: int, library_requests: int) -> dict:
    with httpx.Client(base_url=base + PREFIX, headers=auth, timeout=120) as http:
        projects = [http.post("/projects", json={"projectName": f"Slow {n}"}).json()["id"] for n in range(fetches)]
        other = {"Authorization": f"Bearer {mint_token(user_id='bench-reader', secret=SECRET, algorithm='HS256')}"}
        http.get("/library", headers=other).raise_for_status()
        url = f"https://{TEST_HOST}/slow"
        with ThreadPoolExecutor(fetches) as threads:
            pending = [threads.submit(http.post, f"/projects/{p}/avatar", json={"url": url}) for p in projects]
            in_flight = server.wait_for(fetches, timeout=60)
            latencies, codes = [], []
            for _ in range(library_requests):
                started = time.perf_counter()
                codes.append(http.get("/library", headers=other).status_code)
                latencies.append(time.perf_counter() - started)
            still_in_flight = server.in_flight
            server.finish()
            fetch_codes = [future.result().status_code for future in pending]
    return {
        "fetches": fetches,
        "in_flight_when_timed": min(in_flight, still_in_flight),
        "library_codes": sorted(set(codes)),
        "library_median_ms": round(statistics.median(latencies) * 1000, 1),
        "library_max_ms": round(max(latencies) * 1000, 1),
        "within_1s": max(latencies) < 1.0,
        "fetch_codes": sorted(set(fetch_codes)),
    }


def run_cases(args, *, pythonpath: str | None = None) -> dict:
    bootstrap_database(args.postgres, reset=True)
    redis.Redis.from_url(args.redis).flushdb()
    storage_dir = tempfile.mkdtemp(prefix="posegen-bench-memory-")
    env = {"PYTHONPATH": pythonpath} if pythonpath else {}
    if args.memory_bytes:
        env["GATEWAY_IMAGE_MEMORY_BYTES"] = str(args.memory_bytes)
    with (
        SlowHttpsServer(Path(storage_dir) / "tls") as server,
        running_gateway(
            database_url=args.postgres,
            redis_url=args.redis,
            storage_dir=storage_dir,
            fetch_port=server.port,
            cafile=str(server.cafile),
            **env,
        ) as (base, pid, metrics_url),
    ):
        admin = mint_token(user_id="bench-admin", role="admin", secret=SECRET, algorithm="HS256", ttl_seconds=3600)
        user = mint_token(user_id="bench-user", secret=SECRET, algorithm="HS256", ttl_seconds=3600)
        auth = {"Authorization": f"Bearer {user}"}
        httpx.post(
            f"{base}{PREFIX}/admin/users/bench-user/credits",
            json={"amount": 10_000_000},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        ).raise_for_status()
        httpx.get(f"{base}{PREFIX}/library", headers=auth, timeout=30).raise_for_status()
        figures = {"idle_rss_mib": round(rss_mib(pid, "VmRSS"))}
        figures["uploads"] = upload_case(base, pid, auth, uploads=args.uploads, side=args.side)
        figures["exports"] = export_case(
            base, pid, auth, metrics_url, exports=args.exports, storage_dir=storage_dir, db=args.postgres
        )
        if args.fetches and not pythonpath:
            figures["slow_fetches"] = fetch_case(
                base, auth, server, fetches=args.fetches, library_requests=args.library_requests
            )
    return figures


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--side", type=int, default=4096, help="the uploaded JPEG's side")
    parser.add_argument("--exports", type=int, default=16)
    parser.add_argument("--fetches", type=int, default=20)
    parser.add_argument("--library-requests", type=int, default=20)
    parser.add_argument("--memory-bytes", type=int, default=0, help="GATEWAY_IMAGE_MEMORY_BYTES (0: its default)")
    parser.add_argument("--before", metavar="CHECKOUT", help="also measure the gateway of another checkout")
    parser.add_argument("--before-label", default="", help="what that checkout is, for the report")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/posegen_bench_memory")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/gateway-memory.md"))
    return parser


def main() -> int:
    args = parser().parse_args()
    if args.serve:
        return serve()
    results = {"after": run_cases(args)}
    if args.before:
        checkout = Path(args.before).resolve()
        paths = [checkout / "libs", *(checkout / "services" / s for s in ("gateway", "cli", "relay", "worker"))]
        results["before"] = run_cases(args, pythonpath=os.pathsep.join(map(str, paths)))
    print(json.dumps(results, indent=2))
    if args.out:
        label = args.before_label or args.before or ""
        Path(args.out).write_text(report(results, command=shlex.join(["python", *sys.argv]), before=label))
    return 0


def _case_rows(name: str, figures: dict) -> list[str]:
    uploads, exports = figures["uploads"], figures["exports"]
    rows = [
        f"| {name} | idle | {figures['idle_rss_mib']} | | |",
        f"| {name} | {uploads['uploads']} uploads of a {uploads['side']}x{uploads['side']} JPEG "
        f"({uploads['jpeg_bytes'] / 2**20:.1f} MB) | {uploads['peak_mib']} | {uploads['peak_share_of_1gib']:.0%} "
        f"| {_codes(uploads['codes'])} in {uploads['seconds']} s |",
    ]
    for kind in ("distinct", "identical"):
        case = exports[kind]
        rows.append(
            f"| {name} | {exports['exports']} {exports['format']} exports, {kind} images | {case['peak_mib']} "
            f"| {case['peak_share_of_1gib']:.0%} | {_codes(case['codes'])} in {case['seconds']} s, "
            f"{case['renders']:.0f} rendered |"
        )
    return rows


def _codes(codes: list[int]) -> str:
    return ", ".join(f"{codes.count(code)}x {code}" for code in sorted(set(codes)))


def report(results: dict, *, command: str, before: str = "") -> str:
    """The Markdown of docs/benchmarks/gateway-memory.md."""
    lines = [
        "# Gateway memory under image load (issue 24)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.platform()} ({os.cpu_count()} CPUs), with",
        "",
        f"    {command}",
        "",
        "One real gateway process (one uvicorn worker, as in its container); peak = the process's resident",
        f"high-water mark over the case. Goal: under {GOAL:.0%} of the {CONTAINER_MIB} MiB container limit",
        f"({GOAL * CONTAINER_MIB:.0f} MiB). A 503 is the memory budget refusing what found no room within",
        '`GATEWAY_IMAGE_MEMORY_WAIT_SECONDS` (with `Retry-After`; docs/decisions.md, "Memory budget").',
        *([f'"before" is the gateway of {before}.'] if before else []),
        "",
        "| gateway | case | peak RSS (MiB) | of 1 GiB | answers |",
        "|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        lines += _case_rows(name, figures)
    fetch = results["after"].get("slow_fetches")
    if fetch:
        verdict = "yes" if fetch["within_1s"] else "no"
        lines += [
            "",
            f"`GET /library` with {fetch['in_flight_when_timed']} slow avatar fetches in flight (of "
            f"{fetch['fetches']}, a server trickling one byte every 0.5 s): median {fetch['library_median_ms']} ms, "
            f"slowest {fetch['library_max_ms']} ms (answers {fetch['library_codes']}); within 1 s: {verdict}. "
            f"The fetches then finished with {fetch['fetch_codes']}.",
        ]
    lines += ["", "Raw figures:", "", "```json", json.dumps(results, indent=2), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
