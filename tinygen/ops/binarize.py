"""binarize: int8 activations -> bit-packed signs (see tinygen/reference/bitpack.py).

    out bit[..., c] = 1 (i.e. -1) iff in[..., c] < zero_point, packed 32 channels per uint32 word

Input int8 NHWC [N,H,W,C] or [N,F]; output uint32 [N,H,W,ceil(C/32)] or [N,ceil(F/32)] with
padding bits 0. No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, register
from tinygen.reference import bitpack


@dataclass(frozen=True)
class BinarizeAttrs:
    zero_point: int  # of the int8 input: q < zero_point means a negative real value


@register
class Binarize(OpDef):
    name = "binarize"
    attrs_type = BinarizeAttrs
    kernels = (Kernel("tg_binarize_s8_simd", "tg_binarize.h", "tg_binarize_params", needs=frozenset({"dsp"})),
               reference_kernel("tg_binarize_s8_ref", "tg_binarize.h", "tg_binarize_params"))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        if x.dtype != DType.INT8 or o.dtype != DType.UINT32:
            raise ValueError("binarize takes int8 and writes packed uint32")
        if len(x.shape) not in (2, 4):
            raise ValueError(f"input must be [N,F] or [N,H,W,C], got {list(x.shape)}")
        want = x.shape[:-1] + (bitpack.words_for(x.shape[-1]),)
        if o.shape != want:
            raise ValueError(f"output shape should be {want}")

    def reference(self, node, graph, inputs):
        return [bitpack.pack_bits(bitpack.sign_bits(inputs[0], node.attrs.zero_point))]

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        fields = [
            ("pixels", int(np.prod(x.shape[1:-1], dtype=np.int64))),
            ("channels", x.shape[-1]),
            ("zero_point", node.attrs.zero_point),
        ]
        return KernelCall(fields,
                          [node.inputs[0]], list(node.outputs),
                          comment=f"binarize {x.shape[-1]} channels, zero point {node.attrs.zero_point}")
