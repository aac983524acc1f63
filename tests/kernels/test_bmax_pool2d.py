import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinygen.ir.graph import DType
from tinygen.ops.bmax_pool2d import BMaxPool2dAttrs, out_hw
from tinygen.reference import bitpack, interpreter
from tinygen.testing import act, single_op_graph

from tests.kernels.bitpack_host import EDGE_CHANNELS, assert_cases_bit_exact, cases_graph

# (kernel, stride, padding); every window keeps an in-image tap (padding < kernel)
GEOMETRIES = [(k, s, p) for k, s, p in itertools.product((1, 2, 3), (1, 2), (0, 1)) if p < k]


def random_bits(rng, shape, channels):
    """Mostly -1 so that the AND keeps some -1s: P(bit) = 0.8."""
    return bitpack.pack_bits(rng.random(shape + (channels,)) < 0.8)


@pytest.mark.host
@pytest.mark.parametrize("seed", [0])
def test_bmax_pool2d_bit_exact(seed, tmp_path):
    rng = np.random.default_rng(seed)
    cases, labels = [], []
    for c, (k, s, p) in itertools.product(EDGE_CHANNELS + (128, 256), GEOMETRIES):
        attrs = BMaxPool2dAttrs((k, k), (s, s), (p,) * 4)
        x = act("x", (1, 5, 6, bitpack.words_for(c)), DType.UINT32)
        cases.append((attrs, [x], (1, *out_hw(x.shape, attrs), x.shape[3]), DType.UINT32))
        labels.append(f"C{c} k{k}/{s} pad{p}")
    graph = cases_graph("bmax_pool2d", cases)
    channels = [c for c, _ in itertools.product(EDGE_CHANNELS + (128, 256), GEOMETRIES)]
    inputs = [random_bits(rng, (1, 5, 6), c) for c in channels]
    ref = assert_cases_bit_exact(graph, inputs, labels, tmp_path)
    assert all(bitpack.padding_bits_zero(r, c) for r, c in zip(ref, channels))


@pytest.mark.parametrize("seed", [0])
def test_bmax_pool2d_reference_equals_torch_max_pool(seed):
    rng = np.random.default_rng(seed)
    for c, (k, s, p) in itertools.product(EDGE_CHANNELS, GEOMETRIES):
        if p > k // 2:
            continue  # torch takes padding <= kernel / 2 only
        attrs = BMaxPool2dAttrs((k, k), (s, s), (p,) * 4)
        x = random_bits(rng, (2, 5, 6), c)
        graph = single_op_graph("bmax_pool2d", attrs, [act("x", (1, 5, 6, x.shape[3]), DType.UINT32)],
                                (1, *out_hw(x.shape, attrs), x.shape[3]), out_dtype=DType.UINT32)
        (out,) = interpreter.run(graph, [x])
        xt = torch.tensor(bitpack.unpack_pm1(x, c), dtype=torch.float32).permute(0, 3, 1, 2)
        y = F.max_pool2d(xt, k, s, p).permute(0, 2, 3, 1).numpy()  # pads with -inf
        np.testing.assert_array_equal(bitpack.unpack_pm1(out, c), y, err_msg=f"C{c} k{k}/{s} pad{p}")


@pytest.mark.qemu
def test_bmax_pool2d_rows_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    graphs = []
    for c, (k, s, p) in itertools.product((1, 33, 65, 256), GEOMETRIES[::2]):
        attrs = BMaxPool2dAttrs((k, k), (s, s), (p,) * 4)
        x = act("x", (1, 7, 5, bitpack.words_for(c)), DType.UINT32)
        graphs.append(single_op_graph("bmax_pool2d", attrs, [x], (1, *out_hw(x.shape, attrs), x.shape[3]),
                                      out_dtype=DType.UINT32))
    check_on_qemu(graphs, tmp_path, "tg_bmax_pool2d_b1_rows")
