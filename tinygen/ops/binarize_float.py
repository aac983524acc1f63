"""binarize_float / unbinarize_float: float32 <-> bit-packed signs (LCE's LceQuantize / LceDequantize).

    binarize_float:    bit[..., c] = in[..., c] < 0.0f        (1 means -1; -0.0 and NaN give 0)
    unbinarize_float:  out[..., c] = bit ? -1.0f : +1.0f

Packing as tinygen/reference/bitpack.py (32 channels per uint32 word, padding bits 0); exact, as
Larq Compute Engine computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register
from tinygen.reference import bitpack


def _pixels(shape) -> int:
    return int(np.prod(shape[1:-1], dtype=np.int64))


@register
class BinarizeFloat(OpDef):
    name = "binarize_float"
    attrs_type = None
    kernels = (reference_kernel("tg_binarize_f32_ref", "tg_float.h", "tg_binarize_f32_params"),)

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        if x.dtype != DType.FLOAT32 or o.dtype != DType.UINT32:
            raise ValueError("binarize_float takes float32 and writes packed uint32")
        if o.shape != x.shape[:-1] + (bitpack.words_for(x.shape[-1]),):
            raise ValueError(f"output shape should be {x.shape[:-1] + (bitpack.words_for(x.shape[-1]),)}")

    def reference(self, node, graph, inputs):
        return [bitpack.pack_bits(np.asarray(inputs[0], np.float32) < np.float32(0))]

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        return KernelCall([("pixels", _pixels(x.shape)), ("channels", x.shape[-1])], [node.inputs[0]],
                          list(node.outputs), comment=f"binarize_float {x.shape[-1]} channels")


@dataclass(frozen=True)
class UnbinarizeFloatAttrs:
    channels: int  # real channels (the input holds ceil(channels / 32) words)


@register
class UnbinarizeFloat(OpDef):
    name = "unbinarize_float"
    attrs_type = UnbinarizeFloatAttrs
    kernels = (reference_kernel("tg_unbinarize_f32_ref", "tg_float.h", "tg_unbinarize_f32_params"),)

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        c = node.attrs.channels
        if x.dtype != DType.UINT32 or o.dtype != DType.FLOAT32:
            raise ValueError("unbinarize_float takes packed uint32 and writes float32")
        if x.shape[-1] != bitpack.words_for(c) or o.shape != x.shape[:-1] + (c,):
            raise ValueError(f"{c} channels: input [..., {bitpack.words_for(c)}] and output [..., {c}] expected")

    def reference(self, node, graph, inputs):
        return [bitpack.unpack_pm1(inputs[0], node.attrs.channels).astype(np.float32)]

    def emit(self, node, graph):
        o = graph.t(node.outputs[0])
        return KernelCall([("pixels", _pixels(o.shape)), ("channels", o.shape[-1])], [node.inputs[0]],
                          list(node.outputs), comment=f"unbinarize_float {o.shape[-1]} channels")
