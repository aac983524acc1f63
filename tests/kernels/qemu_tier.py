"""The QEMU tier of the kernel tests: the same seeded cases as firmware for the Cortex-M4 and M7
stand-ins, so each optimized variant is checked with the real DSP instructions, not only with
tg_dsp.h's portable definitions on the host."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tinygen.ir.graph import Graph
from tinygen.testing import merge_graphs

BOARDS = ("f446re", "f746zg")  # built for their stand-ins: mps2-an386 (M4), mps2-an500 (M7)


def check_on_qemu(graphs: Sequence[Graph], workdir: Path, kernel: str | Sequence[str], boards: Sequence[str] = BOARDS,
                  count: int = 3, seed: int = 0) -> None:
    """Pin `kernel` on every node of `graphs` (one-node graphs it supports; or one kernel per
    graph), build one firmware holding all of them per board, and require bit-exact agreement
    with the reference."""
    from tests.device.models import missing_tools, write_build
    from tinygen.device.validate import validate

    reason = missing_tools()
    if reason:
        import pytest

        pytest.skip(reason)
    kernels = [kernel] * len(graphs) if isinstance(kernel, str) else list(kernel)
    assert len(kernels) == len(graphs)
    merged = merge_graphs(graphs, "variants")
    for n in merged.nodes:  # merge_graphs names node j of graph i g<i>_<name>
        n.kernel = kernels[int(n.name[1:n.name.index("_")])]
    for board in boards:
        program = write_build(merged, Path(workdir) / board, board)
        r = validate(program, qemu=True, board=board, count=count, seed=seed)
        assert r.passed, f"{kernel} on {board}: {r.summary_text()}"
