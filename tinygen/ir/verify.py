"""Structural checks run between passes: every name resolves, every node is in order, lowered
nodes pass their op's own `check`."""

from __future__ import annotations

from tinygen.ir.graph import Graph


def verify(graph: Graph) -> None:
    defined = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const}
    for name in graph.inputs:
        if name not in graph.tensors:
            raise ValueError(f"graph input {name!r} has no tensor")
    seen_nodes = set()
    for node in graph.nodes:
        if node.name in seen_nodes:
            raise ValueError(f"duplicate node name {node.name!r}")
        seen_nodes.add(node.name)
        for i in node.inputs:
            if i not in graph.tensors:
                raise ValueError(f"{node.describe()} reads unknown tensor {i!r}")
            if i not in defined:
                raise ValueError(f"{node.describe()} reads {i!r} before it is written")
        for o in node.outputs:
            if o not in graph.tensors:
                raise ValueError(f"{node.describe()} writes unknown tensor {o!r}")
            if o in defined:
                raise ValueError(f"tensor {o!r} is written twice")
            defined.add(o)
    for o in graph.outputs:
        if o not in defined:
            raise ValueError(f"graph output {o!r} is never written")
    if graph.dialect == "lowered":
        from tinygen.ops.base import REGISTRY, get

        for node in graph.nodes:
            try:
                op = get(node.op)
            except KeyError:
                raise ValueError(f"{node.describe()}: op not registered (known: {', '.join(sorted(REGISTRY))})") from None
            if op.attrs_type is not None and not isinstance(node.attrs, op.attrs_type):
                raise ValueError(f"{node.describe()}: attrs must be {op.attrs_type.__name__}")
            try:
                op.check(node, graph)
            except ValueError as e:
                raise ValueError(f"{node.describe()}: {e}") from None
