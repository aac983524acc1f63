"""bconv2d_pruned (binary convolution with pruned kernels): the reference against torch on masked
+-1 weights and against bconv2d where nothing is pruned; every C variant bit-exact to the reference
on the host (and under QEMU, in test_bconv2d_pruned_on_qemu) for masks pruning whole words and
single bits, at channel counts 1, 3, 17, 31, 32, 33, 64."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinygen.ir.graph import DType
from tinygen.ops import bconv2d_pruned
from tinygen.ops.bconv2d import BConv2dAttrs, binary_conv_dot, output_shape
from tinygen.ops.bconv2d_pruned import pruned_conv_dot, stored_tables
from tinygen.ops.common import out_hw
from tinygen.reference import bitpack
from tinygen.select import HOST, select_kernels
from tinygen.select.kernels import candidates
from tinygen.testing import act, const

from tests.kernels.bitpack_host import (assert_cases_bit_exact, cases_graph, random_output_stage, random_packed,
                                        reference_and_host)

CHANNELS = (1, 3, 17, 31, 32, 33, 64)
MASK_KINDS = ("words", "half", "blocks", "bits", "mixed", "none", "all")
SEG = "tg_bconv2d_pruned_b1_seg"


def random_mask(rng, kind: str, cout: int, cin: int) -> np.ndarray:
    """kept [cout, cin] bool: whole 32-channel words pruned per output (at random, or half of each
    output's words: the grouped variants' case, or that per block of 32 outputs), single kernels,
    both, none pruned, or every kernel of some outputs pruned."""
    words = bitpack.words_for(cin)
    kept = np.ones((cout, cin), bool)
    if kind in ("half", "blocks"):  # blocks: the same words for each block of 32 outputs
        drop = np.stack([rng.permutation(words) < words // 2 for _ in range(cout)])
        if kind == "blocks":
            drop = drop[np.arange(cout) // 32 * 32]
        kept &= np.repeat(drop, 32, axis=1)[:, :cin] == 0
    if kind in ("words", "mixed"):
        drop = rng.random((cout, words)) < 0.5
        kept &= np.repeat(drop, 32, axis=1)[:, :cin] == 0
    if kind in ("bits", "mixed"):
        kept &= rng.random((cout, cin)) >= (0.5 if kind == "bits" else 0.2)
    if kind == "all":
        kept[rng.random(cout) < 0.5] = False
    return kept


def pruned_case(rng, h, w, cin, cout, k, stride, pad, dil, pad_value, output, kind):
    kept = random_mask(rng, kind, cout, cin)
    bits = rng.integers(0, 2, (cout, k, k, cin)) * kept[:, None, None, :]  # pruned weight bits 0
    attrs = BConv2dAttrs((stride, stride), pad, (dil, dil), cin, pad_value, output,
                         **random_output_stage(rng, output, cout, k * k * cin))
    x = act("x", (1, h, w, bitpack.words_for(cin)), DType.UINT32)
    wt = const("w", bitpack.pack_bits(bits))
    m = const("m", bitpack.pack_bits(kept))
    oh, ow = out_hw(x.shape, wt.shape, attrs)
    shape, dtype = output_shape((1, oh, ow), cout, output)
    label = f"{h}x{w}x{cin}->{cout} k{k}/{stride} pad{pad} dil{dil} pad_value{pad_value} {output} mask {kind}"
    return (attrs, [x, wt, m], shape, dtype), label


def host_cases(rng, cin):
    geoms = [(3, 1, (1,) * 4, 1), (3, 2, (1,) * 4, 1), (1, 1, (0,) * 4, 1), (3, 1, (0,) * 4, 1),
             (3, 1, (2, 2, 2, 2), 2), (2, 2, (0, 1, 0, 1), 1)]
    cases, labels = [], []
    for i, ((k, s, pad, d), (pv, out), kind) in enumerate(itertools.product(geoms, itertools.product((0, 1),
                                                                                                ("binary", "int8")),
                                                                            MASK_KINDS)):
        if i % 3:  # a third of the 168 combinations per channel count
            continue
        cout = CHANNELS[(i // 3 + cin) % len(CHANNELS)]
        case, label = pruned_case(rng, 5, 6, cin, cout, k, s, pad, d, pv, out, kind)
        cases.append(case)
        labels.append(label)
    return cases, labels


@pytest.mark.host
@pytest.mark.parametrize("cin", CHANNELS)
def test_bconv2d_pruned_bit_exact(cin, tmp_path):
    rng = np.random.default_rng(cin)
    cases, labels = host_cases(rng, cin)
    graph = cases_graph("bconv2d_pruned", cases)
    select_kernels(graph, HOST)
    chosen = {n.kernel for n in graph.nodes}
    assert SEG in chosen and (cin < 33 or any("hs8" in k for k in chosen))  # half masks group from 2 words on
    for n in graph.nodes:
        n.kernel = ""
    inputs = [random_packed(rng, graph.t(n).shape[:3], cin) for n in graph.inputs]
    ref = assert_cases_bit_exact(graph, inputs, labels, tmp_path)  # the chosen variants, then the C references
    for n in graph.nodes:  # and the segment variant on every case it supports, the grouped ones' too
        n.kernel = SEG if any(k.symbol == SEG for k in candidates(n, graph, HOST)) else ""
    assert sum(n.kernel == SEG for n in graph.nodes) > len(graph.nodes) // 2
    _, host = reference_and_host(graph, inputs, tmp_path / "seg")
    for label, r, h in zip(labels, ref, host):
        np.testing.assert_array_equal(h, r, err_msg=f"{label} ({SEG})")
    binary = np.concatenate([bitpack.unpack_bits(r, c[1][1].shape[0]).ravel() for c, r in zip(cases, ref)
                             if c[0].output == "binary"])
    assert 0.2 < binary.mean() < 0.8  # outputs are not trivial


@pytest.mark.host
def test_pruned_output_feeds_a_compact_dense_layer(tmp_path):
    """A pruned layer's packed output has padding bits 0 on every variant, which lets the next dense
    bconv2d run its 3x3x45 field compacted (13 words instead of 18)."""
    from tinygen.ir.graph import Graph, Node, QuantParams, Tensor
    from tinygen.ops import bconv2d_hs

    rng = np.random.default_rng(9)
    (a1, (x, w1, m1), shape1, dt1), _ = pruned_case(rng, 6, 6, 64, 45, 3, 1, (1,) * 4, 1, 0, "binary", "half")
    a2 = BConv2dAttrs((1, 1), (1,) * 4, (1, 1), 45, 0, "binary", **random_output_stage(rng, "binary", 33, 9 * 45))
    w2 = const("w2", random_packed(rng, (33, 3, 3), 45))
    g = Graph("chain", dialect="lowered")
    for t in (x, w1, m1, w2):
        g.add_tensor(t)
    g.add_tensor(Tensor("h", shape1, dt1, QuantParams.per_tensor(1.0, 0)))
    g.add_tensor(Tensor("y", output_shape((1, 6, 6), 33, "binary")[0], DType.UINT32, QuantParams.per_tensor(1.0, 0)))
    g.add_node(Node("p", "bconv2d_pruned", ["x", "w", "m"], ["h"], a1))
    g.add_node(Node("d", "bconv2d", ["h", "w2"], ["y"], a2))
    g.inputs, g.outputs = ["x"], ["y"]
    assert bconv2d_hs.compacts(g.nodes[1], g)
    xs = [random_packed(rng, (1, 6, 6), 64)]
    for kernel in ("", SEG, "tg_bconv2d_pruned_b1_ref"):
        g.nodes[0].kernel, g.nodes[1].kernel = kernel, ""
        ref, host = reference_and_host(g, xs, tmp_path / (kernel or "auto"))
        np.testing.assert_array_equal(host[0], ref[0], err_msg=kernel or "auto")


def test_pruned_reference_equals_torch_on_masked_weights():
    """The dot is torch's convolution of the +-1 input with +-1 weights times the 0/1 kernel mask."""
    rng = np.random.default_rng(3)
    for cin, kind, pad_value, (k, s, pad, d) in itertools.product(CHANNELS, MASK_KINDS, (0, 1),
                                                                  [(3, 1, (1,) * 4, 1), (3, 2, (2, 1, 0, 2), 2)]):
        cout = int(rng.choice(CHANNELS))
        kept = random_mask(rng, kind, cout, cin)
        bits = rng.integers(0, 2, (cout, k, k, cin)) * kept[:, None, None, :]
        w, m = bitpack.pack_bits(bits), bitpack.pack_bits(kept)
        x = random_packed(rng, (2, 6, 5), cin)
        attrs = BConv2dAttrs((s, s), pad, (d, d), cin, pad_value, "binary", (0,) * cout, (0,) * cout)
        xt = torch.tensor(bitpack.unpack_pm1(x, cin), dtype=torch.float32).permute(0, 3, 1, 2)
        wt = torch.tensor(1.0 - 2.0 * bits, dtype=torch.float32).permute(0, 3, 1, 2)
        wt = wt * torch.tensor(kept, dtype=torch.float32)[:, :, None, None]
        t, b, l, r = pad
        y = F.conv2d(F.pad(xt, (l, r, t, b), value=float(pad_value)), wt, stride=s, dilation=d)
        expect = y.permute(0, 2, 3, 1).numpy().astype(np.int64)
        np.testing.assert_array_equal(pruned_conv_dot(x, w, m, attrs), expect, err_msg=f"cin {cin} mask {kind}")
        if kind == "none":  # nothing pruned: bconv2d's dot
            np.testing.assert_array_equal(pruned_conv_dot(x, w, m, attrs), binary_conv_dot(x, w, attrs))


