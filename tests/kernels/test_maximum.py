import numpy as np
import pytest

from tinygen.ir.graph import QuantParams, Tensor
from tinygen.ops.maximum import MaximumAttrs
from tinygen.reference import interpreter
from tinygen.testing import act, reference_and_host, single_op_graph

SHAPES = [(1, 7, 5, 17), (1, 7, 5, 3), (1, 1, 1, 1), (1, 5, 3), (1, 17)]


def _graph(shape):
    return single_op_graph("maximum", MaximumAttrs(), [act("a", shape), act("b", shape)], shape)


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_maximum_bit_exact(shape, seed, tmp_path):
    rng = np.random.default_rng(seed * 1000 + sum(shape))
    a = rng.integers(-128, 128, shape).astype(np.int8)
    b = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(_graph(shape), [a, b], tmp_path)
    np.testing.assert_array_equal(ref, np.maximum(a, b))
    np.testing.assert_array_equal(host, ref)


def test_maximum_reference_batched():
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (3, 5, 3)).astype(np.int8)
    b = rng.integers(-128, 128, (3, 5, 3)).astype(np.int8)
    (ref,) = interpreter.run(_graph((1, 5, 3)), [a, b])
    for idx in np.ndindex(ref.shape):
        assert ref[idx] == max(int(a[idx]), int(b[idx]))


def test_maximum_check_rejects_mixed_grids():
    from tinygen.ir.verify import verify

    shape = (1, 4, 3)
    b = Tensor("b", shape, act("b", shape).dtype, QuantParams.per_tensor(0.5, 3))
    graph = single_op_graph("maximum", MaximumAttrs(), [act("a", shape), b], shape)
    with pytest.raises(ValueError, match="grid"):
        verify(graph)
    with pytest.raises(ValueError, match="one shape"):
        verify(single_op_graph("maximum", MaximumAttrs(), [act("a", shape), act("b", (1, 4, 1))], shape))
