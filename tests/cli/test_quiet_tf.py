"""Loading TensorFlow for a Keras import prints nothing on stderr (no oneDNN/CUDA/absl lines)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_tensorflow_import_is_silent():
    pytest.importorskip("tensorflow")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", "from tinygen.importers.keras import tensorflow_quiet; tensorflow_quiet();"
                           " import sys; print('after', file=sys.stderr)"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "after", proc.stderr  # fd 2 restored, nothing else printed
