"""The TFLite ops of tests/importers/keras_zoo_ops.py (SUB, TANH, STRIDED_SLICE, TRANSPOSE, RESIZE_*,
SPLIT(_V), PACK/UNPACK, MAXIMUM/MINIMUM, LEAKY_RELU, PRELU, RELU/RELU6, DEPTH_TO_SPACE/SPACE_TO_DEPTH,
BATCH_MATMUL): Keras models quantized to int8, imported, and compared on every element with TensorFlow
Lite Micro on 60 seeded inputs (reference and host C), all in one merged model (one conversion keeps
the test time small), and that model as one firmware under QEMU."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")

import tinygen  # noqa: E402
from tests.importers.keras_zoo import calibration, op_names, quantize  # noqa: E402
from tests.importers.keras_zoo_ops import MERGED  # noqa: E402
from tests.importers.tflite_builder import tflm_run  # noqa: E402
from tests.importers.test_tflite_models import _inputs  # noqa: E402


def _keras(entry, seed: int = 0):
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    fn, shape, _ = entry
    inp = L.Input(shape, batch_size=1)
    return tf.keras.Model(inp, fn(tf, L, inp))


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    """The merged zoo model (every new op), converted once per module."""
    data = quantize(_keras(MERGED), calibration(MERGED[1], n=16))  # fewer samples: a faster conversion
    path = tmp_path_factory.mktemp("zoo_ops") / "merged.tflite"
    path.write_bytes(data)
    return path


@pytest.mark.host
def test_new_ops_equal_tflm(merged, tmp_path):
    """Each per-op model's output is one segment of the merged output: every element of every segment
    equals TFLM, on 60 seeded inputs (benchmarks/tflite_ops_vs_tflm.py runs the per-op models alone)."""
    data = merged.read_bytes()
    assert MERGED[2] <= op_names(data), "the converter no longer emits the ops this model covers"
    program = tinygen.build(merged, out_dir=tmp_path / "out")
    x = _inputs(program, seed=100)
    assert len(x) == 60
    ref = program.reference(x)
    (tflm,) = tflm_run(data, [x])
    np.testing.assert_array_equal(ref, tflm.reshape(ref.shape))
    np.testing.assert_array_equal(program.run_host(x), ref)
    assert len(np.unique(ref)) > 100  # far from saturated


@pytest.mark.qemu
def test_new_ops_validate_under_qemu(merged, tmp_path):
    """Every new op in one model, as Cortex-M4 firmware under QEMU, against the reference."""
    import shutil

    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/setup.sh installs them)")
    from tinygen.device.validate import validate

    program = tinygen.build(merged, board="f446re", out_dir=tmp_path / "out")
    np.save(tmp_path / "x.npy", _inputs(program, n_random=2, n_real=2, seed=7))
    result = validate(program, qemu=True, inputs=tmp_path / "x.npy", count=4)
    assert result.passed, result.summary_text()
