"""The build options of issue 12 through the whole pipeline: --input-buffer and --fusion."""

import numpy as np
import pytest

from tinygen.errors import TinygenError
from tinygen.pipeline import analyze, plan_options
from tinygen.report import render_text


def test_input_buffer_and_fusion_options(tmp_path):
    """Reports only (`analyze`: plan and generate, no compiler); test_models.py builds the default
    (input in the arena, in place) bit-exact and the QEMU model tests both input placements."""
    torch = pytest.importorskip("torch")
    from tests.torch_models import make

    model, shape = make("activations")
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(path))
    reports = {}
    for opts in ({}, {"input_buffer": "caller"}, {"fusion": "off"}):
        out = tmp_path / "_".join(opts.values() or ["default"])
        reports[tuple(opts.values())] = analyze(path, "f746zg", out, **opts)
    default, caller, off = reports[()], reports[("caller",)], reports[("off",)]
    in_bytes = int(np.prod(shape))
    assert default["input_placement"]["input_buffer"] == "arena" and caller["input_placement"]["input_buffer"] == "caller"
    assert default["io_bytes"] + in_bytes == caller["io_bytes"]  # no caller input buffer in the arena build
    # the SRAM "both ways" of each build is the other build's measured figure
    assert default["input_placement"]["caller"]["sram_bytes"] == caller["sram_bytes"]
    assert caller["input_placement"]["arena"]["sram_bytes"] == default["sram_bytes"]
    assert default["schedule"]["inplace_layers"] and off["schedule"]["inplace_layers"] == []
    assert off["schedule"]["fusion"] == "off"
    assert off["peak_lower_bound_bytes"] == off["schedule"]["plain_lower_bound_bytes"] == \
        default["schedule"]["plain_lower_bound_bytes"] > default["peak_lower_bound_bytes"]
    text = render_text(default)
    assert "layers in place" in text and "layer at a time on whole tensors" in text and "--input-buffer caller" in text


def test_bad_option_values_name_the_choices():
    with pytest.raises(TinygenError, match="arena, caller"):
        plan_options("dtcm")
    with pytest.raises(TinygenError, match="auto, off"):
        plan_options("arena", "on")
