"""Instruction cost model of a layer stored dense or sparse (issue 14: sparse is chosen per layer by
measured cost). Each kind's cost is a linear function of a few counts of the layer, one term per
part of the kernel's work:

    dense conv (tg_conv2d_s8_pw4 / _im2col4):  P*C*K (MACs), P*C (output stage), P*K (input gather)
    sparse conv (tg_conv2d_sparse_s8_px8):     G*K (lane words), G*T (gathered positions),
                                               G*C (row walks + output stage),
                                               G8*E, G4*E (entries over 4 or 2 lane words),
                                               C (records); G = ceil(P / 8) groups of pixels,
                                               G4 = 1 when the last has 1-4 pixels, G8 the others
    dense depthwise (tg_conv2d_s8_dw3x3s1/s2): P*C*K, H*C, C
    sparse depthwise (tg_conv2d_sparse_s8_dw4): P*C (output stage), P*N (taps), P*L (looped
                                               taps), B*C (per channel and band), E (decode),
                                               X (input copy), R*C (pixels of the 1-pixel loop)
    dense FC (tg_fully_connected_s8_w16):      K*ceil4(C), C, K (input widening)
    sparse FC (tg_fully_connected_sparse_s8_fast): E, C

with P output pixels, H output rows, C output channels, K weights per output channel, E stored
entries (tinygen/reference/sparse.py), N non-zero weights, L output channels with more than 4
non-zeros, T = k_h*k_w, X input bytes, B dw4's bands of output rows and R the output pixels past
the last multiple of 4 of each row. The dense models are those of the fastest dense kernels;
where a slower one runs, the comparison only favours dense. The coefficients are instructions per
count, fitted by least squares to QEMU -icount measurements of single layers:
`benchmarks/compressed.py --break-even --board f746zg` measures them (dense and sparse at several
shapes and densities), prints each fit and its worst error, and prints the COEFFS below.

`dense_instructions` is any node's estimate on its dense fast kernel (these models, or a stated
fallback for the nodes they do not cover): plan/patch.py budgets the rows patch stages recompute
with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("conv1x1", "conv", "dw", "fc")
# the fast kernel each kind runs, dense and sparse: one cost model per kernel
MODEL = {("conv1x1", False): "tg_conv2d_s8_pw4", ("conv", False): "tg_conv2d_s8_im2col4",
         ("dw", False): "tg_conv2d_s8_dw3x3", ("fc", False): "tg_fully_connected_s8_w16",
         ("conv1x1", True): "tg_conv2d_sparse_s8_px8", ("conv", True): "tg_conv2d_sparse_s8_px8",
         ("dw", True): "tg_conv2d_sparse_s8_dw4", ("fc", True): "tg_fully_connected_sparse_s8_fast"}


def layer_kind(graph, node) -> str | None:
    """Which of KINDS a dense conv2d / fully_connected node is (None: none, no model)."""
    if node.op == "fully_connected":
        return "fc"
    if node.op != "conv2d":
        return None
    a, w = node.attrs, graph.t(node.inputs[1])
    x, o = graph.t(node.inputs[0]), graph.t(node.outputs[0])
    if a.groups != 1:
        depthwise = a.groups == x.shape[3] == o.shape[3] and w.shape[1] * w.shape[2] <= 64
        return "dw" if depthwise else None
    direct = (w.shape[1:3] == (1, 1) and a.stride == (1, 1) and a.padding[0] == 0 and a.padding[2] == 0
              and x.shape[1:3] == o.shape[1:3])
    return "conv1x1" if direct else "conv"


@dataclass(frozen=True)
class Counts:
    pixels: int  # output pixels (1 for FC)
    rows: int  # output rows (1 for FC)
    cout: int
    k: int  # weights per output channel
    entries: int  # stored entries (non-zeros, fillers, pads)
    nonzeros: int
    long_rows: int  # output channels with more than 4 non-zeros (dw4 loops over their taps)
    taps: int = 1  # k_h * k_w (receptive-field positions, each a block of input channels)
    input_bytes: int = 0  # the input tensor (dw4 copies it padded)
    bands: int = 1  # dw4's bands of output rows (tinygen/ops/conv2d_sparse.py dw4_band_of)
    tail: int = 0  # output pixels past the last multiple of 4 of their row (dw4's one-pixel loop)


def counts(pixels: int, rows: int, w2d: np.ndarray, entries: int, taps: int = 1, input_bytes: int = 0,
           bands: int = 1) -> Counts:
    nz = np.count_nonzero(w2d, axis=1)
    return Counts(pixels, rows, w2d.shape[0], w2d.shape[1], entries, int(nz.sum()), int((nz > 4).sum()), taps,
                  input_bytes, bands, rows * ((pixels // max(rows, 1)) % 4))


def layer_counts(graph, node) -> Counts:
    """Counts of a dense conv2d / fully_connected node (its weights as stored sparse would be)."""
    from tinygen.ops.conv2d_sparse import dw4_band_of
    from tinygen.reference import sparse

    x, w = graph.t(node.inputs[0]), graph.t(node.inputs[1]).data
    w2d, o = w.reshape(w.shape[0], -1), graph.t(node.outputs[0]).shape
    if len(o) != 4:
        return counts(1, 1, w2d, sparse.encode(w2d)[0].size, 1, x.size)
    a = node.attrs
    bands = -(-o[1] // dw4_band_of(o[1:3], x.shape[3], w.shape[1:3], a.stride, a.dilation)[0])
    return counts(o[1] * o[2], o[1], w2d, sparse.encode(w2d)[0].size, w.shape[1] * w.shape[2], x.size, bands)


def features(model: str, c: Counts) -> tuple[int, ...]:
    p, h, n, k = c.pixels, c.rows, c.cout, c.k
    g, wide, narrow = (p + 7) // 8, (p + 3) // 8, int(0 < p % 8 <= 4)  # pixel groups: all, of 5-8, of 1-4
    return {"tg_conv2d_s8_pw4": lambda: (p * n * k, p * n, p * k),
            "tg_conv2d_s8_im2col4": lambda: (p * n * k, p * n, p * k),
            "tg_conv2d_sparse_s8_px8": lambda: (g * k, g * c.taps, g * n, wide * c.entries, narrow * c.entries, n),
            "tg_conv2d_s8_dw3x3": lambda: (p * n * k, h * n, n),
            "tg_conv2d_sparse_s8_dw4": lambda: (p * n, p * c.nonzeros, p * c.long_rows, c.bands * n, c.entries,
                                                c.input_bytes, c.tail * n),
            "tg_fully_connected_s8_w16": lambda: (k * ((n + 3) // 4 * 4), n, k),
            "tg_fully_connected_sparse_s8_fast": lambda: (c.entries, n)}[model]()


# instructions per count, in the order of features(); fitted on f746zg (mps2-an500, gcc 12 -O2) by
# benchmarks/compressed.py --break-even --board f746zg (19 layer shapes x 5 densities), worst relative
# error of each fit over its measurements in the comment
COEFFS = {
    "tg_conv2d_s8_pw4": (1.059, 14.38, 2.372),  # worst error 0.2%
    "tg_conv2d_s8_im2col4": (1.035, 20.61, 3.818),  # 0.4%
    "tg_conv2d_sparse_s8_px8": (30.56, 280.3, 157.4, 11.01, 7.894, 37.49),  # 2.6%
    "tg_conv2d_s8_dw3x3": (6.442, -28.86, 55.48),  # 2.2%
    "tg_conv2d_sparse_s8_dw4": (8.753, 6.299, 18, 162.5, 23.75, 0.124, 16.83),  # 3.7%
    "tg_fully_connected_s8_w16": (1.43, 21.86, 3.221),  # 0.0%
    "tg_fully_connected_sparse_s8_fast": (6, 50.66),  # 0.3%
}


def cost(kind: str, sparse: bool, c: Counts) -> float:
    """Estimated instructions of the layer's fast dense or sparse kernel."""
    model = MODEL[(kind, sparse)]
    return float(np.dot(COEFFS[model], features(model, c)))


