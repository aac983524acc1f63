"""The state shared by the aten handlers while one ExportedProgram is translated (`Ctx`), the
handler table they register into, and the argument helpers every handler uses.

Handler modules (layers, sign, reductions) import only this module from the torch importer;
graph.py walks the program and dispatches to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinygen.errors import TinygenError, UnsupportedOpError
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor

HANDLERS: dict[str, Callable[["Ctx", Any, list, dict], Any]] = {}
# Quantization ops that go to their handler even when every input is a constant, so a quantized
# weight keeps its integers and scales (qat.py and pt2e.py add their spellings).
KEEP_QUANTIZED_CONSTS: set[str] = set()

def handles(*names: str):
    def deco(fn):
        for n in names:
            HANDLERS[n] = fn
        return fn
    return deco


class Ctx:
    def __init__(self, graph: Graph, source: Path):
        import torch

        self.torch = torch
        self.graph = graph
        self.source = source
        self.consts: dict[str, Any] = {}  # fx node name -> torch tensor (not yet in the IR)
        self.names: dict[str, str] = {}  # fx node name -> IR tensor name (activations)
        self.fx_node = None

    # -- arguments ------------------------------------------------------------------------------
    def is_const(self, a) -> bool:
        import torch.fx

        if isinstance(a, torch.fx.Node):
            return a.name in self.consts
        if isinstance(a, (list, tuple)):
            return all(self.is_const(x) for x in a)
        return True

    def const(self, a):
        import torch.fx

        if isinstance(a, torch.fx.Node):
            return self.consts[a.name]
        if isinstance(a, (list, tuple)):
            return type(a)(self.const(x) for x in a)
        return a

    def act(self, a) -> str:
        """IR tensor name for an activation argument."""
        import torch.fx

        if isinstance(a, torch.fx.Node):
            if a.name in self.names:
                v = self.names[a.name]
                if hasattr(v, "refuse"):  # a symbolic piece of a sign pattern (sign.py)
                    raise self.error(v.refuse(), UnsupportedOpError)
                return v
            if a.name in self.consts:
                return self.const_tensor(a)
        raise self.error(f"expected a tensor argument, got {a!r}")

    def const_tensor(self, a, quant: QuantParams | None = None, data: np.ndarray | None = None) -> str:
        if data is None:
            data = self.const(a).detach().cpu().numpy()
            if data.dtype == np.float64:
                data = data.astype(np.float32)
        return self.graph.add_const(getattr(a, "name", "const"), data, quant).name

    def shape(self, a) -> tuple[int, ...]:
        return tuple(self.graph.t(self.act(a)).shape)

    # -- outputs --------------------------------------------------------------------------------
    def emit(self, op: str, inputs: list[str], attrs=None, shape=None, dtype=DType.FLOAT32) -> str:
        node = self.fx_node
        if shape is None:
            val = node.meta.get("val")
            if val is None or not hasattr(val, "shape"):
                raise self.error("has no shape information")
            shape = tuple(int(d) for d in val.shape)
        out = self.graph.add_tensor(Tensor(self.graph.unique_name(node.name), shape, dtype)).name
        self.graph.add_node(Node(self.graph.unique_name(node.name, "node"), op, inputs, [out], attrs, source=self.where()))
        return out

    def where(self) -> str:
        n = self.fx_node
        stack = n.meta.get("nn_module_stack") if n is not None else None
        module = list(stack.values())[-1][0] if stack else ""
        return f"{n.name}" + (f" in module '{module}'" if module else "") if n is not None else ""

    def error(self, msg: str, cls=TinygenError) -> TinygenError:
        return cls(f"{self.source}: node {self.where()} ({self.fx_node.target}): {msg}")


def target_name(target) -> str:
    """The aten name of an fx call target, e.g. "aten.conv2d.default"."""
    return str(target).replace("torch.ops.", "", 1) if not isinstance(target, str) else target


def arg(args, kwargs, i, name, default=None):
    """Argument i of an aten call, given positionally or by name."""
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)
