"""int8-activation conv2d / fully_connected emission, choosing the weight storage.

    weights declared with <= 16 integer levels (KBitConv2d, binary weights on int8 inputs,
    any fake-quant with a narrow [qmin, qmax])  ->  conv2d_packed / fully_connected_packed with
    1-, 2- or 4-bit codes:  value = code * step + offset  (tinygen/reference/bitpack.py)
    anything wider                               ->  conv2d / fully_connected with int8 weights

Storage is decided from the declared integer range (widened when negation was needed), never
from the values that happen to occur, so a model's layers keep the storage its author asked for:
1 bit when the weights are binary (+-1 everywhere), else the smallest of 2 and 4 bits that holds
every level from qmin to qmax, else 8 bits. Both forms compute the same integers.
"""

from __future__ import annotations

import numpy as np

from tinygen.ir import float_ops as F
from tinygen.ir.graph import QuantParams
from tinygen.passes.lower.context import LowerCtx
from tinygen.reference import bitpack


def weight_storage(values: np.ndarray, q: QuantParams, negated: bool = False) -> tuple[int, int]:
    """(bits, weight_offset) for integer weights `values` quantized by `q` (bits 8: plain int8).
    `negated`: some channels were multiplied by -1, so the range must also hold [-qmax, -qmin]."""
    lo, hi = (min(q.qmin, -q.qmax), max(q.qmax, -q.qmin)) if negated else (q.qmin, q.qmax)
    lo, hi = min(lo, int(values.min(initial=0))), max(hi, int(values.max(initial=0)))
    if q.bits == 1 and values.size and np.all(np.abs(values) == 1):
        return 1, 0
    for bits in (2, 4):
        if hi - lo + 1 <= 1 << bits:
            return bits, lo
    return 8, 0


def emit_conv(ctx: LowerCtx, x: str, w_oihw: np.ndarray, q: QuantParams, bias: np.ndarray, a: F.Conv2d,
              input_offset: int, output_offset: int, mult, shift, lo: int, hi: int, out: str, wname: str,
              negated: bool = False) -> None:
    from tinygen.ops.conv2d import Conv2dAttrs
    from tinygen.ops.conv2d_packed import Conv2dPackedAttrs

    ohwi = np.ascontiguousarray(w_oihw.transpose(0, 2, 3, 1))
    bits, offset = weight_storage(ohwi, q, negated)
    if bits == 8:
        attrs = Conv2dAttrs(a.stride, a.padding, a.dilation, a.groups, input_offset, output_offset, mult, shift, lo, hi)
        wt = ctx.const(wname, ohwi.astype(np.int8), q)
        bt = ctx.const(ctx.node.name + "_bias", np.asarray(bias, np.int32))
        ctx.emit("conv2d", [x, wt.name, bt.name], [out], attrs)
        return
    attrs = Conv2dPackedAttrs(a.stride, a.padding, a.dilation, a.groups, input_offset, output_offset, mult, shift,
                              (ohwi.shape[1], ohwi.shape[2]), bits, offset, lo, hi)
    wt = ctx.const(f"{wname}_b{bits}", bitpack.pack_weights(ohwi, bits, offset))
    bt = ctx.const(ctx.node.name + "_bias", np.asarray(bias, np.int32))
    ctx.emit("conv2d_packed", [x, wt.name, bt.name], [out], attrs)


def emit_fully_connected(ctx: LowerCtx, x: str, w: np.ndarray, q: QuantParams, bias: np.ndarray, input_offset: int,
                         output_offset: int, mult, shift, lo: int, hi: int, out: str, wname: str,
                         negated: bool = False) -> None:
    """`w` is [Cout, K] with its columns already in the input's storage order."""
    from tinygen.ops.fully_connected import FullyConnectedAttrs
    from tinygen.ops.fully_connected_packed import FullyConnectedPackedAttrs

    bits, offset = weight_storage(w, q, negated)
    if bits == 8:
        attrs = FullyConnectedAttrs(input_offset, output_offset, mult, shift, lo, hi)
        wt = ctx.const(wname, np.ascontiguousarray(w).astype(np.int8), q)
        bt = ctx.const(ctx.node.name + "_bias", np.asarray(bias, np.int32))
        ctx.emit("fully_connected", [x, wt.name, bt.name], [out], attrs)
        return
    attrs = FullyConnectedPackedAttrs(input_offset, output_offset, mult, shift, bits, offset, lo, hi)
    wt = ctx.const(f"{wname}_b{bits}", bitpack.pack_weights(w, bits, offset))
    bt = ctx.const(ctx.node.name + "_bias", np.asarray(bias, np.int32))
    ctx.emit("fully_connected_packed", [x, wt.name, bt.name], [out], attrs)
