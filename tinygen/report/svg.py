"""An SVG memory timeline: x = layer (node index), y = arena offset, one rectangle per buffer.

Each buffer is a rectangle from its first to its last layer and from its offset to offset + size,
labelled with its name when the label fits (and with a tooltip always); scratch buffers are grey.
Horizontal lines mark the arena size (the peak of the plan) and the lower bound. The output is
plain text built from fixed-precision numbers, so the same plan always gives the same file.
"""

from __future__ import annotations

import zlib
from html import escape

from tinygen.ir.graph import Graph
from tinygen.plan.memory_plan import MemoryPlan

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#e15759"]
SCRATCH = "#bab0ac"
LEFT, RIGHT, TOP, BOTTOM = 90, 150, 30, 40
PLOT_W, PLOT_H = 900, 420


def _f(v: float) -> str:
    return f"{v:.1f}"


def timeline_svg(graph: Graph, plan: MemoryPlan) -> str:
    n = max(len(graph.nodes), 1)
    top_bytes = max(plan.arena_bytes, plan.lower_bound, 16)
    xs, ys = PLOT_W / n, PLOT_H / top_bytes

    def y(offset: int) -> float:
        return TOP + PLOT_H - offset * ys

    w, h = LEFT + PLOT_W + RIGHT, TOP + PLOT_H + BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"'
           ' font-family="monospace" font-size="10">',
           f"<title>{escape(graph.name)}: arena {plan.arena_bytes} B, lower bound {plan.lower_bound} B</title>",
           f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="#ffffff" stroke="#333333"/>']
    for b in plan.buffers:
        off = plan.offsets[b.name]
        x0, bw = LEFT + b.first * xs, (b.last - b.first + 1) * xs
        y0, bh = y(off + b.size), b.size * ys
        scratch = b.name.endswith("/scratch")
        color = SCRATCH if scratch else PALETTE[zlib.crc32(b.name.encode()) % len(PALETTE)]
        tip = f"{b.name}: {b.size} B at offset {off}, L{b.first}..L{b.last}"
        out.append(f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(bw)}" height="{_f(bh)}" fill="{color}"'
                   f' fill-opacity="0.8" stroke="#222222" stroke-width="0.5"><title>{escape(tip)}</title></rect>')
        chars = int(bw // 6)
        if bh >= 11 and chars >= 3:
            label = b.name if len(b.name) <= chars else b.name[:chars - 1] + "~"
            out.append(f'<text x="{_f(x0 + 2)}" y="{_f(y0 + bh / 2 + 3.5)}">{escape(label)}</text>')
    for value, text, style in ((plan.arena_bytes, "arena", "#d62728"), (plan.lower_bound, "lower bound", "#2ca02c")):
        yy = _f(y(value))
        dash = ' stroke-dasharray="6 3"' if text != "arena" else ""
        out.append(f'<line x1="{LEFT}" y1="{yy}" x2="{LEFT + PLOT_W}" y2="{yy}" stroke="{style}" stroke-width="1.5"{dash}/>')
        dy = -3 if text == "arena" else 11
        out.append(f'<text x="{LEFT + PLOT_W + 4}" y="{_f(y(value) + dy)}" fill="{style}">{text} {value:,} B</text>')
    step = max(1, -(-n // 30))
    for i in range(0, len(graph.nodes), step):
        out.append(f'<text x="{_f(LEFT + (i + 0.5) * xs)}" y="{TOP + PLOT_H + 14}" text-anchor="middle">{i}</text>')
    for k in range(5):
        value = top_bytes * k // 4
        out.append(f'<text x="{LEFT - 4}" y="{_f(y(value) + 3.5)}" text-anchor="end">{value:,}</text>')
    out.append(f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{h - 6}" text-anchor="middle">layer</text>')
    out.append(f'<text x="14" y="{TOP + PLOT_H / 2:.1f}" transform="rotate(-90 14 {TOP + PLOT_H / 2:.1f})"'
               ' text-anchor="middle">arena offset (bytes)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
