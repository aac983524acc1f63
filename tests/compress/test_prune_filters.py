"""Filter pruning (tinygen/passes/compress/prune_filters.py): the pruned graph's reference equals
the original's bit for bit; the layers shrink; the notes say what was pruned or kept and why."""

import numpy as np
import pytest

from tinygen.ir.verify import verify
from tinygen.passes.compress.prune_filters import prune_filters
from tinygen.reference import interpreter

from tests.compress.chain import Chain


def _zero_filters(rng, cout, k, cin, dead, bias_zero=()):
    w = rng.integers(-127, 128, (cout, k, k, cin))
    w[list(dead)] = 0
    b = rng.integers(-3000, 3000, cout)
    b[list(bias_zero)] = 0
    return w, b


def _same_outputs(original, pruned, seeds=range(4)):
    for s in seeds:
        rng = np.random.default_rng(s)
        xs = [rng.integers(-128, 128, original.t(n).shape).astype(np.int8) for n in original.inputs]
        for a, b in zip(interpreter.run(original, xs), interpreter.run(pruned, xs)):
            np.testing.assert_array_equal(b, a)


def test_pruned_channels_fold_exactly_into_conv_and_fc_consumers():
    rng = np.random.default_rng(0)
    c = Chain(rng, (1, 7, 6, 3))
    w1, b1 = _zero_filters(rng, 8, 3, 3, dead=(1, 4, 5))  # non-zero biases: constants != zero point
    c.conv(8, 3, pad=1, weights=w1, bias=b1)
    w2, b2 = _zero_filters(rng, 6, 1, 8, dead=(0, 2, 3), bias_zero=(0, 2, 3))
    c.conv(6, 1, weights=w2, bias=b2, relu=True)  # ReLU filters with bias 0: constant = zero point
    w3, b3 = _zero_filters(rng, 5, 3, 6, dead=(2,))
    c.conv(5, 3, pad=1, weights=w3, bias=b3)  # reads pruned channels through padding
    c.flatten()
    w4 = rng.integers(-127, 128, (7, 7 * 6 * 5))
    w4[3] = 0
    c.fc(7, weights=w4)
    c.fc(4)
    g = c.done()
    verify(g)
    original = g.copy()
    pruned = prune_filters(g, "chain")
    verify(pruned)
    _same_outputs(original, pruned)
    convs = [n for n in pruned.nodes if n.op == "conv2d"]
    fcs = [n for n in pruned.nodes if n.op == "fully_connected"]
    assert [pruned.t(n.inputs[1]).shape[0] for n in convs] == [5, 3, 4]
    assert [pruned.t(n.inputs[1]).shape[0] for n in fcs] == [6, 4]
    assert pruned.t(fcs[0].inputs[1]).shape[1] == 7 * 6 * 4  # the flatten's columns follow
    assert pruned.notes["conv2d"].startswith("pruned 3 of 8")
    assert pruned.notes["conv2d_1"].startswith("pruned 3 of 6")
    assert pruned.notes["conv2d_2"].startswith("pruned 1 of 5")
    assert pruned.notes["fully_connected"].startswith("pruned 1 of 7")


def test_padded_consumer_keeps_channels_whose_constant_is_not_the_zero_point():
    rng = np.random.default_rng(1)
    c = Chain(rng, (1, 5, 5, 4))
    w1, b1 = _zero_filters(rng, 6, 1, 4, dead=(1, 2), bias_zero=(2,))
    b1[1] = 2500  # constant far from the zero point
    c.conv(6, 1, weights=w1, bias=b1, relu=True)
    c.conv(3, 3, pad=1)
    g = c.done()
    original = g.copy()
    pruned = prune_filters(g, "chain")
    _same_outputs(original, pruned)
    assert pruned.t(pruned.nodes[0].inputs[1]).shape[0] == 5
    note = pruned.notes["conv2d"]
    assert note.startswith("pruned 1 of 6") and "kept 1" in note and "padded conv 'conv2d_1'" in note


@pytest.mark.parametrize("tail", ["depthwise", "output"])
def test_unfoldable_readers_keep_the_channels(tail):
    rng = np.random.default_rng(2)
    c = Chain(rng, (1, 4, 4, 3))
    w1, b1 = _zero_filters(rng, 4, 1, 3, dead=(0, 3), bias_zero=(0, 3))
    c.conv(4, 1, weights=w1, bias=b1, relu=True)
    if tail == "depthwise":
        c.conv(4, 3, pad=1, groups=4)
    g = c.done()
    original = g.copy()
    pruned = prune_filters(g, "chain")
    _same_outputs(original, pruned, seeds=[0])
    assert pruned.t(pruned.nodes[0].inputs[1]).shape[0] == 4
    why = "groups=4" if tail == "depthwise" else "model output"
    assert pruned.notes["conv2d"].startswith("kept 2 all-zero filters") and why in pruned.notes["conv2d"]


# -- a model pruned to half its filters costs what the dense half-width model costs

def _net(width: int, prune_to: int | None = None, seed: int = 0):
    """conv3x3 -> conv1x1 -> conv3x3 (padded) -> flatten -> linear, ReLU between; with `prune_to`,
    all but the first `prune_to` filters of each conv are zero (weights and bias)."""
    import torch
    import torch.nn as nn

    from tinygen.nn import QConv2d, QLinear, QuantAct
    from tests.torch_models import calibrate

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q0 = QuantAct()
            self.convs = nn.ModuleList([QConv2d(3, width, 3, padding=1), QConv2d(width, width, 1),
                                        QConv2d(width, width, 3, padding=1)])
            self.qs = nn.ModuleList([QuantAct() for _ in self.convs])
            self.fc, self.qf = QLinear(width * 8 * 8, 10), QuantAct()

        def forward(self, x):
            x = self.q0(x)
            for conv, q in zip(self.convs, self.qs):
                x = q(torch.relu(conv(x)))
            return self.qf(self.fc(torch.flatten(x, 1)))

    torch.manual_seed(seed)
    net = Net()
    if prune_to is not None:
        with torch.no_grad():
            for conv in net.convs:
                conv.weight[prune_to:] = 0
                conv.bias[prune_to:] = 0
    return calibrate(net, (1, 3, 8, 8), seed)


@pytest.mark.qemu
def test_half_pruned_model_costs_the_half_width_model_on_qemu(tmp_path):
    import tinygen
    from tinygen.device.validate import validate
    from tests.device.models import missing_tools

    if missing_tools():
        pytest.skip(missing_tools())
    runs = {}
    for label, net in (("pruned", _net(16, prune_to=8)), ("half", _net(8))):
        program = tinygen.build(net, board="f446re", emulate=True, input_shape=(1, 3, 8, 8), out_dir=tmp_path / label)
        r = validate(program, qemu=True, count=2, seed=3)
        assert r.passed, r.summary_text()
        runs[label] = (r.latency, program.report["flash_bytes"], program.report)
    (pi, pf, rep), (hi, hf, _) = runs["pruned"], runs["half"]
    print(f"pruned 16->8: {pi:,} instructions, {pf:,} B flash; half width: {hi:,} instructions, {hf:,} B flash")
    assert abs(pi - hi) <= 0.05 * hi and abs(pf - hf) <= 0.05 * hf, (runs["pruned"][:2], runs["half"][:2])
    notes = [e["compression"] for e in rep["layers"] if e["op"] == "conv2d"]
    assert all(n.startswith("pruned 8 of 16") for n in notes), notes
