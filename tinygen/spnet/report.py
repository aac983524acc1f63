"""The fit report of an SP-Net build: flash per switch and in total, SRAM (one arena, the largest
switch's), MACs and kernels per switch.

With firmware, sizes come from the compiled objects and the linked ELF:

    switch flash  = its own object (<name>_s<k>.o: weights, params, invoke) + the kernels it calls
    shared flash  = kernels called by more than one switch (counted once in the total)
    total flash   = the linked ELF (.text + .rodata + .data), harness and platform included
    sram          = .data + .bss + stack of the ELF; the arena in .bss is the largest switch's

Object sizes are counted before --gc-sections, so switch figures are upper bounds. Without
firmware (board host) the per-switch figures are the single-model estimates (report/make.py),
and total flash is their sum (kernels counted per switch), SRAM the arena plus a stack estimate.
"""

from __future__ import annotations

import json
from pathlib import Path

from tinygen.compile.sizes import object_sizes


def _flash_of(sizes: dict) -> int:
    return sizes["text"] + sizes["rodata"] + sizes["data"]


def combined_report(out_dir: Path, builds, board: str, fw, seconds: float | None) -> dict:
    switches = []
    users: dict[str, list[int]] = {}
    for b in builds:
        for k in {layer.symbol for layer in b.gen.layers}:
            users.setdefault(k, []).append(b.bits)
    obj_dir = fw.firmware_dir / "build" / fw.target / "model" if fw is not None else None
    kernel_flash = {}
    if obj_dir is not None:
        for k in users:
            o = obj_dir / f"{k}.o"
            kernel_flash[k] = _flash_of(object_sizes([o])) if o.exists() else 0
    layers = []
    for b in builds:
        rep = json.loads((out_dir / "switches" / f"s{b.bits}" / "report.json").read_text())
        layers += [{**layer, "switch": b.bits} for layer in rep["layers"]]
        kernels = sorted({layer.symbol for layer in b.gen.layers})
        entry = {"bits": b.bits, "prefix": b.prefix, "layers": len(b.graph.nodes), "macs": int(b.gen.macs),
                 "weight_bytes": int(b.gen.weight_bytes), "arena_bytes": int(b.plan.arena_bytes),
                 "peak_lower_bound_bytes": int(b.plan.lower_bound), "kernels": kernels,
                 "ops": [layer.op for layer in b.gen.layers]}
        if obj_dir is not None:
            own = _flash_of(object_sizes([obj_dir / f"{b.prefix}.o"]))
            entry["flash_bytes"] = own + sum(kernel_flash[k] for k in kernels)
            entry["flash_own_bytes"] = own
            entry["flash_estimate"] = False
        else:
            entry["flash_bytes"] = int(rep["flash_bytes"])
            entry["flash_estimate"] = True
        switches.append(entry)
    shared = sorted(k for k, u in users.items() if len(u) > 1)
    report = {
        "kind": "spnet", "model": builds[0].prefix.rsplit("_s", 1)[0], "board": board,
        "switches": switches, "shared_kernels": shared,
        "arena_bytes": max(s["arena_bytes"] for s in switches),
        "peak_lower_bound_bytes": max(s["peak_lower_bound_bytes"] for s in switches),
        "weight_bytes": sum(s["weight_bytes"] for s in switches),
        "macs": max(s["macs"] for s in switches),
        "kernels": sorted(users),
        "estimate": fw is None,
        "layers": layers,  # every switch's layers, each tagged with its switch
    }
    if fw is not None:
        sizes = fw.sizes
        stack = fw.stack_reserved + fw.handler_stack_reserved
        report.update({
            "flash_bytes": sizes.flash_bytes, "sram_bytes": sizes.data + sizes.bss + stack, "stack_bytes": stack,
            "flash_breakdown": {"text": sizes.text, "rodata": sizes.rodata, "data": sizes.data},
            "sram_breakdown": {"data": sizes.data, "bss": sizes.bss, "stack": stack},
            "shared_kernel_flash_bytes": sum(kernel_flash[k] for k in shared),
            "dispatcher_flash_bytes": _flash_of(object_sizes([obj_dir / f"{report['model']}.o"])),
            "firmware": fw.to_json(),
        })
        from tinygen.boards import load_board

        b = load_board(board)
        report["sram_capacity_bytes"], report["flash_capacity_bytes"] = b.ram_bytes, b.flash_bytes
    else:
        report["flash_bytes"] = sum(s["flash_bytes"] for s in switches)  # estimate, kernels counted per switch
        stack = max(json.loads((out_dir / "switches" / f"s{b.bits}" / "report.json").read_text())["stack_bytes"]
                    for b in builds)
        report["stack_bytes"] = stack
        report["sram_bytes"] = report["arena_bytes"] + stack  # estimate; the I/O buffers are the caller's
    if seconds is not None:
        report["build_seconds"] = round(seconds, 2)
    return report


def render(report: dict) -> str:
    lines = [f"SP-Net {report['model']} for {report['board']}: {len(report['switches'])} switches"
             + (" (estimates)" if report["estimate"] else ""),
             f"{'bits':>4} {'layers':>6} {'MACs':>9} {'weights B':>9} {'arena B':>8} {'flash B':>8}  kernels"]
    for s in report["switches"]:
        lines.append(f"{s['bits']:>4} {s['layers']:>6} {s['macs']:>9,} {s['weight_bytes']:>9,} {s['arena_bytes']:>8,} "
                     f"{s['flash_bytes']:>8,}  {', '.join(s['kernels'])}")
    lines.append(f"total flash {report['flash_bytes']:,} B"
                 + (" (linked ELF, harness included)" if not report["estimate"] else "")
                 + f"; SRAM {report['sram_bytes']:,} B (one arena of {report['arena_bytes']:,} B, the largest switch's)")
    if report["shared_kernels"]:
        extra = f" ({report['shared_kernel_flash_bytes']:,} B)" if "shared_kernel_flash_bytes" in report else ""
        lines.append(f"kernels shared between switches{extra}: {', '.join(report['shared_kernels'])}")
    return "\n".join(lines) + "\n"


def write_combined(out_dir: Path, report: dict) -> None:
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out_dir / "report.txt").write_text(render(report))
