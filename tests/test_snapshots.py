"""Generated C for fixed integer graphs, compared byte for byte with the checked-in snapshots.

A change to codegen or a template that alters the output shows up as a diff here; regenerate with
`pytest tests/test_snapshots.py --update-snapshots` and review the diff like any other change."""

from pathlib import Path

import numpy as np
import pytest

from tinygen.select import HOST, select_kernels
from tinygen.codegen import generate
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.add import add_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.ops.mean import mean_params
from tinygen.plan import plan_with_schedule

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _residual_net() -> Graph:
    rng = np.random.default_rng(42)
    q = QuantParams.per_tensor(0.05, -3)
    g = Graph("snap_residual", dialect="lowered", inputs=["x"], outputs=["y"])
    g.add_tensor(Tensor("x", (1, 4, 4, 3), DType.INT8, q))
    for name, shape in [("a", (1, 4, 4, 4)), ("b", (1, 4, 4, 4)), ("s", (1, 4, 4, 4)), ("m", (1, 4)), ("y", (1, 2))]:
        g.add_tensor(Tensor(name, shape, DType.INT8, q))
    w1 = g.add_const("w1", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8))
    b1 = g.add_const("b1", rng.integers(-300, 300, 4).astype(np.int32))
    w2 = g.add_const("w2", rng.integers(-127, 128, (4, 1, 1, 4)).astype(np.int8))
    b2 = g.add_const("b2", np.zeros(4, np.int32))
    w3 = g.add_const("w3", rng.integers(-127, 128, (2, 4)).astype(np.int8))
    b3 = g.add_const("b3", np.array([5, -5], np.int32))
    conv = Conv2dAttrs((1, 1), (1, 1, 1, 1), (1, 1), 1, 3, -3, (1 << 30,) * 4, (-7,) * 4, -3, 127)
    pw = Conv2dAttrs((1, 1), (0, 0, 0, 0), (1, 1), 1, 3, -3, (1 << 30,) * 4, (-8,) * 4)
    g.add_node(Node("conv", "conv2d", ["x", w1.name, b1.name], ["a"], conv))
    g.add_node(Node("pw", "conv2d", ["a", w2.name, b2.name], ["b"], pw))
    g.add_node(Node("res", "add", ["a", "b"], ["s"], add_params(0.05, -3, 0.05, -3, 0.05, -3, -3, 127)))
    g.add_node(Node("gap", "mean", ["s"], ["m"], mean_params((1, 2), False, 16, 0.05, -3, 0.05, -3)))
    g.add_node(Node("fc", "fully_connected", ["m", w3.name, b3.name], ["y"],
                    FullyConnectedAttrs(3, -3, (1 << 30, 1 << 30), (-6, -6))))
    return g


CASES = {"residual": _residual_net}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_c_matches_snapshot(name, request):
    graph, plan = plan_with_schedule(select_kernels(CASES[name](), HOST))
    gen = generate(graph, plan, source=f"{name}.pt2")
    folder = SNAPSHOTS / name
    if request.config.getoption("--update-snapshots"):
        folder.mkdir(parents=True, exist_ok=True)
        for fname, text in gen.files.items():
            (folder / fname).write_text(text)
    for fname, text in gen.files.items():
        expected = folder / fname
        assert expected.exists(), f"no snapshot {expected}; run pytest --update-snapshots"
        assert text == expected.read_text(), f"{fname} differs from {expected}; review and --update-snapshots"
