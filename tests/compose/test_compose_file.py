"""The compose file as the real `docker compose` reads it, before anything is started."""

import os
import subprocess

from .compose import REPO


def test_the_dependencies_alone_start_without_a_jwt_secret_or_env_file(tmp_path):
    """What `make run` suggests on a machine without PostgreSQL or Redis must not need the services' secret
    (compose interpolates the whole file, and looks for .env beside it, not in the repository's root)."""
    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
    done = subprocess.run(
        ["docker", "compose", "-f", str(REPO / "compose/docker-compose.yml"), "config", "postgres", "redis"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "postgres:" in done.stdout and "redis:" in done.stdout
