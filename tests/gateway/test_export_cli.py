"""``posegen export`` downloads a generation's ZIP from a real gateway, with a progress bar."""

import os
import subprocess
import sys
import zipfile

from .conftest import SECRET
from .exports_support import finished_generation, running_gateway


def test_posegen_export_writes_the_zip(make_client, gw, user_id, database_url, redis_url, tmp_path, pose_ids):
    client = make_client()
    headers = gw.auth(user_id)
    project_id = client.post(f"{gw.prefix}/projects", json={"projectName": "CLI"}, headers=headers).json()["id"]
    generation_id, made = finished_generation(client, gw, headers, user_id, project_id, pose_ids, completed=3)
    out = tmp_path / "out"
    with running_gateway(database_url=database_url, redis_url=redis_url, secret=SECRET, folder=tmp_path) as (base, _):
        env = {**os.environ, "POSEGEN_API_URL": base, "POSEGEN_TOKEN": gw.token(user_id), "COLUMNS": "100"}
        command = [
            sys.executable,
            "-m",
            "posegen_cli",
            "export",
            generation_id,
            "--formats",
            "tiktok,original",
            "--out",
            str(out),
        ]
        result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "6 files" in result.stdout and f"posegen-{generation_id[:8]}.zip" in result.stdout
        with zipfile.ZipFile(out / f"posegen-{generation_id[:8]}.zip") as archive:
            assert len(archive.namelist()) == 7 and "manifest.json" in archive.namelist()
        bad = subprocess.run(
            [*command[:6], "poster"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert bad.returncode != 0 and "valid formats" in bad.stderr
    assert not list(out.glob("*.part"))