# What dense_instructions charges a node the models above do not cover (packed-weight, binary, float
# and grouped convs, sparse layers...): MACs x FALLBACK_PER_MAC, about the whole-model figure of the
# int8 MobileNets on the fast kernels (benchmarks/int8_kernels.py: 2.4-2.5), and for a node without
# MACs (luts, adds, pools, copies) its output elements x FALLBACK_PER_ELEMENT, about a lut's table
# load and store. Orders of magnitude, not fits.
FALLBACK_PER_MAC = 2.5
FALLBACK_PER_ELEMENT = 2.0


def dense_instructions(graph, node) -> float:
    """Estimated instructions of a node on its fast dense kernel: the model of its kind above for a
    conv2d (1x1, other, depthwise) or fully_connected with constant weights, else the fallback."""
    from tinygen.ops.base import get

    kind = layer_kind(graph, node)
    if kind is not None and graph.t(node.inputs[1]).is_const:
        w, o = graph.t(node.inputs[1]).shape, graph.t(node.outputs[0]).shape
        pixels, rows = (o[1] * o[2], o[1]) if len(o) == 4 else (1, 1)
        k = int(np.prod(w[1:]))
        return cost(kind, False, Counts(pixels, rows, w[0], k, 0, 0, 0))  # the dense models read no sparse count
    macs = get(node.op).macs(node, graph)
    if macs:
        return FALLBACK_PER_MAC * macs
    return FALLBACK_PER_ELEMENT * sum(graph.t(t).size for t in node.outputs)
