import numpy as np
import pytest

from tinygen.ops.slice import SliceAttrs
from tinygen.reference import interpreter
from tinygen.select import HOST
from tinygen.select.kernels import candidates
from tinygen.testing import act, reference_and_host, single_op_graph

# (input shape, begin, size, step)
CASES = [
    ((1, 7, 5, 17), (0, 1, 0, 2), (1, 3, 5, 5), (1, 2, 1, 3)),
    ((1, 1, 1, 1), (0, 0, 0, 0), (1, 1, 1, 1), (1, 1, 1, 1)),
    ((1, 7, 5, 3), (0, 6, 4, 2), (1, 1, 1, 1), (1, 1, 1, 1)),
    ((1, 8, 8, 16), (0, 0, 0, 0), (1, 4, 4, 16), (1, 2, 2, 1)),
    ((1, 7, 5, 17), (0, 0, 0, 8), (1, 7, 5, 9), (1, 1, 1, 1)),  # channel split
    ((1, 17), (0, 3), (1, 7), (1, 2)),
    ((1, 7, 5), (0, 2, 1), (1, 3, 2), (1, 2, 3)),
]


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])) + "-" + "".join(map(str, c[1])))
def test_slice_bit_exact(case, seed, tmp_path):
    shape, begin, size, step = case
    rng = np.random.default_rng(seed * 1000 + sum(shape) + sum(begin))
    graph = single_op_graph("slice", SliceAttrs(begin, size, step), [act("x", shape)], size)
    x = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == size
    np.testing.assert_array_equal(host, ref)


def test_slice_reference_matches_direct_loop():
    """The batched reference against a per-element transcription of out = x[b + i*step]."""
    rng = np.random.default_rng(4)
    shape, begin, size, step = (1, 6, 5, 7), (0, 1, 0, 2), (1, 2, 3, 2), (1, 3, 2, 4)
    graph = single_op_graph("slice", SliceAttrs(begin, size, step), [act("x", shape)], size)
    x = rng.integers(-128, 128, (3, *shape[1:])).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    assert ref.shape == (3, *size[1:])
    for idx in np.ndindex(ref.shape):
        src = (idx[0],) + tuple(b + i * s for b, i, s in zip(begin[1:], idx[1:], step[1:]))
        assert ref[idx] == x[src]


@pytest.mark.parametrize("attrs, match", [
    (SliceAttrs((0, 5, 0, 0), (1, 2, 5, 3), (1, 2, 1, 1)), "leaves"),  # 5 + 1*2 = 7 is out of range
    (SliceAttrs((0, 0, 0, 0), (1, 2, 5, 3), (1, 0, 1, 1)), "leaves"),  # step 0
    (SliceAttrs((0, 0, 0), (1, 2, 5), (1, 1, 1)), "entries"),
])
def test_slice_check_rejects(attrs, match):
    from tinygen.ir.verify import verify

    graph = single_op_graph("slice", attrs, [act("x", (1, 7, 5, 3))], (1, 2, 5, 3))
    with pytest.raises(ValueError, match=match):
        verify(graph)


def test_slice_emit():
    from tinygen.ops.base import get

    graph = single_op_graph("slice", SliceAttrs(*CASES[0][1:]), [act("x", CASES[0][0])], CASES[0][2])
    call = get("slice").emit(graph.nodes[0], graph)
    f = dict(call.fields)
    assert f["in_offset"] == 1 * 85 + 2 and (f["in_sh"], f["in_sw"], f["in_sc"]) == (170, 17, 3)
    assert call.comment == "slice [1,7,5,17] begin [0,1,0,2] size [1,3,5,5] step [1,2,1,3]"


# -- tg_slice_s8_fast: contiguous runs of channels, rows and planes as word copies

FAST_CASES = [((1, 7, 5, c), (0, 1, 1, c // 3), (1, 5, 3, c - c // 3), (1, 1, 1, 1)) for c in (1, 3, 5, 8, 17, 31, 64, 96)] + [
    ((1, 7, 5, 17), (0, 2, 0, 0), (1, 3, 5, 17), (1, 1, 1, 1)),  # whole rows: one run per plane
    ((1, 9, 7, 31), (0, 1, 0, 0), (1, 4, 7, 31), (1, 2, 1, 1)),  # whole rows, strided over h
    ((1, 1, 1, 64), (0, 0, 0, 0), (1, 1, 1, 64), (1, 1, 1, 1)),
    ((1, 96), (0, 5), (1, 77), (1, 1)),
]


@pytest.mark.host
@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: "x".join(map(str, c[0])) + "-" + "".join(map(str, c[1])))
def test_slice_fast_bit_exact(case, tmp_path):
    shape, begin, size, step = case
    graph = single_op_graph("slice", SliceAttrs(begin, size, step), [act("x", shape)], size)
    assert candidates(graph.nodes[0], graph, HOST)[0].symbol == "tg_slice_s8_fast"
    x = np.random.default_rng(sum(shape)).integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)


@pytest.mark.qemu
def test_slice_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    cases = FAST_CASES[::2] + [c for c in CASES if c[3][-1] == 1 or c[2][-1] == 1]
    graphs = [single_op_graph("slice", SliceAttrs(b, s, st), [act("x", sh)], s) for sh, b, s, st in cases]
    check_on_qemu(graphs, tmp_path, "tg_slice_s8_fast")
