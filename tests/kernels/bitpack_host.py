"""Shared helpers for the binary and sub-byte kernel tests: random packed data and output-stage
parameters, and `cases_graph`, which puts many single-op cases in one graph so that one host
compile checks them all (each compile costs about 0.2 s).

`reference_and_host` is tinygen.testing.reference_and_host plus two workarounds, to drop once the
shared code is fixed:
* codegen copies only tg_types.h, tg_fixedpoint.h and each call's own header beside the generated
  model, but every binary/sub-byte kernel header includes tg_bitpack.h;
* HostModel.invoke_one passes untyped `char *` buffers, which cffi refuses for `uint32_t *`
  parameters (packed tensors); typed buffers (`ffi.from_buffer("uint32_t[]", a)`) work.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from tinygen.select import HOST, select_kernels
from tinygen.compile.host import HostModel, compile_shared
from tinygen.codegen import generate
from tinygen.ir.graph import Graph, Node, QuantParams, Tensor
from tinygen.ir.verify import verify
from tinygen.passes.lower.binary_output_params import int8_output_params
from tinygen.paths import RUNTIME_INCLUDE
from tinygen.plan import plan_memory
from tinygen.program import specs_of
from tinygen.reference import bitpack, interpreter

EDGE_CHANNELS = (1, 31, 32, 33, 63, 64, 65)


def reference_and_host(graph, inputs: Sequence[np.ndarray], workdir: Path, policy: str = "auto") -> tuple[list, list]:
    verify(graph)
    if policy == "ref":
        for n in graph.nodes:
            n.kernel = ""
    gen = generate(graph, plan_memory(select_kernels(graph, HOST, policy)))
    bitpack_h = RUNTIME_INCLUDE / "tg_bitpack.h"
    if bitpack_h not in gen.runtime_files:
        gen.runtime_files.append(bitpack_h)
    src = Path(workdir) / "model"
    gen.write(src)
    lib = compile_shared(src, Path(workdir) / f"lib{gen.prefix}.so")
    host = HostModel(lib, gen.prefix, specs_of(graph, graph.inputs), specs_of(graph, graph.outputs))
    ins = [np.ascontiguousarray(x, dtype=s.dtype) for x, s in zip(inputs, host.in_specs)]
    outs = [np.zeros(s.shape, dtype=s.dtype) for s in host.out_specs]
    args = [host.ffi.from_buffer(f"{s.ctype}[]", a) for a, s in zip(ins + outs, host.in_specs + host.out_specs)]
    assert host.fn(*args) == 0
    return interpreter.run(graph, list(inputs)), outs


def random_packed(rng: np.random.Generator, prefix: tuple[int, ...], channels: int) -> np.ndarray:
    """Random +-1 tensor [*prefix, channels], packed (padding bits 0)."""
    return bitpack.pack_bits(rng.integers(0, 2, prefix + (channels,)))


def random_output_stage(rng: np.random.Generator, mode: str, cout: int, k: int) -> dict:
    """Output-stage attrs for dot products over k bits (|dot| ~ sqrt(k)) that give varied outputs:
    thresholds near the dots with random flips and a few constant channels, or int8 parameters from
    `int8_output_params` for y = a*dot + b with a of both signs mapping sqrt(k) to about 10 to 60
    steps, a few zero (constant channels), and a near-maximal pre_shift (|acc| close to 2^31)."""
    spread = max(1, int(np.sqrt(k)))
    if mode == "binary":
        thr = rng.integers(-spread, spread + 1, cout)
        const = rng.random(cout) < 0.1
        thr = np.where(const, rng.choice([-(k + 1), k + 1], cout), thr)
        return {"thresholds": tuple(int(t) for t in thr), "flip": tuple(int(f) for f in rng.integers(0, 2, cout))}
    s_out = float(np.exp(rng.uniform(np.log(0.01), np.log(1.0))))
    a = s_out * np.exp(rng.uniform(np.log(10.0 / spread), np.log(60.0 / spread), cout)) * rng.choice([-1, 1], cout)
    a[rng.random(cout) < 0.1] = 0.0
    b = s_out * rng.uniform(-30, 30, cout)
    lo, hi = int(rng.choice([-128, -100])), int(rng.choice([127, 90]))
    stage = int8_output_params(a, b, s_out, int(rng.integers(-20, 21)), k, lo, hi).fields()
    del stage["output"]
    return stage


def cases_graph(op: str, cases: Sequence[tuple], name: str = "t") -> Graph:
    """One lowered graph running `op` once per case, each on its own inputs and output, so that one
    host compile covers many cases. A case is (attrs, input tensors, out_shape, out_dtype); tensor
    names get the case index appended. Graph inputs and outputs follow case order."""
    g = Graph(name, dialect="lowered")
    for i, (attrs, inputs, out_shape, out_dtype) in enumerate(cases):
        names = []
        for t in inputs:
            t = dataclasses.replace(t, name=f"{t.name}{i}")
            g.add_tensor(t)
            names.append(t.name)
            if not t.is_const:
                g.inputs.append(t.name)
        g.add_tensor(Tensor(f"out{i}", tuple(out_shape), out_dtype, QuantParams.per_tensor(1.0, 0)))
        g.add_node(Node(f"n{i}", op, names, [f"out{i}"], attrs))
        g.outputs.append(f"out{i}")
    return g


def assert_cases_bit_exact(graph: Graph, inputs: Sequence[np.ndarray], labels: Sequence[str], workdir: Path) -> list:
    """Compile `graph` (from cases_graph), run it, compare every output with the reference: once
    with each node's default (fastest usable) kernel, once with the C references."""
    for policy in ("auto", "ref"):
        ref, host = reference_and_host(graph, inputs, Path(workdir) / policy, policy)
        for label, r, h in zip(labels, ref, host):
            assert r.dtype == h.dtype and r.shape == h.shape, f"{label} ({policy} kernels)"
            np.testing.assert_array_equal(h, r, err_msg=f"{label} ({policy} kernels: "
                                          f"{sorted({n.kernel for n in graph.nodes})})")
    return ref
