"""tinygen.nn.deploy.snap_bias: after it the eval-mode PyTorch model computes what the int8 graph
computes (conv + BatchNorm, depthwise, linear with its own bias), on seeded inputs."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn import QConv2d, QLinear, QuantAct
from tinygen.nn.deploy import snap_bias
from tinygen.pipeline import import_any, lower_model
from tinygen.reference import interpreter


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_in = QuantAct()
        self.c1, self.bn1, self.q1 = QConv2d(2, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), QuantAct()
        self.c2, self.bn2, self.q2 = QConv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), QuantAct()
        self.fc, self.q_out = QLinear(8 * 36, 6), QuantAct()

    def forward(self, x):
        x = self.q1(F.relu(self.bn1(self.c1(self.q_in(x)))))
        x = self.q2(self.bn2(self.c2(x)))
        return self.q_out(self.fc(x.flatten(1)))


def _model() -> Net:
    torch.manual_seed(0)
    m = Net()
    with torch.no_grad():
        for bn in (m.bn1, m.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.5)
            bn.running_mean.normal_(0.0, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
    m.train()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for bn in (m.bn1, m.bn2):
            bn.momentum = 0.0  # keep the random statistics while the quantizers observe
        for _ in range(4):
            m(torch.randn(16, 2, 6, 6, generator=g))
    return m.eval()


def _equal_fraction(m: Net, x: np.ndarray) -> float:
    """Fraction of output elements on which PyTorch and tinygen's reference agree exactly."""
    ep = torch.export.export(m, (torch.zeros(1, 2, 6, 6),))
    graph, name = import_any(ep)
    lowered = lower_model(graph, name, compress="none")
    q_in = m.q_in
    xq = np.clip(np.round(x / q_in.scale.item()) + q_in.zero_point.item(), -128, 127).astype(np.int8)
    ref = interpreter.run(lowered, [xq.transpose(0, 2, 3, 1).copy()])[0].astype(np.int64)
    with torch.no_grad():
        t = m(torch.from_numpy(x)).numpy()
    tq = np.round(t / m.q_out.scale.item()) + m.q_out.zero_point.item()
    return float((ref == tq).mean())


def test_snap_bias_makes_pytorch_compute_the_int8_graph():
    m = _model()
    x = np.random.default_rng(2).normal(size=(400, 2, 6, 6)).astype(np.float32)
    before = _equal_fraction(m, x)
    assert snap_bias(m, torch.zeros(1, 2, 6, 6)) == 3  # both convs (BatchNorm beta) and the linear bias
    after = _equal_fraction(m, x)
    assert after == 1.0 and before < 1.0, (before, after)
    # idempotent: a snapped model stays as it is
    state = {k: v.clone() for k, v in m.state_dict().items()}
    snap_bias(m, torch.zeros(1, 2, 6, 6))
    assert all(torch.equal(state[k], v) for k, v in m.state_dict().items())
