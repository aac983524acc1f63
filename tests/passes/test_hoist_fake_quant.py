"""hoist_fake_quant on tiny float graphs: a quantizer after stack/concat moves to the producers."""

from tinygen.ir import float_ops as F
from tinygen.ir import float_ops_extra as FX
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ir.verify import verify
from tinygen.passes.assign_quant import assign_quant
from tinygen.passes.hoist_fake_quant import hoist_fake_quant

FQ = F.FakeQuant((0.05,), (-3,), -128, 127)
Q_IN = F.FakeQuant((0.1,), (0,), -128, 127)


def _stack_graph(extra_use: bool = False) -> Graph:
    """x -> fq -> {mean, variance} -> unsqueeze -> concat -> fq  (ECA's stack([mu, var]))."""
    g = Graph("t")
    for name, shape in [("x", (1, 3, 4, 5)), ("xq", (1, 3, 4, 5)), ("mu", (1, 3)), ("var", (1, 3)),
                        ("mu1", (1, 1, 3)), ("var1", (1, 1, 3)), ("cat", (1, 2, 3)), ("out", (1, 2, 3))]:
        g.add_tensor(Tensor(name, shape, DType.FLOAT32))
    g.inputs, g.outputs = ["x"], ["out"]
    g.add_node(Node("q0", "fake_quant", ["x"], ["xq"], Q_IN))
    g.add_node(Node("mean", "mean", ["xq"], ["mu"], F.Mean((2, 3), False)))
    g.add_node(Node("var", "variance", ["xq"], ["var"], FX.Variance((2, 3), False)))
    g.add_node(Node("r0", "reshape", ["mu"], ["mu1"], F.Reshape((1, 1, 3))))
    g.add_node(Node("r1", "reshape", ["var"], ["var1"], F.Reshape((1, 1, 3))))
    g.add_node(Node("cat", "concat", ["mu1", "var1"], ["cat"], F.Concat(1)))
    g.add_node(Node("q1", "fake_quant", ["cat"], ["out"], FQ))
    if extra_use:
        g.add_tensor(Tensor("mu2", (1, 3), DType.FLOAT32))
        g.add_node(Node("q2", "fake_quant", ["mu"], ["mu2"], FQ))
        g.outputs.append("mu2")
    verify(g)
    return g


def test_quantizer_moves_to_the_producers():
    g = hoist_fake_quant(_stack_graph())
    verify(g)
    ops = [n.op for n in g.nodes]
    assert ops == ["fake_quant", "mean", "fake_quant", "variance", "fake_quant", "reshape", "reshape", "concat"]
    assert [g.producer(n.inputs[0]).op for n in g.nodes[1:] if n.op == "fake_quant"] == ["mean", "variance"]
    g = assign_quant(g)
    q = QuantParams((0.05,), (-3,))
    assert g.t("mu").quant == q and g.t("var").quant == q and g.t(g.outputs[0]).quant == q
    assert [n.op for n in g.nodes] == ["mean", "variance", "reshape", "reshape", "concat"]


def test_shared_inputs_keep_their_grid():
    """The mean is also read elsewhere: its quantizer stops at the reshape (which then moves the
    values onto the stacked grid); the variance still gets the grid directly."""
    g = hoist_fake_quant(_stack_graph(extra_use=True))
    verify(g)
    assert g.producer("cat").op == "concat" and g.outputs[0] == "cat"
    fq_inputs = sorted(n.inputs[0] for n in g.nodes if n.op == "fake_quant")
    assert fq_inputs == ["mu", "mu1", "var", "x"]
    g = assign_quant(g)
    assert g.t("var").quant == QuantParams((0.05,), (-3,))
    assert g.t("mu").quant == QuantParams((0.1,), (0,))  # the mean stays on its input's grid
