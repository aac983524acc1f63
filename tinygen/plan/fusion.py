"""Fused row bands: a chain of convs run band by band as one call, its inner tensors never whole.

A chain is x -c1-> y1 -c2-> ... -cn-> yn (2 <= n <= MAX_CHAIN), each y_i (i < n) read only by
c(i+1), optionally ended by add(r, yn) with r = x or shortcut(x) (a residual block):

    pointwise expand -> depthwise              (a pair)
    expand -> depthwise -> project             (an inverted residual without its add)
    expand -> depthwise -> project -> add      (MobileNetV2's inverted residual)
    conv -> conv -> add(x or shortcut(x))      (ResNet's basic block)

It runs at its last node (tg_chain_rows in runtime_c/include/tg_inplace_rows.h): for each band of
BAND_ROWS output rows it computes, conv by conv, the rows of each y_i the next conv's band reads
(keeping the rows the previous band made) into y_i's band buffer, then the band of the shortcut
and the add's rows, or, without an add, cn writes its rows of yn straight into the whole output.
Only the convs' band buffers exist of the y_i (and of yn and the shortcut's output when there is
an add); x stays live until the chain ends. Every conv's kernel must be callable on row bands
(`Kernel.inplace_lag` declared); they share one scratch buffer, as they run one after another.

With `in_place` the chain's output is stored over x: allowed when x dies in the chain, no later
band reads the x rows an earlier band's output covered (`_overwrite_safe`), and, without an add,
the output is x's size.

A chain is fused when it saves bytes: its band buffers, plus x kept live until the end (no cost
when x is the graph's caller-owned input or the output goes over it; with an add x is live until
then anyway, but the add's output is new unless it goes over x), are fewer than its inner
tensors whole. A chain without an add starts at a pointwise conv (1x1, stride 1, unpadded: the
expansion, whose rows are x's rows); any other first conv is left to run in place on row bands
(tinygen/ops/inplace_rows.py), which holds one tensor, not two. Residual chains are found first,
the longest chain at each add; then the chains without an add, those saving most first. Applied
to the node order the schedule chose (the DP counts whole tensors), when `PlanOptions.fusion` is
on; memory_plan._cheapest then drops (or shortens) the chains off the peak, which cost
instructions, and plan_memory keeps the plan without the add-less chains when it is smaller.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import Graph, Node
from tinygen.ops.base import get
from tinygen.ops.inplace_rows import BAND_ROWS

MAX_CHAIN = 3  # convs in a chain: the C's TG_CHAIN_MAX_CONVS


@dataclass(frozen=True)
class Chain:
    convs: tuple[str, ...]  # c1 .. cn
    shortcut: str  # the add's shortcut conv of x ("" when the add reads x itself, or no add)
    add: str  # "" for a chain without an add
    bands: tuple[tuple[str, int], ...]  # (tensor, band buffer bytes): y1 .. y(n-1), then with an add yn and the shortcut's output
    in_place: bool  # the chain's output is stored over x

    @property
    def members(self) -> tuple[str, ...]:
        """The nodes computed by the call at the chain's last node, in the order they run per band."""
        return tuple(n for n in (*self.convs, self.shortcut, self.add) if n)

    @property
    def last(self) -> str:
        """The node whose call runs the chain."""
        return self.add or self.convs[-1]


def _row_kernel(node: Node) -> bool:
    """A conv kernel (tg_conv2d_params, whose fields tg_conv_rows rewrites per band) callable on bands."""
    if not node.kernel:
        return False
    kern = get(node.op).kernel(node)
    return kern.params_type == "tg_conv2d_params" and kern.inplace_lag is not None


def _pointwise(node: Node, graph: Graph) -> bool:
    w, a = graph.t(node.inputs[1]), node.attrs
    return w.shape[1:3] == (1, 1) and tuple(a.stride) == (1, 1) and not any(a.padding)


@dataclass(frozen=True)
class _Rows:
    """Which input rows a band of a conv's output rows reads (the C's tg_conv_rows_span)."""

    stride: int
    pad: int
    reach: int
    in_h: int

    @staticmethod
    def of(node: Node, graph: Graph) -> "_Rows":
        w, a = graph.t(node.inputs[1]), node.attrs
        return _Rows(a.stride[0], a.padding[0], (w.shape[1] - 1) * a.dilation[0], graph.t(node.inputs[0]).shape[1])

    def rows(self, r0: int, r1: int) -> tuple[int, int]:
        return max(0, r0 * self.stride - self.pad), min(self.in_h, (r1 - 1) * self.stride - self.pad + self.reach + 1)


