"""Build the report.json dictionary from the graph, its memory plan and codegen's layer list.

Sizes come from the linked ELF when `elf_sizes` is given ({"text", "rodata", "data", "bss"} and
optionally "stack", the worst case from -fstack-usage and the call graph):

    flash = .text + .rodata + .data (the initial values of .data are stored in flash)
    sram  = .data + .bss + stack    (the arena and any static I/O buffers are in .bss)

Without an ELF they are estimates, and `estimate` is true:

    flash = weight bytes + KERNEL_CODE_BYTES per distinct kernel + LAYER_CODE_BYTES per layer
    sram  = arena + graph input and output buffers + STACK_BYTES
"""

from __future__ import annotations

from typing import Mapping, Sequence

from tinygen.ir.graph import Graph
from tinygen.plan.liveness import scratch_name
from tinygen.plan.memory_plan import MemoryPlan

KERNEL_CODE_BYTES = 1024  # reference kernels are 16-734 B of Thumb-2 at -Os; optimized ones more
LAYER_CODE_BYTES = 96  # one params struct in flash plus the call in the invoke function
STACK_BYTES = 1024  # harness main plus one kernel frame, until -fstack-usage gives the real figure


def _tensor(graph: Graph, name: str) -> dict:
    t = graph.t(name)
    return {"name": name, "shape": list(t.shape), "dtype": t.dtype.value}


def _peak(plan: MemoryPlan, live: list[int]) -> dict:
    if not live:
        return {"layer": None, "live_bytes": 0, "buffers": []}
    layer = live.index(max(live))
    here = [b for b in plan.buffers if b.live_at(layer)]
    here.sort(key=lambda b: (-b.size, b.name))
    return {"layer": layer, "live_bytes": live[layer],
            "buffers": [{"name": b.name, "bytes": b.size, "offset": plan.offsets[b.name]} for b in here]}


def make_report(graph: Graph, plan: MemoryPlan, layers: Sequence, board_name: str,
                sram_bytes: int | None = None, flash_bytes: int | None = None,
                elf_sizes: Mapping[str, int] | None = None) -> dict:
    """report.json as a dict. `sram_bytes` / `flash_bytes` are the board's capacities (None when
    unknown); `layers` are codegen's LayerInfo, one per node in graph order."""
    live = plan.live_bytes(len(graph.nodes))
    scratch = {b.name: b.size for b in plan.buffers}
    entries = []
    for info in layers:
        node = graph.nodes[info.index]
        entries.append({
            "index": info.index, "name": info.name, "op": info.op, "kernel": info.symbol, "comment": info.comment,
            "inputs": [_tensor(graph, t) for t in node.inputs if not graph.t(t).is_const],
            "outputs": [_tensor(graph, t) for t in node.outputs],
            "macs": int(info.macs), "weight_bytes": int(info.weight_bytes),
            "arena_live_bytes": live[info.index], "scratch_bytes": scratch.get(scratch_name(node), 0),
            "compression": graph.notes.get(node.name, ""),
        })
    weight_bytes = sum(e["weight_bytes"] for e in entries)
    io_bytes = sum(graph.t(t).nbytes for t in dict.fromkeys(graph.inputs + graph.outputs))
    kernels = sorted({e["kernel"] for e in entries})
    if elf_sizes is None:
        stack = STACK_BYTES
        flash_parts = {"weights": weight_bytes, "kernel_code": KERNEL_CODE_BYTES * len(kernels),
                       "layer_code": LAYER_CODE_BYTES * len(entries)}
        sram_parts = {"arena": plan.arena_bytes, "io_buffers": io_bytes, "stack": stack}
    else:
        stack = int(elf_sizes.get("stack", STACK_BYTES))
        flash_parts = {k: int(elf_sizes.get(k, 0)) for k in ("text", "rodata", "data")}
        sram_parts = {"data": int(elf_sizes.get("data", 0)), "bss": int(elf_sizes.get("bss", 0)), "stack": stack}
    return {
        "model": graph.name,
        "board": board_name,
        "estimate": elf_sizes is None,
        "stack_estimate": elf_sizes is None or "stack" not in elf_sizes,
        "arena_bytes": plan.arena_bytes,
        "peak_lower_bound_bytes": plan.lower_bound,
        "arena_method": plan.method,
        "arena_optimal": plan.optimal,
        "stack_bytes": stack,
        "io_bytes": io_bytes,
        "sram_bytes": sum(sram_parts.values()),
        "sram_breakdown": sram_parts,
        "sram_capacity_bytes": sram_bytes,
        "flash_bytes": sum(flash_parts.values()),
        "flash_breakdown": flash_parts,
        "flash_capacity_bytes": flash_bytes,
        "weight_bytes": weight_bytes,
        "macs": sum(e["macs"] for e in entries),
        "kernels": kernels,
        "peak": _peak(plan, live),
        "layers": entries,
    }
