"""conv2d and linear on int8 inputs -> conv2d / fully_connected (or their packed forms for 1/2/4-bit
weights, see packed.py) with per-channel requantization; bias and multipliers come from
tinygen/quant/params.py (lifted_conv_bias, conv_requant, mode "torch"): the bias lifts every
accumulator to non-negative values and the output offset takes the lift back, so that the kernels'
double rounding rounds once, as PyTorch does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tinygen.errors import QuantizationError
from tinygen.passes.lower.context import LowerCtx, act_range, check_symmetric_weights, lowers
from tinygen.passes.lower.packed import emit_conv, emit_fully_connected
from tinygen.quant.params import acc_bound, conv_bias, conv_requant, lifted_conv_bias

OFFSET_LIMIT = 1 << 16  # |output offset| the parameter verifier allows (tinygen/ir/verify_params.py)


class ConvRequant(NamedTuple):
    bias: np.ndarray  # int32
    multiplier: tuple[int, ...]
    shift: tuple[int, ...]
    output_offset: int


def bias_and_requant(ctx: LowerCtx, node, s_w: np.ndarray, s_in: float, s_out: float, zp_in: int,
                     zp_out: int) -> ConvRequant:
    """Integer bias, multipliers and output offset of a conv/linear node (see the module doc)."""
    cout = len(s_w)
    bias = ctx.src.t(node.inputs[2]).data.astype(np.float64) if len(node.inputs) > 2 else np.zeros(cout)
    if np.abs(conv_bias(bias, s_in, s_w)).max(initial=0) >= 2**31:
        raise ctx.error("bias does not fit int32 at scale s_in * s_w", QuantizationError)
    mult, shift = conv_requant(s_in, s_w, s_out, mode="torch")
    # the w16 output stage holds offset * 2^(31 + e) in an int64 (tinygen/ops/conv_gemm.py)
    limit = min(OFFSET_LIMIT, (1 << max(0, 30 - max(-s for s in shift))) - 1)
    lifted = lifted_conv_bias(bias / (np.float64(s_in) * np.asarray(s_w, np.float64)), mult, shift,
                              acc_bound(ctx.src.t(node.inputs[1]).data, -int(zp_in)), int(zp_out), limit)
    return ConvRequant(lifted.bias.astype(np.int32), mult, shift, int(zp_out) - lifted.lift)


@lowers("conv2d")
def lower_conv2d(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0])
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, "conv2d")
    qx, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    r = bias_and_requant(ctx, node, s_w, qx.scale[0], qo.scale[0], qx.zero_point[0], qo.zero_point[0])
    lo, hi = act_range(qo, node.attrs.activation)
    emit_conv(ctx, x.name, w.data, w.quant, r.bias, node.attrs, -qx.zero_point[0], r.output_offset, r.multiplier,
              r.shift, lo, hi, ctx.out(node.outputs[0]).name, w.name)


@lowers("linear")
def lower_linear(ctx: LowerCtx, node) -> None:
    x = ctx.x(node.inputs[0], allow_perm=True)
    if len(x.shape) != 2:
        raise ctx.error(f"linear on a rank-{len(x.shape)} input; flatten to [1, features] first")
    w = ctx.src.t(node.inputs[1])
    s_w = check_symmetric_weights(ctx, w, "linear")
    qx, qo = ctx.quant(node.inputs[0]), ctx.quant(node.outputs[0])
    r = bias_and_requant(ctx, node, s_w, qx.scale[0], qo.scale[0], qx.zero_point[0], qo.zero_point[0])
    data = w.data
    if x.name in ctx.perm:  # the input's features are stored channels-last: reorder the columns to match
        data = data[:, ctx.perm[x.name]]
    lo, hi = act_range(qo, node.attrs.activation)
    emit_fully_connected(ctx, x.name, data, w.quant, r.bias, -qx.zero_point[0], r.output_offset, r.multiplier,
                         r.shift, lo, hi, ctx.out(node.outputs[0]).name, w.name)
