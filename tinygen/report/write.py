"""Write a build's report: report.json, report.txt and the memory timeline SVG."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tinygen.plan import plain_lower_bound, plan_memory
from tinygen.report.make import make_report
from tinygen.report.svg import timeline_svg
from tinygen.report.text import render_text
from tinygen.report.svg import timeline_png


def write_report(out_dir: Path, graph, plan, gen, board: str, seconds: float | None = None,
                 sram_capacity: int | None = None, flash_capacity: int | None = None, elf_sizes=None) -> dict:
    other = replace(plan.options, input_in_arena=not plan.options.input_in_arena)
    # the same patch stages, none stored over an input the caller would own
    stages = [replace(st, over_input="") if st.input in graph.inputs else st for st in plan.patches]
    other_plan = plan_memory(graph, other, stages)
    report = make_report(graph, plan, gen.layers, board, sram_capacity, flash_capacity, elf_sizes, other_plan,
                         plain_lower_bound(graph, plan.options))
    if seconds is not None:
        report["build_seconds"] = round(seconds, 2)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    (out_dir / "report.txt").write_text(render_text(report))
    (out_dir / "memory_timeline.svg").write_text(timeline_svg(graph, plan))
    timeline_png(out_dir / "memory_timeline.svg", out_dir / "memory_timeline.png")
    return report
