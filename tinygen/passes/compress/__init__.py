"""Compressed weight storage on the lowered graph (issue 14), run after lowering and before kernel
selection: filter pruning (prune_filters), then sparse and codebook storage of int8 weights.
Each pass records what it did, or why it left a layer alone, in graph.notes (shown in the report).

`mode` "auto" applies them all; "none" leaves the graph as lowered (the dense baseline).
"""

from __future__ import annotations

from tinygen.ir.graph import Graph
from tinygen.passes.compress.codebook_weights import codebook_weights
from tinygen.passes.compress.prune_filters import prune_filters
from tinygen.passes.compress.sparse_weights import sparse_weights

MODES = ("auto", "none")


def compress(graph: Graph, source: str, mode: str = "auto") -> Graph:
    if mode not in MODES:
        raise ValueError(f"compress mode must be one of {MODES}, got {mode!r}")
    if mode == "none":
        return graph
    graph = prune_filters(graph, source)
    graph = sparse_weights(graph, source)  # before codebooks: a sparse layer is also faster
    graph = codebook_weights(graph, source)
    return graph
