"""Fused row bands: a pointwise conv whose output only feeds the next conv is never materialised.

For m = 1x1 conv (stride 1, no padding: each output row needs only the same input row) followed
by n = a conv reading m's output E and nothing else reading E, n runs band by band
(runtime_c/include/tg_inplace_rows.h, tg_conv2d_fused_rows): for each band of n's output rows it
computes the rows of E the band reads (keeping those the previous band already made) into a band
buffer of (BAND_ROWS - 1) * stride + reach + 1 rows, with m's own kernel, then runs n's kernel on
it. Both kernels must be callable on row bands (`Kernel.inplace_lag` declared) and n's must take
scratch (the wrapper's signature); m's scratch, if it takes any, stays live until n. m's input then stays live until n, so a pair is fused only
when that costs less than E:  input bytes + band bytes < E bytes.

Applied to the node order the schedule chose (the DP counts whole tensors), when
`PlanOptions.fusion` is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygen.ir.graph import Graph, Node
from tinygen.ops.base import get
from tinygen.ops.inplace_rows import BAND_ROWS


def _row_kernel(node: Node) -> bool:
    """A conv kernel (tg_conv2d_params, whose fields the wrapper rewrites per band) callable on bands."""
    if not node.kernel:
        return False
    kern = get(node.op).kernel(node)
    return kern.params_type == "tg_conv2d_params" and kern.inplace_lag is not None


def _pointwise(node: Node, graph: Graph) -> bool:
    w = graph.t(node.inputs[1])
    a = node.attrs
    return w.shape[1:3] == (1, 1) and tuple(a.stride) == (1, 1) and not any(a.padding)


def band_bytes(n: Node, graph: Graph) -> int:
    """Bytes of the band buffer holding the rows of n's input one band of n reads."""
    e, w = graph.t(n.inputs[0]), graph.t(n.inputs[1])
    reach = (w.shape[1] - 1) * n.attrs.dilation[0]
    rows = min((BAND_ROWS - 1) * n.attrs.stride[0] + reach + 1, e.shape[1])
    return rows * e.shape[2] * e.shape[3] * e.dtype.itemsize


def fused_pairs(graph: Graph, ext: set[str]) -> dict[int, tuple[int, int]]:
    """{index of m: (index of n, band bytes)} for the pairs fused in this order (consecutive nodes)."""
    readers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.nodes):
        for t in dict.fromkeys(node.inputs):
            readers.setdefault(t, []).append(i)
    candidates = []  # (bytes saved, bytes of E, i, band)
    for i in range(len(graph.nodes) - 1):
        m, n = graph.nodes[i], graph.nodes[i + 1]
        if not (_row_kernel(m) and _row_kernel(n) and _pointwise(m, graph)):
            continue
        e = m.outputs[0]
        if e in ext or readers.get(e) != [i + 1] or n.inputs[0] != e or n.inputs.count(e) != 1:
            continue
        if not get(n.op).scratch_bytes(n, graph):
            continue  # the wrapper calls n as k(p, in, out, scratch)
        x, et = graph.t(m.inputs[0]), graph.t(e)
        if x.shape[0] != 1 or et.shape[0] != 1:
            continue
        x_cost = 0 if m.inputs[0] in ext else x.nbytes
        band = band_bytes(n, graph)
        if x_cost + band < et.nbytes:
            candidates.append((et.nbytes - x_cost - band, et.nbytes, i, band))
    # a node is in one pair at most: the pairs saving most first, then the one removing the larger
    # tensor (peaks sit at wide tensors: x -1x1-> a -1x1-> E -dw-> fuses E, not a)
    out: dict[int, tuple[int, int]] = {}
    used: set[int] = set()
    for _, _, i, band in sorted(candidates, key=lambda c: (-c[0], -c[1], c[2])):
        if i not in used and i + 1 not in used:
            out[i] = (i + 1, band)
            used |= {i, i + 1}
    return dict(sorted(out.items()))


# --- residual blocks: conv1 -> conv2 -> add(shortcut, conv2's output), band by band ----------------

@dataclass(frozen=True)
class Residual:
    """x -conv1-> y1 -conv2-> y2, add(r, y2) (either operand order), r = x or shortcut(x), run as
    one call at the add (tg_residual_rows in tg_inplace_rows.h). Per band of BAND_ROWS output rows
    it computes the rows of y1 the band of y2 reads (keeping those the previous band made), the
    band of y2, the band of the shortcut and the add's rows: y1, y2 and the shortcut's output exist
    only as band buffers, x stays live until the add. With `in_place` the add's output is stored
    over x: allowed when no later band reads the x rows an earlier one overwrote (`_overwrite_safe`),
    so the block holds about one whole tensor."""

    conv1: str
    conv2: str
    shortcut: str  # "" when the add reads x itself
    add: str
    bands: tuple[tuple[str, int], ...]  # (y1, rows' bytes), (y2, ...), (shortcut's output, ...)
    in_place: bool

    @property
    def members(self) -> tuple[str, ...]:
        """The nodes computed by the call at the add, in the order they run per band."""
        return tuple(n for n in (self.conv1, self.conv2, self.shortcut, self.add) if n)


