# Pose Generator cluster. A fresh machine: `make run`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_VERBOSITY ?= error
export HF_HUB_DISABLE_PROGRESS_BARS ?= 1

.PHONY: install run test lint format migrate seed bench bench-gateway clean

install: $(STAMP)

# Reinstalls only when pyproject.toml changes; `make install` twice does nothing the second time.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/posegen run

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check libs services tests
	$(BIN)/ruff format --check libs services tests

format: install
	$(BIN)/ruff format libs services tests
	$(BIN)/ruff check --fix libs services tests

# Benchmarks write their figures under docs/benchmarks/ (never timed assertions in tests).
bench: bench-gateway

bench-gateway: install
	@command -v wrk >/dev/null || { echo "bench-gateway needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/gateway.py

migrate: install
	$(BIN)/posegen migrate

seed: install
	$(BIN)/posegen seed

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