def _band_reads(chain: list[_Rows], sc: _Rows | None, add: bool, out_h: int):
    """Per band, mirroring tg_chain_rows: (rows of y1 .. y(n-1) in their band buffers, first row of
    x read, end of the band's output rows); None when some band would read no input row."""
    n = len(chain)
    out, held = [], [(0, 0)] * (n - 1)  # rows of y_i its band buffer holds
    for r0 in range(0, out_h, BAND_ROWS):
        r1 = min(r0 + BAND_ROWS, out_h)
        need = [(r0, r1)] * n  # rows of y_i the band needs, from the last conv back
        for i in range(n - 1, 0, -1):
            need[i - 1] = chain[i].rows(*need[i])
        spans, x_reads = [], []
        for i in range(n - 1):
            lo, hi = need[i]
            have = max(held[i][1], lo)  # rows [have, hi) are computed, the others kept
            held[i] = (lo, hi)
            if hi > have:
                (x_reads if i == 0 else spans).append(chain[i].rows(have, hi))
        spans.append(need[n - 2])
        if add:  # the add reads x's rows when x is the shortcut
            x_reads.append(sc.rows(r0, r1) if sc is not None else (r0, r1))
        if any(b <= a for a, b in spans + x_reads):
            return None
        out.append((tuple(hi - lo for lo, hi in need[:-1]), min((a for a, _ in x_reads), default=1 << 30), r1))
    return out


def _overwrite_safe(bands, x_row: int, out_row: int) -> bool:
    """The chain's output rows go over x: band j's rows of x must not start below what bands before
    j wrote (writes only grow; a band reads its x rows before it writes)."""
    written = 0
    for _, start, r1 in bands:
        if start * x_row < written:
            return False
        written = r1 * out_row
    return True


class _Finder:
    """The graph's readers and producers, and the chain a run of nodes would make."""

    def __init__(self, graph: Graph, ext: set[str]):
        self.graph, self.ext, self.nodes = graph, ext, graph.nodes
        self.readers: dict[str, list[int]] = {}
        self.producer: dict[str, int] = {}
        for i, node in enumerate(graph.nodes):
            for t in dict.fromkeys(node.inputs):
                self.readers.setdefault(t, []).append(i)
            for t in node.outputs:
                self.producer[t] = i

    def only_feeds(self, t: str, i: int, taken) -> int | None:
        """The producer of t when it is a row-kernel conv whose output only node i reads (as its
        first input when i is a conv)."""
        j = self.producer.get(t)
        if j is None or t in self.ext or self.readers.get(t) != [i] or not _row_kernel(self.nodes[j]) or j in taken:
            return None
        node = self.nodes[i]
        return j if node.op == "add" or (node.inputs[0] == t and node.inputs.count(t) == 1) else None

    def back(self, end: int, taken) -> list[int]:
        """The longest run of convs ending at `end` (a conv) each only feeding the next."""
        chain = [end]
        while len(chain) < MAX_CHAIN:
            j = self.only_feeds(self.nodes[chain[0]].inputs[0], chain[0], taken)
            if j is None:
                break
            chain.insert(0, j)
        return chain

    def make(self, convs: list[int], add: int | None, r: str = "", taken=()) -> tuple[Chain, int] | None:
        """(the chain, bytes it saves) for these consecutive convs [and add reading r], or None
        when it cannot run band by band or saves nothing."""
        g, nodes, ext = self.graph, self.nodes, self.ext
        x = nodes[convs[0]].inputs[0]
        js = None
        if add is not None and r != x:
            js = self.only_feeds(r, add, taken)
            if js is None or nodes[js].inputs[0] != x:
                return None
        members = sorted(convs + [i for i in (js, add) if i is not None])
        if members != list(range(members[0], members[-1] + 1)) or g.t(x).shape[0] != 1:
            return None
        last = nodes[members[-1]]
        o = g.t(last.outputs[0])
        if o.shape[0] != 1:
            return None
        rows = _band_reads([_Rows.of(nodes[j], g) for j in convs], _Rows.of(nodes[js], g) if js is not None else None,
                           add is not None, o.shape[1])
        if rows is None:
            return None

        def row(t: str) -> int:
            sh = g.t(t).shape
            return sh[2] * sh[3] * g.t(t).dtype.itemsize

        inner = [nodes[j].outputs[0] for j in convs[:-1]]
        bands = [(y, max(b[0][i] for b in rows) * row(y)) for i, y in enumerate(inner)]
        if add is not None:  # yn and the shortcut's output exist as one band of output rows
            yn = nodes[convs[-1]].outputs[0]
            band_o = min(BAND_ROWS, o.shape[1]) * row(yn)
            inner.append(yn)
            bands += [(yn, band_o)] + ([(r, band_o)] if js is not None else [])
        xt = g.t(x)
        # over x only at x's size without an add: a smaller output would hold x's whole storage (an
        # alias root keeps its largest member's size) for as long as it and its own aliases live
        in_place = (x not in ext and last.outputs[0] not in ext and not xt.is_const
                    and (o.nbytes <= xt.nbytes if add is not None else o.nbytes == xt.nbytes)
                    and all(i in members for i in self.readers[x]) and _overwrite_safe(rows, row(x), row(last.outputs[0]))
                    and (add is None or get(last.op).kernel(last).inplace_ok))
        if add is not None:  # x is live until the add anyway; the add's output is new unless it goes over x
            saved = sum(g.t(t).nbytes for t in inner) - sum(b for _, b in bands) - (0 if in_place else o.nbytes)
        else:  # x stays live to the end, unless the caller owns it or the output goes over it
            x_cost = 0 if x in ext or in_place else xt.nbytes
            saved = sum(g.t(t).nbytes for t in inner) - sum(b for _, b in bands) - x_cost
        if saved <= 0:
            return None
        return Chain(tuple(nodes[j].name for j in convs), nodes[js].name if js is not None else "",
                     nodes[add].name if add is not None else "", tuple(bands), in_place), saved


