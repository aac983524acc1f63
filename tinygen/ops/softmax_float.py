"""softmax_float: float32 softmax over the last axis (the classifier head of LCE models).

    m = max of the row; e[c] = expf_tg((in[c] - m) * beta); s = sum of e in order; out[c] = e[c] / s

expf_tg is tinygen's own float32 exponential, so the numpy reference and the C kernel agree to the
bit on any platform (libm and numpy's SIMD exp differ in the last ulp):

    x < -87.3:  0
    n = floor(x * log2(e) + 0.5);  r = (x - n * LN2_HI) - n * LN2_LO
    p = ((((((1/720 r + 1/120) r + 1/24) r + 1/6) r + 1/2) r + 1) r + 1)      Horner, float32 ops
    result = p * 2^n   (2^n built from its bits: exact scaling)

It is within 2 ulp of exp() for x <= 0, so against TFLite's float softmax the outputs agree to a
few float32 ulps, not bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register
from tinygen.ops.float_util import F32, bits

LOG2E = F32(1.44269504088896341)
LN2_HI = F32(0.693359375)
LN2_LO = F32(-2.12194440e-4)
EXP_POLY = tuple(F32(c) for c in (1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1.0, 1.0))
EXP_MIN = F32(-87.3)


def expf_tg(x: np.ndarray) -> np.ndarray:
    """tinygen's float32 exp (see the module docstring); every step is one float32 operation."""
    x = np.asarray(x, np.float32)
    xc = np.maximum(x, EXP_MIN)
    n = np.floor((xc * LOG2E).astype(np.float32) + F32(0.5)).astype(np.float32)
    r = (xc - (n * LN2_HI).astype(np.float32)).astype(np.float32)
    r = (r - (n * LN2_LO).astype(np.float32)).astype(np.float32)
    p = np.full_like(r, EXP_POLY[0])
    for c in EXP_POLY[1:]:
        p = ((p * r).astype(np.float32) + c).astype(np.float32)
    scale = ((n.astype(np.int32) + 127) << 23).astype(np.uint32).view(np.float32)
    return np.where(x < EXP_MIN, F32(0), (p * scale).astype(np.float32)).astype(np.float32)


@dataclass(frozen=True)
class SoftmaxFloatAttrs:
    beta: float = 1.0  # float32 value


@register
class SoftmaxFloat(OpDef):
    name = "softmax_float"
    attrs_type = SoftmaxFloatAttrs
    kernels = (reference_kernel("tg_softmax_f32_ref", "tg_float.h", "tg_softmax_f32_params", inplace_ok=True),)

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        if x.dtype != DType.FLOAT32 or o.dtype != DType.FLOAT32 or x.shape != o.shape or len(x.shape) < 2:
            raise ValueError("softmax_float maps a float32 [N, ..., depth] tensor to float32 of the same shape")

    def reference(self, node, graph, inputs):
        x = np.asarray(inputs[0], np.float32)
        d = ((x - x.max(axis=-1, keepdims=True)).astype(np.float32) * F32(node.attrs.beta)).astype(np.float32)
        e = expf_tg(d)
        s = np.zeros(x.shape[:-1] + (1,), np.float32)
        for c in range(x.shape[-1]):
            s = (s + e[..., c:c + 1]).astype(np.float32)
        return [(e / s).astype(np.float32)]

    def inplace_input(self, node, graph):
        return 0

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        return KernelCall([("rows", x.size // x.shape[-1]), ("row_size", x.shape[-1]),
                           ("beta", bits(node.attrs.beta))],
                          [node.inputs[0]], list(node.outputs), comment=f"softmax_float over {x.shape[-1]}")
