"""prelu: int8 parametric ReLU with a constant int8 alpha repeating over the trailing dims
(TFLite Micro's PRELU arithmetic).

    v = in[i] + input_offset
    out[i] = clamp(v >= 0 ? requantize(v, multiplier_pos, shift_pos)
                          : requantize(v * (alpha[i % alpha_size] + alpha_offset), multiplier_neg, shift_neg)
                   + output_offset, -128, 127)

multiplier_pos = s_in / s_out and multiplier_neg = s_in * s_alpha / s_out (TFLM's two multipliers,
each with TFLM's double rounding). alpha holds the values of the trailing dims it varies over (a
per-channel alpha has C entries), so alpha_size divides the element count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import KernelCall, OpDef, reference_kernel, register
from tinygen.reference import fixedpoint as fx


@dataclass(frozen=True)
class PreluAttrs:
    input_offset: int
    alpha_offset: int
    output_offset: int
    multiplier_pos: int
    shift_pos: int
    multiplier_neg: int
    shift_neg: int


@register
class Prelu(OpDef):
    name = "prelu"
    attrs_type = PreluAttrs
    kernels = (reference_kernel("tg_prelu_s8_ref", "tg_prelu.h", "tg_prelu_params"),)

    def check(self, node, graph):
        if len(node.inputs) != 2:
            raise ValueError("prelu takes the input and a constant alpha")
        x, alpha, out = graph.t(node.inputs[0]), graph.t(node.inputs[1]), graph.t(node.outputs[0])
        if alpha.data is None or alpha.size < 1 or x.size % alpha.size or (x.size // x.shape[0]) % alpha.size:
            raise ValueError(f"alpha must be a constant whose size divides a sample's {x.size // x.shape[0]} values")
        if not (x.dtype.value == alpha.dtype.value == out.dtype.value == "int8") or x.shape != out.shape:
            raise ValueError("prelu maps an int8 tensor to an int8 tensor of the same shape with an int8 alpha")

    def reference(self, node, graph, inputs):
        a: PreluAttrs = node.attrs
        x = inputs[0].astype(np.int64)
        alpha = np.asarray(graph.t(node.inputs[1]).data, np.int64).reshape(-1)
        flat = x.reshape(x.shape[0], -1)
        al = np.tile(alpha, flat.shape[1] // alpha.size)[None, :] + a.alpha_offset
        v = flat + a.input_offset
        y = np.where(v >= 0, fx.requantize(v, a.multiplier_pos, a.shift_pos),
                     fx.requantize(v * al, a.multiplier_neg, a.shift_neg)) + a.output_offset
        return [np.clip(y, -128, 127).astype(np.int8).reshape(x.shape)]

    def inplace_input(self, node, graph):
        return 0

    def emit(self, node, graph):
        a: PreluAttrs = node.attrs
        x, alpha = graph.t(node.inputs[0]), graph.t(node.inputs[1])
        fields = [("size", x.size), ("alpha_size", alpha.size), ("input_offset", a.input_offset),
                  ("alpha_offset", a.alpha_offset), ("output_offset", a.output_offset),
                  ("multiplier_pos", a.multiplier_pos), ("shift_pos", a.shift_pos),
                  ("multiplier_neg", a.multiplier_neg), ("shift_neg", a.shift_neg)]
        return KernelCall(fields, list(node.inputs), list(node.outputs),
                          comment=f"prelu {list(x.shape)} alpha {alpha.size}".replace(", ", ","))
