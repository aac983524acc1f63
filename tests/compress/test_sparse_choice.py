"""The sparse_weights pass (tinygen/passes/compress/sparse_weights.py) stores a layer sparse exactly
when the cost model (tinygen/passes/compress/sparse_cost.py) puts its sparse kernel below MARGIN of
the dense one (and it is smaller): sparse 1x1, 3x3, depthwise and FC layers at high sparsity, dense
ones at low sparsity, and a depthwise layer with a tiny output (where dw4's per-channel overhead
loses) dense even at 80% zeros; the rewritten graph's reference equals the dense one's."""

import numpy as np

from tinygen.ir.verify import verify
from tinygen.passes.compress import sparse_cost
from tinygen.passes.compress.sparse_weights import MARGIN, layer_kind, sparse_weights
from tinygen.reference import interpreter, sparse

from tests.compress.chain import Chain


def _pruned(rng, shape, keep):
    w = rng.integers(-127, 128, shape)
    w[w == 0] = 1
    w[rng.random(shape) >= keep] = 0
    return w


def test_sparse_chosen_where_the_cost_model_says_it_is_faster():
    rng = np.random.default_rng(5)
    c = Chain(rng, (1, 8, 8, 16))
    expect = []
    for layer, sparse_expected in [
        (lambda: c.conv(32, 1, weights=_pruned(rng, (32, 1, 1, 16), 0.1)), True),  # 1x1 at 90% zeros
        (lambda: c.conv(32, 1, weights=_pruned(rng, (32, 1, 1, 32), 0.9)), False),  # 1x1 at 10% zeros
        (lambda: c.conv(32, 3, pad=1, groups=32, weights=_pruned(rng, (32, 3, 3, 1), 0.15)), True),  # depthwise
        (lambda: c.conv(16, 3, pad=1, weights=_pruned(rng, (16, 3, 3, 32), 0.1)), True),  # 3x3
        (lambda: c.conv(128, 1), False),  # no zeros
        (lambda: c.conv(128, 3, pad=1, stride=2, groups=128, weights=_pruned(rng, (128, 3, 3, 1), 0.1)), True),
        # depthwise 4x4 -> 2x2 at 80% zeros: per-channel overhead over 4 pixels, dense is faster
        (lambda: c.conv(128, 3, pad=1, stride=2, groups=128, weights=_pruned(rng, (128, 3, 3, 1), 0.2)), False),
        (lambda: c.flatten(), None),
        (lambda: c.fc(10, weights=_pruned(rng, (10, 2 * 2 * 128), 0.15)), True),  # FC at 85% zeros
        (lambda: c.fc(10, weights=_pruned(rng, (10, 10), 0.5)), False),  # FC at 50% zeros
    ]:
        layer()
        expect.append(sparse_expected)
    g = c.done()
    before = g.copy()
    out = sparse_weights(g, "test")
    verify(out)
    assert [n.op.endswith("_sparse") for n in out.nodes if n.op != "reshape"] == [e for e in expect if e is not None]
    # the rule itself, layer by layer: sparse exactly where the model's estimate is below MARGIN of dense
    for node, new in zip(before.nodes, out.nodes):
        kind = layer_kind(before, node)
        if kind is None:  # the reshape: dense_instructions' per-element fallback
            elements = before.t(node.outputs[0]).size
            assert sparse_cost.dense_instructions(before, node) == sparse_cost.FALLBACK_PER_ELEMENT * elements
            continue
        w = before.t(node.inputs[1]).data
        counts = sparse_cost.layer_counts(before, node)
        # the patch budget's estimate (plan/patch.py) is this same dense model
        assert np.isclose(sparse_cost.dense_instructions(before, node), sparse_cost.cost(kind, False, counts))
        faster = sparse_cost.cost(kind, True, counts) <= MARGIN * sparse_cost.cost(kind, False, counts)
        assert new.op.endswith("_sparse") == (faster and np.count_nonzero(w) < w.size), node.name
        note = out.notes.get(node.name, "")
        assert note.startswith("sparse:" if faster else "kept dense:") or not note, (node.name, note)
    for seed in range(2):
        xs = c.inputs(seed)
        ref, got = interpreter.run(before, xs, keep_all=True), interpreter.run(out, xs, keep_all=True)
        for node in before.nodes:  # every layer's output, the sparse ones' included
            t = node.outputs[0]
            np.testing.assert_array_equal(got[t], ref[t])
            assert len(np.unique(ref[t])) > 2, t


def test_cost_model_grows_with_entries_and_pixels():
    """More stored entries or more output pixels never make a layer's sparse estimate cheaper."""
    rng = np.random.default_rng(1)
    for kind, shape in (("conv1x1", (64, 64)), ("conv", (32, 288)), ("dw", (64, 9)), ("fc", (10, 1024))):
        costs = []
        for keep in (0.1, 0.3, 0.6):
            w2d = _pruned(rng, shape, keep)
            counts = sparse_cost.counts(64, 8, w2d, sparse.encode(w2d)[0].size)
            costs.append(sparse_cost.cost(kind, True, counts))
        assert costs == sorted(costs), (kind, costs)
        if kind != "fc":
            small, big = (sparse_cost.counts(p, r, w2d, sparse.encode(w2d)[0].size) for p, r in ((16, 4), (256, 16)))
            assert sparse_cost.cost(kind, True, small) < sparse_cost.cost(kind, True, big)
            assert sparse_cost.cost(kind, False, small) < sparse_cost.cost(kind, False, big)
