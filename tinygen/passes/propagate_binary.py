"""Mark binary tensors: the output of max_pool2d, reshape or sign on a binary input is binary.

Binary (+-1) tensors have dtype uint32 in the float dialect (tinygen.ir.float_ops). The importer
marks sign outputs and fuse_sign marks its fused nodes' outputs; this pass carries the mark
through the ops that keep values +-1: the max of +-1 values is +-1, a reshape moves them, and the
sign of +-1 is itself. Other ops on binary tensors are refused at lowering.
"""

from __future__ import annotations

from tinygen.ir.graph import DType, Graph

KEEPS_BINARY = {"max_pool2d", "reshape", "sign"}


def propagate_binary(graph: Graph, source: str = "model") -> Graph:
    for node in graph.nodes:
        if node.op in KEEPS_BINARY and graph.t(node.inputs[0]).dtype == DType.UINT32:
            graph.t(node.outputs[0]).dtype = DType.UINT32
    return graph
