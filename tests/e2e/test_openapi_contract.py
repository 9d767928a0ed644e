"""The API is what its OpenAPI document says: schemathesis' own command line, with every check (schema-valid
requests accepted, statuses, headers and bodies as documented, no server error), against the real gateway
process with a worker alive, using the repository's schemathesis.toml. The seed is fixed here; docs/api.md
records runs with other seeds."""

import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import ClusterRunner, fresh_cluster_database
from .test_cluster import token

REPO = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).with_name("st")
SEED = 20261202


def test_st_run_with_every_check_finds_nothing(fresh_database_url, claim_redis_db, tiny_model, tmp_path):
    runner = ClusterRunner(fresh_cluster_database(fresh_database_url), claim_redis_db(), tiny_model, tmp_path)
    for limit in ("GENERATE", "PROJECT", "UPLOAD", "POSE_REQUEST", "EXPORT"):
        runner.env[f"{limit}_RATE_LIMIT"] = "100000/min"
    cluster = runner.start()
    try:
        admin = {"Authorization": f"Bearer {token('contract-admin', 'admin')}"}
        for _ in range(20):
            grant = f"{cluster.api}/admin/users/contract-admin/credits"
            httpx.post(grant, json={"amount": 10_000_000}, headers=admin, timeout=10).raise_for_status()
        command = [
            str(ST),
            "run",
            f"{cluster.gateway}/openapi.json",
            "--checks",
            "all",
            "--seed",
            str(SEED),
            "--max-examples",
            "10",
            "-H",
            f"Authorization: {admin['Authorization']}",
        ]
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    finally:
        runner.stop()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "Selected: " in result.stdout
