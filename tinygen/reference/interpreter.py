"""Execute a lowered graph with numpy: the specification of every generated kernel.

Arrays are batched: each graph input of shape [1, ...] accepts [B, ...]; every op is evaluated on
the whole batch at once, with the same integer arithmetic the C kernels use.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tinygen.ir.graph import Graph
from tinygen.ops.base import get


def run(graph: Graph, inputs: Sequence[np.ndarray], keep_all: bool = False):
    """Return the graph outputs (list), or every tensor by name when keep_all is set."""
    if graph.dialect != "lowered":
        raise ValueError("the reference interpreter runs lowered graphs only")
    if len(inputs) != len(graph.inputs):
        raise ValueError(f"graph takes {len(graph.inputs)} inputs, got {len(inputs)}")
    env: dict[str, np.ndarray] = {}
    for name, arr in zip(graph.inputs, inputs):
        t = graph.t(name)
        arr = np.asarray(arr)
        if arr.dtype != t.dtype.np or tuple(arr.shape[1:]) != tuple(t.shape[1:]):
            raise ValueError(
                f"input '{name}' must be {t.dtype.value} of shape [B, {', '.join(map(str, t.shape[1:]))}],"
                f" got {arr.dtype} {list(arr.shape)}"
            )
        env[name] = arr
    for node in graph.nodes:
        ins = [env[i] if i in env else graph.t(i).data for i in node.inputs]
        outs = get(node.op).reference(node, graph, ins)
        for name, val in zip(node.outputs, outs):
            env[name] = val
    if keep_all:
        return env
    return [env[o] for o in graph.outputs]
