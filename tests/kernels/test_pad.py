import numpy as np
import pytest

from tinygen.ir.graph import QuantParams, Tensor, DType
from tinygen.ops.pad import PadAttrs, padded_shape
from tinygen.reference import interpreter
from tinygen.testing import reference_and_host, single_op_graph

CASES = [
    ((1, 1, 1, 1), ((0, 0), (0, 0), (0, 0), (0, 0))),
    ((1, 7, 5, 3), ((0, 0), (1, 2), (0, 1), (0, 0))),
    ((1, 7, 5, 17), ((0, 0), (0, 0), (3, 0), (2, 1))),
    ((1, 4, 6), ((0, 0), (2, 0), (1, 1))),
    ((1, 17), ((0, 0), (3, 5))),
]


def _graph(shape, attrs):
    q = QuantParams.per_tensor(0.05, attrs.value)
    return single_op_graph("pad", attrs, [Tensor("x", shape, DType.INT8, q)], padded_shape(shape, attrs.paddings),
                           out_quant=q)


@pytest.mark.host
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])))
def test_pad_bit_exact(case, tmp_path):
    shape, pads = case
    rng = np.random.default_rng(sum(shape))
    attrs = PadAttrs(pads, int(rng.integers(-128, 128)))
    xin = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(_graph(shape, attrs), [xin], tmp_path)
    np.testing.assert_array_equal(ref, np.pad(xin, pads, constant_values=attrs.value))
    np.testing.assert_array_equal(host, ref)


def test_pad_reference_batched():
    attrs = PadAttrs(((0, 0), (1, 0), (0, 2), (1, 1)), -7)
    x = np.random.default_rng(3).integers(-128, 128, (3, 2, 3, 2)).astype(np.int8)
    (ref,) = interpreter.run(_graph((1, 2, 3, 2), attrs), [x])
    np.testing.assert_array_equal(ref, np.pad(x, attrs.paddings, constant_values=-7))


@pytest.mark.parametrize("pads", [((1, 0), (0, 0)), ((0, 0), (-1, 0))])
def test_pad_check_rejects(pads):
    from tinygen.ir.verify import verify

    g = single_op_graph("pad", PadAttrs(pads, 0), [Tensor("x", (1, 4), DType.INT8)], (1, 4))
    with pytest.raises(ValueError, match="batch|>= 0"):
        verify(g)
