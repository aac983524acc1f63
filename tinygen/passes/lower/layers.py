"""conv2d and linear on int8 inputs -> conv2d / fully_connected (or their packed forms for 1/2/4-bit
weights, see packed.py) with per-channel requantization; bias and multipliers come from
tinygen/quant/params.py (conv_bias, conv_requant, mode "torch").
"""

from __future__ import annotations

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.passes.lower.context import LowerCtx, act_range, check_symmetric_weights, lowers
from tinygen.passes.lower.packed import emit_conv, emit_fully_connected
from tinygen.quant.params import conv_bias, conv_requant


def bias_and_requant(ctx: LowerCtx, node, s_w: np.ndarray, s_in: float, s_out: float):
    cout = len(s_w)
    bias = ctx.src.t(node.inputs[2]).data.astype(np.float64) if len(node.inputs) > 2 else np.zeros(cout)
    bias_q = conv_bias(bias, s_in, s_w)
    if np.abs(bias_q).max(initial=0) >= 2**31:
        raise ctx.error("bias does not fit int32 at scale s_in * s_w", QuantizationError)
    mult, shift = conv_requant(s_in, s_w, s_out, mode="torch")
    return bias_q.astype(np.int32), mult, shift


@lowers("conv2d")
def lower_conv2d(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0])
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, "conv2d")
    qx, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    bias, mult, shift = bias_and_requant(ctx, node, s_w, qx.scale[0], qo.scale[0])
    lo, hi = act_range(qo, node.attrs.activation)
    emit_conv(ctx, x.name, w.data, w.quant, bias, node.attrs, -qx.zero_point[0], qo.zero_point[0], mult, shift, lo, hi,
              ctx.out(node.outputs[0]).name, w.name)


@lowers("linear")
def lower_linear(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0], allow_perm=True)
    if len(x.shape) != 2:
        raise ctx.error(f"linear on a rank-{len(x.shape)} input; flatten to [1, features] first")
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, "linear")
    qx, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    bias, mult, shift = bias_and_requant(ctx, node, s_w, qx.scale[0], qo.scale[0])
    data = w.data
    if x.name in ctx.perm:  # the input's features are stored channels-last: reorder the columns to match
        data = data[:, ctx.perm[x.name]]
    lo, hi = act_range(qo, node.attrs.activation)
    emit_fully_connected(ctx, x.name, data, w.quant, bias, -qx.zero_point[0], qo.zero_point[0], mult, shift, lo, hi,
                         ctx.out(node.outputs[0]).name, w.name)
