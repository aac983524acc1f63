"""`--name` / build(name=) sets the model library's symbol prefix; bad names fail before any work."""

from __future__ import annotations

import numpy as np

import tinygen
from tests.torch_models import make
from tinygen.cli import main


def test_build_name_sets_prefix_and_runs(tmp_path):
    model, shape = make("conv_stack")
    program = tinygen.build(model, board="host", out_dir=tmp_path / "out", input_shape=shape, name="kws_Model")
    assert (tmp_path / "out" / "model" / "kws_model.h").exists() and program.prefix == "kws_model"
    header = (tmp_path / "out" / "model" / "kws_model.h").read_text()
    assert "int kws_model_invoke(" in header and "kws_model_input0_quantize" in header
    q = np.random.default_rng(0).integers(-128, 128, program.inputs[0].shape).astype(np.int8)
    again = tinygen.load(tmp_path / "out")
    assert np.array_equal(again.run_host(q), program.reference(q))


def test_bad_name_is_refused_first(tmp_path, capsys):
    assert main(["build", str(tmp_path / "missing.pt2"), "--name", "my-model"]) == 1
    err = capsys.readouterr().err
    assert "--name 'my-model' is not a usable symbol prefix" in err and "missing.pt2" not in err
