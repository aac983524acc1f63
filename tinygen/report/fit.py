"""Decide whether a model fits a board, and explain why not with the numbers.

The message has one line per fact: for each resource that overflows, how many bytes are needed
and available and by how much it is over, what the total is made of, and the three largest
contributors (the largest buffers live at the peak layer for SRAM, the largest layer weight arrays
for flash), then what to try.
"""

from __future__ import annotations

from tinygen.errors import FitError
from tinygen.report.advice import flash_advice, sram_advice


def _parts(parts: dict) -> str:
    return " + ".join(f"{k} {v:,}" for k, v in parts.items())


def _largest_live(report: dict) -> str:
    peak = report["peak"]
    if not peak["buffers"]:
        return "  no arena buffers: the I/O buffers and the stack fill SRAM"
    layer = next((e for e in report["layers"] if e["index"] == peak["layer"]), None)
    where = f"L{peak['layer']}" + (f" {layer['op']} '{layer['name']}'" if layer else "")
    top = ", ".join(f"{b['name']} {b['bytes']:,} B" for b in peak["buffers"][:3])
    return f"  largest live buffers at the peak layer {where} ({peak['live_bytes']:,} B live): {top}"


def _largest_weights(report: dict) -> str:
    layers = sorted(report["layers"], key=lambda e: (-e["weight_bytes"], e["index"]))[:3]
    top = ", ".join(f"L{e['index']} {e['op']} '{e['name']}' {e['weight_bytes']:,} B" for e in layers if e["weight_bytes"])
    return f"  largest weight arrays: {top or 'none'}"


def _overflow(name: str, used: int, capacity: int, estimate: bool, parts: dict) -> str:
    est = " (estimate)" if estimate else ""
    return f"{name}: needs {used:,} bytes{est}, the board has {capacity:,}: over by {used - capacity:,} bytes" \
           f" [{_parts(parts)}]"


def check_fit(report: dict, sram_capacity: int | None, flash_capacity: int | None) -> None:
    """Raise FitError when SRAM or flash use exceeds the capacity (None: not checked)."""
    lines = []
    if sram_capacity is not None and report["sram_bytes"] > sram_capacity:
        lines.append(_overflow("SRAM", report["sram_bytes"], sram_capacity, report["estimate"],
                               report["sram_breakdown"]))
        lines.append(_largest_live(report))
        lines += sram_advice(report)
    if flash_capacity is not None and report["flash_bytes"] > flash_capacity:
        lines.append(_overflow("flash", report["flash_bytes"], flash_capacity, report["estimate"],
                               report["flash_breakdown"]))
        lines.append(_largest_weights(report))
        lines += flash_advice(report, report["flash_bytes"] - flash_capacity)
    if lines:
        raise FitError("\n".join([f"model '{report['model']}' does not fit board {report['board']}:"] + lines))
