"""Graphs for planner tests: a test-only op that declares scratch and in-place facts through its
attrs, a seeded random DAG generator, and independent checkers of a plan."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

import numpy as np

from tinygen.ir.graph import DType, Graph, Node, Tensor
from tinygen.ops.base import REGISTRY, Kernel, OpDef, get
from tinygen.plan import liveness

TEST_OP = "_test_elementwise"
TEST_ROWS_OP = "_test_rows"  # runs in place on row bands: with a lag buffer of attrs.lag bytes


@dataclass(frozen=True)
class TestAttrs:
    scratch: int = 0
    inplace: int | None = None
    macs: int = 0
    lag: int = 0


class _TestOp(OpDef):
    """Declares whatever its attrs say; the planner must learn it only through OpDef methods."""

    name = TEST_OP
    attrs_type = TestAttrs
    kernels = (Kernel("tg_test_elementwise", "", "", scratch=lambda node, graph: node.attrs.scratch, reference=True,
                      inplace_ok=True),)

    def scratch_bytes(self, node, graph):  # planner tests plan graphs without selecting kernels
        return node.attrs.scratch

    def inplace_input(self, node, graph):
        return node.attrs.inplace

    def macs(self, node, graph):
        return node.attrs.macs

    def reference(self, node, graph, inputs):
        return [np.zeros(graph.t(o).shape, graph.t(o).dtype.np) for o in node.outputs]


class _TestRowsOp(_TestOp):
    name = TEST_ROWS_OP
    kernels = (Kernel("tg_test_rows", "", "", scratch=lambda node, graph: node.attrs.scratch, reference=True,
                      inplace_lag=lambda node, graph: node.attrs.lag),)


@contextlib.contextmanager
def registered_test_op():
    """Register the test ops for the duration of a test, then remove them again."""
    added = [op for op in (_TestOp(), _TestRowsOp()) if op.name not in REGISTRY]
    for op in added:
        REGISTRY[op.name] = op
    try:
        yield
    finally:
        for op in added:
            del REGISTRY[op.name]


class Builder:
    """Small lowered graphs of test ops, tensors of shape [1, nbytes] int8."""

    def __init__(self, name: str = "g"):
        self.g = Graph(name, dialect="lowered")

    def tensor(self, name: str, nbytes: int, const: bool = False) -> str:
        data = np.zeros((1, nbytes), np.int8) if const else None
        self.g.add_tensor(Tensor(name, (1, nbytes), DType.INT8, None, data))
        return name

    def input(self, name: str, nbytes: int) -> str:
        self.g.inputs.append(self.tensor(name, nbytes))
        return name

    def node(self, inputs: list[str], outputs: list[tuple[str, int]], scratch: int = 0,
             inplace: int | None = None, macs: int = 0, lag: int = 0) -> list[str]:
        """lag > 0: a node that runs in place on row bands (its kernel recorded, as after selection)."""
        outs = [self.tensor(n, b) for n, b in outputs]
        op, kernel = (TEST_ROWS_OP, "tg_test_rows") if lag else (TEST_OP, "")
        self.g.add_node(Node(f"n{len(self.g.nodes)}", op, list(inputs), outs, TestAttrs(scratch, inplace, macs, lag),
                             kernel=kernel))
        return outs

    def output(self, name: str) -> None:
        self.g.outputs.append(name)


def random_graph(seed: int, n_nodes: int, max_bytes: int = 256) -> Graph:
    """A random DAG: 1-3 activation inputs per node (mostly recent tensors, so there are long and
    short lifetimes, residual-like skips and branches), optional constant input, 1-2 outputs,
    random scratch, in-place declared on a random input, output sizes often equal to an input's."""
    rng = np.random.default_rng(seed)
    b = Builder(f"rand{seed}")
    avail = [b.input("x", int(rng.integers(1, max_bytes)))]
    for i in range(n_nodes):
        k = int(rng.integers(1, 4))
        window = avail[-4:] if rng.random() < 0.7 else avail
        ins = [window[int(rng.integers(len(window)))] for _ in range(k)]
        if rng.random() < 0.1:
            ins.append(ins[0])  # the same tensor read twice
        if rng.random() < 0.3:
            ins.append(b.tensor(f"w{i}", int(rng.integers(1, 64)), const=True))
            if rng.random() < 0.5:
                ins[0], ins[-1] = ins[-1], ins[0]  # a constant first: in-place on it must be refused
        first_size = b.g.t(ins[0]).nbytes
        outs = []
        for j in range(1 if rng.random() < 0.85 else 2):
            size = first_size if rng.random() < 0.5 else int(rng.integers(1, max_bytes))
            outs.append((f"t{i}_{j}", size))
        scratch = int(rng.integers(1, 128)) if rng.random() < 0.3 else 0
        inplace = int(rng.integers(len(ins))) if rng.random() < 0.5 else None
        lag = int(rng.integers(1, max_bytes // 2)) if inplace is not None and rng.random() < 0.3 else 0
        avail += b.node(ins, outs, scratch, inplace, lag=lag)
    b.output(avail[-1])
    if rng.random() < 0.4 and len(avail) > 3:
        extra = avail[int(rng.integers(1, len(avail) - 1))]
        if extra not in b.g.outputs:
            b.output(extra)
    return b.g


def topological_orders(graph: Graph):
    """Every topological order of the nodes (for brute force on small graphs)."""
    producer = {t: i for i, n in enumerate(graph.nodes) for t in n.outputs}
    preds = [{producer[t] for t in n.inputs if t in producer} for n in graph.nodes]

    def rec(done: list[int], left: set[int]):
        if not left:
            yield list(done)
            return
        for m in sorted(left):
            if preds[m] <= set(done):
                done.append(m)
                yield from rec(done, left - {m})
                done.pop()

    yield from rec([], set(range(len(graph.nodes))))


def brute_force_arena(bufs: list[liveness.Buffer]) -> int:
    """Smallest peak over all 16-byte-aligned placements: try every offset of every buffer for
    peak H = lower bound, lower bound + 16, ... until one placement fits."""
    u = liveness.ALIGN
    units = [b.size // u for b in bufs]
    live_with = [[j for j, c in enumerate(bufs) if j != i and b.first <= c.last and c.first <= b.last]
                 for i, b in enumerate(bufs)]
    order = sorted(range(len(bufs)), key=lambda i: -units[i])

    def fits(height: int) -> bool:
        off: dict[int, int] = {}

        def rec(k: int) -> bool:
            if k == len(order):
                return True
            i = order[k]
            for o in range(height - units[i] + 1):
                if all(o + units[i] <= off[j] or off[j] + units[j] <= o for j in live_with[i] if j in off):
                    off[i] = o
                    if rec(k + 1):
                        return True
                    del off[i]
            return False

        return rec(0)

    for height in itertools.count(liveness.lower_bound(bufs) // u):
        if fits(height):
            return height * u


def check_plan(graph: Graph, plan) -> None:
    """Independent check of a whole plan by simulating the arena, node by node.

    Every arena cell remembers which tensor last wrote it. Before node i runs, each arena input
    must still be intact (nothing overwrote it since it was written); while it runs, its outputs
    and scratch must not overlap its inputs, except an output planned in place on that input.
    Graph inputs planned in the arena are written by the caller before the first node."""
    ext = (set(graph.inputs) - set(plan.arena_inputs)) | set(graph.outputs)
    owner = np.full(max(plan.arena_bytes, 1), -1, np.int64)
    ids = {name: k for k, name in enumerate(graph.tensors)}
    assert plan.arena_bytes == max((plan.offsets[b.name] + b.size for b in plan.buffers), default=0)

    def region(name: str, nbytes: int) -> tuple[int, int]:
        lo = plan.offset_of(name)
        assert lo % liveness.ALIGN == 0 and lo + nbytes <= plan.arena_bytes, name
        return lo, lo + nbytes

    for t in plan.arena_inputs:
        lo, hi = region(t, graph.t(t).nbytes)
        assert (owner[lo:hi] == -1).all(), f"arena inputs {t} overlaps another"
        owner[lo:hi] = ids[t]

    for i, node in enumerate(graph.nodes):
        if plan.fused_into(node.name):  # a fused chain runs at its last node (plan/fusion.py)
            continue
        if node.name in plan.chains:
            _replay_chain(graph, plan, plan.chains[node.name], owner, ids, ext)
            continue
        stage = next((st for st in plan.patches if st.first == node.name), None)
        if stage is not None:
            _replay_patch(graph, plan, stage, owner, ids, ext)
            continue
        srcs = list(node.inputs)
        reads = {}
        for t in srcs:
            if t in ext or graph.t(t).is_const:
                continue
            lo, hi = region(t, graph.t(t).nbytes)
            assert (owner[lo:hi] == ids[t]).all(), f"{t} was overwritten before {node.name} read it"
            reads[t] = (lo, hi)
        writes = [(o, *region(o, graph.t(o).nbytes)) for o in node.outputs if o not in ext]
        s = get(node.op).scratch_bytes(node, graph)
        if s:
            lo = plan.offsets[liveness.scratch_name(node)]
            writes.append((None, lo, lo + s))
        if liveness.lag_name(node) in plan.offsets:  # in place on row bands: the lag buffer is written too
            lo = plan.offsets[liveness.lag_name(node)]
            writes.append((None, lo, lo + liveness.lag_bytes(node, graph)))
        for k, (o, lo, hi) in enumerate(writes):
            for t, (rlo, rhi) in reads.items():
                if lo < rhi and rlo < hi:
                    shared = o is not None and plan.aliases.get(o) is not None and \
                        plan.aliases[o] == plan.aliases.get(t, t) and (lo, hi) == (rlo, rhi)
                    assert shared, f"{node.name} writes {o or 'scratch'} over its input {t}"
            for o2, lo2, hi2 in writes[k + 1:]:
                assert hi <= lo2 or hi2 <= lo, f"{node.name}: {o} and {o2} overlap"
        for o, lo, hi in writes:
            owner[lo:hi] = ids[o] if o is not None else -2


def _replay_chain(graph: Graph, plan, ch, owner: np.ndarray, ids: dict[str, int], ext: set[str]) -> None:
    """A fused chain replayed row by row as tg_chain_rows runs it (written here again, not taken
    from the planner): every row of x a conv or the add reads is still x's, the rows of each inner
    tensor y_i are in its band buffer when the next conv reads them, the bands fit their buffers,
    scratch never covers what a step reads, and the output's rows land in its storage (over x or
    not), without an add straight from the last conv."""
    from tinygen.ops.inplace_rows import BAND_ROWS

    nodes = {n.name: n for n in graph.nodes}
    convs = [nodes[c] for c in ch.convs]
    add = nodes[ch.add] if ch.add else None
    sc = nodes[ch.shortcut] if ch.shortcut else None
    x, o = convs[0].inputs[0], nodes[ch.last].outputs[0]
    ys = [c.outputs[0] for c in convs]
    r = sc.outputs[0] if sc else x
    row = {t: graph.t(t).shape[2] * graph.t(t).shape[3] for t in (x, o, r, *ys)}
    size = {b.name: b.size for b in plan.buffers}
    scratch_at = plan.offsets.get(liveness.chain_scratch_name(ch.last))
    banded = {t for t, _ in ch.bands}
    name = ch.last

    def span(conv, r0, r1):
        a, k = conv.attrs, graph.t(conv.inputs[1]).shape[1]
        in_h = graph.t(conv.inputs[0]).shape[1]
        last = (r1 - 1) * a.stride[0] - a.padding[0] + (k - 1) * a.dilation[0]
        return max(0, r0 * a.stride[0] - a.padding[0]), min(in_h, last + 1)

    def owned(t, lo, hi, what):
        assert hi > lo and (owner[lo:hi] == ids[t]).all(), f"{name}: {what} overwritten before it is read"

    def read_x(a, b):
        if x not in ext:
            owned(x, plan.offset_of(x) + a * row[x], plan.offset_of(x) + b * row[x], f"rows {a}..{b} of {x}")

    def run(conv):  # its scratch is written while it runs
        s = get(conv.op).scratch_bytes(conv, graph)
        if s:
            owner[scratch_at:scratch_at + s] = -2

    def band(t, rows):
        assert t in banded, f"{name}: {t} should be a band buffer"
        assert rows * row[t] <= size[t], f"{name}: {rows} rows of {t} overflow its band buffer"
        return plan.offsets[t]

    def write_out(r0, r1):
        if o not in ext:
            lo_o = plan.offset_of(o)
            assert lo_o + graph.t(o).shape[1] * row[o] <= plan.arena_bytes
            owner[lo_o + r0 * row[o]:lo_o + r1 * row[o]] = ids[o]

    n = len(convs)
    held = [(0, 0)] * n  # rows of y_i in its band buffer
    h = graph.t(o).shape[1]
    for r0 in range(0, h, BAND_ROWS):
        r1 = min(r0 + BAND_ROWS, h)
        need = [None] * (n - 1) + [(r0, r1)]
        for i in range(n - 1, 0, -1):
            need[i - 1] = span(convs[i], *need[i])
        for i in range(n):
            y, (lo, hi) = ys[i], need[i]
            if i == n - 1 and add is None:  # straight into the output's rows, from the band of y_(n-1)
                a, b = span(convs[i], lo, hi)
                p, plo = plan.offsets[ys[i - 1]], need[i - 1][0]
                owned(ys[i - 1], p + (a - plo) * row[ys[i - 1]], p + (b - plo) * row[ys[i - 1]],
                      f"rows {a}..{b} of {ys[i - 1]}")
                run(convs[i])
                write_out(r0, r1)
                break
            at = band(y, hi - lo)
            blo, bhi = held[i]
            have = max(bhi, lo) if i < n - 1 else lo  # the last conv's band is made whole each time
            if have > lo:  # rows [lo, have) move down from where the band before left them
                owned(y, at + (lo - blo) * row[y], at + (have - blo) * row[y], f"kept rows of {y}")
                owner[at:at + (have - lo) * row[y]] = ids[y]
            if hi > have:
                a, b = span(convs[i], have, hi)
                if i == 0:
                    read_x(a, b)
                else:  # from the band of y_(i-1), which holds rows need[i-1]
                    p, plo = plan.offsets[ys[i - 1]], need[i - 1][0]
                    owned(ys[i - 1], p + (a - plo) * row[ys[i - 1]], p + (b - plo) * row[ys[i - 1]],
                          f"rows {a}..{b} of {ys[i - 1]}")
                run(convs[i])
                owner[at + (have - lo) * row[y]:at + (hi - lo) * row[y]] = ids[y]
            held[i] = (lo, hi)
        if add is None:
            continue
        if sc:
            read_x(*span(sc, r0, r1))
            run(sc)
            bs = band(r, r1 - r0)
            owner[bs:bs + (r1 - r0) * row[o]] = ids[r]
            owned(r, bs, bs + (r1 - r0) * row[o], f"band of {r}")
        else:
            read_x(r0, r1)
        at = plan.offsets[ys[-1]]
        owned(ys[-1], at, at + (r1 - r0) * row[o], f"band of {ys[-1]}")
        write_out(r0, r1)


def _replay_patch(graph: Graph, plan, stage, owner: np.ndarray, ids: dict[str, int], ext: set[str]) -> None:
    """A patch stage replayed tile by tile as the generated loop runs it (the rows each member
    reads and makes worked out here again, not taken from the stage's steps): every row a member
    reads is still its input's (X and the stage outputs in their whole tensors, internal tensors
    in their tile buffers, which must hold those rows and fit them), a step writes none of the
    bytes it reads, and each output's rows land in its storage (over X or not)."""
    members = [n for n in graph.nodes if n.name in stage.nodes]
    tiles = {t: plan.offsets[f"{stage.first}/patch"] + off for t, off, _ in stage.tiles}
    tile_size = {t: size for t, _, size in stage.tiles}
    held: dict[str, tuple[int, int]] = {}  # internal tensor -> rows its tile buffer holds now

    def row(t: str) -> int:
        sh = graph.t(t).shape
        return sh[2] * sh[3]

    def span(n: Node, lo: int, hi: int) -> tuple[int, int]:
        if n.op == "lut":
            return lo, hi
        a = n.attrs
        k = a.kernel[0] if n.op == "conv2d_packed" else graph.t(n.inputs[1]).shape[1]
        in_h = graph.t(n.inputs[0]).shape[1]
        return max(0, lo * a.stride[0] - a.padding[0]), min(in_h, (hi - 1) * a.stride[0] - a.padding[0] + (k - 1) * a.dilation[0] + 1)

    def where(t: str, lo: int, hi: int) -> tuple[int, int] | None:
        """Arena bytes of rows [lo, hi) of t (None: the caller's buffer)."""
        if t in tiles:
            h0, h1 = held[t]
            assert h0 <= lo and hi <= h1, f"{stage.first}: rows {lo}..{hi} of {t} not in its tile buffer ({h0}..{h1})"
            return tiles[t] + (lo - h0) * row(t), tiles[t] + (hi - h0) * row(t)
        if t in ext:
            return None
        base = plan.offset_of(t)
        return base + lo * row(t), base + hi * row(t)

    scratch_at = plan.offsets[f"{stage.first}/patch"] + stage.kernel_scratch
    for r0, r1 in stage.bands:
        need: dict[str, tuple[int, int]] = {o: (r0, r1) for o in stage.outputs}
        for n in reversed(members):
            a, b = span(n, *need[n.outputs[0]])
            t = n.inputs[0]
            if t != stage.input:
                old = need.get(t, (a, b))
                need[t] = (min(old[0], a), max(old[1], b))
        for n in members:
            t, o = n.inputs[0], n.outputs[0]
            lo, hi = need[o]
            src = where(t, *span(n, lo, hi))
            if src is not None:
                assert (owner[src[0]:src[1]] == ids[t]).all(), f"{stage.first}: {t} overwritten before {n.name} read it"
            if o in tiles:
                assert (hi - lo) * row(o) <= tile_size[o], f"{stage.first}: rows of {o} overflow its tile buffer"
                if tiles[o] != tiles.get(t):  # a lut in place keeps its input's tile
                    held[o] = (lo, hi)
                else:
                    held[o] = held[t]
            dst = where(o, lo, hi)
            if dst is not None:
                assert src is None or dst == src or dst[1] <= src[0] or src[1] <= dst[0], \
                    f"{stage.first}: {n.name} writes {o} over the rows it reads"
                owner[dst[0]:dst[1]] = ids[o]
            s = get(n.op).scratch_bytes(n, graph)
            if s:
                owner[scratch_at:scratch_at + s] = -2
    for o in stage.outputs:  # whole once the last tile ran
        if o not in ext:
            lo, hi = where(o, 0, graph.t(o).shape[1])
            assert (owner[lo:hi] == ids[o]).all(), f"{stage.first}: {o} incomplete or overwritten"
