"""An SVG memory timeline: x = layer (node index), y = arena offset, one rectangle per buffer.

Each buffer is a rectangle from its first to its last layer and from its offset to offset + size.
It is labelled with its name when the name fits, otherwise with a short key (#1, #2, ...) that the
key table under the plot spells out (name, bytes, layers); every rectangle also has a tooltip.
Scratch buffers are grey. The graph's input and output buffers (the caller's, outside the arena)
are drawn in their own band under the arena. Horizontal lines mark the arena size and the lower
bound; a vertical line marks the peak layer (most arena bytes live). A legend explains the marks.
The output is plain text built from fixed-precision numbers, so the same plan always gives the
same file; `timeline_png` renders it with rsvg-convert when that is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import zlib
from html import escape
from pathlib import Path

from tinygen.ir.graph import Graph
from tinygen.plan.memory_plan import MemoryPlan

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#e15759"]
SCRATCH, IO_COLOR, PEAK, INPLACE, FUSED = "#bab0ac", "#c7e9c0", "#9467bd", "#1f77b4", "#ff7f0e"
LEFT, RIGHT, TOP = 90, 170, 30
PLOT_W, PLOT_H, IO_H = 900, 420, 36
CHAR_W, KEY_COLS, KEY_LINE = 6.0, 3, 13


def _f(v: float) -> str:
    return f"{v:.1f}"


def _io_spans(graph: Graph, in_arena=()) -> list[tuple[str, int, int, int]]:
    """(name, first layer, last layer, bytes) of each graph input and output in a caller's buffer."""
    n = len(graph.nodes)
    out = []
    for name in dict.fromkeys(graph.inputs + graph.outputs):
        if name in in_arena:
            continue
        users = [i for i, nd in enumerate(graph.nodes) if name in nd.inputs]
        producer = next((i for i, nd in enumerate(graph.nodes) if name in nd.outputs), None)
        first = 0 if producer is None else producer
        last = n - 1 if name in graph.outputs else max(users, default=first)
        out.append((name, first, last, graph.t(name).nbytes))
    return out


