"""minimum: int8 element-wise minimum of two tensors of one shape on one quantization grid.

    out[i] = min(in1[i], in2[i])

Checks, grid rule and in-place use as for maximum (tinygen/ops/maximum.py): min commutes with the
monotonic requantization too. TFLite Micro's MINIMUM compares the raw codes, which this is.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.ops.base import reference_kernel, register
from tinygen.ops.maximum import Maximum


@register
class Minimum(Maximum):
    name = "minimum"
    kernels = (reference_kernel("tg_minimum_s8_ref", "tg_maximum.h", "tg_maximum_params"),)

    def reference(self, node, graph, inputs):
        a, b = inputs
        return [np.minimum(a, b).astype(np.int8)]

    def emit(self, node, graph):
        call = super().emit(node, graph)
        return dataclasses.replace(call, comment=call.comment.replace("maximum", "minimum", 1))
