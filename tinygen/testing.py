"""Helpers for tests that compile a lowered graph for the host and compare it with the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from tinygen.compile.host import HostModel, compile_shared
from tinygen.codegen import generate
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ir.verify import verify
from tinygen.plan import PlanOptions, plan_memory
from tinygen.program import specs_of
from tinygen.reference import interpreter
from tinygen.select import HOST, select_kernels
from tinygen.select.kernels import candidates


def single_op_graph(op: str, attrs, inputs: Sequence[Tensor], out_shape: tuple[int, ...],
                    out_dtype: DType = DType.INT8, out_quant: QuantParams | None = None, name: str = "t",
                    kernel: str = "") -> Graph:
    """A lowered graph with one node. Non-constant input tensors become graph inputs. `kernel`
    pins the node's C kernel variant (default: the one selection picks for the host)."""
    g = Graph(name, dialect="lowered")
    for t in inputs:
        g.add_tensor(t)
        if not t.is_const:
            g.inputs.append(t.name)
    g.add_tensor(Tensor("out", tuple(out_shape), out_dtype, out_quant or QuantParams.per_tensor(1.0, 0)))
    g.add_node(Node("n0", op, [t.name for t in inputs], ["out"], attrs, kernel=kernel))
    g.outputs = ["out"]
    return g


def act(name: str, shape, dtype: DType = DType.INT8) -> Tensor:
    return Tensor(name, tuple(shape), dtype, QuantParams.per_tensor(1.0, 0))


def const(name: str, data: np.ndarray) -> Tensor:
    return Tensor(name, tuple(data.shape), DType(str(data.dtype)), None, data)


def compile_graph(graph: Graph, workdir: Path, options: PlanOptions | None = None) -> HostModel:
    verify(graph)
    select_kernels(graph, HOST)
    plan = plan_memory(graph) if options is None else plan_memory(graph, options)
    gen = generate(graph, plan)
    src = Path(workdir) / "model"
    gen.write(src)
    lib = compile_shared(src, Path(workdir) / f"lib{gen.prefix}.so")
    check_scratch_formulas(lib, gen.prefix, (src / f"{gen.prefix}.c").read_text())
    return HostModel(lib, gen.prefix, specs_of(graph, graph.inputs), specs_of(graph, graph.outputs))


def check_scratch_formulas(lib: Path, prefix: str, model_c: str) -> None:
    """Each kernel's C `*_scratch_bytes` against the Python figure the arena was planned with
    (the generated `<prefix>_scratch_mismatch` returns the first layer that disagrees, or -1)."""
    fn = f"{prefix}_scratch_mismatch"
    if fn not in model_c:
        return
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(f"int {fn}(void);")
    layer = getattr(ffi.dlopen(str(lib)), fn)()
    if layer != -1:
        raise AssertionError(f"layer {layer}: the kernel's C scratch size differs from its Python formula")


def reference_and_host(graph: Graph, inputs: Sequence[np.ndarray], workdir: Path) -> tuple[list, list]:
    """Run one sample (arrays of the graph-input shapes) through the reference and the host C.

    Every kernel variant that supports the graph runs and must equal the reference bit for bit:
    for a one-node graph each usable variant of its op (unless the test pinned one), for a larger
    graph the default choice and all-reference kernels. Returns the reference and the default
    variant's outputs."""
    ref = interpreter.run(graph, list(inputs))
    if len(graph.nodes) == 1 and not graph.nodes[0].kernel:
        choices = [[k.symbol] for k in candidates(graph.nodes[0], graph, HOST)]
    else:
        pinned = [n.kernel for n in graph.nodes]
        select_kernels(graph, HOST)
        choices = [[n.kernel for n in graph.nodes]]
        if not all(pinned):
            refs = [candidates(n, graph, HOST, "ref")[0].symbol for n in graph.nodes]
            if refs != choices[0]:
                choices.append(refs)
    outputs = []
    for i, choice in enumerate(choices):
        for node, symbol in zip(graph.nodes, choice):
            node.kernel = symbol
        host = compile_graph(graph, Path(workdir) / f"v{i}").invoke_one(list(inputs))
        for r, h in zip(ref, host):
            if not np.array_equal(r, h):
                raise AssertionError(f"kernels {choice} differ from the reference at "
                                     f"{int(np.sum(r != h))} of {r.size} elements")
        outputs.append(host)
    for node, symbol in zip(graph.nodes, choices[0]):
        node.kernel = symbol
    return ref, outputs[0]


def random_requant(rng: np.random.Generator, n: int, lo: float = 1e-4, hi: float = 0.9) -> tuple[tuple[int, ...], tuple[int, ...]]:
    from tinygen.quant.multiplier import quantize_multiplier

    ms = [quantize_multiplier(float(m)) for m in np.exp(rng.uniform(np.log(lo), np.log(hi), n))]
    return tuple(m for m, _ in ms), tuple(s for _, s in ms)


def variants(op: str) -> list[str]:
    """Every C kernel variant of an op (its symbols), for tests that run one body over each."""
    from tinygen.ops.base import get

    return [k.symbol for k in get(op).kernels]


def supported(op: str, kernel: str, graph: Graph) -> bool:
    """Whether `kernel` can run the (single) node of `graph` on the host."""
    return any(k.symbol == kernel for k in candidates(graph.nodes[0], graph, HOST))


def merge_graphs(graphs: Sequence[Graph], name: str = "cases") -> Graph:
    """Independent lowered graphs as one graph with all their inputs and outputs (tensor and
    node names prefixed `g<i>_`), so one firmware image can test many cases at once."""
    import dataclasses

    out = Graph(name, dialect="lowered")
    for i, g in enumerate(graphs):
        rename = {t: f"g{i}_{t}" for t in g.tensors}
        for t in g.tensors.values():
            out.add_tensor(dataclasses.replace(t, name=rename[t.name]))
        for n in g.nodes:
            out.add_node(dataclasses.replace(n, name=f"g{i}_{n.name}", inputs=[rename[x] for x in n.inputs],
                                             outputs=[rename[x] for x in n.outputs]))
        out.inputs += [rename[x] for x in g.inputs]
        out.outputs += [rename[x] for x in g.outputs]
    return out
