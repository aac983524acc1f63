"""pad: constant padding of an int8 tensor (TFLite PAD / PADV2; the constant is a quantized value).

    out[n, h, w, c] = in[n, h - pad_h, w - pad_w, c - pad_c]   inside the input
                    = value                                   elsewhere

Input and output share one quantization; `value` is an int8 code (TFLite pads with the output zero
point, i.e. real 0). Rank 2..4, walked as NHWC ([N,F] as [N,1,1,F], [N,W,C] as [N,1,W,C]); the batch
axis is never padded. `paddings` holds (before, after) per axis of the tensor. No scratch.

A pad that only feeds a convolution and pads with the convolution's input zero point is better
folded into the convolution's own padding (exact: out-of-image taps contribute 0); the TFLite
importer does that and emits this op otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, register


@dataclass(frozen=True)
class PadAttrs:
    paddings: tuple[tuple[int, int], ...]  # (before, after) per axis, axis 0 (batch) = (0, 0)
    value: int  # int8 code written into the padding


def padded_shape(shape, paddings) -> tuple[int, ...]:
    return tuple(int(d) + int(b) + int(a) for d, (b, a) in zip(shape, paddings))


def _as4(shape, paddings):
    """Shape and paddings padded with leading size-1 axes to rank 4 (after the batch axis)."""
    extra = 4 - len(shape)
    return ((shape[0],) + (1,) * extra + tuple(shape[1:]),
            ((0, 0),) + ((0, 0),) * extra + tuple(tuple(p) for p in paddings[1:]))




@register
class Pad(OpDef):
    name = "pad"
    attrs_type = PadAttrs
    kernels = (Kernel("tg_pad_s8_fast", "tg_pad.h", "tg_pad_params"),
               reference_kernel("tg_pad_s8_ref", "tg_pad.h", "tg_pad_params"))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: PadAttrs = node.attrs
        if len(node.inputs) != 1 or x.dtype != DType.INT8 or o.dtype != DType.INT8:
            raise ValueError("pad takes one int8 tensor and writes int8")
        if not 2 <= len(x.shape) <= 4 or len(a.paddings) != len(x.shape):
            raise ValueError(f"pad needs rank 2..4 and one (before, after) pair per axis, got {list(x.shape)} "
                             f"and {len(a.paddings)} pairs")
        if tuple(a.paddings[0]) != (0, 0) or any(min(p) < 0 for p in a.paddings):
            raise ValueError("paddings must be >= 0 and the batch axis is never padded")
        if not -128 <= a.value <= 127:
            raise ValueError(f"pad value {a.value} is not an int8 code")
        if o.shape != padded_shape(x.shape, a.paddings):
            raise ValueError(f"output shape should be {list(padded_shape(x.shape, a.paddings))}")
        if x.quant and o.quant and not x.quant.same_grid(o.quant):
            raise ValueError("pad keeps its input's quantization")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        a: PadAttrs = node.attrs
        return [np.pad(x, [(0, 0)] + [tuple(p) for p in a.paddings[1:]], constant_values=a.value).astype(np.int8)]

    def emit(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        a: PadAttrs = node.attrs
        shape, pads = _as4(x.shape, a.paddings)
        oshape, _ = _as4(o.shape, a.paddings)
        fields = [("batches", shape[0]), ("in_h", shape[1]), ("in_w", shape[2]), ("in_c", shape[3]),
                  ("out_h", oshape[1]), ("out_w", oshape[2]), ("out_c", oshape[3]),
                  ("pad_h", pads[1][0]), ("pad_w", pads[2][0]), ("pad_c", pads[3][0]), ("value", a.value)]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
                          comment=f"pad {list(x.shape)} -> {list(o.shape)} with {a.value}".replace(", ", ","))
