"""`make test-compose` only (compose/ci/run.sh sets POSEGEN_COMPOSE_TEST=1 once a Docker Engine and compose v2
answer): these tests build the images and start the compose file for real, minutes of work that `make test`
leaves to its own target."""

import os

collect_ignore_glob = [] if os.environ.get("POSEGEN_COMPOSE_TEST") == "1" else ["test_*.py"]
