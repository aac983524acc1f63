"""Plans exercised in real C: in-place ops, residual adds and a rescheduled branchy graph must stay
bit-exact with the numpy reference when compiled for the host."""

import numpy as np
import pytest

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import add_params
from tinygen.ops.concat import concat_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.lut import LutAttrs
from tinygen.plan import PlanOptions, plan_memory, plan_with_schedule
from tinygen.reference import interpreter
from tinygen.testing import compile_graph, reference_and_host

Q = QuantParams.per_tensor(0.05, 0)


class Net:
    def __init__(self, name, shape, seed):
        self.rng = np.random.default_rng(seed)
        self.g = Graph(name, dialect="lowered")
        self.g.add_tensor(Tensor("x", shape, DType.INT8, Q))
        self.g.inputs = ["x"]

    def _add_node(self, op, ins, shape, attrs):
        out = self.g.add_tensor(Tensor(self.g.unique_name("t"), tuple(shape), DType.INT8, Q)).name
        self.g.add_node(Node(self.g.unique_name(f"L{len(self.g.nodes)}_{op}"), op, ins, [out], attrs))
        return out

    def conv(self, x, cout, k=1, depthwise=False):
        n, h, w, cin = self.g.t(x).shape
        groups = cin if depthwise else 1
        m = tuple(int(v) for v in self.rng.integers(1 << 29, 1 << 30, cout))
        a = Conv2dAttrs((1, 1), (k // 2,) * 4, (1, 1), groups, 3, -2, m, (-6,) * cout)
        wt = self.g.add_const("w", self.rng.integers(-127, 128, (cout, k, k, cin // groups)).astype(np.int8))
        b = self.g.add_const("b", self.rng.integers(-300, 300, cout).astype(np.int32))
        return self._add_node("conv2d", [x, wt.name, b.name], (n, h, w, cout), a)

    def add(self, x, y):
        return self._add_node("add", [x, y], self.g.t(x).shape, add_params(0.05, 0, 0.04, 3, 0.07, -1))

    def lut(self, x):
        table = tuple(int(v) for v in np.clip(np.arange(-128, 128) // 2 + 9, -128, 127))
        return self._add_node("lut", [x], self.g.t(x).shape, LutAttrs(table, "test"))

    def concat(self, xs):
        shape = list(self.g.t(xs[0]).shape)
        shape[3] = sum(self.g.t(x).shape[3] for x in xs)
        return self._add_node("concat", xs, shape, concat_params([(0.05, 0)] * len(xs), (0.05, 0), 3))

    def done(self, y):
        self.g.outputs = [y]
        return self.g


def inverted_residual(seed):
    net = Net(f"invres{seed}", (1, 6, 5, 8), seed)
    x = net.lut(net.conv("x", 8))
    for _ in range(2):
        y = net.lut(net.conv(x, 24))
        y = net.conv(y, 24, 3, depthwise=True)
        x = net.add(x, net.conv(y, 8))
    return net.done(net.conv(x, 3))


def branchy(seed):
    """Two expand-project branches written breadth-first, joined by concat."""
    net = Net(f"branchy{seed}", (1, 5, 6, 4), seed)
    x = net.conv("x", 8)
    a, b = net.conv(x, 32), net.conv(x, 32, 3)
    a, b = net.conv(a, 4), net.conv(b, 4, 3)
    return net.done(net.conv(net.concat([a, b, x]), 5))


@pytest.mark.host
@pytest.mark.parametrize("seed", [0, 1], ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("make", [inverted_residual, branchy])
def test_planned_model_is_bit_exact(make, seed, tmp_path):
    g, plan = plan_with_schedule(make(seed))
    if make is inverted_residual:
        assert plan.aliases  # in-place lut / add really happen
    else:
        assert plan.lower_bound < plan_memory(make(seed)).lower_bound  # the schedule really changed
    x = np.random.default_rng(seed).integers(-128, 128, g.t("x").shape).astype(np.int8)
    (ref,), (host,) = reference_and_host(g, [x], tmp_path)
    np.testing.assert_array_equal(host, ref)
    assert len(np.unique(ref)) > 3


@pytest.mark.host
@pytest.mark.parametrize("make", [inverted_residual, branchy])
def test_input_in_the_arena_is_bit_exact_both_ways(make, tmp_path):
    """Input planned in the arena: written through <prefix>_input0_buffer() (no copy) or passed
    as the caller's own buffer (copied in first); both equal the reference, and the caller's
    buffer is left untouched."""
    g, plan = plan_with_schedule(make(3), PlanOptions(input_in_arena=True))
    assert plan.arena_inputs == ["x"]
    host = compile_graph(g, tmp_path, PlanOptions(input_in_arena=True))
    assert host.arena_inputs() == [0]
    rng = np.random.default_rng(3)
    for _ in range(2):  # the second call rewrites the input bytes the first one reused
        x = rng.integers(-128, 128, g.t("x").shape).astype(np.int8)
        keep = x.copy()
        (ref,) = interpreter.run(g, [x])
        np.testing.assert_array_equal(host.invoke_in_arena([x]), [ref])
        np.testing.assert_array_equal(host.invoke_one([x]), [ref])
        np.testing.assert_array_equal(x, keep)
