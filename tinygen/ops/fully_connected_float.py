"""fully_connected_float: float32 matrix-vector product (LCE's float head, e.g. a Larq QuantDense
whose +-alpha weights LCE keeps in float32).

    acc = 0; for k: acc = acc + x[n, k] * w[o, k]          (float32, in order)
    out[n, o] = clamp(acc + bias[o], act_lo, act_hi)

Input [N, K], weight [Cout, K], bias [Cout] (constants, float32). The summation order is tinygen's,
so against TFLite's float kernel the result agrees to float32 rounding (see float_util.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register
from tinygen.ops.float_util import bits, clamp, f32_bits


@dataclass(frozen=True)
class FullyConnectedFloatAttrs:
    act_lo: float = float("-inf")
    act_hi: float = float("inf")


@register
class FullyConnectedFloat(OpDef):
    name = "fully_connected_float"
    attrs_type = FullyConnectedFloatAttrs
    kernels = (reference_kernel("tg_fully_connected_f32_ref", "tg_float.h", "tg_fully_connected_f32_params"),)

    def check(self, node, graph):
        x, w, b = (graph.t(i) for i in node.inputs)
        if any(t.dtype != DType.FLOAT32 for t in (x, w, b)) or not (w.is_const and b.is_const):
            raise ValueError("fully_connected_float takes float32 input and constant float32 weight and bias")
        if len(x.shape) != 2 or len(w.shape) != 2 or w.shape[1] != x.shape[1] or b.shape != (w.shape[0],):
            raise ValueError(f"input {list(x.shape)}, weight {list(w.shape)}, bias {list(b.shape)} do not fit")
        if graph.t(node.outputs[0]).shape != (x.shape[0], w.shape[0]):
            raise ValueError(f"output shape should be {(x.shape[0], w.shape[0])}")

    def reference(self, node, graph, inputs):
        x, w, b = (np.asarray(v, np.float32) for v in inputs)
        acc = np.zeros((x.shape[0], w.shape[0]), np.float32)
        for k in range(w.shape[1]):
            acc = (acc + (x[:, k:k + 1] * w[None, :, k]).astype(np.float32)).astype(np.float32)
        return [clamp((acc + b).astype(np.float32), node.attrs.act_lo, node.attrs.act_hi)]

    def macs(self, node, graph):
        w = graph.t(node.inputs[1])
        return graph.t(node.inputs[0]).shape[0] * w.shape[0] * w.shape[1]

    def emit(self, node, graph):
        w, b = graph.t(node.inputs[1]), graph.t(node.inputs[2])
        a = node.attrs
        fields = [("in_features", w.shape[1]), ("out_features", w.shape[0]),
                  ("act_lo", bits(a.act_lo)), ("act_hi", bits(a.act_hi)),
                  ("weight", f32_bits(w.data, f"[Cout, K] {list(w.shape)}")), ("bias", f32_bits(b.data))]
        return KernelCall(fields,
                          [node.inputs[0]], list(node.outputs),
                          comment=f"fully_connected_float {w.shape[1]}->{w.shape[0]}")
