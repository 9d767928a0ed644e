#!/usr/bin/env bash
# Runs on the CUDA machine (its Python has torch but not diffusers): installs the wheels `make bench-gpu`
# put in .whl/, runs bench/gpu.py within 8 minutes of wall time and prints the report's path. Every figure is
# in the report the moment it is measured, so a run stopped by the limit keeps what it had.
# On a machine without a GPU, `bash bench/gpu_run.sh --smoke` runs the same code with the tiny model.
set -euo pipefail
cd "$(dirname "$0")/.."
# The GPU machine's own Python; the smoke run uses the project's environment when there is one (the wheels
# in .whl/ are built for the GPU machine's Python and may not install here).
py="${PYTHON:-python3}"
if [ "${1:-}" = "--smoke" ] && [ -x .venv/bin/python ]; then py=.venv/bin/python; fi
if ! "$py" -c "import diffusers" 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD/libs:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-/tmp/posegen-inductor}"
out="${OUT:-docs/benchmarks}"
status=0
timeout --signal=INT --kill-after=20 480 "$py" bench/gpu.py --out "$out/gpu.md" "$@" || status=$?
echo "report: $out/gpu.md (exit $status)"
exit "$status"
