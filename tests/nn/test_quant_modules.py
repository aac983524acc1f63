"""tinygen.nn int8 QAT modules: they train (gradients flow), freeze in eval, and export to
graphs the importer turns into the exact integer model."""

import numpy as np
import torch
import torch.nn.functional as F

import tinygen
from tinygen.nn import QConv2d, QLinear, QuantAct, quantize_weight_per_channel


def test_weight_quantizer_is_symmetric_per_channel_with_ste():
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    q = quantize_weight_per_channel(w)
    scale = w.detach().abs().reshape(4, -1).amax(1) / 127
    ints = (q.detach() / scale.reshape(4, 1, 1, 1)).round()
    assert ints.abs().max() == 127 and torch.allclose(ints * scale.reshape(4, 1, 1, 1), q.detach())
    q.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight-through inside the range


def test_ema_range_tracks_batches_and_freezes_in_eval():
    act = QuantAct(momentum=0.5)
    act.train()
    act(torch.tensor([-1.0, 3.0]))
    assert act.min_val.item() == -1.0 and act.max_val.item() == 3.0
    act(torch.tensor([-3.0, 1.0]))
    assert act.min_val.item() == -2.0 and act.max_val.item() == 2.0
    s, z = act.scale.item(), act.zero_point.item()
    assert abs(s - 4.0 / 255) < 1e-7
    assert s * (-128 - z) <= -2.0 + s / 2 and s * (127 - z) >= 2.0 - s / 2  # the range is covered
    act.eval()
    before = (act.min_val.clone(), act.scale.clone())
    act(torch.tensor([-100.0, 100.0]))
    assert torch.equal(act.min_val, before[0]) and torch.equal(act.scale, before[1])


def test_learned_range_gets_gradients_and_exports(tmp_path):
    torch.manual_seed(0)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q0, self.fc, self.q1 = QuantAct(learned=True), QLinear(6, 3), QuantAct(learned=True)

        def forward(self, x):
            return self.q1(self.fc(self.q0(x)))

    m = M()
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    x = torch.randn(16, 6)
    for _ in range(3):
        opt.zero_grad()
        loss = F.mse_loss(m(x), torch.zeros(16, 3))
        loss.backward()
        assert m.q0.learned_scale.grad is not None and m.q0.learned_scale.grad.abs() > 0
        opt.step()
    m.eval()
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(m, (torch.zeros(1, 6),)), str(path))
    program = tinygen.build(path, out_dir=tmp_path / "o")
    assert program.inputs[0].scale == np.float32(m.q0.learned_scale.abs().item())
    xs = np.random.default_rng(0).normal(size=(32, 6)).astype(np.float32)
    ref = program.reference(program.quantize(xs))
    with torch.no_grad():
        t = m(torch.from_numpy(xs)).numpy()
    steps = np.abs(program.dequantize(ref) - t) / program.outputs[0].scale
    assert (steps <= 1.0 + 1e-4).mean() >= 0.99


def test_qconv2d_matches_conv_on_quantized_weights():
    torch.manual_seed(1)
    c = QConv2d(2, 3, 3, padding=1)
    x = torch.randn(1, 2, 5, 5)
    expected = F.conv2d(x, quantize_weight_per_channel(c.weight), c.bias, padding=1)
    assert torch.equal(c(x), expected)
