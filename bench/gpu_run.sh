#!/usr/bin/env bash
# Runs on the CUDA machine (Python with torch, without diffusers): installs the wheels that `make bench-gpu`
# put in .whl/, then runs bench/gpu.py and leaves the report in $OUT (or docs/benchmarks/).
set -euo pipefail
cd "$(dirname "$0")/.."
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD/libs:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
python3 bench/gpu.py --out "${OUT:-docs/benchmarks}/gpu.md" "$@"
