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


# --- residual blocks: a chain of convs -> add(shortcut, the chain's output), band by band --------

MAX_CHAIN = 3  # convs in a block's chain: the C's TG_RESIDUAL_MAX_CONVS


@dataclass(frozen=True)
class Residual:
    """x -c1-> y1 -c2-> ... -cn-> yn, add(r, yn) (either operand order), r = x or shortcut(x), run
    as one call at the add (tg_residual_rows in tg_inplace_rows.h), for n = 2 (ResNet's conv ->
    conv) or 3 (MobileNetV2's inverted residual: expand 1x1 -> depthwise -> project 1x1). Per band
    of BAND_ROWS output rows it computes, conv by conv, the rows of each y_i the next conv's band
    reads (keeping those the previous band made), then the band of the shortcut and the add's rows:
    the y_i and the shortcut's output exist only as band buffers, x stays live until the add. With
    `in_place` the add's output is stored over x: allowed when no later band reads the x rows an
    earlier one overwrote (`_overwrite_safe`), so the block holds about one whole tensor."""

    convs: tuple[str, ...]  # c1 .. cn
    shortcut: str  # "" when the add reads x itself
    add: str
    bands: tuple[tuple[str, int], ...]  # (y_i, rows' bytes) for each conv, then (shortcut's output, ...)
    in_place: bool

    @property
    def members(self) -> tuple[str, ...]:
        """The nodes computed by the call at the add, in the order they run per band."""
        return tuple(n for n in (*self.convs, self.shortcut, self.add) if n)


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


def _band_reads(chain: list[_Rows], sc: _Rows | None, out_h: int) -> list[tuple[tuple[int, ...], int, int]] | None:
    """Per band, mirroring tg_residual_rows: (rows of y1 .. y(n-1) in their band buffers, first row
    of x read, end of the band's output rows); None when some band would read no input row."""
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
        x_reads.append(sc.rows(r0, r1) if sc is not None else (r0, r1))  # the add reads x's rows when x is the shortcut
        if any(b <= a for a, b in spans + x_reads):
            return None
        out.append((tuple(hi - lo for lo, hi in need[:-1]), min(a for a, _ in x_reads), r1))
    return out


def _overwrite_safe(bands: list[tuple[tuple[int, ...], int, int]], x_row: int, out_row: int) -> bool:
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
    a chain of 2 or 3 row-kernel convs (and a shortcut conv) whose outputs only feed the block, the
    longest chain first, all the block's nodes consecutive, one image, the add without broadcasting;
    fused when the band buffers (plus the add's output, unless it goes over x) are smaller than the
    chain's outputs whole."""
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

    def block(chain: list[int], r: str, a: int) -> Residual | None:
        add, x = nodes[a], nodes[chain[0]].inputs[0]
        js = None
        if r != x:
            js = only_feeds(r, a)
            if js is None or nodes[js].inputs[0] != x:
                return None
        members = sorted([*chain, a] + ([js] if js is not None else []))
        if members != list(range(members[0], a + 1)) or graph.t(x).shape[0] != 1:
            return None
        o = graph.t(add.outputs[0])
        rows = _band_reads([_Rows.of(nodes[j], graph) for j in chain],
                           _Rows.of(nodes[js], graph) if js is not None else None, o.shape[1])
        if rows is None:
            return None
        ys = [graph.t(nodes[j].outputs[0]) for j in chain]
        row_o = o.shape[2] * o.shape[3] * o.dtype.itemsize
        band_o = min(BAND_ROWS, o.shape[1]) * row_o
        bands = [(nodes[j].outputs[0], max(band[0][i] for band in rows) * y.shape[2] * y.shape[3] * y.dtype.itemsize)
                 for i, (j, y) in enumerate(zip(chain[:-1], ys))]
        bands += [(nodes[chain[-1]].outputs[0], band_o)] + ([(r, band_o)] if js is not None else [])
        xt = graph.t(x)
        in_place = (x not in ext and add.outputs[0] not in ext and not xt.is_const and o.nbytes <= xt.nbytes
                    and all(i in members for i in readers[x]) and get(add.op).kernel(add).inplace_ok
                    and _overwrite_safe(rows, xt.shape[2] * xt.shape[3] * xt.dtype.itemsize, row_o))
        if sum(b for _, b in bands) + (0 if in_place else o.nbytes) >= sum(y.nbytes for y in ys):
            return None
        return Residual(tuple(nodes[j].name for j in chain), nodes[js].name if js is not None else "",
                        add.name, tuple(bands), in_place)

    out = []
    for a, add in enumerate(nodes):
        if add.op != "add" or not add.kernel or a in taken or len(add.inputs) != 2 or len(set(add.inputs)) != 2:
            continue
        o = graph.t(add.outputs[0])
        if any(graph.t(t).is_const or graph.t(t).shape != o.shape for t in add.inputs) or o.shape[0] != 1:
            continue
        for k in (0, 1):
            j = only_feeds(add.inputs[k], a)
            chain = [j] if j is not None else []
            while chain and len(chain) < MAX_CHAIN:
                j = only_feeds(nodes[chain[0]].inputs[0], chain[0])
                if j is None:
                    break
                chain.insert(0, j)
            found = next((b for n in range(len(chain), 1, -1)
                          if (b := block(chain[-n:], add.inputs[1 - k], a)) is not None), None)
            if found is not None:
                out.append(found)
                taken = set(taken) | {i for i, nd in enumerate(nodes) if nd.name in found.members}
                break
    return out
