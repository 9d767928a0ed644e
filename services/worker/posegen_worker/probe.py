"""The worker image's health check: ``python -m posegen_worker.probe`` exits 0 when the worker's ``/health``
answers 200. The port is ``WORKER_METRICS_PORT`` (9100), or the one the worker wrote to
``WORKER_METRICS_PORT_FILE`` when it picked a free one (``WORKER_METRICS_PORT=0``: several workers sharing the
host's network, as `docker compose up --scale` on the host network does)."""

import os
import sys
import urllib.request
from pathlib import Path


def health_url(environ: dict[str, str]) -> str:
    port = environ.get("WORKER_METRICS_PORT", "9100")
    port_file = environ.get("WORKER_METRICS_PORT_FILE")
    if port == "0" and port_file:
        port = Path(port_file).read_text().strip()
    return f"http://127.0.0.1:{int(port)}/health"


def main() -> int:
    try:
        with urllib.request.urlopen(health_url(dict(os.environ)), timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (OSError, ValueError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
