#!/usr/bin/env bash
# The main job: set up (if needed); train FlyNet-h3 quantization-aware on Fashion-MNIST and export
# flynet_q8.pt (only if it is not there yet); `tinygen build flynet_q8.pt --board f746zg`; print the
# fit report; validate the firmware bit for bit under QEMU (the board's stand-in, no board needed);
# compare int8 C accuracy with PyTorch. Extra arguments go to examples/flynet/run.py (e.g. --board f446re).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
exec .venv/bin/python examples/flynet/run.py "$@"
