"""Build the report.json dictionary from the graph, its memory plan and codegen's layer list.

Sizes come from the linked ELF when `elf_sizes` is given ({"text", "rodata", "data", "bss"} and
optionally "stack", the worst case from -fstack-usage and the call graph):

    flash = .text + .rodata + .data (the initial values of .data are stored in flash)
    sram  = .data + .bss + stack    (the arena and any static I/O buffers are in .bss)

The model library (DIR/model: the model's C file and its kernels) is reported first and apart
from the validation harness, because it is what a user's own firmware pays (`elf_sizes["model"]`:
its objects' bytes from the link map; `elf_sizes["model_stack"]`: the call-graph worst case of
<name>_invoke alone):

    model RAM   = arena + other .data/.bss of the library + I/O buffers (the caller's) + stack
    model flash = code (.text) + weights and constants (.rodata) + .data initial values
    harness     = the firmware's figures minus the model library's

Without an ELF they are estimates, and `estimate` is true:

    flash = weight bytes + KERNEL_CODE_BYTES per distinct kernel + LAYER_CODE_BYTES per layer
    sram  = arena + the caller's input and output buffers + STACK_BYTES

Inputs planned in the arena need no buffer of the caller's. `input_placement` gives the SRAM both
ways: the built one, and the other (`--input-buffer`) derived from `other_plan`, the same order
planned with the input on the other side:

    other sram = sram - arena + other arena -+ the input bytes (a buffer the caller holds or not)
"""

from __future__ import annotations

from typing import Mapping, Sequence

from tinygen.ir.graph import Graph
from tinygen.plan import patch
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


def _model_library(arena: int, io_bytes: int, weight_bytes: int, n_kernels: int, n_layers: int,
                   elf_sizes: Mapping | None) -> dict:
    """The model library's own RAM and flash (see the module docstring)."""
    part = elf_sizes.get("model") if elf_sizes else None
    if part is None:
        ram = {"arena": arena, "io_buffers": io_bytes, "stack": STACK_BYTES}
        flash = {"weights": weight_bytes, "kernel_code": KERNEL_CODE_BYTES * n_kernels,
                 "layer_code": LAYER_CODE_BYTES * n_layers}
        estimate = True
    else:
        static = int(part["data"]) + int(part["bss"])
        in_library = arena if static >= arena else 0  # a caller-supplied arena is not the library's
        ram = {"arena": arena, "data_bss": static - in_library, "io_buffers": io_bytes,
               "stack": int(elf_sizes.get("model_stack") or 0)}
        flash = {"code": int(part["text"]), "weights_constants": int(part["rodata"]), "data_init": int(part["data"])}
        estimate = False
    return {"estimate": estimate, "ram_bytes": sum(ram.values()), "ram": ram,
            "flash_bytes": sum(flash.values()), "flash": flash}


def _inplace_layers(graph: Graph, plan: MemoryPlan) -> list[int]:
    """Layers whose output shares storage with one of their inputs."""
    out = []
    for i, node in enumerate(graph.nodes):
        roots = {plan.aliases.get(t, t) for t in node.inputs}
        if node.outputs and node.outputs[0] in plan.aliases and plan.aliases[node.outputs[0]] in roots:
            out.append(i)
    return out


def _schedule(graph: Graph, plan: MemoryPlan, plain_bound: int | None) -> dict:
    inplace = _inplace_layers(graph, plan)
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    fused = sorted(sorted(index[m] for m in ch.members) for ch in plan.chains.values())  # each one call
    kind = "fused row bands + in-place" if fused else "in-place" if inplace else "layer at a time"
    patched = [{"layers": [index[m] for m in st.nodes], "tiles": len(st.bands), "extra_macs": st.extra_macs,
                "extra_instructions": st.extra_instructions, "over_input": st.over_input} for st in plan.patches]
    limit = patch.budget(graph, plan.options.patch_budget)
    if patched:
        kind = "patch-based + " + kind
    return {"kind": kind, "order": "rescheduled" if plan.rescheduled else "given",
            "fusion": "auto" if plan.options.fusion else "off", "inplace_layers": inplace, "fused_layers": fused,
            "patched_layers": patched, "extra_macs": sum(st.extra_macs for st in plan.patches),
            "extra_instructions": sum(st.extra_instructions for st in plan.patches),  # estimated (plan/patch.py)
            "patch_budget": plan.options.patch_budget,
            "patch_limit": {"macs": limit.macs, "instructions": limit.instructions,
                            "estimated_instructions": int(patch.estimated_instructions(graph))},
            "lower_bound_bytes": plan.lower_bound,
            "plain_lower_bound_bytes": plan.lower_bound if plain_bound is None else plain_bound}


def _input_placement(graph: Graph, plan: MemoryPlan, sram: int, other_plan: MemoryPlan | None) -> dict:
    here = "arena" if plan.options.input_in_arena else "caller"
    moved = sum(graph.t(t).nbytes for t in (plan.arena_inputs or (other_plan.arena_inputs if other_plan else [])))
    out = {"input_buffer": here, "arena_inputs": list(plan.arena_inputs),
           here: {"arena_bytes": plan.arena_bytes, "sram_bytes": sram, "derived": False}}
    if other_plan is not None:
        other = "caller" if here == "arena" else "arena"
        sign = 1 if here == "arena" else -1
        out[other] = {"arena_bytes": other_plan.arena_bytes, "derived": True,
                      "sram_bytes": sram - plan.arena_bytes + other_plan.arena_bytes + sign * moved}
    return out


def make_report(graph: Graph, plan: MemoryPlan, layers: Sequence, board_name: str,
                sram_bytes: int | None = None, flash_bytes: int | None = None,
                elf_sizes: Mapping[str, int] | None = None, other_plan: MemoryPlan | None = None,
                plain_bound: int | None = None) -> dict:
    """report.json as a dict. `sram_bytes` / `flash_bytes` are the board's capacities (None when
    unknown); `layers` are codegen's LayerInfo, one per node in graph order; `other_plan` the plan
    with the input on the other side of the arena, `plain_bound` the lower bound layer at a time."""
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
    io_bytes = sum(graph.t(t).nbytes for t in dict.fromkeys(graph.inputs + graph.outputs) if t not in plan.arena_inputs)
    kernels = sorted({e["kernel"] for e in entries})
    model = _model_library(plan.arena_bytes, io_bytes, weight_bytes, len(kernels), len(entries), elf_sizes)
    if elf_sizes is None:
        stack = STACK_BYTES
        flash_parts = {"weights": weight_bytes, "kernel_code": KERNEL_CODE_BYTES * len(kernels),
                       "layer_code": LAYER_CODE_BYTES * len(entries)}
        sram_parts = {"arena": plan.arena_bytes, "io_buffers": io_bytes, "stack": stack}
    else:
        stack = int(elf_sizes.get("stack", STACK_BYTES))
        flash_parts = {k: int(elf_sizes.get(k, 0)) for k in ("text", "rodata", "data")}
        sram_parts = {"data": int(elf_sizes.get("data", 0)), "bss": int(elf_sizes.get("bss", 0)), "stack": stack}
    sram = sum(sram_parts.values())
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
        "stack_worst_bytes": int(elf_sizes["stack_worst"]) if elf_sizes and elf_sizes.get("stack_worst") else None,
        "model_library": model,
        "io_bytes": io_bytes,
        "sram_bytes": sram,
        "input_placement": _input_placement(graph, plan, sram, other_plan),
        "schedule": _schedule(graph, plan, plain_bound),
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
