"""sub: int8 elementwise subtraction x1 - x2 with numpy broadcasting (TFLite Micro int8 scheme).

    out = clamp(requantize(sat32(a - b), output_multiplier, output_shift) + output_offset, act_min, act_max)

with a, b, the attributes (AddAttrs, from `add_params`), the checks and the broadcasting exactly
those of add (tinygen/ops/add.py): TFLM prepares SUB and ADD alike and differs only in the sign of b.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.ops.add import Add, AddAttrs, batched_result, shapes_comment
from tinygen.ops.base import reference_kernel, register
from tinygen.ops.common import requantize_to_int8
from tinygen.reference import fixedpoint as fx


@register
class Sub(Add):
    name = "sub"
    kernels = (reference_kernel("tg_sub_s8_ref", "tg_elementwise.h", "tg_add_params", inplace_ok=True),)

    def reference(self, node, graph, inputs):
        a: AddAttrs = node.attrs
        x1, x2 = (np.asarray(x, np.int64) for x in inputs)
        s1 = fx.requantize(fx.sat32((x1 + a.input1_offset) << a.left_shift), a.input1_multiplier, a.input1_shift)
        s2 = fx.requantize(fx.sat32((x2 + a.input2_offset) << a.left_shift), a.input2_multiplier, a.input2_shift)
        y = requantize_to_int8(s1 - s2, a.output_multiplier, a.output_shift, a.output_offset, a.act_min, a.act_max)
        return [batched_result(y, node, graph)]

    def emit(self, node, graph):  # add's params struct and fields; only the kernel differs
        return dataclasses.replace(super().emit(node, graph), comment=shapes_comment(node, graph, "-"))
