import numpy as np
import pytest

from tinygen.ops.group_max import GroupMaxAttrs, group_max_out_shape
from tinygen.reference import interpreter
from tinygen.testing import act, reference_and_host, single_op_graph

# (input shape, group): max-out over h heads of m channels (last dim m*h), odd sizes, 1/3/17
CASES = [
    ((1, 7, 5, 3 * 17), 3),
    ((1, 7, 5, 3), 3),  # one channel, three heads
    ((1, 5, 7, 17), 17),  # max over all channels
    ((1, 3, 5, 17), 1),  # one head: a copy
    ((1, 1, 1, 2 * 3), 2),
    ((1, 17, 3), 3),  # rank 3: [N, m, h] -> [N, m, 1]
    ((1, 5 * 3), 5),  # rank 2
]


def _graph(shape, group):
    return single_op_graph("group_max", GroupMaxAttrs(group), [act("x", shape)], group_max_out_shape(shape, group))


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[0])) + f"_g{c[1]}")
def test_group_max_bit_exact(case, seed, tmp_path):
    shape, group = case
    rng = np.random.default_rng(seed * 1000 + sum(shape) + group)
    graph = _graph(shape, group)
    x = rng.integers(-128, 128, shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(graph, [x], tmp_path)
    assert ref.dtype == np.int8 and ref.shape == group_max_out_shape(shape, group)
    np.testing.assert_array_equal(host, ref)


def test_group_max_reference_matches_direct_loop():
    """Batched reference against out[..., g] = max_j x[..., g*h + j], including -128 and 127."""
    rng = np.random.default_rng(5)
    shape, h = (1, 3, 5, 7 * 3), 3
    x = rng.integers(-128, 128, (4, *shape[1:])).astype(np.int8)
    x[0, 0, 0, :3] = -128
    x[1, 2, 4, -3:] = 127
    (ref,) = interpreter.run(_graph(shape, h), [x])
    for idx in np.ndindex(ref.shape):
        g = idx[-1]
        assert ref[idx] == max(int(x[idx[:-1] + (g * h + j,)]) for j in range(h)), idx


@pytest.mark.parametrize("shape, group, out, match", [
    ((1, 3, 5, 7), 3, (1, 3, 5, 2), "divide"),
    ((1, 3, 5, 6), 3, (1, 3, 5, 3), "output shape"),
    ((1, 3, 5, 6), 0, (1, 3, 5, 6), "divide"),
])
def test_group_max_check_rejects(shape, group, out, match):
    from tinygen.ir.verify import verify

    graph = single_op_graph("group_max", GroupMaxAttrs(group), [act("x", shape)], out)
    with pytest.raises(ValueError, match=match):
        verify(graph)


def test_group_max_emit():
    from tinygen.ops.base import get

    graph = _graph((1, 7, 5, 51), 3)
    call = get("group_max").emit(graph.nodes[0], graph)
    assert dict(call.fields) == {"outer": 35, "groups": 17, "group": 3}
    assert call.comment == "group_max [1,7,5,51] over groups of 3"


@pytest.mark.qemu
def test_group_max_fast_on_qemu(tmp_path):
    from tests.kernels.qemu_tier import check_on_qemu

    check_on_qemu([_graph(shape, group) for shape, group in CASES], tmp_path, "tg_group_max_s8_fast")
