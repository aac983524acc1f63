"""softmax mode "tflm" (TFLite Micro's int8 softmax; its equality with TFLM itself is tested in
tests/importers/test_tflite_ops.py): host C == numpy reference."""

import numpy as np
import pytest

from tinygen.ops.softmax import tflm_softmax_params
from tinygen.reference import interpreter, tflm
from tinygen.testing import act, reference_and_host, single_op_graph


@pytest.mark.host
@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (1, 7, 5, 17), (1, 100), (1, 4, 10)], ids=lambda s: "x".join(map(str, s)))
def test_softmax_tflm_bit_exact(shape, tmp_path):
    rng = np.random.default_rng(sum(shape))
    attrs = tflm_softmax_params(1.0, float(np.exp(rng.uniform(np.log(0.005), np.log(0.3)))))
    g = single_op_graph("softmax", attrs, [act("x", shape)], shape)
    x = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(g, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)
    np.testing.assert_array_equal(ref, tflm.softmax_rows(x, np.asarray(attrs.exp_q31)))


def test_softmax_tflm_sums_to_one():
    attrs = tflm_softmax_params(1.0, 0.1)
    x = np.random.default_rng(1).integers(-128, 128, (50, 10)).astype(np.int8)
    (ref,) = interpreter.run(single_op_graph("softmax", attrs, [act("x", (1, 10))], (1, 10)), [x])
    probs = (ref.astype(np.float64) + 128) / 256
    assert np.all(np.abs(probs.sum(-1) - 1) < 10 / 256)
