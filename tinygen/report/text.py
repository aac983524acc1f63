"""The readable report: a per-layer table and a summary of arena, SRAM and flash use.

Deterministic: the same report dict always renders to the same text.
"""

from __future__ import annotations

WHAT_WIDTH = 40  # the layer comment is cut to this many characters in the table (not in report.json)


def _shapes(tensors: list[dict]) -> str:
    return " + ".join("[" + ",".join(map(str, t["shape"])) + "]" for t in tensors) or "-"


def _pct(used: int, capacity: int | None) -> str:
    return f"of {capacity:,} B ({100.0 * used / capacity:.1f}%)" if capacity else "(capacity unknown)"


def _cut(text: str) -> str:
    return text if len(text) <= WHAT_WIDTH else text[:WHAT_WIDTH - 1] + "~"


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [r[c].rjust(widths[c]) if c in right else r[c].ljust(widths[c]) for c in range(len(r))]
        out.append("  ".join(cells).rstrip())
    return out


def render_text(report: dict) -> str:
    est = report["estimate"]
    source = "sizes estimated: no ELF yet" if est else "sizes from the linked ELF"
    lines = [f"tinygen report: {report['model']} on {report['board']} ({source})", ""]
    # `name` is the layer's name in the source model, as in --profile and the timeline picture
    rows = [["layer", "op", "name", "kernel", "what", "inputs -> outputs", "MACs", "weights B", "live arena B"]]
    for e in report["layers"]:
        what = e["comment"] or "-"
        rows.append([f"L{e['index']}", e["op"], _cut(e["name"]), e["kernel"], _cut(what),
                     f"{_shapes(e['inputs'])} -> {_shapes(e['outputs'])}", f"{e['macs']:,}",
                     f"{e['weight_bytes']:,}", f"{e['arena_live_bytes']:,}"])
    rows.append(["total", "", "", "", "", "", f"{report['macs']:,}", f"{report['weight_bytes']:,}", ""])
    lines += _table(rows, right={6, 7, 8})
    arena, bound = report["arena_bytes"], report["peak_lower_bound_bytes"]
    ratio = f"{100.0 * arena / bound:.1f}% of the bound" if bound else "no arena"
    peak = report["peak"]
    names = {e["index"]: e["name"] for e in report["layers"]}
    where = f", peak at L{peak['layer']} '{names.get(peak['layer'], '?')}'" if peak["layer"] is not None else ""
    tag = " [estimate]" if est else ""
    stack_tag = " [stack estimated]" if report["stack_estimate"] and not est else ""
    summary = [
        ["arena", f"{arena:,} B", f"lower bound {bound:,} B ({ratio}{where}), placement {report['arena_method']}"
         + (", optimal" if report["arena_optimal"] else "")],
        ["SRAM", f"{report['sram_bytes']:,} B", f"{_pct(report['sram_bytes'], report['sram_capacity_bytes'])}:"
         f" {' + '.join(f'{k} {v:,}' for k, v in report['sram_breakdown'].items())}{tag}{stack_tag}"],
        ["flash", f"{report['flash_bytes']:,} B", f"{_pct(report['flash_bytes'], report['flash_capacity_bytes'])}:"
         f" {' + '.join(f'{k} {v:,}' for k, v in report['flash_breakdown'].items())}{tag}"],
        ["weights", f"{report['weight_bytes']:,} B", f"in {len(report['layers'])} layers, "
         f"{len(report['kernels'])} kernels: {', '.join(report['kernels']) or '-'}"],
        ["MACs", f"{report['macs']:,}", ""],
    ]
    notes = [f"  L{e['index']} {e['name']}: {e['compression']}" for e in report["layers"] if e.get("compression")]
    if notes:  # tinygen/passes/compress: pruned filters, codebook and sparse storage, and why not
        lines += ["", "weight compression"] + notes
    lines += ["", "summary"] + ["  " + s for s in _table(summary, right={1})]
    return "\n".join(lines) + "\n"
