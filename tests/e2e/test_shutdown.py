"""SIGTERM to every process in the middle of a generation: each one drains as docs/reliability.md says (exit 0;
the worker saves its batch and puts the generation back at the front of the queue), and a restart of the
cluster finishes the work with the exact image count and balance."""

import time

import httpx

from .conftest import ClusterRunner, fresh_cluster_database
from .test_cluster import token


def test_sigterm_everything_mid_run_then_restart_finishes_the_work(
    fresh_database_url, claim_redis_db, tiny_model, tmp_path
):
    runner = ClusterRunner(fresh_cluster_database(fresh_database_url), claim_redis_db(), tiny_model, tmp_path)
    cluster = runner.start()
    user = {"Authorization": f"Bearer {token('drain-user')}"}
    try:
        httpx.post(
            f"{cluster.api}/admin/users/drain-user/credits",
            json={"amount": 1000},
            timeout=10,
            headers={"Authorization": f"Bearer {token('drain-admin', 'admin')}"},
        ).raise_for_status()
        project = httpx.post(f"{cluster.api}/projects", json={"projectName": "Drain"}, headers=user).json()["id"]
        poses = [p["id"] for p in httpx.get(f"{cluster.api}/library?limit=4", headers=user).json()["items"]]
        generation = httpx.post(
            f"{cluster.api}/generate",
            headers=user,
            timeout=10,
            json={
                "projectId": project,
                "selectedPoseIds": poses,
                "steps": 8,
                "width": 256,
                "height": 256,
            },
        ).json()["generationId"]

        def detail() -> dict:
            return httpx.get(f"{cluster.api}/generations/{generation}", headers=user, timeout=10).json()

        deadline = time.monotonic() + 120
        while detail()["posesCompleted"] < 1:
            assert time.monotonic() < deadline, "no image was finished"
            time.sleep(0.2)
        codes = runner.stop()
        assert codes == {"gateway": 0, "relay": 0, "worker": 0, "extractor": 0}, codes

        cluster = runner.start()
        deadline = time.monotonic() + 180
        while detail()["status"] != "completed":
            assert time.monotonic() < deadline, f"not finished after the restart: {detail()['status']}"
            time.sleep(0.5)
        final = detail()
        assert (final["posesCompleted"], final["posesFailed"], final["creditRefunded"]) == (4, 0, 0)
        assert len(final["poses"]) == 4 and len({p["variationKey"] for p in final["poses"]}) == 4
        assert httpx.get(f"{cluster.api}/credits", headers=user).json()["balance"] == 1000 - 120
    finally:
        runner.stop()
