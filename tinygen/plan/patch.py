"""Patch-based execution (MCUNetV2) of high-resolution first stages: tile by tile, halos recomputed.

A stage is a run of consecutive nodes (the planner moves them together) reading one activation X
and writing one or more stage outputs of the same height; every tensor made inside the stage and
read only inside it is internal. The stage runs as `len(bands)` tiles: tile k computes output rows
bands[k] of every stage output, and to do so each member computes the rows its consumers in the
stage read (the halo), carried back through all members, so neighbouring tiles recompute the
overlap: those are the extra MACs. A tile spans the full width, so rows of X and of the outputs
are contiguous in their whole tensors: members read X and write the stage outputs in place there,
and only the internal tensors exist, as tile buffers (one tile's rows) in the stage's scratch.

Where every reader of X is in the stage, the largest output whose rows can be stored over X is
(`over_input`): the tiles run top to bottom and `_writes_safe` checks that no tile writes bytes of
X a later step still reads. The big early tensors then never exist beside each other.

Kernels: a conv member's kernel must take any row band through its params (in_h, out_h, pad_t;
rows at or beyond in_h read as padding): those declaring `Kernel.inplace_lag`, and the packed-weight
convs, whose taps outside the image are skipped or read as the padding code. An element-wise lut
member is called on the tile's elements. The C loop is generated (codegen/generate.py via `c_call`,
helper runtime_c/include/tg_patch.h) from per-tile steps computed here, at generation time.

`choose` picks stages and tile counts to minimise the lower bound of peak SRAM, greedily, within a
recompute budget (`budget`). With B = `PlanOptions.patch_budget` (CLI --patch-budget), over all
stages together:

    extra MACs                     <= B x the model's MACs
    extra estimated instructions   <= B x INSTRUCTION_SHARE x the model's estimated instructions

A member's estimated instructions are those of its dense fast kernel
(passes/compress/sparse_cost.py `dense_instructions`, fitted to QEMU -icount; a stated fallback for
the nodes it does not model), and a stage's extra instructions the sum over its members of the
member's extra work fraction (rows computed over all tiles / its output rows - 1) times that
estimate. The second cap is there because the recomputed layers are the stem and depthwise convs,
and a depthwise conv costs about 2.5x the model's average instructions per MAC (6.1 vs 2.5 on
MobileNetV2): 10% more MACs made 10.5% more instructions there, and issue 12 item 6 wants the
whole model with fusion within 1.1x of `--fusion off`, the banding of fused and in-place layers
costing a few % more on top of the tiles.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import Graph, Node
from tinygen.ops.base import get
from tinygen.passes.compress.sparse_cost import dense_instructions
from tinygen.plan.liveness import align

HEADER = "tg_patch.h"
MAX_DEPTH = 6  # members counted along the longest path from X: deeper stages recompute more
TILE_COUNTS = (2, 3, 4, 6, 7, 8, 12, 14, 16, 24, 28, 32, 48, 56, 64)
CONV_OPS = ("conv2d", "conv2d_packed")
MIN_SHARE = 0.25  # a stage's input and tensors must add up to this share of the peak to be tried
# extra estimated instructions allowed per unit of patch budget (module docstring). With the default
# budget 0.1 the cap is 7% of the estimate: measured with benchmarks/int8_kernels.py's models, the
# tiles then add 6-6.5% instructions (the estimate is within a few % of QEMU -icount on these
# stages, 15% low on MobileNetV1's stem), which leaves room for the banding under issue 12's 1.1x
INSTRUCTION_SHARE = 0.7


@dataclass(frozen=True)
class Step:
    """One member's call for one tile: rows of its input read (from `in_off` bytes into the input's
    buffer), rows of its output computed (at `out_off`), and the band's top padding."""

    in_off: int
    in_h: int
    out_off: int
    out_h: int
    pad_t: int