def test_segment_variant_stores_only_kept_words():
    rng = np.random.default_rng(5)
    cout, cin, k = 64, 64, 3
    kept = random_mask(rng, "words", cout, cin)
    bits = rng.integers(0, 2, (cout, k, k, cin)) * kept[:, None, None, :]
    attrs = BConv2dAttrs((1, 1), (1,) * 4, (1, 1), cin, 0, "binary", (0,) * cout, (0,) * cout)
    stored, stream, pmasks = stored_tables(bitpack.pack_bits(bits), bitpack.pack_bits(kept), attrs)
    kept_words = int(kept[:, ::32].sum())
    assert len(stored) == k * k * kept_words and len(pmasks) == 0  # no partial words: no masks
    # one bit pruned in an otherwise kept word: that word becomes a masked segment
    kept[0, :] = True
    kept[0, 5] = False
    _, _, pmasks = stored_tables(bitpack.pack_bits(bits * kept[:, None, None, :]), bitpack.pack_bits(kept), attrs)
    assert list(pmasks) == [0xFFFFFFFF ^ (1 << 5)]


def test_check_refuses_inconsistent_masks():
    from tinygen.ir.verify import verify
    from tinygen.testing import single_op_graph

    rng = np.random.default_rng(1)
    (attrs, ins, shape, dtype), _ = pruned_case(rng, 5, 5, 33, 4, 3, 1, (1,) * 4, 1, 0, "binary", "bits")
    x, wt, m = ins
    bad_w = const("w", wt.data | bitpack.pack_bits(np.ones((4, 3, 3, 33))))  # weight bits under pruned kernels
    with pytest.raises(Exception, match="pruned kernels must be 0"):
        verify(single_op_graph("bconv2d_pruned", attrs, [x, bad_w, m], shape, out_dtype=dtype))
    bad_m = const("m", m.data | np.uint32(1 << 31))  # padding bit of the mask set
    with pytest.raises(Exception, match="padding bits of the kernel mask"):
        verify(single_op_graph("bconv2d_pruned", attrs, [x, wt, bad_m], shape, out_dtype=dtype))


