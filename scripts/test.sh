#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: unit, host C, and QEMU tiers.
# Hardware tests run only when TINYGEN_PORT and TINYGEN_BOARD name a connected board.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3 TF_USE_LEGACY_KERAS=1
# -n auto: one pytest-xdist worker per core (tests share no files; -n 0 runs them in this process)
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n auto "$@"
