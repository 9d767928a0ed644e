"""`docker compose` on compose/docker-compose.yml with the host-network file of compose/ci, as one project of
the test's own: the commands an operator types, and the containers' state as the engine reports it."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FILES = [REPO / "compose/docker-compose.yml", REPO / "compose/ci/docker-compose.host.yml"]


@dataclass(frozen=True)
class Container:
    name: str
    service: str
    state: str
    health: str
    exit_code: int


class Compose:
    def __init__(self, project: str, env: dict[str, str], profile: str = "cpu") -> None:
        self.env = env
        self.base = ["docker", "compose", "-p", project, "--profile", profile]
        for file in FILES:
            self.base += ["-f", str(file)]

    def __call__(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [*self.base, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode:
            raise AssertionError(f"docker compose {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")
        return done.stdout

    def containers(self) -> list[Container]:
        out = self("ps", "--all", "--format", "json")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        rows = [r for row in rows for r in (row if isinstance(row, list) else [row])]
        return [
            Container(r["Name"], r["Service"], r["State"], r.get("Health", ""), int(r.get("ExitCode", 0))) for r in rows
        ]

    def wait_healthy(self, timeout: float = 600) -> list[Container]:
        """Until every long-running container is healthy and every one-shot one has exited 0."""
        deadline = time.monotonic() + timeout
        while True:
            containers = self.containers()
            waiting = [c for c in containers if not _settled(c)]
            failed = [c for c in containers if c.state == "exited" and c.exit_code != 0]
            if failed:
                raise AssertionError(f"exited with an error: {failed}\n{self.logs(*{c.service for c in failed})}")
            if containers and not waiting:
                return containers
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout:.0f} s: {waiting}\n{self.logs()}")
            time.sleep(2)

    def logs(self, *services: str, tail: int = 60) -> str:
        done = subprocess.run(
            [*self.base, "logs", "--no-color", "--tail", str(tail), *services],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return done.stdout[-12000:] + done.stderr[-2000:]

    def exec(self, service: str, *command: str, index: int = 1) -> str:
        return self("exec", "-T", "--index", str(index), service, *command)


def _settled(container: Container) -> bool:
    if container.service == "migrate":
        return container.state == "exited" and container.exit_code == 0
    return container.state == "running" and container.health in ("healthy", "")
