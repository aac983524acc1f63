"""conv2d/linear/add -> clamp(relu | relu6)  ==>  the producer with `activation` set.

Exact after quantization: clamping before or after a monotonic rounding gives the same integer, so
the fused op clamps its requantized output to the quantized bounds.
"""

from __future__ import annotations

import dataclasses

from tinygen.ir.graph import Graph

FUSABLE = {"conv2d", "linear", "add"}


def _kind(attrs) -> str | None:
    if attrs.lo == 0.0 and attrs.hi is None:
        return "relu"
    if attrs.lo == 0.0 and attrs.hi == 6.0:
        return "relu6"
    return None


def fuse_activation(graph: Graph, source: str = "model") -> Graph:
    for node in [n for n in graph.nodes if n.op == "clamp"]:
        kind = _kind(node.attrs)
        prod = graph.producer(node.inputs[0])
        if kind is None or prod is None or prod.op not in FUSABLE or graph.uses(node.inputs[0]) != 1:
            continue
        if prod.attrs.activation != "none" or graph.t(node.inputs[0]).quant is not None:
            continue
        prod.attrs = dataclasses.replace(prod.attrs, activation=kind)
        graph.replace_uses(node.outputs[0], prod.outputs[0])
        graph.remove_node(node)
    graph.prune()
    return graph
