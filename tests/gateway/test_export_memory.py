"""Streaming a 40-image ZIP in every format keeps the gateway's memory bounded: a real gateway process
(``posegen gateway``), its resident memory sampled while the whole archive streams to disk."""

from __future__ import annotations

import threading
import time
import zipfile

import httpx
import pytest

from posegen.exports.formats import KEYS

from .conftest import SECRET
from .exports_support import finished_generation, running_gateway

IMAGES = 40
BOUND_MIB = 128
"""Allowed growth of the gateway's resident memory while the ZIP streams (one print-size rendition is
about 26 MiB of pixels, a few copies of it while it is framed and encoded); the ZIP itself is several
times larger than this."""


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)


@pytest.mark.timeout(900)
def test_a_40_image_zip_in_every_format_streams_in_bounded_memory(
    make_client, gw, user_id, database_url, redis_url, tmp_path, pose_ids
):
    client = make_client()  # the same database and storage folder as the process below
    headers = gw.auth(user_id)
    project_id = client.post(f"{gw.prefix}/projects", json={"projectName": "Memory"}, headers=headers).json()["id"]
    generation_id, made = finished_generation(
        client, gw, headers, user_id, project_id, pose_ids, completed=IMAGES, size=512
    )
    warm_id, _ = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=1, size=512)
    every = ",".join(KEYS)
    with running_gateway(database_url=database_url, redis_url=redis_url, secret=SECRET, folder=tmp_path) as (
        server,
        pid,
    ):
        base = server + gw.prefix
        # Warm up: one image in every format loads every code path the big archive uses.
        warm = httpx.get(
            f"{base}/generations/{warm_id}/export", params={"formats": every}, headers=headers, timeout=300
        )
        assert warm.status_code == 200, warm.text
        baseline = rss_mib(pid)
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mib(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started, size = time.perf_counter(), 0
        target = tmp_path / "export.zip"
        with (
            httpx.stream(
                "GET",
                f"{base}/generations/{generation_id}/export",
                params={"formats": every},
                headers=headers,
                timeout=900,
            ) as response,
            open(target, "wb") as out,
        ):
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                size += len(chunk)
                out.write(chunk)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    growth = peak[0] - baseline
    print(
        f"\n{IMAGES} images x {len(KEYS)} formats: {size / 2**20:.0f} MiB ZIP in {seconds:.1f} s; gateway RSS"
        f" {baseline:.0f} MiB before, peak {peak[0]:.0f} MiB (growth {growth:.0f} MiB, bound {BOUND_MIB})"
    )
    assert size > 2 * BOUND_MIB * 2**20  # the archive could not have been held in memory within the bound
    assert growth < BOUND_MIB
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == IMAGES * len(KEYS) + 1