def timeline_svg(graph: Graph, plan: MemoryPlan) -> str:
    n = max(len(graph.nodes), 1)
    top_bytes = max(plan.arena_bytes, plan.lower_bound, 16)
    xs, ys = PLOT_W / n, PLOT_H / top_bytes
    live = plan.live_bytes(len(graph.nodes))
    peak = live.index(max(live)) if live and max(live) > 0 else None

    def y(offset: int) -> float:
        return TOP + PLOT_H - offset * ys

    io_top = TOP + PLOT_H + 22
    axis_y = io_top + IO_H + 14
    body, keyed = [], []

    def label(name: str, x0: float, y0: float, bw: float, bh: float) -> None:
        if bh < 11 or bw < 3 * CHAR_W:
            keyed.append(name)
            key = f"#{len(keyed)}"
            if bh >= 9 and bw >= CHAR_W * len(key) + 2:
                body.append(f'<text x="{_f(x0 + 1)}" y="{_f(y0 + bh / 2 + 3.5)}" font-size="9">{key}</text>')
            return
        if len(name) * CHAR_W + 4 <= bw:
            body.append(f'<text x="{_f(x0 + 2)}" y="{_f(y0 + bh / 2 + 3.5)}">{escape(name)}</text>')
        else:
            keyed.append(name)
            body.append(f'<text x="{_f(x0 + 2)}" y="{_f(y0 + bh / 2 + 3.5)}">#{len(keyed)}</text>')

    for b in plan.buffers:
        off = plan.offsets[b.name]
        x0, bw = LEFT + b.first * xs, (b.last - b.first + 1) * xs
        y0, bh = y(off + b.size), b.size * ys
        scratch = b.name.endswith(("/scratch", "/lag"))  # a kernel's, or the lag rows of an in-place band
        color = SCRATCH if scratch else PALETTE[zlib.crc32(b.name.encode()) % len(PALETTE)]
        tip = f"{b.name}: {b.size} B at offset {off}, L{b.first}..L{b.last}"
        body.append(f'<rect class="buffer" x="{_f(x0)}" y="{_f(y0)}" width="{_f(bw)}" height="{_f(bh)}" fill="{color}"'
                    f' fill-opacity="0.8" stroke="#222222" stroke-width="0.5"><title>{escape(tip)}</title></rect>')
        label(b.name, x0, y0, bw, bh)
    spans = _io_spans(graph, plan.arena_inputs)
    row_h = IO_H / max(len(spans), 1)
    for k, (name, first, last, nbytes) in enumerate(spans):
        x0, bw, y0 = LEFT + first * xs, (last - first + 1) * xs, io_top + k * row_h
        role = "input" if name in graph.inputs else "output"
        body.append(f'<rect class="io" x="{_f(x0)}" y="{_f(y0)}" width="{_f(bw)}" height="{_f(row_h - 1)}" fill="{IO_COLOR}"'
                    f' stroke="#2ca02c" stroke-width="0.5"><title>{escape(f"{role} {name}: {nbytes} B, caller buffer")}</title></rect>')
        label(f"{name} {nbytes:,} B", x0, y0, bw, row_h - 1)
    out_lines = body
    for value, text, style in ((plan.arena_bytes, "arena", "#d62728"), (plan.lower_bound, "lower bound", "#2ca02c")):
        yy = _f(y(value))
        dash = ' stroke-dasharray="6 3"' if text != "arena" else ""
        out_lines.append(f'<line x1="{LEFT}" y1="{yy}" x2="{LEFT + PLOT_W}" y2="{yy}" stroke="{style}" stroke-width="1.5"{dash}/>')
        dy = -3 if text == "arena" else 11
        out_lines.append(f'<text x="{LEFT + PLOT_W + 4}" y="{_f(y(value) + dy)}" fill="{style}">{text} {value:,} B</text>')
    if peak is not None:
        px = _f(LEFT + (peak + 0.5) * xs)
        pname = graph.nodes[peak].name
        out_lines.append(f'<line x1="{px}" y1="{TOP}" x2="{px}" y2="{TOP + PLOT_H}" stroke="{PEAK}" stroke-width="1.5"'
                         ' stroke-dasharray="2 2"/>')
        anchor = "end" if peak > n / 2 else "start"
        dx = -3 if anchor == "end" else 3
        out_lines.append(f'<text x="{_f(float(px) + dx)}" y="{TOP - 6}" fill="{PEAK}" text-anchor="{anchor}">'
                         f'peak L{peak} {escape(pname)}: {live[peak]:,} B live</text>')
    step = max(1, -(-n // 30))
    inplace = {i for i, nd in enumerate(graph.nodes) if nd.outputs and nd.outputs[0] in plan.aliases}
    for i in range(0, len(graph.nodes), step):
        out_lines.append(f'<text x="{_f(LEFT + (i + 0.5) * xs)}" y="{axis_y}" text-anchor="middle">{i}</text>')
    fused = {i for i, nd in enumerate(graph.nodes)
             if plan.fused_into(nd.name) or nd.name in plan.chains}
    for i in sorted(inplace):  # a tick under each layer that runs in place, or fused
        out_lines.append(f'<rect class="inplace" x="{_f(LEFT + i * xs)}" y="{TOP + PLOT_H + 3}" width="{_f(max(xs, 1.0))}"'
                         f' height="4" fill="{INPLACE}"><title>L{i} runs in place</title></rect>')
    tiled = {i for i, nd in enumerate(graph.nodes) if any(nd.name in st.nodes for st in plan.patches)}
    for i in sorted(fused | tiled):
        how = "tiled (patch-based)" if i in tiled else "fused in row bands"
        out_lines.append(f'<rect class="fused" x="{_f(LEFT + i * xs)}" y="{TOP + PLOT_H + 8}" width="{_f(max(xs, 1.0))}"'
                         f' height="4" fill="{FUSED}"><title>L{i} {how}</title></rect>')
    for k in range(5):
        value = top_bytes * k // 4
        out_lines.append(f'<text x="{LEFT - 4}" y="{_f(y(value) + 3.5)}" text-anchor="end">{value:,}</text>')
    out_lines.append(f'<text x="{LEFT - 4}" y="{_f(io_top + IO_H / 2 + 3.5)}" text-anchor="end">I/O</text>')
    out_lines.append(f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{axis_y + 14}" text-anchor="middle">layer</text>')
    out_lines.append(f'<text x="14" y="{TOP + PLOT_H / 2:.1f}" transform="rotate(-90 14 {TOP + PLOT_H / 2:.1f})"'
                     ' text-anchor="middle">arena offset (bytes)</text>')
    # legend, right of the plot
    lx, ly = LEFT + PLOT_W + 8, TOP + PLOT_H - 140
    items = [("rect", PALETTE[0], "tensor in the arena"), ("rect", SCRATCH, "kernel scratch"),
             ("rect", IO_COLOR, "caller I/O buffer"), ("line", "#d62728", "arena size"),
             ("dash", "#2ca02c", "lower bound"), ("dot", PEAK, "peak layer"), ("rect", INPLACE, "layer runs in place"),
             ("rect", FUSED, "fused in row bands or tiled"),
             ("text", "#000000", "#k: see key below")]
    for k, (kind, color, text) in enumerate(items):
        yy = ly + k * 15
        if kind == "rect":
            out_lines.append(f'<rect class="legend" x="{lx}" y="{yy - 8}" width="12" height="10" fill="{color}" stroke="#222222" stroke-width="0.5"/>')
        elif kind != "text":
            dash = {"line": "", "dash": ' stroke-dasharray="6 3"', "dot": ' stroke-dasharray="2 2"'}[kind]
            out_lines.append(f'<line x1="{lx}" y1="{yy - 3}" x2="{lx + 12}" y2="{yy - 3}" stroke="{color}" stroke-width="1.5"{dash}/>')
        out_lines.append(f'<text x="{lx + 16}" y="{yy}">{escape(text)}</text>')
    # key of abbreviated labels, under the plot
    key_top = axis_y + 30
    sizes = {b.name: (b.size, b.first, b.last) for b in plan.buffers}
    col_w = (PLOT_W + RIGHT) / KEY_COLS
    rows = -(-len(keyed) // KEY_COLS)
    for k, name in enumerate(keyed):
        col, row = divmod(k, max(rows, 1))
        size, first, last = sizes.get(name, (0, 0, 0))
        what = f"{size:,} B L{first}..L{last}" if name in sizes else ""
        text = f"#{k + 1} {name} {what}".rstrip()
        limit = int(col_w // CHAR_W) - 1
        text = text if len(text) <= limit else text[:limit - 1] + "~"
        out_lines.append(f'<text x="{_f(LEFT + col * col_w)}" y="{key_top + row * KEY_LINE}">{escape(text)}</text>')
    w = LEFT + PLOT_W + RIGHT
    h = key_top + rows * KEY_LINE + 10
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"'
            ' font-family="monospace" font-size="10">',
            f"<title>{escape(graph.name)}: arena {plan.arena_bytes} B, lower bound {plan.lower_bound} B</title>",
            f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
            f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="#ffffff" stroke="#333333"/>']
    if keyed:
        head.append(f'<text x="{LEFT}" y="{key_top - KEY_LINE}" font-weight="bold">key of abbreviated labels</text>')
    return "\n".join(head + out_lines + ["</svg>"]) + "\n"


def timeline_png(svg_path: Path, png_path: Path) -> Path | None:
    """Render the SVG to PNG with rsvg-convert (Debian librsvg2-bin); None when it is missing."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    proc = subprocess.run([tool, "-f", "png", "-b", "white", "-o", str(png_path), str(svg_path)],
                          capture_output=True, text=True, timeout=60)
    return png_path if proc.returncode == 0 else None
