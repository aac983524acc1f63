"""group_max: int8 maximum over consecutive groups of the innermost axis (max-out).

    out[o, g] = max_{j < group} in[o, g * group + j]

The input is viewed as [outer][groups * group] (outer = product of every dim but the last), the
output as [outer][groups]; the output shape is the input's with the last dim divided by `group`.
For an NHWC map this is the max-out of a depthwise convolution with channel multiplier `group`
(PyTorch's view(N, m, h, H, W).amax(2): output channel g of the grouped convolution's heads
g*h .. g*h + h - 1). The output stays on the input's grid (a max needs no requantization), so
the op reads each input once and writes 1/group as many bytes. No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import Kernel, KernelCall, reference_kernel, OpDef, register


@dataclass(frozen=True)
class GroupMaxAttrs:
    group: int  # values per maximum (the number of heads)


def group_max_out_shape(in_shape, group: int) -> tuple[int, ...]:
    return tuple(in_shape[:-1]) + (in_shape[-1] // group,)


@register
class GroupMax(OpDef):
    name = "group_max"
    attrs_type = GroupMaxAttrs
    kernels = (Kernel("tg_group_max_s8_fast", "tg_group_max.h", "tg_group_max_params"),
               reference_kernel("tg_group_max_s8_ref", "tg_group_max.h", "tg_group_max_params"))

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        g = node.attrs.group
        if len(node.inputs) != 1 or not 2 <= len(x.shape) <= 4:
            raise ValueError("group_max takes one input of rank 2..4")
        if g < 1 or x.shape[-1] % g:
            raise ValueError(f"group {g} does not divide the last dim {x.shape[-1]}")
        if o.shape != group_max_out_shape(x.shape, g):
            raise ValueError(f"output shape should be {list(group_max_out_shape(x.shape, g))}")
        if x.dtype.value != "int8" or o.dtype.value != "int8":
            raise ValueError("group_max takes and returns int8")
        if x.quant is not None and o.quant is not None and not x.quant.same_grid(o.quant):
            raise ValueError("output must keep the input's quantization")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        g = node.attrs.group
        return [x.reshape(x.shape[:-1] + (x.shape[-1] // g, g)).max(axis=-1).astype(np.int8)]

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        g = node.attrs.group
        fields = [("outer", int(np.prod(x.shape[:-1]))), ("groups", x.shape[-1] // g), ("group", g)]
        return KernelCall(fields, [node.inputs[0]],
                          list(node.outputs), comment=f"group_max {list(x.shape)} over groups of {g}".replace(", ", ","))
