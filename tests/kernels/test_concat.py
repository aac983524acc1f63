import numpy as np
import pytest

from tinygen.ir.graph import DType, QuantParams, Tensor
from tinygen.ops.concat import concat_params
from tinygen.reference import interpreter
from tinygen.quant.rounding import round_half_away
from tinygen.reference.fixedpoint import requantize
from tinygen.select import HOST
from tinygen.select.kernels import candidates
from tinygen.testing import reference_and_host, single_op_graph

OUT_Q = (0.05, 3)
# Input grids relative to the output: the same grid (copy), coarser (multiplier > 1), finer (< 1).
GRIDS = {"same": OUT_Q, "up": (0.1, -5), "down": (0.02, 10), "up3": (0.15, 0)}

# (input shapes, axis, grid of each input, index of a constant input or -1)
CASES = [
    (((1, 7, 5, 3), (1, 7, 5, 1), (1, 7, 5, 17)), 3, ("same", "up", "down"), -1),
    (((1, 2, 5, 3), (1, 5, 5, 3)), 1, ("down", "up3"), -1),
    (((1, 7, 1, 3), (1, 7, 4, 3)), 2, ("up", "same"), -1),
    (((1, 1, 1, 1), (1, 1, 1, 1)), 3, ("same", "same"), -1),
    (((1, 1, 1, 1), (1, 1, 1, 1)), 3, ("up", "down"), -1),
    (((1, 17), (1, 3)), 1, ("up", "down"), -1),
    (((1, 7, 5, 3), (1, 7, 5, 2), (1, 7, 5, 4)), 3, ("down", "same", "up"), 1),
    (((1, 7, 5),), 2, ("up",), -1),
]


def make_graph(shapes, axis, grids, const_index, rng):
    qps = [GRIDS[g] for g in grids]
    tensors, feeds = [], []
    for i, (shape, (s, zp)) in enumerate(zip(shapes, qps)):
        data = rng.integers(-128, 128, shape).astype(np.int8)
        const = data if i == const_index else None
        tensors.append(Tensor(f"x{i}", shape, DType.INT8, QuantParams.per_tensor(s, zp), const))
        if const is None:
            feeds.append(data)
    out_shape = list(shapes[0])
    out_shape[axis] = sum(s[axis] for s in shapes)
    attrs = concat_params(qps, OUT_Q, axis)
    graph = single_op_graph("concat", attrs, tensors, tuple(out_shape), out_quant=QuantParams.per_tensor(*OUT_Q))
    return graph, feeds, attrs


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"ax{c[1]}-" + "-".join(c[2]) + ("-const" if c[3] >= 0 else ""))
def test_concat_bit_exact(case, seed, tmp_path):
    rng = np.random.default_rng(seed * 1000 + 17 * CASES.index(case))
    graph, feeds, _ = make_graph(*case, rng)
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    assert ref.dtype == np.int8 and ref.shape == graph.t("out").shape
    np.testing.assert_array_equal(host, ref)


def test_concat_params_flags_and_shifts():
    a = concat_params([GRIDS["same"], GRIDS["up"], GRIDS["down"]], OUT_Q, 3)
    assert a.requant == (0, 1, 1)
    assert a.input_offsets == (-3, 5, -10) and a.output_offset == 3
    for i, real in ((1, 2.0), (2, 0.4)):  # s_in / s_out, held pre-scaled: m * 2^(shift - 31 + left_shift)
        assert a.left_shift(i) == 20
        assert abs(a.multipliers[i] * 2.0 ** (a.shifts[i] - 31 + a.left_shift(i)) / real - 1) < 2**-30


def test_concat_reference_matches_direct_loop():
    """The vectorised, batched reference against a per-element transcription; requantized values
    are the real input values rounded once (pre-scaled: no double rounding), half away from zero."""
    rng = np.random.default_rng(3)
    shapes, axis, grids = ((1, 2, 3, 2), (1, 2, 1, 2), (1, 2, 2, 2)), 2, ("up", "same", "down")
    graph, _, a = make_graph(shapes, axis, grids, -1, rng)
    xs = [rng.integers(-128, 128, (3, *s[1:])).astype(np.int8) for s in shapes]
    (ref,) = interpreter.run(graph, xs)
    assert ref.shape == (3, 2, 6, 2)
    starts = np.cumsum([0] + [s[axis] for s in shapes])
    s_out, zp_out = OUT_Q
    for idx in np.ndindex(ref.shape):
        i = int(np.searchsorted(starts, idx[axis], side="right") - 1)
        src = list(idx)
        src[axis] -= starts[i]
        x = int(xs[i][tuple(src)])
        if a.requant[i]:
            y = int(requantize(np.array((x + a.input_offsets[i]) << a.left_shift(i)), a.multipliers[i],
                               a.shifts[i])) + a.output_offset
            y = max(-128, min(127, y))
            s_in, zp_in = GRIDS[grids[i]]
            real = s_in * (x - zp_in) / s_out
            assert y == max(-128, min(127, int(round_half_away(real)) + zp_out))
        else:
            y = x
        assert ref[idx] == y, idx


def test_concat_check_rejects_batch_axis():
    from tinygen.ir.verify import verify

    graph, _, _ = make_graph(((1, 3), (1, 3)), 1, ("same", "same"), -1, np.random.default_rng(0))
    graph.nodes[0].attrs = concat_params([OUT_Q, OUT_Q], OUT_Q, 0)
    with pytest.raises(ValueError, match="batch"):
        verify(graph)


def test_concat_emit():
    from tinygen.ops.base import get

    graph, _, _ = make_graph(*CASES[0][:3], -1, np.random.default_rng(0))
    call = get("concat").emit(graph.nodes[0], graph)
    f = dict(call.fields)
    assert call.inputs_as_array and (f["num_inputs"], f["outer"], f["inner"]) == (3, 35, 1)
    assert list(f["axis_size"].values) == [3, 1, 17]
    assert call.comment == "concat axis=3 [1,7,5,3] [1,7,5,1] [1,7,5,17] -> [1,7,5,21]"


# -- tg_concat_s8_fast: block copies of every length (word, tail), requantized inputs beside them

FAST_CASES = [(((1, h, w, c), (1, h, w, c2)), 3, grids, -1) for c, c2 in ((1, 3), (5, 8), (17, 31), (64, 96))
              for h, w in ((1, 1), (7, 5)) for grids in (("same", "same"), ("same", "up"), ("down", "same"))] + [
    (((1, 3, 5, 17), (1, 4, 5, 17)), 1, ("same", "same"), -1)]


@pytest.mark.host
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: "-".join("x".join(map(str, s)) for s in c[0]) + "-" + "-".join(c[2]))
def test_concat_fast_bit_exact(case, tmp_path):
    rng = np.random.default_rng(31 * FAST_CASES.index(case))
    graph, feeds, _ = make_graph(*case, rng)
    assert candidates(graph.nodes[0], graph, HOST)[0].symbol == "tg_concat_s8_fast"
    (ref,), (host,) = reference_and_host(graph, feeds, tmp_path)
    np.testing.assert_array_equal(host, ref)


@pytest.mark.qemu
def test_concat_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    cases = [FAST_CASES[i] for i in (0, 4, 8, 13, 17, 22, 24)] + CASES[:3]
    graphs = [make_graph(*c, np.random.default_rng(i))[0] for i, c in enumerate(cases)]
    check_on_qemu(graphs, tmp_path, "tg_concat_s8_fast")
