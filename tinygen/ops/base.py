"""What an op is: one `OpDef` per lowered op, registered by name.

An op module defines its attribute dataclass and an `OpDef` subclass with

* `reference(node, graph, inputs)`: the numpy specification, on batched arrays (leading N),
* `emit(node, graph)`: the C call (kernel symbol, params struct fields, constant arrays),
* `macs`, `scratch_bytes` and `inplace_input` for the planner and the report.

Codegen and the reference interpreter look ops up in `REGISTRY`; nothing dispatches on op
strings with if/elif.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np

from tinygen.ir.graph import Graph, Node


@dataclass
class CArray:
    """A constant array placed in flash (`static const`)."""

    ctype: str  # e.g. "int8_t"
    values: np.ndarray
    comment: str = ""


@dataclass
class KernelCall:
    """One call in the generated invoke function: symbol(&params, inputs..., outputs...[, scratch]).

    `inputs` may name constant tensors (e.g. the per-channel operand of a mul); codegen places
    those in flash and passes the array."""

    symbol: str  # also the kernel's source file: runtime_c/kernels/<symbol>.c
    header: str  # runtime_c/include/<header> declaring symbol and params_type
    params_type: str
    fields: list[tuple[str, int | CArray]]
    inputs: list[str]
    outputs: list[str]
    inputs_as_array: bool = False  # pass inputs as `const int8_t *const[]` (concat)
    skip_if_inplace: bool = False  # a pure copy (reshape): nothing to do when planned in place
    scratch_bytes: int = 0
    comment: str = ""


class OpDef:
    name: ClassVar[str]
    attrs_type: ClassVar[type | None] = None  # the frozen dataclass held in Node.attrs

    def reference(self, node: Node, graph: Graph, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def emit(self, node: Node, graph: Graph) -> KernelCall:
        raise NotImplementedError

    def macs(self, node: Node, graph: Graph) -> int:
        return 0

    def scratch_bytes(self, node: Node, graph: Graph) -> int:
        return 0

    def inplace_input(self, node: Node, graph: Graph) -> int | None:
        """Index of an input whose buffer the output may overwrite (same size, read before write)."""
        return None

    def check(self, node: Node, graph: Graph) -> None:
        """Raise ValueError when attributes and tensors disagree (run by the verifier)."""


REGISTRY: dict[str, OpDef] = {}


def register(cls: type[OpDef]) -> type[OpDef]:
    if cls.name in REGISTRY:
        raise ValueError(f"op {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def get(name: str) -> OpDef:
    from tinygen import ops  # noqa: F401  (imports every op module, filling REGISTRY)

    return REGISTRY[name]


def supported_ops() -> list[str]:
    from tinygen import ops  # noqa: F401

    return sorted(REGISTRY)


def c_values(values: Sequence[int] | np.ndarray, ctype: str, comment: str = "") -> CArray:
    return CArray(ctype, np.asarray(values), comment)
