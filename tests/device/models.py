"""Small lowered models for the firmware and device tests, written in the build layout the
pipeline produces (DIR/model, DIR/graph, DIR/tinygen.json), so the tests exercise the same
entry points `tinygen build` will call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinygen.select import HOST, select_kernels
from tinygen.codegen import generate
from tinygen.ir import serialize
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ir.verify import verify
from tinygen.ops.conv2d import Conv2dAttrs, out_hw
from tinygen.plan import plan_memory
from tinygen.program import Program
from tinygen.testing import random_requant


def conv_chain(name: str = "tgnet", seed: int = 0, hw: int = 8, cin: int = 3) -> Graph:
    """conv3x3 (cin->8) -> depthwise 3x3/2 (8) -> pointwise (8->4): three layers, NHWC int8."""
    rng = np.random.default_rng(seed)
    g = Graph(name, dialect="lowered")
    g.add_tensor(Tensor("x", (1, hw, hw, cin), DType.INT8, QuantParams.per_tensor(0.05, -3)))
    g.inputs.append("x")
    layers = [(8, 3, 1, 1, 1), (8, 3, 2, 1, 8), (4, 1, 1, 0, 1)]  # cout, k, stride, pad, groups
    cur, shape = "x", (1, hw, hw, cin)
    for i, (cout, k, s, p, groups) in enumerate(layers):
        mult, shift = random_requant(rng, cout, 2e-3, 0.03)
        attrs = Conv2dAttrs((s, s), (p, p, p, p), (1, 1), groups, 3 if i == 0 else int(rng.integers(-10, 10)),
                            int(rng.integers(-10, 10)), mult, shift, -128, 127)
        w = g.add_const(f"w{i}", rng.integers(-127, 128, (cout, k, k, shape[3] // groups)).astype(np.int8))
        b = g.add_const(f"b{i}", rng.integers(-2000, 2000, cout).astype(np.int32))
        oh, ow = out_hw(shape, w.shape, attrs)
        out = "y" if i == len(layers) - 1 else f"t{i}"
        shape = (1, oh, ow, cout)
        g.add_tensor(Tensor(out, shape, DType.INT8, QuantParams.per_tensor(0.1, int(rng.integers(-5, 5)))))
        g.add_node(Node(f"conv{i}", "conv2d", [cur, w.name, b.name], [out], attrs))
        cur = out
    g.outputs = ["y"]
    verify(g)
    return g


def write_build(graph: Graph, out_dir: Path, board: str = "f446re") -> Program:
    """What the pipeline writes for a lowered graph: model library, graph, manifest."""
    out_dir = Path(out_dir)
    gen = generate(graph, plan_memory(select_kernels(graph, HOST)))
    gen.write(out_dir / "model")
    serialize.save(graph, out_dir / "graph")
    (out_dir / "tinygen.json").write_text(json.dumps({"prefix": gen.prefix, "board": board}))
    return Program(out_dir, graph, gen.prefix, board)


# -- toolchain gating and a per-session build cache shared by tests/firmware and tests/device ----

def missing_tools() -> str:
    """Why QEMU-tier tests cannot run here ('' when they can)."""
    import shutil

    need = ["arm-none-eabi-gcc", "make", "qemu-system-arm"]
    missing = [t for t in need if shutil.which(t) is None]
    return f"needs {', '.join(missing)} (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi " \
           "qemu-system-arm make)" if missing else ""


_CACHE: dict = {}


def cached_program(root: Path) -> Program:
    """One conv_chain build directory per test session (model generation is deterministic)."""
    if "program" not in _CACHE:
        _CACHE["program"] = write_build(conv_chain(), Path(root) / "tgnet")
    return _CACHE["program"]


def cached_firmware(root: Path, board: str, emulate: bool = False, defines: tuple[str, ...] = (),
                    variant: str = ""):
    """build_firmware once per (board, emulate, variant) per session."""
    from tinygen.compile.firmware import build_firmware

    key = (board, emulate, defines, variant)
    if key not in _CACHE:
        prog = cached_program(root)
        _CACHE[key] = build_firmware(prog.out_dir, prog.prefix, board, emulate, defines=defines, variant=variant)
    return _CACHE[key]
