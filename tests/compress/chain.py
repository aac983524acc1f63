"""Lowered int8 graphs built layer by layer for the compression tests (seeded, varied outputs)."""

from __future__ import annotations

import numpy as np

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.common import out_hw
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.fully_connected import FullyConnectedAttrs
from tinygen.ops.reshape import ReshapeAttrs
from tinygen.testing import random_requant


class Chain:
    """g = Chain(rng, (1, 6, 6, 3)); g.conv(8, 3, pad=1); g.flatten(); g.fc(5); g.graph"""

    def __init__(self, rng: np.random.Generator, shape, name: str = "chain"):
        self.rng = rng
        self.graph = Graph(name, dialect="lowered")
        self.zp = {}
        self.cur = self._act(shape)
        self.graph.inputs = [self.cur]

    def _act(self, shape) -> str:
        name = self.graph.unique_name("a")
        zp = int(self.rng.integers(-30, 30))
        self.graph.add_tensor(Tensor(name, tuple(shape), DType.INT8, QuantParams.per_tensor(0.05, zp)))
        self.zp[name] = zp
        return name

    def _const(self, base, data):
        return self.graph.add_const(base, data).name

    def _requant(self, cout, k):
        typical = 30.0 / (60.0 * 70.0 * np.sqrt(k))
        return random_requant(self.rng, cout, typical / 3, typical * 3)

    def conv(self, cout, k=1, pad=0, stride=1, groups=1, weights=None, bias=None, relu=False):
        x = self.graph.t(self.cur)
        cin = x.shape[3]
        w = weights if weights is not None else self.rng.integers(-127, 128, (cout, k, k, cin // groups))
        b = bias if bias is not None else self.rng.integers(-3000, 3000, cout)
        mult, shift = self._requant(cout, k * k * cin // groups)
        oh, ow = out_hw(x.shape, w.shape, Conv2dAttrs((stride, stride), (pad,) * 4, (1, 1), groups, 0, 0, mult,
                                                      shift))
        out = self._act((1, oh, ow, cout))
        attrs = Conv2dAttrs((stride, stride), (pad,) * 4, (1, 1), groups, -self.zp[self.cur], self.zp[out], mult,
                            shift, self.zp[out] if relu else -128, 127)
        return self._node("conv2d", [self._const("w", w.astype(np.int8)), self._const("b", np.asarray(b, np.int32))],
                          out, attrs)

    def fc(self, cout, weights=None, bias=None):
        x = self.graph.t(self.cur)
        w = weights if weights is not None else self.rng.integers(-127, 128, (cout, x.shape[1]))
        b = bias if bias is not None else self.rng.integers(-3000, 3000, cout)
        mult, shift = self._requant(cout, x.shape[1])
        out = self._act((1, cout))
        attrs = FullyConnectedAttrs(-self.zp[self.cur], self.zp[out], mult, shift)
        return self._node("fully_connected", [self._const("w", w.astype(np.int8)),
                                              self._const("b", np.asarray(b, np.int32))], out, attrs)

    def flatten(self):
        x = self.graph.t(self.cur)
        shape = (1, int(np.prod(x.shape[1:])))
        out = self._act(shape)
        self.zp[out] = self.zp[x.name]
        self.graph.t(out).quant = x.quant
        return self._node("reshape", [], out, ReshapeAttrs(shape))

    def _node(self, op, consts, out, attrs) -> str:
        name = self.graph.unique_name(op, "node")
        self.graph.add_node(Node(name, op, [self.cur, *consts], [out], attrs))
        self.cur = out
        return out

    def done(self) -> Graph:
        self.graph.outputs = [self.cur]
        return self.graph

    def inputs(self, seed=0):
        rng = np.random.default_rng(seed)
        return [rng.integers(-128, 128, self.graph.t(n).shape).astype(np.int8) for n in self.graph.inputs]
