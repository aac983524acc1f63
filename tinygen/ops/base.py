"""What an op is: one `OpDef` per lowered op, registered by name.

An op module defines its attribute dataclass and an `OpDef` subclass with

* `reference(node, graph, inputs)`: the numpy specification, on batched arrays (leading N),
* `kernels`: its C kernel variants as data (`Kernel`: symbol, params struct, what it supports,
  its scratch size, the weight layout it reads), fastest first, references last,
* `emit(node, graph)`: the C call for the variant recorded on the node (`node.kernel`, chosen by
  `tinygen.select`): params struct field values and constant arrays,
* `macs` and `inplace_input` for the planner and the report.

Codegen and the reference interpreter look ops up in `REGISTRY`; nothing dispatches on op
strings with if/elif.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Sequence

import numpy as np

from tinygen.ir.graph import Graph, Node


@dataclass
class CArray:
    """A constant array placed in flash (`static const`)."""

    ctype: str  # e.g. "int8_t"
    values: np.ndarray
    comment: str = ""


def _always(node: Node, graph: Graph) -> bool:
    return True


def _no_scratch(node: Node, graph: Graph) -> int:
    return 0


@dataclass(frozen=True)
class Kernel:
    """One C kernel variant of an op: `symbol(&params, inputs..., outputs...[, scratch])`.

    * `symbol` is also its source file, runtime_c/kernels/<symbol>.c;
    * `header` (runtime_c/include/) declares it and `params_type`, the one declaration of the
      params struct: codegen checks every emitted field list against that struct;
    * `supports(node, graph)`: the shapes and attributes it handles (a reference handles all
      nodes of its op, or of its mode where an op has several reference algorithms);
    * `needs`: target features it requires (e.g. "dsp" for ARMv7E-M SIMD; the host has a
      portable C definition of every intrinsic, so it offers them too);
    * `scratch(node, graph)`: arena scratch bytes; a kernel with scratch also defines
      `size_t <symbol>_scratch_bytes(const <params_type> *)` in C, tested equal to this;
    * `layout`: the weight layout `emit` must produce for it ("" = the op's canonical one);
    * `inplace_ok`: the C is correct with the output pointer equal to the op's `inplace_input`
      (each element read before it is written, nothing read again after it is written, no
      `restrict`); the planner aliases only kernels that declare it, and each one that does has
      a bit-exact in-place test (tests/plan/test_inplace_kernels.py);
    * `inplace_lag(node, graph)`: declared by a kernel callable on row bands (its params' in_h /
      out_h / pad_t may describe a band; rows at or beyond in_h read as padding): the bytes of lag
      buffer it needs to run in place that way (0: not this node; tinygen/ops/inplace_rows.py).
      Such kernels also run fused (tinygen/plan/fusion.py).
    """

    symbol: str
    header: str
    params_type: str
    supports: Callable[[Node, Graph], bool] = _always
    needs: frozenset[str] = frozenset()
    scratch: Callable[[Node, Graph], int] = _no_scratch
    layout: str = ""
    reference: bool = False
    inplace_ok: bool = False
    inplace_lag: Callable[[Node, Graph], int] | None = None


def reference_kernel(symbol: str, header: str, params_type: str,
                     supports: Callable[[Node, Graph], bool] = _always, inplace_ok: bool = False,
                     inplace_lag: Callable[[Node, Graph], int] | None = None) -> Kernel:
    return Kernel(symbol, header, params_type, supports, reference=True, inplace_ok=inplace_ok,
                  inplace_lag=inplace_lag)


@dataclass
class KernelCall:
    """The values of one call in the generated invoke function, for the node's kernel.

    `inputs` may name constant tensors (e.g. the per-channel operand of a mul); codegen places
    those in flash and passes the array."""

    fields: list[tuple[str, int | CArray | None]]  # None: a NULL pointer the kernel does not read
    inputs: list[str]
    outputs: list[str]
    inputs_as_array: bool = False  # pass inputs as `const int8_t *const[]` (concat)
    skip_if_inplace: bool = False  # a pure copy (reshape): nothing to do when planned in place
    comment: str = ""


class OpDef:
    name: ClassVar[str]
    attrs_type: ClassVar[type | None] = None  # the frozen dataclass held in Node.attrs
    kernels: ClassVar[tuple[Kernel, ...]] = ()  # preference order: fastest first, references last

    def reference(self, node: Node, graph: Graph, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def emit(self, node: Node, graph: Graph) -> KernelCall:
        raise NotImplementedError

    def macs(self, node: Node, graph: Graph) -> int:
        return 0

    def kernel(self, node: Node) -> Kernel:
        """The variant recorded on the node by kernel selection."""
        for k in self.kernels:
            if k.symbol == node.kernel:
                return k
        raise ValueError(f"{node.describe()}: no kernel {node.kernel!r} among "
                         f"{[k.symbol for k in self.kernels]} (run tinygen.select.select_kernels first)")

    def scratch_bytes(self, node: Node, graph: Graph) -> int:
        """Scratch of the node's recorded kernel; 0 before selection."""
        return self.kernel(node).scratch(node, graph) if node.kernel else 0

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
