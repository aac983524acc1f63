"""Helpers for tests that compile a lowered graph for the host and compare it with the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from tinygen.compile.host import HostModel, compile_shared
from tinygen.codegen import generate
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ir.verify import verify
from tinygen.plan import plan_memory
from tinygen.program import specs_of
from tinygen.reference import interpreter


def single_op_graph(op: str, attrs, inputs: Sequence[Tensor], out_shape: tuple[int, ...],
                    out_dtype: DType = DType.INT8, out_quant: QuantParams | None = None, name: str = "t") -> Graph:
    """A lowered graph with one node. Non-constant input tensors become graph inputs."""
    g = Graph(name, dialect="lowered")
    for t in inputs:
        g.add_tensor(t)
        if not t.is_const:
            g.inputs.append(t.name)
    g.add_tensor(Tensor("out", tuple(out_shape), out_dtype, out_quant or QuantParams.per_tensor(1.0, 0)))
    g.add_node(Node("n0", op, [t.name for t in inputs], ["out"], attrs))
    g.outputs = ["out"]
    return g


def act(name: str, shape, dtype: DType = DType.INT8) -> Tensor:
    return Tensor(name, tuple(shape), dtype, QuantParams.per_tensor(1.0, 0))


def const(name: str, data: np.ndarray) -> Tensor:
    return Tensor(name, tuple(data.shape), DType(str(data.dtype)), None, data)


def compile_graph(graph: Graph, workdir: Path) -> HostModel:
    verify(graph)
    plan = plan_memory(graph)
    gen = generate(graph, plan)
    src = Path(workdir) / "model"
    gen.write(src)
    lib = compile_shared(src, Path(workdir) / f"lib{gen.prefix}.so")
    return HostModel(lib, gen.prefix, specs_of(graph, graph.inputs), specs_of(graph, graph.outputs))


def reference_and_host(graph: Graph, inputs: Sequence[np.ndarray], workdir: Path) -> tuple[list, list]:
    """Run one sample (arrays of the graph-input shapes) through the reference and the host C."""
    ref = interpreter.run(graph, list(inputs))
    host = compile_graph(graph, workdir).invoke_one(list(inputs))
    return ref, host


def random_requant(rng: np.random.Generator, n: int, lo: float = 1e-4, hi: float = 0.9) -> tuple[tuple[int, ...], tuple[int, ...]]:
    from tinygen.quant.multiplier import quantize_multiplier

    ms = [quantize_multiplier(float(m)) for m in np.exp(rng.uniform(np.log(lo), np.log(hi), n))]
    return tuple(m for m, _ in ms), tuple(s for _, s in ms)
