"""maximum: int8 element-wise maximum of two tensors of one shape on one quantization grid.

    out[i] = max(in1[i], in2[i])

Both inputs and the output share scale and zero point (the lowering requantizes an input on
another grid first: requantization is monotonic, so max commutes with it and the result equals
quantizing the real maximum). Any rank 1..4; the output may overwrite the first input. No scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register


@dataclass(frozen=True)
class MaximumAttrs:
    """No parameters: both inputs are on the output's grid."""


@register
class Maximum(OpDef):
    name = "maximum"
    attrs_type = MaximumAttrs
    kernels = (reference_kernel("tg_maximum_s8_ref", "tg_maximum.h", "tg_maximum_params", inplace_ok=True),)

    def check(self, node, graph):
        if len(node.inputs) != 2:
            raise ValueError("maximum takes two inputs")
        a, b = (graph.t(i) for i in node.inputs)
        o = graph.t(node.outputs[0])
        if not a.shape == b.shape == o.shape:
            raise ValueError(f"inputs {list(a.shape)}, {list(b.shape)} and output {list(o.shape)} must have one shape")
        for t in (a, b, o):
            if t.dtype.value != "int8":
                raise ValueError(f"tensor {t.name!r} must be int8")
        qs = [t.quant for t in (a, b, o) if t.quant is not None]
        if any(not q.same_grid(qs[0]) for q in qs):
            raise ValueError("inputs and output must share one quantization grid")

    def reference(self, node, graph, inputs):
        a, b = inputs
        return [np.maximum(a, b).astype(np.int8)]

    def inplace_input(self, node, graph):
        return 0

    def emit(self, node, graph):
        o = graph.t(node.outputs[0])
        return KernelCall([("size", o.size)],
                          list(node.inputs), list(node.outputs),
                          comment=f"maximum {list(o.shape)}".replace(", ", ","))
