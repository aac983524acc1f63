"""Each per-op model of tests/importers/keras_zoo_ops.py alone: converted to int8, built, and compared
with TensorFlow Lite Micro on 60 seeded inputs (reference and host C). Prints, per model, the elements
equal to TFLM out of all compared. The test suite runs the merged model (tests/importers/test_tflite_more_ops.py).

    PYTHONPATH=. TF_USE_LEGACY_KERAS=1 python benchmarks/tflite_ops_vs_tflm.py [name ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import tinygen  # noqa: E402
from tests.importers.keras_zoo import calibration, op_names, quantize  # noqa: E402
from tests.importers.keras_zoo_ops import ZOO_OPS  # noqa: E402
from tests.importers.test_tflite_models import _inputs  # noqa: E402
from tests.importers.test_tflite_more_ops import _keras  # noqa: E402
from tests.importers.tflite_builder import tflm_run  # noqa: E402


def main(names: list[str]) -> int:
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for k, name in enumerate(names or sorted(ZOO_OPS)):
            entry = ZOO_OPS[name]
            data = quantize(_keras(entry), calibration(entry[1]))
            path = Path(d) / f"{name}.tflite"
            path.write_bytes(data)
            program = tinygen.build(path, out_dir=Path(d) / name)
            x = _inputs(program, seed=100 + k)
            ref = program.reference(x)
            (tflm,) = tflm_run(data, [x])
            host = program.run_host(x)
            eq = int(np.sum(ref == tflm.reshape(ref.shape)))
            eq_host = int(np.sum(host == ref))
            ok = eq == ref.size == eq_host and entry[2] <= op_names(data)
            bad += not ok
            print(f"{name:16s} {sorted(entry[2])}: {len(x)} inputs, reference == TFLM on {eq}/{ref.size} elements, "
                  f"host C == reference on {eq_host}/{ref.size}{'' if ok else '  MISMATCH'}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
