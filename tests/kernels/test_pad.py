import numpy as np
import pytest

from tinygen.ir.graph import QuantParams, Tensor, DType
from tinygen.ops.pad import PadAttrs, padded_shape
from tinygen.reference import interpreter
from tinygen.select import HOST
from tinygen.select.kernels import candidates
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


# -- tg_pad_s8_fast: word fills and row copies, with and without channel padding

FAST_CASES = [((1, h, w, c), ((0, 0), (1, 1), (1, 2), (0, 0) if c % 2 else (1, 2)))
              for c in (1, 3, 5, 8, 17, 31, 64, 96) for h, w in ((1, 1), (7, 5))]


@pytest.mark.host
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: "x".join(map(str, c[0])) + ("c" if c[1][3][0] else ""))
def test_pad_fast_bit_exact(case, tmp_path):
    shape, pads = case
    rng = np.random.default_rng(sum(shape) + 5)
    attrs = PadAttrs(pads, int(rng.choice([-128, 127, 0, -3])))
    graph = _graph(shape, attrs)
    assert candidates(graph.nodes[0], graph, HOST)[0].symbol == "tg_pad_s8_fast"
    xin = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    np.testing.assert_array_equal(ref, np.pad(xin, pads, constant_values=attrs.value))
    np.testing.assert_array_equal(host, ref)


@pytest.mark.qemu
def test_pad_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    cases = FAST_CASES[1::3] + CASES
    graphs = [_graph(s, PadAttrs(p, -7 + i)) for i, (s, p) in enumerate(cases)]
    check_on_qemu(graphs, tmp_path, "tg_pad_s8_fast")
