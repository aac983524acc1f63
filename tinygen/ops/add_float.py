"""add_float / mul_float: float32 element-wise a + b and a * b with numpy broadcasting (the float
batch-norm MUL/ADD and shortcut additions of Larq/LCE models).

    out = clamp(a + b, act_lo, act_hi)        or        out = clamp(a * b, act_lo, act_hi)

One IEEE operation per element: exactly what TFLite computes. Broadcasting follows tinygen/ops/add.py
(rank 2..4, walked as NHWC). A constant operand (e.g. per-channel batch-norm scales) travels in the
params as float32 bit patterns (kernel tg_elementwise2_f32_c_ref); it is always the second operand, which
is exact because + and * commute in IEEE arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType
from tinygen.ops.add import as_nhwc, batched_result, broadcast_strides
from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register
from tinygen.ops.float_util import bits, clamp, f32_bits


@dataclass(frozen=True)
class ElementwiseFloatAttrs:
    act_lo: float = float("-inf")
    act_hi: float = float("inf")


class _ElementwiseFloat(OpDef):
    attrs_type = ElementwiseFloatAttrs
    # A constant second operand is passed as a flash array (one kernel), two tensors as two inputs.
    kernels = (reference_kernel("tg_elementwise2_f32_c_ref", "tg_float.h", "tg_elementwise2_f32_params",
                                lambda node, graph: any(graph.t(n).is_const for n in node.inputs), inplace_ok=True),
               reference_kernel("tg_elementwise2_f32_ref", "tg_float.h", "tg_elementwise2_f32_params",
                                lambda node, graph: not any(graph.t(n).is_const for n in node.inputs), inplace_ok=True))
    code: int
    sign: str

    @staticmethod
    def apply(a, b):
        raise NotImplementedError

    def check(self, node, graph):
        if len(node.inputs) != 2:
            raise ValueError(f"{self.name} takes two inputs")
        out = graph.t(node.outputs[0])
        ins = [graph.t(i) for i in node.inputs]
        if any(t.dtype != DType.FLOAT32 for t in ins + [out]):
            raise ValueError(f"{self.name} takes and writes float32")
        if not 2 <= len(out.shape) <= 4:
            raise ValueError(f"output rank must be 2..4, got {list(out.shape)}")
        if all(t.is_const for t in ins):
            raise ValueError("at least one operand must be an activation")
        for t in ins:
            if not t.is_const and len(t.shape) != len(out.shape):
                raise ValueError(f"activation {t.name!r} must have the output's rank")
        if tuple(np.broadcast_shapes(*(t.shape for t in ins))) != tuple(out.shape):
            raise ValueError(f"output shape should be {list(np.broadcast_shapes(*(t.shape for t in ins)))}")

    def reference(self, node, graph, inputs):
        a, b = (np.asarray(v, np.float32) for v in inputs)
        y = self.apply(a, b).astype(np.float32)
        return [batched_result(clamp(y, node.attrs.act_lo, node.attrs.act_hi), node, graph)]

    def inplace_input(self, node, graph):
        out = graph.t(node.outputs[0])
        for k, name in enumerate(node.inputs):
            t = graph.t(name)
            if not t.is_const and t.shape == out.shape:
                return k
        return None

    def emit(self, node, graph):
        out = graph.t(node.outputs[0]).shape
        names = list(node.inputs)
        if graph.t(names[0]).is_const:
            names.reverse()  # the constant goes second: a op b == b op a in IEEE arithmetic
        a = node.attrs
        fields = [("op", self.code)] + list(zip(("out_n", "out_h", "out_w", "out_c"), as_nhwc(out)))
        for k, name in enumerate(names, 1):
            fields += list(zip((f"in{k}_sn", f"in{k}_sh", f"in{k}_sw", f"in{k}_sc"),
                               broadcast_strides(graph.t(name).shape, out)))
        fields += [("act_lo", bits(a.act_lo)), ("act_hi", bits(a.act_hi))]
        shapes = " ".join(str(list(graph.t(n).shape)) for n in names).replace(", ", ",")
        comment = f"{self.name} {shapes.replace(' ', f' {self.sign} ')}"
        second = graph.t(names[1])
        if second.is_const:
            fields.append(("constant", f32_bits(second.data, f"constant {list(second.shape)}")))
            return KernelCall(fields, [names[0]], list(node.outputs), comment=comment)
        return KernelCall(fields + [("constant", None)], names, list(node.outputs), comment=comment)


@register
class AddFloat(_ElementwiseFloat):
    name = "add_float"
    code = 0
    sign = "+"

    @staticmethod
    def apply(a, b):
        return a + b


@register
class MulFloat(_ElementwiseFloat):
    name = "mul_float"
    code = 1
    sign = "*"

    @staticmethod
    def apply(a, b):
        return a * b
