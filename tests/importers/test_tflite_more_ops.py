"""The TFLite ops of tests/importers/keras_zoo_ops.py (SUB, TANH, STRIDED_SLICE, TRANSPOSE, RESIZE_*,
SPLIT(_V), PACK/UNPACK, MAXIMUM/MINIMUM, LEAKY_RELU, PRELU, RELU/RELU6, DEPTH_TO_SPACE/SPACE_TO_DEPTH,
BATCH_MATMUL): Keras models quantized to int8, imported, and compared on every element with TensorFlow
Lite Micro on 60 seeded inputs (reference and host C); all of them in one firmware under QEMU."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")

import tinygen  # noqa: E402
from tests.importers.keras_zoo import calibration, op_names, quantize  # noqa: E402
from tests.importers.keras_zoo_ops import MERGED, ZOO_OPS  # noqa: E402
from tests.importers.tflite_builder import TfliteBuilder, options, tflm_run  # noqa: E402
from tests.importers.test_tflite_models import _inputs  # noqa: E402


def _keras(entry, seed: int = 0):
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    fn, shape, _ = entry
    inp = L.Input(shape, batch_size=1)
    return tf.keras.Model(inp, fn(tf, L, inp))


@pytest.fixture(scope="module")
def zoo_ops(tmp_path_factory):
    """name -> .tflite path, converted once per module."""
    d = tmp_path_factory.mktemp("zoo_ops")
    out = {}
    for name, entry in ZOO_OPS.items():
        path = d / f"{name}.tflite"
        path.write_bytes(quantize(_keras(entry), calibration(entry[1])))
        out[name] = path
    return out


@pytest.mark.host
@pytest.mark.parametrize("name", sorted(ZOO_OPS))
def test_new_op_model_equals_tflm(name, zoo_ops, tmp_path):
    path = zoo_ops[name]
    assert ZOO_OPS[name][2] <= op_names(path.read_bytes()), "the converter no longer emits the ops this model covers"
    program = tinygen.build(path, out_dir=tmp_path / "out")
    x = _inputs(program, seed=100 + sorted(ZOO_OPS).index(name))
    assert len(x) == 60
    ref = program.reference(x)
    (tflm,) = tflm_run(path.read_bytes(), [x])
    np.testing.assert_array_equal(ref, tflm.reshape(ref.shape))
    np.testing.assert_array_equal(program.run_host(x), ref)
    assert len(np.unique(ref)) > 3  # the outputs are not all saturated


@pytest.mark.qemu
def test_new_ops_validate_under_qemu(tmp_path):
    """Every new op in one model, as Cortex-M4 firmware under QEMU, against the reference (and the
    reference against TFLM on the same inputs)."""
    import shutil

    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/setup.sh installs them)")
    from tinygen.device.validate import validate

    data = quantize(_keras(MERGED), calibration(MERGED[1]))
    assert MERGED[2] <= op_names(data)
    path = tmp_path / "merged.tflite"
    path.write_bytes(data)
    program = tinygen.build(path, board="f446re", out_dir=tmp_path / "out")
    x = _inputs(program, n_random=3, n_real=3, seed=7)
    (tflm,) = tflm_run(data, [x])
    np.testing.assert_array_equal(program.reference(x), tflm.reshape(len(x), -1))
    np.save(tmp_path / "x.npy", x)
    result = validate(program, qemu=True, inputs=tmp_path / "x.npy", count=6)
    assert result.passed, result.summary_text()
