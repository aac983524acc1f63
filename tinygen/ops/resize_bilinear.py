"""resize_bilinear: int8 bilinear resize of [N, H, W, C] to [N, OH, OW, C] on the raw codes, with
10-bit fractional source positions computed offline (TFLite Micro's integer rule).

For output row y the source rows are y0[y], y1[y] with weight wy[y] on y1 (a Q10 fraction, and
1024 - wy[y] on y0); columns alike. Then

    acc = in[y0,x0]*(1024-wy)*(1024-wx) + in[y1,x0]*wy*(1024-wx) + in[y0,x1]*(1024-wy)*wx + in[y1,x1]*wy*wx
    out = (acc + (acc > 0 ? 2^19 : -2^19)) / 2^20        (C division, truncating toward zero)

wy lies in (-512, 1024) (negative only where y0 == y1, at a border with half-pixel centres), so
|acc| < 128 * 2560^2 < 2^31 and every result is a convex combination of int8 codes. The output
keeps the input's quantization, as TFLite Micro requires.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import KernelCall, OpDef, c_values, reference_kernel, register
from tinygen.ops.resize_nearest import check_resize

ONE = 1 << 10


@dataclass(frozen=True)
class ResizeBilinearAttrs:
    y0: tuple[int, ...]
    y1: tuple[int, ...]
    wy: tuple[int, ...]  # Q10 weight of row y1
    x0: tuple[int, ...]
    x1: tuple[int, ...]
    wx: tuple[int, ...]  # Q10 weight of column x1


@register
class ResizeBilinear(OpDef):
    name = "resize_bilinear"
    attrs_type = ResizeBilinearAttrs
    kernels = (reference_kernel("tg_resize_bilinear_s8_ref", "tg_resize.h", "tg_resize_bilinear_params"),)

    def check(self, node, graph):
        a: ResizeBilinearAttrs = node.attrs
        if not len(a.y0) == len(a.y1) == len(a.wy) or not len(a.x0) == len(a.x1) == len(a.wx):
            raise ValueError("y0/y1/wy and x0/x1/wx need one entry per output row / column")
        check_resize(node, graph, len(a.y0), len(a.x0))
        h, w = graph.t(node.inputs[0]).shape[1:3]
        for lo, hi, wt, n in ((a.y0, a.y1, a.wy, h), (a.x0, a.x1, a.wx, w)):
            for i0, i1, f in zip(lo, hi, wt):
                if not (0 <= i0 <= i1 < n and -ONE // 2 < f < ONE and (f >= 0 or i0 == i1)):
                    raise ValueError(f"source ({i0}, {i1}, weight {f}) is outside the rule for {n} pixels")

    def reference(self, node, graph, inputs):
        a: ResizeBilinearAttrs = node.attrs
        x = inputs[0].astype(np.int64)
        wy = np.asarray(a.wy, np.int64)[None, :, None, None]
        wx = np.asarray(a.wx, np.int64)[None, None, :, None]
        r0, r1 = x[:, list(a.y0)], x[:, list(a.y1)]
        acc = (r0[:, :, list(a.x0)] * (ONE - wy) * (ONE - wx) + r1[:, :, list(a.x0)] * wy * (ONE - wx)
               + r0[:, :, list(a.x1)] * (ONE - wy) * wx + r1[:, :, list(a.x1)] * wy * wx)
        t = acc + np.where(acc > 0, 1 << 19, -(1 << 19))
        out = np.where(t >= 0, t >> 20, -((-t) >> 20))  # C division truncates toward zero
        return [out.astype(np.int8)]

    def emit(self, node, graph):
        a: ResizeBilinearAttrs = node.attrs
        x, out = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        fields = [("batches", x.shape[0]), ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("channels", x.shape[3]),
                  ("out_h", out.shape[1]), ("out_w", out.shape[2]),
                  ("y0", c_values(a.y0, "int16_t")), ("y1", c_values(a.y1, "int16_t")),
                  ("wy", c_values(a.wy, "int16_t", "Q10 weight of row y1")),
                  ("x0", c_values(a.x0, "int16_t")), ("x1", c_values(a.x1, "int16_t")),
                  ("wx", c_values(a.wx, "int16_t", "Q10 weight of column x1"))]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
                          comment=f"resize_bilinear {list(x.shape)} -> {list(out.shape)}".replace(", ", ","))
