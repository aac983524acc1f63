"""`tinygen analyze`: the fit report from estimates, no compiler, written whether or not it fits."""

from __future__ import annotations

import json

import torch

from tests.torch_models import mobilenet_v2
from tinygen.cli import main


def _export(tmp_path):
    # 176x176: over the F446RE's SRAM even with the input in the arena and fused row bands
    model, shape = mobilenet_v2(0.35, 176, classes=10)
    path = tmp_path / "mnv2.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), path)
    return path


def test_analyze_writes_report_when_it_fits_and_when_not(tmp_path, capsys):
    path = _export(tmp_path)
    assert main(["analyze", str(path), "--board", "f746zg", "-o", str(tmp_path / "f7")]) == 0
    r = json.loads((tmp_path / "f7" / "report.json").read_text())
    assert r["fits"] is True and r["estimate"] is True and r["board"] == "f746zg"
    assert not (tmp_path / "f7" / "model").exists() and not (tmp_path / "f7" / "firmware").exists()

    assert main(["analyze", str(path), "--board", "f446re", "-o", str(tmp_path / "f4")]) == 1
    r = json.loads((tmp_path / "f4" / "report.json").read_text())
    assert r["fits"] is False and r["sram_bytes"] > r["sram_capacity_bytes"] == 131_072
    text = (tmp_path / "f4" / "report.txt").read_text()
    assert "does not fit board f446re" in text and "around the peak layer" in text
    assert "does not fit f446re" in capsys.readouterr().err


def test_flash_advice_names_layers_and_how():
    from tinygen.report.advice import flash_advice

    layers = [{"index": i, "name": f"conv{i}", "op": "conv2d", "weight_bytes": w} for i, w in enumerate([100, 4000, 3000])]
    lines = flash_advice({"layers": layers}, 3000)
    assert "'conv1' (conv2d, 4,000 B), 'conv2' (conv2d, 3,000 B)" in lines[0] and "saves about 3,500 B" in lines[0]
    assert "tinygen.nn.KBitConv2d" in lines[1] and "quant_min=-8, quant_max=7" in lines[2]
