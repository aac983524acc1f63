"""slice: strided int8 slice, exactly `size` elements per dim.

    out = x[b0 : b0 + size0*step0 : step0, b1 : ..., ...]

One (begin, size, step) per input dim, rank <= 4, step != 0 (a negative step walks backwards from
begin, as in Python: x[b : b + size*step : step]). Dim 0 is the batch and is kept whole
(begin 0, size = its extent). The output keeps the input's quantization. The C kernel walks the
output as [N,H,W,C] (lower ranks padded with leading 1s) and reads
input[in_offset + n*in_sn + h*in_sh + w*in_sw + c*in_sc], with in_offset = sum_d begin_d*stride_d
and in_s<d> = step_d*stride_d over the input's dense strides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, register


@dataclass(frozen=True)
class SliceAttrs:
    begin: tuple[int, ...]
    size: tuple[int, ...]
    step: tuple[int, ...]


def _pad4(v, fill: int) -> tuple[int, ...]:
    return (fill,) * (4 - len(v)) + tuple(v)


def _fast_ok(node, graph) -> bool:
    """tg_slice_s8_fast copies contiguous runs: unit step on the last axis, forward steps elsewhere."""
    a = node.attrs
    return (a.step[-1] == 1 or a.size[-1] == 1) and min(a.step) >= 1


@register
class Slice(OpDef):
    name = "slice"
    attrs_type = SliceAttrs
    kernels = (Kernel("tg_slice_s8_fast", "tg_slice.h", "tg_slice_params", _fast_ok),
               reference_kernel("tg_slice_s8_ref", "tg_slice.h", "tg_slice_params"))

    def check(self, node, graph):
        a: SliceAttrs = node.attrs
        x, out = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        r = len(x.shape)
        if len(node.inputs) != 1 or not 1 <= r <= 4:
            raise ValueError("slice takes one input of rank 1..4")
        if not len(a.begin) == len(a.size) == len(a.step) == r:
            raise ValueError(f"begin/size/step need {r} entries")
        for d, (n, b, s, st) in enumerate(zip(x.shape, a.begin, a.size, a.step)):
            if b < 0 or s < 1 or st == 0 or b >= n or not 0 <= b + (s - 1) * st < n:
                raise ValueError(f"dim {d}: begin {b} size {s} step {st} leaves [0, {n})")
        if a.begin[0] != 0 or a.size[0] != x.shape[0] or (a.size[0] > 1 and a.step[0] != 1):
            raise ValueError("dim 0 is the batch and cannot be sliced")
        if out.shape != tuple(a.size):
            raise ValueError(f"output shape should be {list(a.size)}")
        if x.dtype.value != "int8" or out.dtype.value != "int8":
            raise ValueError("slice is int8 only")
        if x.quant is not None and out.quant is not None and not x.quant.same_grid(out.quant):
            raise ValueError("output must keep the input's quantization")

    def reference(self, node, graph, inputs):
        a: SliceAttrs = node.attrs
        y = inputs[0]
        for d, (b, n, s) in enumerate(zip(a.begin, a.size, a.step)):
            if d:
                y = np.take(y, b + s * np.arange(n), axis=d)
        return [np.ascontiguousarray(y)]

    def emit(self, node, graph):
        a: SliceAttrs = node.attrs
        x = graph.t(node.inputs[0])
        dims = _pad4(x.shape, 1)
        dense = [int(np.prod(dims[d + 1:])) for d in range(4)]
        begin, size, step = _pad4(a.begin, 0), _pad4(a.size, 1), _pad4(a.step, 1)
        fields = list(zip(("out_n", "out_h", "out_w", "out_c"), size))
        fields.append(("in_offset", sum(b * s for b, s in zip(begin, dense))))
        fields += list(zip(("in_sn", "in_sh", "in_sw", "in_sc"), (st * s for st, s in zip(step, dense))))
        desc = f"slice {list(x.shape)} begin {list(a.begin)} size {list(a.size)}"
        if any(s != 1 for s in a.step):
            desc += f" step {list(a.step)}"
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs), comment=desc.replace(", ", ","))
