"""Larq models converted by Larq Compute Engine, imported from .tflite: tinygen equals LCE's
interpreter on every element where LCE's arithmetic is exact (every binary op, bit-packed and
float outputs of binary convolutions, float max pool, add, mul, mean), and agrees to float32
rounding where LCE's float kernels sum in another order (float conv, fully connected) or use
another exp (softmax). The host C always equals tinygen's reference bit for bit."""

import numpy as np
import pytest

pytest.importorskip("larq_compute_engine")
pytest.importorskip("larq")

import tinygen  # noqa: E402
from tests.importers.larq_zoo import LARQ_ZOO, convert, lce_run, make_larq  # noqa: E402
from tinygen.importers.tflite.reader import read_tflite  # noqa: E402


@pytest.fixture(scope="module")
def larq_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("larq")
    out = {}
    for name in LARQ_ZOO:
        path = d / f"{name}.tflite"
        path.write_bytes(convert(make_larq(name)))
        out[name] = path
    return out


def _x(shape, n=30, seed=0):
    return np.random.default_rng(seed).normal(0, 1.5, (n, *shape)).astype(np.float32)


@pytest.mark.host
def test_binary_core_bit_exact(larq_models, tmp_path):
    path = larq_models["binary_core"]
    ops = [op.name for op in read_tflite(path.read_bytes(), "m").ops]
    assert {"LceQuantize", "LceBconv2d", "LceBMaxPool2d", "MAX_POOL_2D", "ADD", "MUL"} <= set(ops)
    program = tinygen.build(path, out_dir=tmp_path / "out")
    kinds = {n.op for n in program.graph.nodes}
    assert {"bconv2d", "bconv2d_float", "bmax_pool2d", "binarize_float"} <= kinds
    pads = {n.attrs.pad_value for n in program.graph.nodes if n.op == "bconv2d_float"}
    assert pads == {0, 1}  # both padding flavours reach a float output
    x = _x(LARQ_ZOO["binary_core"][1])
    ref = program.reference(x)
    np.testing.assert_array_equal(ref, lce_run(path.read_bytes(), x))
    np.testing.assert_array_equal(program.run_host(x), ref)
    assert len(np.unique(ref)) > 20


@pytest.mark.host
def test_full_model_within_float_rounding(larq_models, tmp_path):
    path = larq_models["full"]
    program = tinygen.build(path, out_dir=tmp_path / "out")
    x = _x(LARQ_ZOO["full"][1], n=40, seed=1)
    ref = program.reference(x)
    np.testing.assert_array_equal(program.run_host(x), ref)
    got = lce_run(path.read_bytes(), x)
    # float conv / fully connected sum in another order than TFLite's GEMM, and softmax uses
    # tinygen's exp: a few float32 ulps on probabilities in [0, 1]
    assert np.abs(ref - got).max() <= 2e-6
    np.testing.assert_array_equal(ref.argmax(-1), got.argmax(-1))


def test_larq_keras_file_is_converted_with_lce(tmp_path):
    """A Larq model saved by Keras converts with LCE's converter (no calibration needed)."""
    model = make_larq("binary_core", seed=2)
    path = tmp_path / "bnn.h5"
    model.save(str(path))
    program = tinygen.build(path, out_dir=tmp_path / "out")
    x = _x(LARQ_ZOO["binary_core"][1], n=8, seed=2)
    np.testing.assert_array_equal(program.reference(x), lce_run(convert(model), x))
