"""sub: int8 elementwise subtraction x1 - x2 with numpy broadcasting (TFLite Micro int8 scheme).

    out = clamp(requantize(a - b, output_multiplier, output_shift) + output_offset, act_min, act_max)

with a, b, the attributes (AddAttrs, from `add_params`) and the broadcasting exactly those of add
(tinygen/ops/add.py): TFLM prepares SUB and ADD alike and differs only in the sign of b.
"""

from __future__ import annotations

import numpy as np

from tinygen.ops.add import (AddAttrs, batched_result, broadcast_fields, check_two_operands, full_shape_input,
                             shapes_comment)
from tinygen.ops.base import KernelCall, OpDef, reference_kernel, register
from tinygen.ops.common import requantize_to_int8
from tinygen.reference import fixedpoint as fx


@register
class Sub(OpDef):
    name = "sub"
    attrs_type = AddAttrs
    kernels = (reference_kernel("tg_sub_s8_ref", "tg_elementwise.h", "tg_add_params"),)

    def check(self, node, graph):
        check_two_operands(node, graph)
        if not 0 <= node.attrs.left_shift <= 30:
            raise ValueError(f"left_shift {node.attrs.left_shift} out of range 0..30")

    def reference(self, node, graph, inputs):
        a: AddAttrs = node.attrs
        x1, x2 = (np.asarray(x, np.int64) for x in inputs)
        s1 = fx.requantize(fx.sat32((x1 + a.input1_offset) << a.left_shift), a.input1_multiplier, a.input1_shift)
        s2 = fx.requantize(fx.sat32((x2 + a.input2_offset) << a.left_shift), a.input2_multiplier, a.input2_shift)
        y = requantize_to_int8(s1 - s2, a.output_multiplier, a.output_shift, a.output_offset, a.act_min, a.act_max)
        return [batched_result(y, node, graph)]

    def inplace_input(self, node, graph):
        return full_shape_input(node, graph)

    def emit(self, node, graph):
        a: AddAttrs = node.attrs
        fields = broadcast_fields(node, graph) + [
            ("input1_offset", a.input1_offset), ("input2_offset", a.input2_offset),
            ("output_offset", a.output_offset), ("left_shift", a.left_shift),
            ("input1_multiplier", a.input1_multiplier), ("input1_shift", a.input1_shift),
            ("input2_multiplier", a.input2_multiplier), ("input2_shift", a.input2_shift),
            ("output_multiplier", a.output_multiplier), ("output_shift", a.output_shift),
            ("act_min", a.act_min), ("act_max", a.act_max),
        ]
        return KernelCall(fields, list(node.inputs),
                          list(node.outputs), comment=shapes_comment(node, graph, "-"))
