"""transpose: int8 permutation of the axes of a dense tensor viewed at rank <= 6.

    out = transpose(x.reshape(view), perm).reshape(out.shape)

`view` is the input's shape split further where a layout change needs it (DEPTH_TO_SPACE views
[1, H, W, C] as [1, H, W, b, b, C/b^2]); view[0] is the batch and perm[0] == 0. TRANSPOSE,
DEPTH_TO_SPACE and SPACE_TO_DEPTH all lower to this op. The output keeps the input's
quantization. The C kernel walks the output densely over its six (padded) permuted dims and reads
input[sum_d i_d * in_stride_d], in_stride_d being the view's dense stride of axis perm[d].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import KernelCall, OpDef, reference_kernel, register

MAX_RANK = 6


@dataclass(frozen=True)
class TransposeAttrs:
    view: tuple[int, ...]  # the input viewed at this shape (leading batch included)
    perm: tuple[int, ...]  # output axis d is view axis perm[d]; perm[0] == 0


@register
class Transpose(OpDef):
    name = "transpose"
    attrs_type = TransposeAttrs
    kernels = (reference_kernel("tg_transpose_s8_ref", "tg_transpose.h", "tg_transpose_params"),)

    def check(self, node, graph):
        a: TransposeAttrs = node.attrs
        x, out = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        if len(node.inputs) != 1 or not 1 <= len(a.view) <= MAX_RANK:
            raise ValueError(f"transpose takes one input viewed at rank 1..{MAX_RANK}")
        if sorted(a.perm) != list(range(len(a.view))) or a.perm[0] != 0:
            raise ValueError(f"perm {list(a.perm)} is not a permutation of {len(a.view)} axes keeping axis 0")
        if (int(np.prod(a.view)) != x.size or a.view[0] != x.shape[0] or out.size != x.size
                or out.shape[0] != x.shape[0]):
            raise ValueError(f"view {list(a.view)} does not match input {list(x.shape)} and output {list(out.shape)}")
        if x.dtype.value != "int8" or out.dtype.value != "int8":
            raise ValueError("transpose is int8 only")
        if x.quant is not None and out.quant is not None and not x.quant.same_grid(out.quant):
            raise ValueError("output must keep the input's quantization")

    def reference(self, node, graph, inputs):
        a: TransposeAttrs = node.attrs
        (x,) = inputs
        out = graph.t(node.outputs[0]).shape
        y = np.transpose(x.reshape((x.shape[0], *a.view[1:])), a.perm)
        return [np.ascontiguousarray(y).reshape((x.shape[0], *out[1:]))]

    def emit(self, node, graph):
        a: TransposeAttrs = node.attrs
        dense = [int(np.prod(a.view[d + 1:])) for d in range(len(a.view))]
        pad = MAX_RANK - len(a.view)
        dims = (1,) * pad + tuple(a.view[p] for p in a.perm)
        strides = (0,) * pad + tuple(dense[p] for p in a.perm)
        fields = [(f"out_d{d}", int(v)) for d, v in enumerate(dims)]
        fields += [(f"in_s{d}", int(v)) for d, v in enumerate(strides)]
        return KernelCall(fields, [node.inputs[0]], list(node.outputs),
                          comment=f"transpose {list(a.view)} perm {list(a.perm)}".replace(", ", ","))
