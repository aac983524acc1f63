#!/usr/bin/env bash
# The main job: set up (if needed), train the int8 example quantization-aware on an offline
# dataset, export it, build it with tinygen and validate the generated C bit for bit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
exec .venv/bin/python examples/digits_int8/run.py "$@"
