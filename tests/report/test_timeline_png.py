"""The memory timeline of a large model (MobileNetV2, 60+ layers) renders to PNG with a legend,
the I/O buffers, the peak layer and a key for every label that does not fit."""

from __future__ import annotations

import shutil
import struct

import pytest

from tests.torch_models import mobilenet_v2
from tinygen.pipeline import import_any, lower_model
from tinygen.plan import plan_with_schedule
from tinygen.report.svg import timeline_png, timeline_svg


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="needs rsvg-convert (librsvg2-bin, scripts/setup.sh)")
def test_mobilenet_v2_timeline_png(tmp_path):
    model, shape = mobilenet_v2(0.35, 96, classes=10)
    graph, name = import_any(model, shape)
    graph, plan = plan_with_schedule(lower_model(graph, name))
    assert len(graph.nodes) >= 60
    svg = timeline_svg(graph, plan)
    (tmp_path / "t.svg").write_text(svg)
    png = timeline_png(tmp_path / "t.svg", tmp_path / "t.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 1000 <= width <= 1400 and 500 <= height <= 2000 and len(data) > 20_000
    # every buffer is named on the picture or in the key
    for b in plan.buffers:
        assert f">{b.name}<" in svg or f" {b.name} " in svg, b.name
    assert "peak L" in svg and "key of abbreviated labels" in svg
