# Pose Generator cluster. A fresh machine: `make run`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_VERBOSITY ?= error
export HF_HUB_DISABLE_PROGRESS_BARS ?= 1
.PHONY: install run demo test test-load test-compose test-chaos lint format migrate seed models bench bench-gateway bench-worker bench-relay bench-extraction bench-gateway-memory bench-gpu clean

install: $(STAMP)

# Reinstalls only when pyproject.toml or a requirements file changes; `make install` twice does nothing the
# second time. mediapipe goes in a second step without its declared dependencies (the `extract` extra has
# what it needs; see requirements/no-deps.txt and docs/decisions.md).
$(STAMP): pyproject.toml requirements/no-deps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/no-deps.txt
	touch $(STAMP)

run: install
	$(BIN)/posegen run

# The cluster, one generation followed live with a progress bar, its images, then everything stops.
demo: install
	$(BIN)/posegen run --demo

test: install
	$(BIN)/pytest

# Not part of `make test`: 10 users, 50 generations, 200 watching clients on the real cluster; nothing lost.
# LOAD_STORAGE=s3: the images go to a SeaweedFS bucket the run starts (docs/benchmarks/load-s3.md).
LOAD_STORAGE ?= local
test-load: install
	$(BIN)/python bench/load.py --storage $(LOAD_STORAGE)

# Not part of `make test`: the images built from their Dockerfiles and the compose file started for real (CPU
# profile, host network, PostgreSQL and Redis the machine's own), driven through the edge on port 3000; installs
# Docker Engine and compose v2 from Debian when missing (docs/deployment.md#testing-the-compose-file).
test-compose: install
	bash compose/ci/run.sh

# The fault tests (also in `make test`), then randomised chaos under load: the load test's users and clients
# while a process is killed or Redis/PostgreSQL restarted every few seconds, from a seeded schedule
# (`make test-chaos SEED=7`; CHAOS_DURATION seconds of faults). Figures in docs/benchmarks/chaos.md.
SEED ?= 1313
CHAOS_DURATION ?= 90
test-chaos: install
	$(BIN)/pytest tests/e2e/test_redis_restart.py tests/e2e/test_shutdown.py tests/gateway/test_database_outage.py \
		tests/worker/test_redis_outage.py tests/worker/test_database_outage.py tests/worker/test_lifecycle.py \
		tests/relay/test_delivery.py
	$(BIN)/python bench/chaos.py --seed $(SEED) --duration $(CHAOS_DURATION)

lint: install
	$(BIN)/ruff check libs services tests bench
	$(BIN)/ruff format --check libs services tests bench

format: install
	$(BIN)/ruff format libs services tests bench
	$(BIN)/ruff check --fix libs services tests bench

# Benchmarks write their figures under docs/benchmarks/ (never timed assertions in tests).
bench: bench-gateway bench-worker bench-relay bench-extraction bench-gateway-memory

bench-gateway: install
	@command -v wrk >/dev/null || { echo "bench-gateway needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/gateway.py

bench-worker: install
	$(BIN)/python bench/worker.py

bench-relay: install
	$(BIN)/python bench/relay.py

bench-extraction: install
	$(BIN)/python bench/extraction.py

# Peak RSS of one gateway process under 16 concurrent 4096x4096 uploads and print_a4 exports, and GET /library
# while 20 slow avatar fetches are in flight (docs/benchmarks/gateway-memory.md).
bench-gateway-memory: install
	$(BIN)/python bench/gateway_memory.py

# On a CUDA machine whose Python has torch: fetches the wheels it lacks into .whl/, then runs the benchmark
# there when a GPU is visible here; otherwise carry .whl/ to the GPU machine and run bench/gpu_run.sh.
bench-gpu:
	bash bench/gpu_wheels.sh
	@if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then \
		bash bench/gpu_run.sh; else echo "no CUDA device here: run bench/gpu_run.sh on the GPU machine"; fi

models: install
	$(BIN)/posegen models build-tiny

migrate: install
	$(BIN)/posegen migrate

seed: install
	$(BIN)/posegen seed

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
