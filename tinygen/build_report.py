"""Assemble report.json / report.txt for a build (the report module renders them)."""

from __future__ import annotations

import json
from pathlib import Path


def write_report(out_dir: Path, graph, plan, gen, board: str) -> dict:
    try:
        from tinygen.report import make_report, render_text, timeline_svg
    except ImportError:  # the report module is optional while it is being written
        make_report = render_text = timeline_svg = None
    if make_report is not None:
        report = make_report(graph, plan, gen.layers, board)
        (out_dir / "report.txt").write_text(render_text(report))
        (out_dir / "memory_timeline.svg").write_text(timeline_svg(graph, plan))
    else:
        report = {"board": board, "arena_bytes": plan.arena_bytes, "peak_lower_bound_bytes": plan.lower_bound,
                  "weight_bytes": gen.weight_bytes, "macs": gen.macs,
                  "layers": [{"op": l.op, "name": l.name, "macs": l.macs, "weight_bytes": l.weight_bytes}
                             for l in gen.layers]}
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    return report
