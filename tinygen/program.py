"""`Program`: a built model, its tensor specs, the numpy reference and the host C build."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tinygen.ir import serialize
from tinygen.ir.graph import Graph
from tinygen.reference import interpreter


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]  # device layout (NHWC for images), leading batch of 1
    dtype: np.dtype
    scale: float
    zero_point: int
    qmin: int = -128
    qmax: int = 127

    @property
    def ctype(self) -> str:
        return {"float32": "float"}.get(str(self.dtype), f"{self.dtype}_t")

    @property
    def layout(self) -> str:
        return "NHWC" if len(self.shape) == 4 else ""

    def to_json(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": str(self.dtype), "scale": self.scale,
                "zero_point": self.zero_point, "qmin": self.qmin, "qmax": self.qmax, "layout": self.layout}


def specs_of(graph: Graph, names: Sequence[str]) -> list[TensorSpec]:
    out = []
    for n in names:
        t = graph.t(n)
        q = t.quant
        out.append(TensorSpec(n, tuple(t.shape), t.dtype.np, q.scale[0] if q else 1.0, q.zero_point[0] if q else 0,
                              q.qmin if q else -128, q.qmax if q else 127))
    return out


def _batched(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    x = np.asarray(x)
    if tuple(x.shape) == tuple(spec.shape[1:]):
        x = x[None]
    return x


class Program:
    """What `tinygen.build` and `tinygen.load` return."""

    def __init__(self, out_dir: Path, graph: Graph, prefix: str, board: str, report: dict | None = None):
        self.out_dir = Path(out_dir)
        self.graph = graph
        self.prefix = prefix
        self.board = board
        self.report = report or {}
        self.inputs = specs_of(graph, graph.inputs)
        self.outputs = specs_of(graph, graph.outputs)
        self._host = None

    # -- quantization helpers -------------------------------------------------------------------
    def quantize(self, x: np.ndarray, index: int = 0, layout: str | None = None) -> np.ndarray:
        """float -> int8 exactly as PyTorch's fake-quant does it (float32, ties to even).

        `x` is in device layout ([B,]H,W,C); pass layout="NCHW" for PyTorch-ordered images.
        """
        s = self.inputs[index]
        x = np.asarray(x, dtype=np.float32)
        if layout == "NCHW":
            x = np.moveaxis(x, -3, -1)
        if s.dtype == np.float32:  # a float input (e.g. a Larq/LCE model): nothing to quantize
            return x
        inv = np.float32(1.0) / np.float32(s.scale)
        q = np.rint(x * inv) + s.zero_point
        return np.clip(q, s.qmin, s.qmax).astype(s.dtype)

    def dequantize(self, q: np.ndarray, index: int = 0) -> np.ndarray:
        s = self.outputs[index]
        return (np.asarray(q, np.float32) - s.zero_point) * np.float32(s.scale)

    # -- execution ------------------------------------------------------------------------------
    def reference(self, *q: np.ndarray):
        """Run the numpy reference on quantized inputs ([B, ...] or one sample)."""
        ins = [_batched(x, s) for x, s in zip(q, self.inputs)]
        outs = interpreter.run(self.graph, ins)
        return outs[0] if len(outs) == 1 else outs

    def run_host(self, *q: np.ndarray):
        """Run the generated C, compiled for this machine, sample by sample."""
        host = self._host_model()
        ins = [_batched(x, s) for x, s in zip(q, self.inputs)]
        n = ins[0].shape[0]
        results = [np.zeros((n, *s.shape[1:]), s.dtype) for s in self.outputs]
        for b in range(n):
            outs = host.invoke_one([x[b:b + 1] for x in ins])
            for r, o in zip(results, outs):
                r[b] = o[0]
        return results[0] if len(results) == 1 else results

    def _host_model(self):
        if self._host is None:
            from tinygen.compile.host import HostModel, compile_shared

            lib = self.out_dir / "host" / f"lib{self.prefix}.so"
            if not lib.exists():
                lib.parent.mkdir(parents=True, exist_ok=True)
                compile_shared(self.out_dir / "model", lib)
            self._host = HostModel(lib, self.prefix, self.inputs, self.outputs)
        return self._host


def load(out_dir: str | Path) -> Program:
    from tinygen.errors import TinygenError

    out_dir = Path(out_dir)
    manifest = out_dir / "tinygen.json"
    if not manifest.exists():
        raise TinygenError(f"{out_dir} is not a tinygen build directory (no tinygen.json); run `tinygen build` first")
    meta = json.loads(manifest.read_text())
    graph = serialize.load(out_dir / "graph")
    report = json.loads((out_dir / "report.json").read_text()) if (out_dir / "report.json").exists() else {}
    return Program(out_dir, graph, meta["prefix"], meta["board"], report)
