"""mean: int8 mean over contiguous non-batch axes (NHWC; (1, 2) is global average pooling).

    acc = sum over the reduced axes of (in + input_offset)                    (int32)
    out = clamp(requantize(acc << left_shift, multiplier, shift) + output_offset, -128, 127)

The real multiplier is s_in / (s_out * count), count = number of reduced values; multiplier and
shift hold it divided by 2^left_shift, the pre-scale that makes the result round(acc * M) as
PyTorch's float mean rounds it (tinygen/quant/params.py; 0 for imported .tflite models, as TFLM).
With keepdims the reduced axes stay as size 1, otherwise they are dropped ([1,H,W,C] -> [1,C]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops import requant_smmulr as rqf
from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, register
from tinygen.ops.common import requantize_to_int8
from tinygen.quant.params import mean_requant


@dataclass(frozen=True)
class MeanAttrs:
    axes: tuple[int, ...]  # sorted, contiguous, never the batch axis 0
    keepdims: bool
    input_offset: int  # -input zero point
    output_offset: int  # output zero point
    multiplier: int
    shift: int
    left_shift: int = 0  # pre-scale of the sum


def mean_params(axes, keepdims, count, s_in, zp_in, s_out, zp_out, mode: str = "torch") -> MeanAttrs:
    """mode "tflm": TFLM's multiplier divided by the count (tinygen/quant/params.py), not the real one."""
    r = mean_requant(s_in, s_out, count, int(count) * rqf.offset_bound(-int(zp_in)), mode=mode)
    return MeanAttrs(tuple(int(a) for a in axes), bool(keepdims), -int(zp_in), int(zp_out), r.multiplier, r.shift,
                     r.left_shift)


def mean_out_shape(in_shape, axes, keepdims) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(in_shape))
    return tuple(d for i, d in enumerate(in_shape) if i not in axes)


def check_reduction(x, out, axes, keepdims: bool, what: str) -> None:
    """Shared by the int8 reductions over contiguous non-batch axes (mean, variance)."""
    if not axes or axes[0] < 1 or axes[-1] >= len(x.shape) or list(axes) != list(range(axes[0], axes[-1] + 1)):
        raise ValueError(f"axes {axes} must be sorted, contiguous and inside 1..{len(x.shape) - 1}")
    if x.dtype.value != "int8" or out.dtype.value != "int8":
        raise ValueError(f"{what} takes and returns int8")
    if out.shape != mean_out_shape(x.shape, axes, keepdims):
        raise ValueError(f"output shape should be {mean_out_shape(x.shape, axes, keepdims)}")


def split_axes(in_shape, axes) -> tuple[int, int, int]:
    """(outer, reduce, inner) sizes of one sample: in viewed as [outer][reduce][inner]."""
    outer = int(np.prod(in_shape[1:axes[0]], dtype=np.int64))
    reduce = int(np.prod([in_shape[a] for a in axes], dtype=np.int64))
    inner = int(np.prod(in_shape[axes[-1] + 1:], dtype=np.int64))
    return outer, reduce, inner


def _fast_ok(node, graph) -> bool:
    """tg_mean_s8_fast: the sum, at most reduce * max|x + input_offset|, within tg_requant_smmulr.h's bound."""
    a = node.attrs
    shape = graph.t(node.inputs[0]).shape
    reduce = int(np.prod([shape[d] for d in a.axes]))
    return rqf.fits((reduce * rqf.offset_bound(a.input_offset)) << a.left_shift, [a.shift])


@register
class Mean(OpDef):
    name = "mean"
    attrs_type = MeanAttrs
    kernels = (Kernel("tg_mean_s8_fast", "tg_mean.h", "tg_mean_params", _fast_ok, needs=frozenset({"dsp"})),
               reference_kernel("tg_mean_s8_ref", "tg_mean.h", "tg_mean_params"))

    def check(self, node, graph):
        x = graph.t(node.inputs[0])
        a: MeanAttrs = node.attrs
        check_reduction(x, graph.t(node.outputs[0]), a.axes, a.keepdims, "mean")
        if split_axes(x.shape, a.axes)[1] * 256 >= 2**31:
            raise ValueError("too many values to sum in int32")
        if not 0 <= a.left_shift <= 30 or (split_axes(x.shape, a.axes)[1] * 256) << a.left_shift >= 2**31:
            raise ValueError(f"left_shift {a.left_shift}: the pre-scaled sum must fit int32")
        if not 0 <= a.multiplier < 2**31 or not -31 <= a.shift <= 30:
            raise ValueError("multiplier outside [0, 2^31) or shift outside [-31, 30]")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        a: MeanAttrs = node.attrs
        acc = (x.astype(np.int64) + a.input_offset).sum(axis=a.axes, keepdims=a.keepdims)
        return [requantize_to_int8(acc << a.left_shift, a.multiplier, a.shift, a.output_offset, -128, 127)]

    def macs(self, node, graph):  # one add per input value
        return graph.t(node.inputs[0]).size

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        a: MeanAttrs = node.attrs
        outer, reduce, inner = split_axes(x.shape, a.axes)
        fields = [("outer", outer), ("reduce", reduce), ("inner", inner),
                  ("input_offset", a.input_offset), ("output_offset", a.output_offset),
                  ("multiplier", a.multiplier), ("shift", a.shift), ("left_shift", a.left_shift)]
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs), comment=f"mean over axes {list(a.axes)} ({reduce} values)")
