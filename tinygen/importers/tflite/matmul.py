"""BATCH_MATMUL with a constant right-hand side, lowered onto a 1x1 conv2d over the rows of the
left-hand side (exact: TFLite Micro accumulates sum_k (x + x_offset) * (w + w_offset) in int32 and
requantizes with one multiplier s_x * s_w / s_out, which conv2d does with equal per-channel
multipliers).

The converter quantizes a constant right-hand side asymmetrically (a zero point z_w != 0): the
shifted weights w - z_w lie in [-255, 255]. When they do not fit int8, each is written as a sum of
int8 parts (two, or three for 255) and the conv reads the input once per part (concat of x with
itself along channels): sum_k (x + x_offset) * (p1 + p2 + ...) is the same int32 sum.
"""

from __future__ import annotations

import numpy as np

from tinygen.importers.tflite.context import TflImport, TflOp, handles
from tinygen.importers.tflite.reader import shape_text
from tinygen.ir.graph import DType
from tinygen.ops.concat import concat_params
from tinygen.ops.conv2d import Conv2dAttrs
from tinygen.ops.reshape import ReshapeAttrs
from tinygen.quant.params import conv_requant


@handles("BATCH_MATMUL", max_version=4)
def batch_matmul(ctx: TflImport, op: TflOp) -> None:
    o = op.options
    x_idx, w_idx, out_idx = op.inputs[0], op.inputs[1], op.outputs[0]
    ctx.require(x_idx, "int8", "left-hand side")
    ctx.require(out_idx, "int8", "output")
    wt = ctx.require(w_idx, "int8", "right-hand side")
    if not wt.is_const:
        raise ctx.error("the right-hand side is an activation; tinygen imports BATCH_MATMUL with constant weights")
    if o is not None and o.adjX:
        raise ctx.error("adj_x (a transposed left-hand side) is not supported; transpose the input explicitly")
    if wt.quantized and len(wt.scale) != 1:
        raise ctx.error(f"the right-hand side '{wt.label}' is quantized per channel; TFLite Micro's BATCH_MATMUL "
                        "takes one scale")
    xs, ws = tuple(ctx.t(x_idx).shape), tuple(wt.shape)
    if len(xs) < 3 or len(ws) < 2 or any(n != 1 for n in ws[:-2]):
        raise ctx.error(f"shapes {shape_text(xs)} x {shape_text(ws)}: tinygen needs a right-hand side without "
                        "batch dimensions (all leading dims 1)")
    w = ctx.const_data(w_idx, "right-hand side").reshape(ws[-2:]).astype(np.int32)
    w = w if (o is not None and o.adjY) else w.T  # -> [N, K]
    n_out, k = w.shape
    rows = int(np.prod(xs[1:-1]))
    if xs[-1] != k or tuple(ctx.t(out_idx).shape) != xs[:-1] + (n_out,):
        raise ctx.malformed(f"shapes {shape_text(xs)} x {shape_text(ws)} -> {shape_text(ctx.t(out_idx).shape)} "
                            "do not multiply")
    (s_x, zp_x), (s_w, zp_w), (s_out, zp_out) = ctx.qp(x_idx), ctx.qp(w_idx), ctx.qp(out_idx)
    shifted = w - zp_w
    parts, rest = [], shifted
    while not parts or rest.any():  # int8 parts summing to w - z_w: 1, 2, or 3 (w = 127 with z_w = -128)
        parts.append(np.clip(rest, -128, 127))
        rest = rest - parts[-1]
    xq = ctx.g.t(ctx.act(x_idx)).quant
    x = ctx.tmp(ctx.g.t(ctx.act(x_idx)).name + "_rows", (1, rows, 1, k), DType.INT8, xq)
    ctx.emit("reshape", [ctx.act(x_idx)], [x], ReshapeAttrs((1, rows, 1, k)), suffix="_rows")
    if len(parts) > 1:
        n = len(parts)
        repeated = ctx.tmp(ctx.g.t(x).name + f"_x{n}", (1, rows, 1, n * k), DType.INT8, xq)
        ctx.emit("concat", [x] * n, [repeated], concat_params([ctx.qp(x_idx)] * n, ctx.qp(x_idx), 3),
                 suffix="_repeat")
        x = repeated
    weights = np.concatenate(parts, axis=1).astype(np.int8).reshape(n_out, 1, 1, -1)
    mult, shift = conv_requant(s_x, [s_w] * n_out, s_out, mode="tflm")
    attrs = Conv2dAttrs((1, 1), (0, 0, 0, 0), (1, 1), 1, -zp_x, zp_out, mult, shift, -128, 127)
    y = ctx.tmp("matmul_rows", (1, rows, 1, n_out), DType.INT8, ctx.quant(out_idx))
    ctx.emit("conv2d", [x, ctx.const("weight", weights), ctx.const("bias", np.zeros(n_out, np.int32))], [y], attrs)
    ctx.emit("reshape", [y], [ctx.out(out_idx)], ReshapeAttrs(tuple(ctx.t(out_idx).shape)), suffix="_out")