@dataclass(frozen=True)
class Stage:
    nodes: tuple[str, ...]  # members, in run order (consecutive in the graph)
    input: str  # X
    outputs: tuple[str, ...]  # stage outputs: whole tensors, written tile by tile
    bands: tuple[tuple[int, int], ...]  # rows of the outputs each tile computes
    over_input: str  # the output stored over X ("" none)
    tiles: tuple[tuple[str, int, int], ...]  # internal tensor -> (offset in the scratch, bytes)
    kernel_scratch: int  # offset of the members' shared kernel scratch in the stage scratch
    scratch: int  # bytes of the stage scratch (tile buffers + kernel scratch)
    steps: tuple[tuple[Step, ...], ...]  # [tile][member]
    extra_macs: int
    extra_instructions: int  # estimated (module docstring)

    @property
    def first(self) -> str:
        return self.nodes[0]


def scratch_name(stage: Stage) -> str:
    return f"{stage.first}/patch"


def _conv_rows(node: Node, graph: Graph, lo: int, hi: int) -> tuple[int, int]:
    """Rows [a, b) of the input that output rows [lo, hi) read (clipped to the image)."""
    a = node.attrs
    kh = a.kernel[0] if node.op == "conv2d_packed" else graph.t(node.inputs[1]).shape[1]
    in_h = graph.t(node.inputs[0]).shape[1]
    reach = (kh - 1) * a.dilation[0]
    return max(0, lo * a.stride[0] - a.padding[0]), min(in_h, (hi - 1) * a.stride[0] - a.padding[0] + reach + 1)


def _tileable(node: Node, graph: Graph) -> bool:
    """A member the generated loop can call on a row band (see the module docstring)."""
    if not node.kernel or len(node.outputs) != 1:
        return False
    o = graph.t(node.outputs[0])
    x = graph.t(node.inputs[0])
    if len(o.shape) != 4 or len(x.shape) != 4 or o.shape[0] != 1 or x.dtype.itemsize != 1 or o.dtype.itemsize != 1:
        return False
    kern = get(node.op).kernel(node)
    if node.op in CONV_OPS:
        return kern.inplace_lag is not None or kern.params_type == "tg_conv2d_packed_params"
    return node.op == "lut" and x.shape == o.shape


def _row_bytes(graph: Graph, t: str) -> int:
    s = graph.t(t).shape
    return s[2] * s[3] * graph.t(t).dtype.itemsize


