"""fake_quant(concat(a, b, ...)) ==> concat(fake_quant(a), fake_quant(b), ...), and
fake_quant(reshape(a)) ==> reshape(fake_quant(a)), when each moved-past input is a float (not
binary) activation written by one (non-fake-quant) node and read only here.

A per-tensor fake-quant is element-wise, so it commutes exactly with data movement. Moving it back
to the producers lets assign_quant absorb it there: `torch.stack([x.mean(...), x.var(...)])`
followed by one quantizer (ECA attention) then computes mean and variance directly on the stacked
tensor's int8 grid, rounding once as PyTorch does, and the concat becomes a plain copy instead of a
second requantization. Inputs that already have their own grid (another quantizer, a graph input,
a tensor read elsewhere) are left alone: the concat keeps requantizing them.
"""

from __future__ import annotations

import dataclasses

from tinygen.ir.graph import DType, Graph, Node

MOVABLE = {"concat", "reshape"}


def _owned(graph: Graph, name: str) -> bool:
    """True when `name` is written by one non-fake-quant node and read by exactly one node."""
    prod, t = graph.producer(name), graph.t(name)
    return (prod is not None and prod.op != "fake_quant" and graph.uses(name) == 1
            and name not in graph.inputs and not t.is_const and t.dtype == DType.FLOAT32)


def _hoist_once(graph: Graph) -> bool:
    for fq in graph.nodes:
        if fq.op != "fake_quant" or fq.attrs.axis is not None:
            continue
        mid = graph.producer(fq.inputs[0])
        if mid is None or mid.op not in MOVABLE or graph.uses(fq.inputs[0]) != 1:
            continue
        acts = [i for i in mid.inputs if not graph.t(i).is_const]
        if not acts or len(acts) != len(mid.inputs) or not all(_owned(graph, i) for i in acts):
            continue
        # fake-quant each input right after its producer, then let `mid` write the fake-quant's output
        new_inputs = []
        for i in mid.inputs:
            t = graph.t(i)
            q = graph.add_tensor(dataclasses.replace(t, name=graph.unique_name(i + "_q"), quant=None)).name
            at = graph.nodes.index(graph.producer(i)) + 1
            graph.add_node(Node(graph.unique_name(fq.name + "_" + i, "node"), "fake_quant", [i], [q], fq.attrs,
                                source=fq.source), index=at)
            new_inputs.append(q)
        mid.inputs = new_inputs
        graph.replace_uses(fq.outputs[0], fq.inputs[0])
        graph.remove_node(fq)
        return True
    return False


def hoist_fake_quant(graph: Graph, source: str = "model") -> Graph:
    while _hoist_once(graph):
        pass
    graph.prune()
    return graph
