#!/usr/bin/env bash
# Downloads, for the CUDA machine's Python 3.12, the wheels bench/gpu.py needs that its image lacks (its image
# has torch, transformers, huggingface_hub, safetensors, numpy, Pillow; see .library/device/KINDS.md):
# diffusers, the settings stack the worker's loader imports, and open_clip_torch for CLIP's vocabulary file.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "diffusers==0.42.1" "importlib_metadata==10.2.0" "zipp==4.1.2" \
  "pydantic==2.14.4" "pydantic_core==2.50.5" "pydantic-settings==2.16.3" "python-dotenv==1.2.4" \
  "typing-inspection==0.4.5" "annotated-types==0.8.0" "open_clip_torch==3.3.0"
ls -la .whl
