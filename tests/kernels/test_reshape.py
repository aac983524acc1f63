import numpy as np
import pytest

from tinygen.select import HOST, select_kernels
from tinygen.codegen import generate
from tinygen.ir.graph import DType, Graph, Node
from tinygen.ir.verify import verify
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.lut import LutAttrs, make_table
from tinygen.ops.reshape import ReshapeAttrs
from tinygen.plan import plan_memory
from tinygen.reference import interpreter
from tinygen.testing import act, compile_graph, const, random_requant, reference_and_host, single_op_graph

# (input shape, output shape, dtype)
CASES = [
    ((1, 1, 1, 1), (1, 1), DType.INT8),
    ((1, 7, 5, 3), (1, 105), DType.INT8),
    ((1, 7, 5, 17), (1, 35, 17), DType.INT8),
    ((1, 17), (1, 1, 1, 17), DType.INT8),
    ((1, 7, 5, 3), (1, 5, 21), DType.INT32),  # any dtype: the kernel copies bytes
]


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'x'.join(map(str, c[0]))}_to_{'x'.join(map(str, c[1]))}_{c[2].value}")
def test_reshape_bit_exact(case, seed, tmp_path):
    src, dst, dtype = case
    rng = np.random.default_rng(seed * 1000 + sum(src) + sum(dst))
    graph = single_op_graph("reshape", ReshapeAttrs(dst), [act("x", src, dtype)], dst, out_dtype=dtype)
    info = np.iinfo(dtype.np)
    xin = rng.integers(info.min, info.max, src, endpoint=True).astype(dtype.np)
    if dtype == DType.INT8:
        (ref,), (host,) = reference_and_host(graph, [xin], tmp_path)
    else:  # HostModel passes char * buffers, which cffi accepts for int8 only: cast here
        (ref,) = interpreter.run(graph, [xin])
        m = compile_graph(graph, tmp_path)
        host = np.zeros(dst, dtype.np)
        ptr = lambda a: m.ffi.cast(f"{dtype.ctype} *", m.ffi.from_buffer(a))  # noqa: E731
        assert m.fn(ptr(xin), ptr(host)) == 0
    assert ref.dtype == dtype.np and ref.shape == dst
    np.testing.assert_array_equal(host, ref)


def test_reshape_reference_matches_direct_loop():
    rng = np.random.default_rng(61)
    graph = single_op_graph("reshape", ReshapeAttrs((1, 6, 5)), [act("x", (1, 2, 3, 5))], (1, 6, 5))
    x = rng.integers(-128, 128, (3, 2, 3, 5)).astype(np.int8)
    (ref,) = interpreter.run(graph, [x])
    assert ref.shape == (3, 6, 5)
    for n in range(3):
        for i in range(30):  # row-major: flat index i of the sample is unchanged
            assert ref[n, i // 5, i % 5] == x[n, i // 15, (i // 5) % 3, i % 5]


def test_reshape_check_rejects_mismatch():
    g = single_op_graph("reshape", ReshapeAttrs((1, 10)), [act("x", (1, 2, 3, 2))], (1, 10))
    with pytest.raises(ValueError, match="does not match"):
        verify(g)


@pytest.mark.host
def test_reshape_aliased_is_omitted(tmp_path):
    """conv2d -> reshape -> lut: the reshape input dies at the reshape, so the planner gives its
    output the same storage and codegen emits no call."""
    rng = np.random.default_rng(71)
    g = Graph("reshape_alias", dialect="lowered")
    g.add_tensor(act("x", (1, 7, 5, 3)))
    g.add_tensor(const("w", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)))
    g.add_tensor(const("b", rng.integers(-500, 500, 4).astype(np.int32)))
    g.add_tensor(act("c", (1, 4, 3, 4)))
    g.add_tensor(act("r", (1, 48)))
    g.add_tensor(act("out", (1, 48)))
    mult, shift = random_requant(rng, 4, 1e-3, 0.02)
    g.add_node(Node("conv", "conv2d", ["x", "w", "b"], ["c"], Conv2dAttrs((2, 2), (1, 1, 1, 1), (1, 1), 1, 3, -5, mult, shift)))
    g.add_node(Node("flat", "reshape", ["c"], ["r"], ReshapeAttrs((1, 48))))
    g.add_node(Node("act", "lut", ["r"], ["out"], LutAttrs(make_table("hardswish", 0.05, -5, 0.03, -20), "hardswish")))
    g.inputs, g.outputs = ["x"], ["out"]
    verify(g)
    plan = plan_memory(select_kernels(g, HOST))
    assert plan.aliases == {"r": "c"}
    gen = generate(g, plan)
    src = gen.files[f"{gen.prefix}.c"]
    assert "tg_reshape_ref(" not in src and "runs in place" in src
    assert "tg_reshape_ref.c" not in {p.name for p in gen.runtime_files}
    xin = rng.integers(-128, 128, (1, 7, 5, 3)).astype(np.int8)
    (ref,) = interpreter.run(g, [xin])
    (host,) = compile_graph(g, tmp_path).invoke_one([xin])
    np.testing.assert_array_equal(host, ref)
    assert len(np.unique(ref)) > 3
