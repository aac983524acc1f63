import itertools

import numpy as np
import pytest

from tinygen.ir.graph import DType
from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.ops.fully_connected_packed import FullyConnectedPackedAttrs
from tinygen.reference import bitpack, interpreter
from tinygen.testing import act, const, random_requant

from tests.kernels.bitpack_host import cases_graph, reference_and_host

# (bits, weight_offset, levels)
WEIGHT_FORMATS = [(1, 0, 2), (2, -2, 4), (2, -1, 3), (4, -8, 16), (4, 2, 9)]
# (N, K, Cout): K*bits rarely a whole number of bytes
SHAPES = [(1, 1, 1), (1, 3, 17), (1, 33, 5), (2, 7, 4), (1, 65, 10)]


@pytest.mark.host
@pytest.mark.parametrize("fmt,seed", [(f, i) for i, f in enumerate(WEIGHT_FORMATS)],
                         ids=[f"bits{b}-offset{o}-levels{n}-seed{i}" for i, (b, o, n) in enumerate(WEIGHT_FORMATS)])
def test_fully_connected_packed_equals_int8_fully_connected(fmt, seed, tmp_path):
    bits, offset, levels = fmt
    rng = np.random.default_rng(seed)
    packed, plain, labels = [], [], []
    for (n, k, cout), act_min in itertools.product(SHAPES, (-128, -10)):
        values = rng.choice([-1, 1], (cout, k)) if bits == 1 else rng.integers(offset, offset + levels, (cout, k))
        wrms = max(1.0, float(np.sqrt(np.mean(np.square(values)))))
        typical = 40.0 / (74.0 * wrms * np.sqrt(k))
        mult, shift = random_requant(rng, cout, typical / 3, typical * 3)
        common = dict(input_offset=int(rng.integers(-128, 128)), output_offset=int(rng.integers(-20, 20)),
                      multiplier=mult, shift=shift, act_min=act_min, act_max=127)
        x, b = act("x", (n, k)), const("b", rng.integers(-500, 500, cout).astype(np.int32))
        packed.append((FullyConnectedPackedAttrs(weight_bits=bits, weight_offset=offset, **common),
                       [x, const("w", bitpack.pack_weights(values, bits, offset)), b], (n, cout), DType.INT8))
        plain.append((FullyConnectedAttrs(**common), [x, const("w", values.astype(np.int8)), b], (n, cout), DType.INT8))
        labels.append(f"{n}x{k}->{cout} act_min{act_min}")
    graph = cases_graph("fully_connected_packed", packed)
    inputs = [rng.integers(-128, 128, graph.t(name).shape).astype(np.int8) for name in graph.inputs]
    ref, host = reference_and_host(graph, inputs, tmp_path)
    expect = interpreter.run(cases_graph("fully_connected", plain), inputs)  # int8 FC on the unpacked weights
    for label, r, h, e in zip(labels, ref, host, expect):
        np.testing.assert_array_equal(h, e, err_msg=label)
        np.testing.assert_array_equal(r, e, err_msg=label)
    assert len(np.unique(np.concatenate([e.ravel() for e in expect]))) > 30


# -- tg_fully_connected_packed_s8_fast: pair-ordered words, K tails, int8 and code extremes

FAST_K = (1, 3, 5, 8, 17, 31, 64, 96)


def _fast_cases(bits, offset, levels, seed, batch=2):
    rng = np.random.default_rng(100 + seed)
    cases = []
    for k in FAST_K:
        cout = int(rng.integers(1, 9))
        values = rng.choice([-1, 1], (cout, k)) if bits == 1 else rng.integers(offset, offset + levels, (cout, k))
        values[0, :] = values.max() if seed % 2 else values.min()  # the extreme code in a whole row
        mult, shift = random_requant(rng, cout, 1e-4, 5e-2)
        ioff = 128 if seed % 2 else -127  # zero points -128 and 127
        attrs = FullyConnectedPackedAttrs(ioff, int(rng.integers(-20, 20)), mult, shift, bits, offset)
        cases.append((attrs, [act("x", (batch, k)), const("w", bitpack.pack_weights(values, bits, offset)),
                              const("b", rng.integers(-5000, 5000, cout).astype(np.int32))], (batch, cout), DType.INT8))
    graph = cases_graph("fully_connected_packed", cases)
    inputs = []
    for name in graph.inputs:
        x = rng.integers(-128, 128, graph.t(name).shape).astype(np.int8)
        x[0, :] = -128 if seed % 2 else 127
        inputs.append(x)
    return graph, inputs


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fmt", WEIGHT_FORMATS, ids=lambda f: f"bits{f[0]}-offset{f[1]}")
def test_fully_connected_packed_fast_bit_exact(fmt, seed, tmp_path):
    from tinygen.select import HOST
    from tinygen.select.kernels import candidates

    graph, inputs = _fast_cases(*fmt, seed)
    assert all(candidates(n, graph, HOST)[0].symbol == "tg_fully_connected_packed_s8_fast" for n in graph.nodes)
    ref, host = reference_and_host(graph, inputs, tmp_path)
    for r, h in zip(ref, host):
        np.testing.assert_array_equal(h, r)


@pytest.mark.qemu
def test_fully_connected_packed_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    graphs = [_fast_cases(*fmt, seed, batch=1)[0] for fmt, seed in zip(WEIGHT_FORMATS, (0, 1, 0, 1, 0))]
    check_on_qemu(graphs, tmp_path, "tg_fully_connected_packed_s8_fast")  # (the serial harness feeds batch 1)
