"""The seed system's own verification script, `test-websocket.js` (socket.io-client 4.x from npm, run by
Node), with only its URL and token filled in, against the real processes at their one public address: the
edge compose ships, and the gateway's own port as under `make run`. It must see `connected` and a real
generation's `pose-generation-update` events through `completed`."""

import queue
import re
import subprocess
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from .test_cluster import token

SCRIPT = Path(__file__).resolve().parent / "seed/test-websocket.js"
SEED_DOCUMENT = Path(__file__).resolve().parents[3] / "shared/seed/000_98a0da4d4514535d.txt"


def test_the_script_is_the_seeds_own():
    if not SEED_DOCUMENT.exists():
        pytest.skip("the seed document lies beside the repository (../shared/seed)")
    snippet = re.search(r"Create `test-websocket.js`:\n```javascript\n(.*?)```", SEED_DOCUMENT.read_text(), re.S)
    assert snippet and snippet.group(1) == SCRIPT.read_text()


class NodeScript:
    """The script running under Node; its output, line by line, in a queue."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            ["node", str(path)], cwd=path.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """All the output so far once a line holds ``text``."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {text!r} in the script's output:\n{''.join(self.output)[-3000:]}") from None
            self.output.append(line)
            if text in line:
                return "".join(self.output)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(params=["edge", "gateway"], ids=["compose-edge", "make-run-gateway"])
def public_address(request, cluster) -> str:
    return request.getfixturevalue("edge") if request.param == "edge" else cluster.gateway


def test_the_seeds_socketio_script_follows_a_generation_to_completed(public_address, cluster, node_client_dir):
    user = f"seed-{uuid.uuid4().hex[:8]}"
    script = node_client_dir / f"test-websocket-{user}.js"
    source = SCRIPT.read_text()
    script.write_text(source.replace("http://localhost:3000", public_address).replace("YOUR_JWT_TOKEN", token(user)))
    node = NodeScript(script)
    try:
        greeting = " ".join(node.wait_for(f"userId: '{user}'").split())  # Node breaks long objects over lines
        assert greeting.startswith("✅ Connected ✅ Authenticated: {")
        assert f"message: 'Connected to Pose Generator updates', userId: '{user}'" in greeting
        generation_id = _generate(cluster, user)
        output = node.wait_for("type: 'completed'", timeout=120)
    finally:
        node.stop()
        script.unlink()
    updates = [chunk for chunk in output.split("📦 Update:")[1:] if f"generationId: '{generation_id}'" in chunk]
    types = [re.search(r"type: '(\w+)'", chunk).group(1) for chunk in updates]
    assert types[0] == "queued" and types[-1] == "completed"
    assert {"started", "progress", "pose_completed"} <= set(types)


def _generate(cluster, user: str) -> str:
    admin = {"Authorization": f"Bearer {token('seed-admin', 'admin')}"}
    with httpx.Client(base_url=cluster.api, timeout=30, headers={"Authorization": f"Bearer {token(user)}"}) as http:
        http.post(f"/admin/users/{user}/credits", json={"amount": 100}, headers=admin).raise_for_status()
        project = http.post("/projects", json={"projectName": "Seed script"}).json()["id"]
        pose = http.get("/library?limit=1").json()["items"][0]["id"]
        body = {"projectId": project, "selectedPoseIds": [pose], "steps": 3, "width": 256, "height": 256}
        response = http.post("/generate", json=body)
        assert response.status_code == 202, response.text
        return response.json()["generationId"]