@dataclass(frozen=True)
class _Rows:
    """Which input rows a band of a conv's output rows reads (the C's tg_conv_rows)."""

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


def _band_reads(c1: _Rows, c2: _Rows, sc: _Rows | None, out_h: int) -> list[tuple[int, int, int]] | None:
    """Per band, mirroring tg_residual_rows: (rows of y1 in the band buffer, first row of x read,
    end of the band's output rows); None when some band would read no input row (padding only)."""
    out, bhi = [], 0
    for r0 in range(0, out_h, BAND_ROWS):
        r1 = min(r0 + BAND_ROWS, out_h)
        lo, hi = c2.rows(r0, r1)
        have = max(bhi, lo)  # y1's rows [have, hi) are computed, the others kept from the band before
        bhi = hi
        spans = [(lo, hi)]
        if hi > have:
            spans.append(c1.rows(have, hi))
        spans.append(sc.rows(r0, r1) if sc is not None else (r0, r1))  # the add reads x's rows when x is the shortcut
        if any(b <= a for a, b in spans):
            return None
        out.append((hi - lo, min(a for a, _ in spans[1:]), r1))
    return out


def _overwrite_safe(bands: list[tuple[int, int, int]], x_row: int, out_row: int) -> bool:
    """The add's output rows go over x: band j's rows of x must not start below what bands before j
    wrote (writes only grow; a band reads its x rows before its add writes)."""
    written = 0
    for _, start, r1 in bands:
        if start * x_row < written:
            return False
        written = r1 * out_row
    return True


def residual_blocks(graph: Graph, ext: set[str], taken: set[int] = frozenset()) -> list[Residual]:
    """The residual blocks worth running band by band in this order, none using a node in `taken`:
    conv1, conv2 (and the shortcut conv) row kernels whose outputs only feed the block, all the
    block's nodes consecutive, one image, the add without broadcasting; fused when the band
    buffers (plus the add's output, unless it goes over x) are smaller than y1 and y2 whole."""
    readers: dict[str, list[int]] = {}
    producer: dict[str, int] = {}
    for i, node in enumerate(graph.nodes):
        for t in dict.fromkeys(node.inputs):
            readers.setdefault(t, []).append(i)
        for t in node.outputs:
            producer[t] = i
    nodes = graph.nodes

    def only_feeds(t: str, i: int) -> int | None:
        """The producer of t when it is a row-kernel conv whose output only node i reads (as its
        first input when i is a conv)."""
        j = producer.get(t)
        if j is None or t in ext or readers.get(t) != [i] or not _row_kernel(nodes[j]) or j in taken:
            return None
        return j if nodes[i].op == "add" or (nodes[i].inputs[0] == t and nodes[i].inputs.count(t) == 1) else None

    out = []
    for a, add in enumerate(nodes):
        if add.op != "add" or not add.kernel or a in taken or len(add.inputs) != 2 or len(set(add.inputs)) != 2:
            continue
        o = graph.t(add.outputs[0])
        if any(graph.t(t).is_const or graph.t(t).shape != o.shape for t in add.inputs) or o.shape[0] != 1:
            continue
        for k in (0, 1):
            y2, r = add.inputs[k], add.inputs[1 - k]
            j2 = only_feeds(y2, a)
            if j2 is None:
                continue
            y1 = nodes[j2].inputs[0]
            j1 = only_feeds(y1, j2)
            if j1 is None:
                continue
            x = nodes[j1].inputs[0]
            js = None
            if r != x:
                js = only_feeds(r, a)
                if js is None or nodes[js].inputs[0] != x:
                    continue
            members = sorted(i for i in (j1, j2, js, a) if i is not None)
            if members != list(range(members[0], a + 1)) or graph.t(x).shape[0] != 1:
                continue
            rows = _band_reads(_Rows.of(nodes[j1], graph), _Rows.of(nodes[j2], graph),
                               _Rows.of(nodes[js], graph) if js is not None else None, o.shape[1])
            if rows is None:
                continue
            xt, t1, t2 = graph.t(x), graph.t(y1), graph.t(y2)
            row1 = t1.shape[2] * t1.shape[3] * t1.dtype.itemsize
            row_o = o.shape[2] * o.shape[3] * o.dtype.itemsize
            band_o = min(BAND_ROWS, o.shape[1]) * row_o
            bands = [(y1, max(n for n, _, _ in rows) * row1), (y2, band_o)] + ([(r, band_o)] if js is not None else [])
            in_place = (x not in ext and add.outputs[0] not in ext and not xt.is_const and o.nbytes <= xt.nbytes
                        and all(i in members for i in readers[x]) and get(add.op).kernel(add).inplace_ok
                        and _overwrite_safe(rows, xt.shape[2] * xt.shape[3] * xt.dtype.itemsize, row_o))
            if sum(b for _, b in bands) + (0 if in_place else o.nbytes) >= t1.nbytes + t2.nbytes:
                continue
            out.append(Residual(nodes[j1].name, nodes[j2].name, nodes[js].name if js is not None else "",
                                add.name, tuple(bands), in_place))
            taken = set(taken) | set(members)
            break
    return out
