"""Save and load a lowered graph as JSON (structure) + NPZ (constant data), no pickle.

graph.json is strict JSON (RFC 8259), readable by any JSON reader: a float that JSON cannot hold
(+-inf, e.g. the open bounds of a float activation, or NaN) is written as {"float": "inf"},
{"float": "-inf"} or {"float": "nan"} and read back as that float. No attribute value is
otherwise a JSON object, so the form is unambiguous.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ops.base import get


_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return {"float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    return v


def _tuples(v):
    if isinstance(v, list):
        return tuple(_tuples(x) for x in v)
    if isinstance(v, dict) and set(v) == {"float"} and v["float"] in _NON_FINITE:
        return _NON_FINITE[v["float"]]
    return v


def save(graph: Graph, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    consts = {}
    tensors = []
    for i, t in enumerate(graph.tensors.values()):
        entry = {"name": t.name, "shape": list(t.shape), "dtype": t.dtype.value}
        if t.quant is not None:
            entry["quant"] = {k: _plain(v) for k, v in dataclasses.asdict(t.quant).items()}
        if t.data is not None:
            key = f"c{i}"
            consts[key] = t.data
            entry["data"] = key
        tensors.append(entry)
    nodes = []
    for n in graph.nodes:
        attrs = None if n.attrs is None else {f.name: _plain(getattr(n.attrs, f.name)) for f in dataclasses.fields(n.attrs)}
        nodes.append({"name": n.name, "op": n.op, "inputs": n.inputs, "outputs": n.outputs, "attrs": attrs, "source": n.source,
                      "kernel": n.kernel})
    doc = {"name": graph.name, "dialect": graph.dialect, "inputs": graph.inputs, "outputs": graph.outputs,
           "tensors": tensors, "nodes": nodes, "notes": graph.notes}
    (directory / "graph.json").write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n")
    np.savez(directory / "graph.npz", **consts)


def load(directory: Path) -> Graph:
    doc = json.loads((directory / "graph.json").read_text())
    with np.load(directory / "graph.npz") as npz:
        data = {k: npz[k] for k in npz.files}
    g = Graph(doc["name"], dialect=doc["dialect"], inputs=doc["inputs"], outputs=doc["outputs"])
    for e in doc["tensors"]:
        q = e.get("quant")
        quant = None if q is None else QuantParams(**{k: _tuples(v) for k, v in q.items()})
        g.add_tensor(Tensor(e["name"], tuple(e["shape"]), DType(e["dtype"]), quant, data.get(e.get("data"))))
    for e in doc["nodes"]:
        attrs = None
        if e["attrs"] is not None:
            attrs = get(e["op"]).attrs_type(**{k: _tuples(v) for k, v in e["attrs"].items()})
        g.add_node(Node(e["name"], e["op"], e["inputs"], e["outputs"], attrs, e["source"], e.get("kernel", "")))
    g.notes = dict(doc.get("notes", {}))
    return g
