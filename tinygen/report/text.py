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


def _stage(st: dict) -> str:
    instr = f", +{st['extra_instructions']:,} est. instructions" if "extra_instructions" in st else ""
    return (f", L{st['layers'][0]}..L{st['layers'][-1]} tiled ({len(st['layers'])} layers, {st['tiles']} tiles, "
            f"+{st['extra_macs']:,} MACs{instr})")


def _recompute(report: dict, sched: dict) -> str:
    """The patch stages' recompute against both caps of plan/patch.py's rule (MACs, estimated
    instructions); reports written before the instruction cap show the MACs only."""
    text = f" (+{sched['extra_macs'] / max(1, report['macs']):.1%} MACs, cap {sched['patch_budget']:.0%}"
    limit = sched.get("patch_limit")
    if limit:
        est = max(1, limit["estimated_instructions"])
        text += (f"; +{sched['extra_instructions'] / est:.1%} of the {est:,} estimated instructions, "
                 f"cap {limit['instructions'] / est:.1%}")
    return text + ")"


def render_text(report: dict) -> str:
    est = report["estimate"]
    source = "sizes estimated: no ELF yet" if est else "sizes from the linked ELF"
    lines = [f"tinygen report: {report['model']} on {report['board']} ({source})", ""]
    # `name` is the layer's name in the source model, as in --profile and the timeline picture
    sched = report.get("schedule", {})
    inplace = set(sched.get("inplace_layers", []))
    peak_layer = report["peak"]["layer"]
    rows = [["layer", "op", "name", "kernel", "what", "inputs -> outputs", "MACs", "weights B", "live arena B", "runs"]]
    for e in report["layers"]:
        what = e["comment"] or "-"
        fused = {i for chain in sched.get("fused_layers", []) for i in chain}
        tiled = {i for st in sched.get("patched_layers", []) for i in st["layers"]}
        runs = ", ".join(x for x, on in (("in place", e["index"] in inplace), ("fused", e["index"] in fused),
                                         ("tiled", e["index"] in tiled),
                                         ("peak", e["index"] == peak_layer)) if on)
        rows.append([f"L{e['index']}", e["op"], _cut(e["name"]), e["kernel"], _cut(what),
                     f"{_shapes(e['inputs'])} -> {_shapes(e['outputs'])}", f"{e['macs']:,}",
                     f"{e['weight_bytes']:,}", f"{e['arena_live_bytes']:,}", runs])
    rows.append(["total", "", "", "", "", "", f"{report['macs']:,}", f"{report['weight_bytes']:,}", "", ""])
    lines += _table(rows, right={6, 7, 8})
    arena, bound = report["arena_bytes"], report["peak_lower_bound_bytes"]
    ratio = f"{100.0 * arena / bound:.1f}% of the bound" if bound else "no arena"
    peak = report["peak"]
    names = {e["index"]: e["name"] for e in report["layers"]}
    where = f", peak at L{peak['layer']} '{names.get(peak['layer'], '?')}'" if peak["layer"] is not None else ""
    tag = " [estimate]" if est else ""
    stack_tag = " [stack estimated]" if report["stack_estimate"] and not est else ""
    model = report.get("model_library")
    worst = report.get("stack_worst_bytes")
    stack_note = f" (stack reserved; worst case {worst:,} from this firmware's call graph)" if worst else ""
    summary = []
    if model:
        mtag = " [estimate]" if model["estimate"] else ""
        summary += [
            ["model RAM", f"{model['ram_bytes']:,} B", " + ".join(f"{k} {v:,}" for k, v in model["ram"].items())
             + mtag + ("" if model["estimate"] else "; stack = worst case of the invoke call graph, I/O = the caller's")],
            ["model flash", f"{model['flash_bytes']:,} B",
             " + ".join(f"{k} {v:,}" for k, v in model["flash"].items()) + mtag],
        ]
    summary += [
        ["arena", f"{arena:,} B", f"lower bound {bound:,} B ({ratio}{where}), placement {report['arena_method']}"
         + (", optimal" if report["arena_optimal"] else "")],
        ["weights", f"{report['weight_bytes']:,} B", f"in {len(report['layers'])} layers, "
         f"{len(report['kernels'])} kernels: {', '.join(report['kernels']) or '-'}"],
        ["MACs", f"{report['macs']:,}", ""],
    ]
    if est:
        summary += [
            ["SRAM", f"{report['sram_bytes']:,} B", f"{_pct(report['sram_bytes'], report['sram_capacity_bytes'])}: "
             + " + ".join(f"{k} {v:,}" for k, v in report["sram_breakdown"].items()) + tag],
            ["flash", f"{report['flash_bytes']:,} B", f"{_pct(report['flash_bytes'], report['flash_capacity_bytes'])}: "
             + " + ".join(f"{k} {v:,}" for k, v in report["flash_breakdown"].items()) + tag],
        ]
    else:
        summary += [
            ["firmware SRAM", f"{report['sram_bytes']:,} B", f"{_pct(report['sram_bytes'], report['sram_capacity_bytes'])}: "
             + " + ".join(f"{k} {v:,}" for k, v in report["sram_breakdown"].items()) + stack_tag + stack_note],
            ["firmware flash", f"{report['flash_bytes']:,} B",
             f"{_pct(report['flash_bytes'], report['flash_capacity_bytes'])}: "
             + " + ".join(f"{k} {v:,}" for k, v in report["flash_breakdown"].items())],
        ]
        if model and not model["estimate"]:
            summary.append(["harness", "", f"RAM {report['sram_bytes'] - model['ram_bytes']:,} B, flash "
                            f"{report['flash_bytes'] - model['flash_bytes']:,} B: the validation firmware "
                            "(protocol, board support, libc) beside the model library"])
    first = 2 if model else 0  # the rows below go after the model library's own two
    if sched:
        where = ", ".join(f"L{i}" for i in sched["inplace_layers"][:12]) + (", ..." if len(sched["inplace_layers"]) > 12 else "")
        summary.insert(first + 1, ["schedule", sched["kind"],
                           f"{sched['order']} node order, fusion {sched['fusion']}"
                           + (f", {len(sched['inplace_layers'])} layers in place: {where}" if sched["inplace_layers"] else "")
                           + (f", {len(sched['fused_layers'])} chains fused in row bands: "
                              + ", ".join("+".join(f"L{i}" for i in group) for group in sched["fused_layers"][:8])
                              + (", ..." if len(sched["fused_layers"]) > 8 else "") if sched.get("fused_layers") else "")
                           + "".join(_stage(st) for st in sched.get("patched_layers", []))
                           + (_recompute(report, sched) if sched.get("patched_layers") else "")
                           + f"; lower bound {sched['lower_bound_bytes']:,} B, layer at a time on whole tensors "
                           f"{sched['plain_lower_bound_bytes']:,} B"])
    place = report.get("input_placement")
    if place:
        here, other = place["input_buffer"], "caller" if place["input_buffer"] == "arena" else "arena"
        text = {"arena": "input in the arena", "caller": "input in the caller's buffer"}
        alt = place.get(other)
        summary.insert(first + 3, ["input", here,
                           f"SRAM {place[here]['sram_bytes']:,} B with the {text[here]}"
                           + (f"; {alt['sram_bytes']:,} B (arena {alt['arena_bytes']:,} B) with the {text[other]}"
                              f" (--input-buffer {other}, derived)" if alt else "")])


    notes = [f"  L{e['index']} {e['name']}: {e['compression']}" for e in report["layers"] if e.get("compression")]
    if notes:  # tinygen/passes/compress: pruned filters, codebook and sparse storage, and why not
        lines += ["", "weight compression"] + notes
    lines += ["", "summary"] + ["  " + s for s in _table(summary, right={1})]
    return "\n".join(lines) + "\n"
