"""mean_float: float32 mean over contiguous non-batch axes (global average pooling of LCE models).

    acc = 0; for each reduced position in row-major order: acc = acc + x      (float32)
    out = acc / (float)count

TFLite's reference float Mean sums in the same order and divides once; its optimized kernels may
not, in which case the results agree to float32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register
from tinygen.ops.mean import mean_out_shape, split_axes


@dataclass(frozen=True)
class MeanFloatAttrs:
    axes: tuple[int, ...]  # sorted, contiguous, never 0
    keepdims: bool


@register
class MeanFloat(OpDef):
    name = "mean_float"
    attrs_type = MeanFloatAttrs
    kernels = (reference_kernel("tg_mean_f32_ref", "tg_float.h", "tg_mean_f32_params"),)

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        ax = node.attrs.axes
        if not ax or ax[0] < 1 or ax[-1] >= len(x.shape) or list(ax) != list(range(ax[0], ax[-1] + 1)):
            raise ValueError(f"axes {ax} must be sorted, contiguous and inside 1..{len(x.shape) - 1}")
        if x.dtype != DType.FLOAT32 or o.dtype != DType.FLOAT32:
            raise ValueError("mean_float takes and returns float32")
        if o.shape != mean_out_shape(x.shape, ax, node.attrs.keepdims):
            raise ValueError(f"output shape should be {mean_out_shape(x.shape, ax, node.attrs.keepdims)}")

    def reference(self, node, graph, inputs):
        x = np.asarray(inputs[0], np.float32)
        outer, reduce, inner = split_axes((1,) + x.shape[1:], node.attrs.axes)
        v = x.reshape(x.shape[0], outer, reduce, inner)
        acc = np.zeros((x.shape[0], outer, inner), np.float32)
        for r in range(reduce):
            acc = (acc + v[:, :, r, :]).astype(np.float32)
        out = (acc / np.float32(reduce)).astype(np.float32)
        shape = mean_out_shape((x.shape[0],) + x.shape[1:], node.attrs.axes, node.attrs.keepdims)
        return [out.reshape(shape)]

    def macs(self, node, graph):
        return graph.t(node.inputs[0]).size

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        outer, reduce, inner = split_axes(x.shape, node.attrs.axes)
        return KernelCall([("outer", outer), ("reduce", reduce), ("inner", inner)], [node.inputs[0]],
                          list(node.outputs), comment=f"mean_float over axes {list(node.attrs.axes)} ({reduce} values)")
