"""The graph every stage passes along.

A `Graph` holds `Tensor`s (shape, dtype, optional quantization, optional constant data) and
`Node`s in execution order. Node attributes are op-specific frozen dataclasses, never string-keyed
dicts. Two dialects share this structure:

* the *float* dialect produced by framework importers (torch layout, NCHW, ops from
  `tinygen.ir.float_ops`), and
* the *lowered* dialect, where every node is an op registered in `tinygen.ops` whose attributes
  hold integers only, and activations are channels-last (NHWC).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np


class DType(str, enum.Enum):
    FLOAT32 = "float32"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    UINT8 = "uint8"
    UINT32 = "uint32"  # bit-packed binary tensors: 32 channels per word

    @property
    def np(self) -> np.dtype:
        return np.dtype(self.value)

    @property
    def itemsize(self) -> int:
        return self.np.itemsize

    @property
    def ctype(self) -> str:
        return {"float32": "float", "uint8": "uint8_t"}.get(self.value, f"{self.value}_t")


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization: real = scale * (q - zero_point).

    Per-tensor when `axis` is None (one scale and zero point), per-channel along `axis` otherwise.
    `qmin`/`qmax` bound the integer values (e.g. -127..127 for symmetric int8 weights); `bits` is
    the storage width of one value.
    """

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    qmin: int = -128
    qmax: int = 127
    axis: int | None = None
    bits: int = 8

    def __post_init__(self) -> None:
        if len(self.scale) != len(self.zero_point):
            raise ValueError("scale and zero_point must have the same length")
        if self.axis is None and len(self.scale) != 1:
            raise ValueError("per-tensor quantization has exactly one scale")

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    @staticmethod
    def per_tensor(scale: float, zero_point: int, qmin: int = -128, qmax: int = 127) -> "QuantParams":
        return QuantParams((float(scale),), (int(zero_point),), qmin, qmax)

    def same_grid(self, other: "QuantParams | None") -> bool:
        """True when both describe the same real value for every integer."""
        return other is not None and self.scale == other.scale and self.zero_point == other.zero_point


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: DType
    quant: QuantParams | None = None
    data: np.ndarray | None = None  # set for constants (weights, biases, tables)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


@dataclass
class Node:
    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: Any = None  # a frozen dataclass specific to `op`
    source: str = ""  # where the node came from in the user's model, for error messages
    kernel: str = ""  # lowered graphs: the C kernel variant chosen by tinygen.select (its symbol)

    def describe(self) -> str:
        where = f" (from {self.source})" if self.source and self.source != self.name else ""
        return f"node '{self.name}' [{self.op}]{where}"


@dataclass
class Graph:
    name: str
    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    dialect: str = "float"  # "float" or "lowered"
    # node name -> what a compression pass did to it or why it left it (tinygen/passes/compress),
    # shown in the report
    notes: dict[str, str] = field(default_factory=dict)

    # -- construction ---------------------------------------------------------------------------
    def unique_name(self, base: str, kind: str = "tensor") -> str:
        taken = set(self.tensors) if kind == "tensor" else {n.name for n in self.nodes}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def add_tensor(self, tensor: Tensor) -> Tensor:
        if tensor.name in self.tensors:
            raise ValueError(f"duplicate tensor name {tensor.name!r}")
        self.tensors[tensor.name] = tensor
        return tensor

    def add_const(self, base: str, data: np.ndarray, quant: QuantParams | None = None) -> Tensor:
        data = np.ascontiguousarray(data)
        return self.add_tensor(
            Tensor(self.unique_name(base), tuple(data.shape), DType(str(data.dtype)), quant, data)
        )

    def add_node(self, node: Node, index: int | None = None) -> Node:
        if index is None:
            self.nodes.append(node)
        else:
            self.nodes.insert(index, node)
        return node

    # -- queries --------------------------------------------------------------------------------
    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def uses(self, tensor: str) -> int:
        """How many places read `tensor`: node inputs plus graph outputs."""
        return sum(n.inputs.count(tensor) for n in self.nodes) + self.outputs.count(tensor)

    def t(self, name: str) -> Tensor:
        return self.tensors[name]

    def activations(self) -> list[Tensor]:
        return [t for t in self.tensors.values() if not t.is_const]

    # -- rewriting ------------------------------------------------------------------------------
    def replace_uses(self, old: str, new: str) -> None:
        for n in self.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
        self.outputs = [new if o == old else o for o in self.outputs]

    def remove_node(self, node: Node) -> None:
        self.nodes.remove(node)

    def prune(self) -> None:
        """Drop nodes whose outputs nobody reads, then tensors nobody references."""
        changed = True
        while changed:
            changed = False
            for n in list(self.nodes):
                if all(self.uses(o) == 0 for o in n.outputs):
                    self.nodes.remove(n)
                    changed = True
        referenced = set(self.inputs) | set(self.outputs)
        for n in self.nodes:
            referenced.update(n.inputs)
            referenced.update(n.outputs)
        for name in list(self.tensors):
            if name not in referenced:
                del self.tensors[name]

    def copy(self) -> "Graph":
        g = Graph(self.name, dialect=self.dialect)
        g.tensors = {k: dataclasses.replace(v) for k, v in self.tensors.items()}
        g.nodes = [dataclasses.replace(n, inputs=list(n.inputs), outputs=list(n.outputs)) for n in self.nodes]
        g.inputs = list(self.inputs)
        g.outputs = list(self.outputs)
        g.notes = dict(self.notes)
        return g

    def const_inputs(self, node: Node) -> list[Tensor]:
        return [self.tensors[i] for i in node.inputs if self.tensors[i].is_const]

    def act_inputs(self, node: Node) -> list[Tensor]:
        return [self.tensors[i] for i in node.inputs if not self.tensors[i].is_const]

    def summary(self) -> str:
        lines = [f"graph {self.name} ({self.dialect}): inputs {self.inputs} outputs {self.outputs}"]
        for n in self.nodes:
            ins = ", ".join(f"{i}{list(self.tensors[i].shape)}" for i in n.inputs)
            outs = ", ".join(f"{o}{list(self.tensors[o].shape)}" for o in n.outputs)
            lines.append(f"  {n.name}: {n.op}({ins}) -> {outs}")
        return "\n".join(lines)


def iter_attrs(attrs: Any) -> Iterable[tuple[str, Any]]:
    if attrs is None:
        return []
    return [(f.name, getattr(attrs, f.name)) for f in dataclasses.fields(attrs)]
