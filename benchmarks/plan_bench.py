"""Memory planner benchmark: arena bytes against the lower bound, per model.

For each model: the plan in the given node order, then after `schedule` (`plan_with_schedule`).
The target is an arena within 5% of the lower bound. Models are synthetic lowered graphs for now
(real conv2d / add / concat nodes with zero weights: the planner only looks at shapes and op
facts), then real PyTorch models imported and lowered by tinygen: MobileNetV2 0.35 at 96x96 (random
weights, int8 QAT modules) and the examples' exported models when they have been built
(examples/*/build/*.pt2; `bash scripts/run.sh` makes them).

    .venv/bin/python benchmarks/plan_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor  # noqa: E402
from tinygen.ir.verify import verify  # noqa: E402
from tinygen.ops.add import add_params  # noqa: E402
from tinygen.ops.concat import concat_params  # noqa: E402
from tinygen.ops.conv2d import Conv2dAttrs, out_hw  # noqa: E402
from tinygen.plan import plan_memory, plan_with_schedule  # noqa: E402

Q = QuantParams.per_tensor(0.05, 0)


class NetBuilder:
    """Lowered NHWC int8 graphs from conv2d, add and concat nodes."""

    def __init__(self, name: str, hwc: tuple[int, int, int]):
        self.g = Graph(name, dialect="lowered")
        self.g.add_tensor(Tensor("input", (1, *hwc), DType.INT8, Q))
        self.g.inputs.append("input")

    def _out(self, base: str, shape) -> str:
        return self.g.add_tensor(Tensor(self.g.unique_name(base), tuple(shape), DType.INT8, Q)).name

    def _node(self, op: str, ins: list[str], out: str, attrs) -> str:
        self.g.add_node(Node(self.g.unique_name(f"{op}{len(self.g.nodes)}"), op, ins, [out], attrs))
        return out

    def conv(self, x: str, cout: int, k: int = 1, stride: int = 1, depthwise: bool = False) -> str:
        _, h, w, cin = self.g.t(x).shape
        groups = cin if depthwise else 1
        p = k // 2
        a = Conv2dAttrs((stride, stride), (p, p, p, p), (1, 1), groups, 0, 0, (1 << 30,) * cout, (-8,) * cout)
        wt = self.g.add_const("w", np.zeros((cout, k, k, cin // groups), np.int8))
        b = self.g.add_const("b", np.zeros(cout, np.int32))
        oh, ow = out_hw((1, h, w, cin), wt.shape, a)
        return self._node("conv2d", [x, wt.name, b.name], self._out("t", (1, oh, ow, cout)), a)

    def add(self, x: str, y: str) -> str:
        return self._node("add", [x, y], self._out("t", self.g.t(x).shape), add_params(0.05, 0, 0.05, 0, 0.05, 0))

    def concat(self, xs: list[str]) -> str:
        shape = list(self.g.t(xs[0]).shape)
        shape[3] = sum(self.g.t(x).shape[3] for x in xs)
        return self._node("concat", xs, self._out("t", shape), concat_params([(0.05, 0)] * len(xs), (0.05, 0), 3))

    def finish(self, y: str) -> Graph:
        self.g.outputs.append(y)
        verify(self.g)
        return self.g


def make_divisible(v: float, d: int = 8) -> int:
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def mobilenet_v2(alpha: float = 0.35, size: int = 96) -> Graph:
    """MobileNetV2: 3x3/2 stem, inverted residual blocks (1x1 expand x t, depthwise 3x3, 1x1
    project, residual add when stride 1 and channels match), 1x1 conv to 1280."""
    nb = NetBuilder(f"mobilenetv2_{int(alpha * 100):03d}_{size}", (size, size, 3))
    x = nb.conv("input", make_divisible(32 * alpha), 3, 2)
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        cout = make_divisible(c * alpha)
        for i in range(n):
            stride = s if i == 0 else 1
            cin = nb.g.t(x).shape[3]
            y = nb.conv(x, cin * t, 1) if t != 1 else x
            y = nb.conv(y, cin * t, 3, stride, depthwise=True)
            y = nb.conv(y, cout, 1)
            x = nb.add(x, y) if stride == 1 and cin == cout else y
    return nb.finish(nb.conv(x, 1280, 1))


def inception_like(size: int = 96) -> Graph:
    """Three stages of three-branch blocks (1x1; 1x1 expand-3x3; 1x1 expand-3x3-3x3, the expanded
    layers 4x wider than the branch outputs) joined by concat, written breadth-first (every
    branch's first layer, then every second layer...): a poor order `schedule` should fix."""
    nb = NetBuilder(f"inception_like_{size}", (size, size, 3))
    x = nb.conv("input", 16, 3, 2)
    for width in (8, 16, 24):
        for _ in range(2):
            a = nb.conv(x, width, 1)
            b = nb.conv(x, width * 4, 1)
            c = nb.conv(x, width * 4, 1)
            b = nb.conv(b, width, 3)
            c = nb.conv(c, width * 4, 3)
            c = nb.conv(c, width, 3)
            x = nb.concat([a, b, c])
        x = nb.conv(x, width * 2, 3, 2)
    return nb.finish(nb.conv(x, 64, 1))


def _lowered(path_or_model, name: str, input_shape=None) -> Graph:
    from tinygen.pipeline import import_any, lower_model

    graph, _ = import_any(path_or_model, input_shape)
    g = lower_model(graph, name)
    g.name = name
    return g


def torch_mobilenet_v2() -> Graph:
    from tests.torch_models import mobilenet_v2 as torch_mnv2

    model, shape = torch_mnv2(0.35, 96)
    return _lowered(model, "torch_mobilenetv2_035_96", shape)


def example_models() -> list:
    root = Path(__file__).resolve().parents[1] / "examples"
    found = sorted(root.glob("*/build/*.pt2")) + sorted(root.glob("*/build/*.pt"))
    return [lambda p=p: _lowered(p, p.stem) for p in found]


MODELS = [mobilenet_v2, inception_like, torch_mobilenet_v2]


def main() -> int:
    print(f"{'model':<24} {'nodes':>5} {'order':<9} {'arena':>9} {'lower bd':>9} {'ratio':>6}  {'method':<18} {'ms':>6}")
    worst = 0.0
    for make in MODELS + example_models():
        g = make()
        for label, run in (("given", lambda: (g, plan_memory(g))), ("scheduled", lambda: plan_with_schedule(g))):
            t0 = time.perf_counter()
            _, plan = run()
            ms = (time.perf_counter() - t0) * 1e3
            ratio = plan.arena_bytes / plan.lower_bound if plan.lower_bound else 1.0
            worst = max(worst, ratio)
            print(f"{g.name:<24} {len(g.nodes):>5} {label:<9} {plan.arena_bytes:>9} {plan.lower_bound:>9}"
                  f" {ratio:>6.3f}  {plan.method:<18} {ms:>6.0f}")
    print(f"worst arena / lower bound: {worst:.3f} (target <= 1.050)")
    return 0 if worst <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