def chains(graph: Graph, ext: set[str], taken=frozenset()) -> list[Chain]:
    """The chains worth running band by band in this order, none using a node in `taken` (see the
    module docstring for the rules), in graph order."""
    f = _Finder(graph, ext)
    nodes = graph.nodes
    taken = set(taken)
    out = []
    for a, add in enumerate(nodes):  # residual chains, the longest at each add
        if add.op != "add" or not add.kernel or a in taken or len(add.inputs) != 2 or len(set(add.inputs)) != 2:
            continue
        o = graph.t(add.outputs[0])
        if any(graph.t(t).is_const or graph.t(t).shape != o.shape for t in add.inputs):
            continue
        for k in (0, 1):
            j = f.only_feeds(add.inputs[k], a, taken)
            run = f.back(j, taken) if j is not None else []
            found = next((c for n in range(len(run), 1, -1) if (c := f.make(run[-n:], a, add.inputs[1 - k], taken))), None)
            if found is not None:
                out.append(found[0])
                taken |= {i for i, nd in enumerate(nodes) if nd.name in found[0].members}
                break
    candidates = []  # chains without an add: (bytes saved, first conv, chain)
    for end, node in enumerate(nodes):
        if end in taken or not _row_kernel(node):
            continue
        run = f.back(end, taken)
        for n in range(len(run), 1, -1):
            c = f.make(run[-n:], None) if _pointwise(nodes[run[-n]], graph) else None
            if c is not None:
                candidates.append((c[1], run[-n], c[0]))
    index = {nd.name: i for i, nd in enumerate(nodes)}
    for _, _, c in sorted(candidates, key=lambda t: (-t[0], t[1])):
        idx = {index[m] for m in c.members}
        if not idx & taken:
            out.append(c)
            taken |= idx
    return sorted(out, key=lambda c: index[c.last])


def shorter(graph: Graph, ext: set[str], chain: Chain) -> list[Chain]:
    """Chains without an add over a prefix of this chain's convs, shortest (fewest calls on row
    bands, so fewest instructions) first: what the chain may shrink to when it must stay banded."""
    f = _Finder(graph, ext)
    index = {nd.name: i for i, nd in enumerate(graph.nodes)}
    convs = [index[c] for c in chain.convs]
    n_max = len(convs) - (0 if chain.add else 1)
    if not _pointwise(graph.nodes[convs[0]], graph):
        return []
    return [c[0] for n in range(2, n_max + 1) if (c := f.make(convs[:n], None)) is not None]