def candidates(graph: Graph, ext: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(X, members in graph order) for stages of depth 1..MAX_DEPTH from each activation X: the
    tileable readers of X and of the tensors they make, up to that depth, whose other inputs are
    constants; all outputs of the same height."""
    readers: dict[str, list[int]] = {}
    for i, n in enumerate(graph.nodes):
        for t in dict.fromkeys(n.inputs):
            readers.setdefault(t, []).append(i)
    out, seen = [], set()
    for n in graph.nodes:
        for x in n.inputs[:1]:
            xt = graph.t(x)
            if xt.is_const or len(xt.shape) != 4 or xt.shape[1] < 8 or (x, 0) in seen:
                continue
            seen.add((x, 0))
            depth: dict[int, int] = {}
            frontier = {x: 0}
            while frontier:
                t, d = frontier.popitem()
                for j in readers.get(t, []):
                    node = graph.nodes[j]
                    ins = [u for u in node.inputs if not graph.t(u).is_const]
                    if node.inputs[0] != t or len(ins) != 1 or not _tileable(node, graph) or d + 1 > MAX_DEPTH:
                        continue
                    if depth.get(j, 0) < d + 1:
                        depth[j] = d + 1
                        frontier[node.outputs[0]] = d + 1
            for cut in range(1, MAX_DEPTH + 1):
                members = tuple(graph.nodes[j].name for j in sorted(depth) if depth[j] <= cut)
                if not members or (x, members) in seen:
                    continue
                seen.add((x, members))
                outs = _outputs(graph, set(members), ext)
                if len({graph.t(o).shape[1] for o in outs}) == 1:
                    out.append((x, members))
    return out


def _outputs(graph: Graph, members: set[str], ext: set[str]) -> list[str]:
    made = [o for n in graph.nodes if n.name in members for o in n.outputs]
    inside = {t for n in graph.nodes if n.name in members for t in n.inputs}
    outside = {t for n in graph.nodes if n.name not in members for t in n.inputs}
    return [t for t in made if t in outside or t in ext or t not in inside]


def contiguous(graph: Graph, members: tuple[str, ...]) -> list[int]:
    """A node order running the members one after the other, at the first member's place."""
    names = set(members)
    idx = [i for i, n in enumerate(graph.nodes) if n.name in names]
    first = idx[0]
    rest = [i for i in range(len(graph.nodes)) if i not in set(idx)]
    return [i for i in rest if i < first] + idx + [i for i in rest if i > first]


def make_stage(graph: Graph, x: str, members: tuple[str, ...], tiles: int, ext: set[str]) -> Stage | None:
    """The stage with `tiles` tiles over the outputs' rows (members must be consecutive in graph)."""
    nodes = [n for n in graph.nodes if n.name in set(members)]
    outs = _outputs(graph, set(members), ext)
    h = graph.t(outs[0]).shape[1]
    if tiles > h:
        return None
    bands = tuple((h * k // tiles, h * (k + 1) // tiles) for k in range(tiles))
    internal = [n.outputs[0] for n in nodes if n.outputs[0] not in outs]
    need_per_tile = []
    for r0, r1 in bands:
        need: dict[str, tuple[int, int]] = {o: (r0, r1) for o in outs}
        for n in reversed(nodes):
            lo, hi = need[n.outputs[0]]
            a, b = _conv_rows(n, graph, lo, hi) if n.op in CONV_OPS else (lo, hi)
            if b <= a:
                return None
            t = n.inputs[0]
            if t != x:
                old = need.get(t)
                need[t] = (a, b) if old is None else (min(old[0], a), max(old[1], b))
        need_per_tile.append(need)
    # tile buffers: a lut over an internal tensor only it reads runs in place in that buffer
    readers = {t: [n for n in nodes if t in n.inputs] for t in internal}
    share = {n.outputs[0]: n.inputs[0] for n in nodes
             if n.op == "lut" and n.inputs[0] in internal and len(readers[n.inputs[0]]) == 1
             and get(n.op).kernel(n).inplace_ok}
    tiles_at: dict[str, tuple[int, int]] = {}
    off = 0
    for t in internal:
        if t in share:
            continue
        rows = max(nd[t][1] - nd[t][0] for nd in need_per_tile)
        for u, src in share.items():  # an in-place lut's output may hold more rows than its input
            if src == t:
                rows = max(rows, max(nd[u][1] - nd[u][0] for nd in need_per_tile))
        size = align(rows * _row_bytes(graph, t))
        tiles_at[t] = (off, size)
        off += size
    for u, src in share.items():
        tiles_at[u] = tiles_at[src]
    kscratch = max((get(n.op).scratch_bytes(n, graph) for n in nodes), default=0)
    k_off = off
    off += align(kscratch)
    # per tile and member: offsets into its input's and output's buffers (tile buffers start at
    # the tile's first row; X and the outputs are whole tensors)
    steps, macs = [], 0
    node_macs = {n.name: get(n.op).macs(n, graph) for n in nodes}
    rows_done = dict.fromkeys(node_macs, 0)  # output rows each member computes over all tiles
    rows_of = {t: _row_bytes(graph, t) for n in nodes for t in (n.inputs[0], n.outputs[0])}
    for need in need_per_tile:
        row_steps = []
        for n in nodes:
            o, t = n.outputs[0], n.inputs[0]
            lo, hi = need[o]
            a, b = _conv_rows(n, graph, lo, hi) if n.op in CONV_OPS else (lo, hi)
            base_in = 0 if t == x or t in outs else need[t][0]
            base_out = 0 if o in outs else lo
            pad_t = n.attrs.padding[0] - lo * n.attrs.stride[0] + a if n.op in CONV_OPS else 0
            row_steps.append(Step((a - base_in) * rows_of[t], b - a, (lo - base_out) * rows_of[o], hi - lo, pad_t))
            macs += node_macs[n.name] * (hi - lo) // graph.t(o).shape[1]
            rows_done[n.name] += hi - lo
        steps.append(tuple(row_steps))
    whole = sum(node_macs.values())
    extra_instr = sum(dense_instructions(graph, n) * (rows_done[n.name] / graph.t(n.outputs[0]).shape[1] - 1)
                      for n in nodes)
    stage = Stage(tuple(members), x, tuple(outs), bands, "", tuple((t, *tiles_at[t]) for t in internal), k_off,
                  off, tuple(steps), max(0, macs - whole), max(0, round(extra_instr)))
    return _with_over_input(graph, stage, ext)


def _with_over_input(graph: Graph, stage: Stage, ext: set[str]) -> Stage:
    """The stage with its largest output stored over X, where that is safe."""
    xt = graph.t(stage.input)
    if stage.input in ext or xt.is_const:
        return stage
    members = set(stage.nodes)
    if any(stage.input in n.inputs for n in graph.nodes if n.name not in members):
        return stage
    for o in sorted(stage.outputs, key=lambda t: (-graph.t(t).nbytes, t)):
        if o in ext or graph.t(o).nbytes > xt.nbytes:
            continue
        if _writes_safe(graph, stage, o):
            return Stage(**{**stage.__dict__, "over_input": o})
    return stage


def _writes_safe(graph: Graph, stage: Stage, o: str) -> bool:
    """Storing output o at X's offset: no step reads a byte of X an earlier step wrote (rows of o
    are written in tile order, so what is written is one span growing from the tensor's start),
    and a step writing o reads none of the X bytes it covers (a kernel writes while it reads)."""
    nodes = [n for n in graph.nodes if n.name in set(stage.nodes)]
    written = 0
    x_row = _row_bytes(graph, stage.input)
    for tile in stage.steps:
        for n, s in zip(nodes, tile):
            reads_x = n.inputs[0] == stage.input
            if reads_x and s.in_off < written:
                return False
            if n.outputs[0] == o:
                end = s.out_off + s.out_h * _row_bytes(graph, o)
                if reads_x and s.out_off < s.in_off + s.in_h * x_row and s.in_off < end:
                    return False
                written = max(written, end)
    return True


def member_scratch(stage: Stage, graph: Graph, node: Node) -> int:
    return get(node.op).scratch_bytes(node, graph)


def c_call(graph: Graph, stage: Stage, params: dict[str, str], exprs: dict[str, str], scratch_at: int,
           index: int) -> dict:
    """What templates/model.c.j2 needs to run the stage (tg_patch.h): the table of steps, one row of
    `{in_off, in_h, out_off, out_h, pad_t}` per tile and member, and each member's kernel call."""
    nodes = [n for n in graph.nodes if n.name in set(stage.nodes)]
    tiles = {t: off for t, off, _ in stage.tiles}

    def buf(t: str) -> str:
        if t in tiles:
            return f"((int8_t *)(void *)(tg_arena + {scratch_at + tiles[t]}))"
        return f"((int8_t *)(void *){exprs[t]})"

    calls = []
    for n in nodes:
        kern = get(n.op).kernel(n)
        calls.append({"name": n.name, "params_type": kern.params_type, "params": params[n.name],
                      "symbol": kern.symbol, "src": buf(n.inputs[0]), "dst": buf(n.outputs[0]),
                      "lut_row_bytes": _row_bytes(graph, n.outputs[0]) if n.op == "lut" else 0,
                      "scratch": f"(tg_arena + {scratch_at + stage.kernel_scratch})" if kern.scratch(n, graph) else ""})
    return {"table": f"P{index}_steps", "tiles": len(stage.bands), "extra_macs": stage.extra_macs,
            "steps": [[(s.in_off, s.in_h, s.out_off, s.out_h, s.pad_t) for s in tile] for tile in stage.steps],
            "calls": calls}


def _bounder(graph: Graph, live, others: list[Stage]):
    """bound(stage): the lower bound with `others` and `stage`, from one live-bytes sweep per kind
    of stage (members, over_input): tile counts change only the stage scratch, live at its span."""
    cache: dict[tuple, tuple[int, int, int]] = {}
    index = {n.name: i for i, n in enumerate(graph.nodes)}

    def bound(st: Stage) -> int:
        key = (st.nodes, st.over_input)
        if key not in cache:
            v = live(graph, others + [Stage(**{**st.__dict__, "scratch": 0})])
            s, e = index[st.first], index[st.nodes[-1]]
            cache[key] = (max(v[:s] + v[e + 1:], default=0), max(v[s:e + 1]), 0)
        outside, inside, _ = cache[key]
        return max(outside, inside + align(st.scratch))

    return bound


@dataclass(frozen=True)
class Budget:
    """The recompute all stages together may add (module docstring)."""

    macs: int
    instructions: int

    def allows(self, stages: list[Stage]) -> bool:
        return (sum(s.extra_macs for s in stages) <= self.macs
                and sum(s.extra_instructions for s in stages) <= self.instructions)


def estimated_instructions(graph: Graph) -> float:
    """The model's estimated instructions, each node on its dense fast kernel (module docstring)."""
    return sum(dense_instructions(graph, n) for n in graph.nodes)


def budget(graph: Graph, patch_budget: float) -> Budget:
    """The rule of the module docstring for `graph` and PlanOptions.patch_budget."""
    macs = sum(get(n.op).macs(n, graph) for n in graph.nodes)
    return Budget(int(patch_budget * macs), int(patch_budget * INSTRUCTION_SHARE * estimated_instructions(graph)))


def choose(graph: Graph, ext: set[str], limit: Budget, live) -> tuple[Graph, list[Stage]]:
    """(graph in an order running each stage's members together, stages) minimising the lower
    bound of peak SRAM (the largest of `live(graph, stages)`, bytes live at each node), stage by
    stage while it drops, within `limit` over all stages; ties go to fewer extra MACs, then fewer
    tiles."""
    from tinygen.plan.schedule import apply_schedule

    stages: list[Stage] = []
    best = max(live(graph, stages), default=0)
    while True:
        taken = {m for s in stages for m in s.nodes} | {s.input for s in stages}
        found = None
        for x, members in candidates(graph, ext):
            if taken & set(members) or not _worth_trying(graph, x, members, best):
                continue
            order = contiguous(graph, members)
            g = graph if order == list(range(len(graph.nodes))) else apply_schedule(graph, order)
            bound = _bounder(g, live, stages)
            for tiles in TILE_COUNTS:
                st = make_stage(g, x, members, tiles, ext)
                if st is None or not limit.allows(stages + [st]):
                    continue
                b = bound(st)
                key = (b, st.extra_macs, tiles)
                if b < best and (found is None or key < found[0]):
                    found = (key, g, st)
        if found is None:
            return graph, _refine(graph, stages, ext, limit, live)
        (best, _, _), graph, st = found
        stages.append(st)


def _worth_trying(graph: Graph, x: str, members: tuple[str, ...], peak: int) -> bool:
    """A stage saves at most its input and the tensors it makes: skip those too small to matter
    against the peak (keeps the search short on deep graphs; the saving goes to the peak layer)."""
    made = [graph.t(n.outputs[0]).nbytes for n in graph.nodes if n.name in set(members)]
    return graph.t(x).nbytes + sum(made) >= peak * MIN_SHARE


def _refine(graph: Graph, stages: list[Stage], ext: set[str], limit: Budget, live) -> list[Stage]:
    """Each stage's tile count again with the others fixed (a stage chosen while another layer
    held the peak took the fewest tiles), until none changes."""
    changed = True
    while changed:
        changed = False
        for k in range(len(stages)):
            st, others = stages[k], stages[:k] + stages[k + 1:]
            bound = _bounder(graph, live, others)
            best = (bound(st), st.extra_macs, len(st.bands))
            for tiles in TILE_COUNTS:
                cand = make_stage(graph, st.input, st.nodes, tiles, ext)
                if cand is None or not limit.allows(others + [cand]):
                    continue
                key = (bound(cand), cand.extra_macs, tiles)
                if key < best:
                    best, changed = key, True
                    stages = stages[:k] + [cand] + stages[k + 1:]
    return stages
