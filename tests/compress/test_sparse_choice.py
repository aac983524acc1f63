"""The sparse_weights pass (tinygen/passes/compress/sparse_weights.py) picks sparse storage only
below the measured break-even of each layer kind, keeps depthwise dense (its sparse kernel is
slower at every density measured), and the rewritten graph's reference equals the dense one's."""

import numpy as np

from tinygen.ir.verify import verify
from tinygen.passes.compress.sparse_weights import BREAK_EVEN, MARGIN, sparse_weights
from tinygen.reference import interpreter

from tests.compress.chain import Chain


def _pruned(rng, shape, keep):
    w = rng.integers(-127, 128, shape)
    w[rng.random(shape) >= keep] = 0
    return w


def test_sparse_chosen_per_layer_kind_below_its_break_even():
    rng = np.random.default_rng(5)
    c = Chain(rng, (1, 6, 6, 16))
    c.conv(32, 1, weights=_pruned(rng, (32, 1, 1, 16), 0.08))  # 1x1 far below its break-even: sparse
    c.conv(32, 1, weights=_pruned(rng, (32, 1, 1, 32), 0.50))  # 1x1 at 50% non-zeros: dense
    c.conv(32, 3, pad=1, groups=32, weights=_pruned(rng, (32, 3, 3, 1), 0.1))  # depthwise: dense
    c.conv(16, 3, pad=1, weights=_pruned(rng, (16, 3, 3, 32), 0.08))  # 3x3 below its break-even: sparse
    c.flatten()
    c.fc(10, weights=_pruned(rng, (10, 6 * 6 * 16), 0.5))  # FC at 50%: dense
    g = c.done()
    before = g.copy()
    out = sparse_weights(g, "test")
    verify(out)
    assert [n.op for n in out.nodes] == ["conv2d_sparse", "conv2d", "conv2d", "conv2d_sparse", "reshape",
                                         "fully_connected"]
    assert BREAK_EVEN["dw"] * MARGIN < 0.1 and BREAK_EVEN["conv1x1"] * MARGIN < 0.5
    notes = [out.notes.get(n.name, "") for n in out.nodes]
    assert notes[0].startswith("sparse:") and notes[1].startswith("kept dense:") and notes[3].startswith("sparse:")
    for seed in range(3):
        xs = c.inputs(seed)
        ref, got = interpreter.run(before, xs, keep_all=True), interpreter.run(out, xs, keep_all=True)
        for node in before.nodes:  # every layer's output, the sparse ones' included
            t = node.outputs[0]
            np.testing.assert_array_equal(got[t], ref[t])
            assert len(np.unique(ref[t])) > 2, t
