"""Codebook weights through the pipeline: tinygen.nn's logarithmic and k-means layers export with
torch.export, import, become codebook layers where that saves flash (exactly), and the report
gives bits per weight; layers whose values do not fit 16 entries stay dense."""

import numpy as np
import pytest
import torch
import torch.nn as nn

import tinygen
from tinygen.nn import KMeansConv2d, KMeansLinear, LogConv2d, LogLinear, QConv2d, QuantAct, log_quantize_weight
from tinygen.passes.compress.codebook_weights import codebook_weights
from tinygen.pipeline import import_any, lower_model
from tinygen.reference import interpreter

from tests.compress.chain import Chain
from tests.torch_models import calibrate


def test_log_quantizer_levels_are_signed_powers_of_two():
    torch.manual_seed(0)
    w = torch.randn(6, 40) * torch.linspace(0.01, 2.0, 6)[:, None]
    wq = log_quantize_weight(w, bits=4)
    s = w.abs().amax(dim=1, keepdim=True) / 64
    q = (wq / s).round()
    assert torch.equal(q * s, wq)  # on the per-channel int8 grid
    assert set(q.unique().tolist()) <= {0.0} | {float(v) for e in range(7) for v in (2 ** e, -2 ** e)}
    assert (q.abs().amax(dim=1) == 64).all()
    big = w.abs() / s > 2 ** 0.5  # nonzero weights keep their sign, within half an octave
    assert torch.equal(torch.sign(q[big]), torch.sign(w[big]))
    ratio = (q.abs() / (w.abs() / s)).log2().abs()[big]
    assert float(ratio.max()) <= 0.5 + 1e-6
    w.requires_grad_(True)
    log_quantize_weight(w).sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight-through


def test_kmeans_layer_shares_centroids_and_trains_them():
    torch.manual_seed(0)
    layer = KMeansLinear(20, 8, clusters=5)
    layer.cluster()
    w = layer._weight()
    assert len(w.unique()) <= 5
    layer(torch.randn(4, 20)).sum().backward()
    assert layer.centroids.grad is not None and layer.centroids.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="clusters must be 2 to 16"):
        KMeansConv2d(2, 2, 1, clusters=17)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.q0 = QuantAct()
        self.c1, self.q1 = LogConv2d(4, 16, 3, padding=1, bits=4), QuantAct()
        self.c2, self.q2 = KMeansConv2d(16, 32, 1, clusters=8), QuantAct()
        self.c3, self.q3 = QConv2d(32, 32, 1), QuantAct()  # ~255 values per channel: dense
        self.fc1, self.q4 = LogLinear(32 * 6 * 6, 24, bits=3), QuantAct()
        self.fc2, self.q5 = KMeansLinear(24, 10, clusters=4), QuantAct()

    def forward(self, x):
        x = self.q1(torch.relu(self.c1(self.q0(x))))
        x = self.q2(torch.relu(self.c2(x)))
        x = self.q3(torch.relu(self.c3(x)))
        x = self.q4(torch.relu(self.fc1(torch.flatten(x, 1))))
        return self.q5(self.fc2(x))


def test_log_and_kmeans_model_builds_codebook_layers_bit_exact(tmp_path):
    torch.manual_seed(0)
    net = Net()
    net.c2.cluster()
    net.fc2.cluster()
    net = calibrate(net, (1, 4, 6, 6))
    path = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(net, (torch.zeros(1, 4, 6, 6),)), str(path))
    program = tinygen.build(path, out_dir=tmp_path / "o")
    dense = lower_model(import_any(path)[0], "net.pt2", compress="none")
    ops = [n.op for n in program.graph.nodes if "conv" in n.op or "fully" in n.op]
    assert ops == ["conv2d_codebook", "conv2d_codebook", "conv2d", "fully_connected_codebook",
                   "fully_connected_codebook"]
    notes = {e["name"]: e["compression"] for e in program.report["layers"]}
    bits = [e["comment"] for e in program.report["layers"] if "codebook" in e["op"]]
    assert all("bits/weight" in b for b in bits)
    assert "4-bit indices" in notes[program.graph.nodes[0].name] and "per layer" in notes[program.graph.nodes[0].name]
    assert "3-bit indices" in notes[program.graph.nodes[1].name]
    dense_bytes = sum(t.nbytes for t in dense.tensors.values() if t.is_const)
    assert program.report["weight_bytes"] < 0.7 * dense_bytes
    x = np.random.default_rng(0).normal(size=(16, 4, 6, 6)).astype(np.float32)
    q = program.quantize(x, layout="NCHW")
    np.testing.assert_array_equal(program.reference(q), interpreter.run(dense, [q])[0])  # the dense integers
    np.testing.assert_array_equal(program.run_host(q), program.reference(q))
    assert "weight compression" in (tmp_path / "o" / "report.txt").read_text()


def test_codebook_only_where_it_saves_flash():
    rng = np.random.default_rng(3)
    c = Chain(rng, (1, 5, 5, 64))
    c.conv(64, 1, weights=rng.choice(rng.integers(-128, 128, 16), (64, 1, 1, 64)))  # 16 values: 4 bits
    c.conv(64, 1, weights=np.resize(np.arange(-8, 9), (64, 1, 1, 64)))  # 17 values: stays dense
    c.conv(2, 1, weights=rng.choice([-3, 5], (2, 1, 1, 64)))  # 2 values but only 128 weights
    g = c.done()
    original = g.copy()
    out = codebook_weights(g, "chain")
    assert [n.op for n in out.nodes] == ["conv2d_codebook", "conv2d", "conv2d_codebook"]
    assert "2.00 bits" not in out.notes["conv2d"] and "4-bit indices" in out.notes["conv2d"]
    assert "conv2d_1" not in out.notes
    xs = c.inputs(1)
    np.testing.assert_array_equal(interpreter.run(out, xs)[0], interpreter.run(original, xs)[0])
    small = Chain(rng, (1, 3, 3, 8))
    small.conv(4, 1, weights=rng.choice([-3, 5], (4, 1, 1, 8)))
    g = codebook_weights(small.done(), "small")  # saves 28 B: less than the kernels' code
    assert g.nodes[0].op == "conv2d" and "kept dense" in g.notes["conv2d"]