@pytest.mark.qemu
def test_bconv2d_pruned_on_qemu(tmp_path):
    """Every variant in one firmware per stand-in (each node pinned to its kernel)."""
    from tests.device.models import missing_tools, write_build
    from tinygen.device.validate import validate
    from tinygen.testing import merge_graphs, single_op_graph as one

    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    rng = np.random.default_rng(11)
    specs = [(1, 31, 3, 1, 1, 0, "binary", "bits"), (3, 17, 3, 2, 1, 1, "int8", "mixed"),
             (33, 64, 3, 1, 1, 0, "binary", "mixed"), (64, 33, 3, 1, 1, 0, "int8", "words"),
             (64, 64, 3, 1, 1, 0, "binary", "words"), (32, 32, 1, 1, 0, 0, "binary", "all"),
             (17, 3, 3, 1, 0, 1, "binary", "none"), (320, 32, 3, 1, 1, 0, "binary", "words")]  # > 8-word segments
    graphs = []
    for kernel in (SEG, "tg_bconv2d_pruned_b1_ref"):
        for cin, cout, k, s, p, pv, out, kind in specs:
            attrs, ins, shape, dtype = pruned_case(rng, 5, 6, cin, cout, k, s, (p,) * 4, 1, pv, out, kind)[0]
            graphs.append(one("bconv2d_pruned", attrs, ins, shape, out_dtype=dtype, kernel=kernel))
    # the grouped variants: half of each output's words kept, (words/2 * 9) % 8 covering several tails
    grouped = set()
    for cin, cout, pv, out in [(64, 64, 0, "binary"), (128, 33, 1, "int8"), (256, 65, 0, "binary"),
                               (96, 31, 0, "int8"), (1024, 40, 0, "binary"), (160, 64, 0, "binary"),
                               (320, 33, 1, "int8")]:
        for kind in ("half", "blocks") if out == "binary" else ("half",):
            attrs, ins, shape, dtype = pruned_case(rng, 5, 6, cin, cout, 3, 1, (1,) * 4, 1, pv, out, kind)[0]
            g = one("bconv2d_pruned", attrs, ins, shape, out_dtype=dtype)
            select_kernels(g, HOST)
            grouped.add(g.nodes[0].kernel)
            graphs.append(g)
    assert {"tg_bconv2d_pruned_b1_hs8k9", "tg_bconv2d_pruned_b1_hs8k36", "tg_bconv2d_pruned_b1_hs8r3",
            "tg_bconv2d_pruned_b1_hs8r5"} <= grouped
    merged = merge_graphs(graphs, "pruned")
    for board in ("f446re", "f746zg"):
        program = write_build(merged, tmp_path / board, board)
        r = validate(program, qemu=True, board=board, count=2, seed=0)
        assert r.passed, f"{board}: {r.summary_text()}"


def test_macs_count_kept_kernels_only():
    from tinygen.ops.base import get
    from tinygen.testing import single_op_graph

    rng = np.random.default_rng(2)
    (attrs, ins, shape, dtype), _ = pruned_case(rng, 4, 4, 64, 8, 3, 1, (1,) * 4, 1, 0, "binary", "words")
    g = single_op_graph("bconv2d_pruned", attrs, ins, shape, out_dtype=dtype)
    kept = int(bitpack.unpack_bits(ins[2].data, 64).sum())
    assert get("bconv2d_pruned").macs(g.nodes[0], g) == 16 * 9 * kept
    assert bconv2d_pruned.kept_bits(ins[2].data).sum() == kept
