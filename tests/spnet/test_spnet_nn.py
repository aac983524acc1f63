"""tinygen.nn.spnet: shared weights, per-switch quantizers and BatchNorm, and the per-switch export."""

import json

import pytest
import torch
import torch.nn.functional as F

from tinygen.errors import TinygenError
from tinygen.nn import quantize_weight_per_channel
from tinygen.nn.binary import quantize_weight_kbit
from tinygen.nn.spnet import (ReLUQuantAct, SPConv2d, SwitchableBatchNorm2d, check_switches,
                              quantize_weight, set_switch, switches_of)
from tests.spnet.models import TinySPNet


def test_spconv_quantizes_the_shared_weight_per_switch():
    torch.manual_seed(0)
    conv = SPConv2d(4, 6, 3, padding=1, switches=(8, 4, 1))
    x = torch.randn(2, 4, 5, 5)
    w = conv.conv.weight
    expected = {8: quantize_weight_per_channel(w), 4: quantize_weight_kbit(w, 4),
                1: torch.where(w >= 0, 1.0, -1.0) * w.abs().mean(dim=(1, 2, 3), keepdim=True)}
    for k, wq in expected.items():
        conv.active = k
        torch.testing.assert_close(conv(x), F.conv2d(x, wq, padding=1), rtol=0, atol=0)
    # the widths really differ: distinct level counts per output channel
    levels = {k: len(torch.unique(quantize_weight(w, k)[0])) for k in (8, 4, 1)}
    assert levels[1] == 2 and levels[4] <= 15 < levels[8]


def test_switchable_batchnorm_keeps_private_statistics():
    bn = SwitchableBatchNorm2d(3, switches=(8, 1)).train()
    bn.active = 8
    bn(torch.full((4, 3, 2, 2), 5.0) + torch.randn(4, 3, 2, 2))
    assert torch.all(bn.bns["8"].running_mean > 0.01)
    assert torch.equal(bn.bns["1"].running_mean, torch.zeros(3))  # untouched by switch 8's batches


def test_set_switch_reaches_every_module_and_refuses_unknown_bits():
    model = TinySPNet(switches=(8, 2))
    set_switch(model, 2)
    assert {m.active for m in model.modules() if hasattr(m, "active")} == {2}
    assert switches_of(model) == (8, 2)
    with pytest.raises(ValueError, match="not 4"):
        set_switch(model, 4)
    with pytest.raises(ValueError):
        check_switches([8, 8])
    with pytest.raises(ValueError):
        check_switches([3])


def test_relu_quantizer_levels():
    act = ReLUQuantAct(3).train()
    x = torch.linspace(-2, 6, 101)
    act(x)
    y = act.eval()(x)
    assert float(y.min()) == 0.0
    assert len(torch.unique(y)) <= 8
    assert int(act.zero_point) == -4


def test_export_writes_one_program_per_switch(exported, spnet_model):
    meta = json.loads((exported / "manifest.json").read_text())
    assert meta["switches"] == [8, 4, 2, 1] and meta["name"] == "tiny"
    assert sorted(p.name for p in exported.glob("*.pt2")) == [f"switch{k}.pt2" for k in (1, 2, 4, 8)]
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    ep = torch.export.load(str(exported / meta["programs"]["1"]))  # one load: each costs seconds
    with torch.no_grad():
        got = ep.module()(x)
        torch.testing.assert_close(got, set_switch(spnet_model, 1)(x), rtol=0, atol=0)
        assert not torch.equal(got, set_switch(spnet_model, 8)(x))


def test_bad_manifest_is_one_line_error(tmp_path):
    from tinygen.spnet.assemble import read_manifest

    d = tmp_path / "bad.spnet"
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps({"format": "tinygen-spnet", "switches": [8], "programs": {"8": "../x.pt2"}}))
    with pytest.raises(TinygenError) as e:
        read_manifest(d)
    assert "\n" not in str(e.value) and "switch 8" in str(e.value)
    (d / "manifest.json").write_text("{")
    with pytest.raises(TinygenError, match="cannot read"):
        read_manifest(d)


def test_log_quantizer_gives_powers_of_two():
    from tinygen.nn.spnet import quantize_weight_log

    torch.manual_seed(2)
    w = torch.randn(5, 3, 3, 3, requires_grad=True)
    wq = quantize_weight_log(w, 4)
    amax = w.detach().abs().reshape(5, -1).amax(1)
    for c in range(5):
        scale = 2.0 ** (torch.round(torch.log2(amax[c])) - 6)
        q = (wq[c] / scale).detach()
        mags = q.abs()[q != 0]
        assert torch.equal(q, torch.round(q)) and float(q.abs().max()) <= 64
        assert torch.equal(torch.exp2(torch.round(torch.log2(mags))), mags)  # 2^e exactly
        assert len(torch.unique(q.abs())) <= 8  # 7 magnitudes and zero: a 4-bit code
    wq.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight-through
    with pytest.raises(ValueError):
        SPConv2d(3, 3, 3, switches=(8, 4), kinds={8: "log"})


def test_tanh_quantizer_gives_odd_levels_without_zero():
    from tinygen.nn.spnet import quantize_weight_tanh

    torch.manual_seed(3)
    w = torch.randn(6, 4, 3, 3, requires_grad=True)
    for bits in (2, 4):
        n = (1 << bits) - 1
        wq = quantize_weight_tanh(w, bits)
        q = torch.round(wq.detach() * n)
        assert torch.equal(wq.detach(), q * torch.tensor(1.0 / n))  # exactly integers times the int8 scale 1/n
        assert bool((q.remainder(2) == 1).all())  # odd integers: no zero level
        assert float(q.abs().max()) == n and len(torch.unique(q)) <= 1 << bits
        t = torch.tanh(w.detach())
        expect = 2 * torch.round((t / (2 * t.abs().max()) + 0.5) * n) - n  # DoReFa, written out
        assert torch.equal(q, expect)
    with pytest.raises(ValueError):
        SPConv2d(3, 3, 3, switches=(8, 4), kinds={8: "tanh"})
