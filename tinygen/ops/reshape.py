"""reshape: same bytes, new shape (row-major). The batch axis is kept.

Runs in place when the planner gives input and output the same storage (codegen then omits the
call); otherwise the kernel copies the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ops.base import KernelCall, reference_kernel, OpDef, register


@dataclass(frozen=True)
class ReshapeAttrs:
    shape: tuple[int, ...]  # the output shape, leading batch axis included


@register
class Reshape(OpDef):
    name = "reshape"
    attrs_type = ReshapeAttrs
    kernels = (reference_kernel("tg_reshape_ref", "tg_reshape.h", "tg_reshape_params", inplace_ok=True),)

    def check(self, node, graph):
        x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
        shape = tuple(node.attrs.shape)
        if o.shape != shape or x.size != o.size or x.dtype != o.dtype:
            raise ValueError(f"reshape {list(x.shape)} {x.dtype.value} -> {list(shape)} does not match "
                             f"output {list(o.shape)} {o.dtype.value}")
        if not x.shape or not shape or x.shape[0] != shape[0]:
            raise ValueError("reshape must keep the leading batch axis")

    def reference(self, node, graph, inputs):
        (x,) = inputs
        return [x.reshape((x.shape[0], *node.attrs.shape[1:])).copy()]

    def inplace_input(self, node, graph):
        return 0

    def emit(self, node, graph):
        x = graph.t(node.inputs[0])
        return KernelCall([("bytes", x.nbytes)],
                          [node.inputs[0]], list(node.outputs), skip_if_inplace=True,
                          comment=f"reshape {list(x.shape)} -> {list(node.attrs.shape)}")
