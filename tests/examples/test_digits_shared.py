"""The 4-bit logarithmic digits example on the real (offline) digits data: the log layers become
codebook layers, host C equals the reference on the whole test split, and the model still
classifies (a guard against a broken pipeline; training is shortened for CI)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_shared" / "digits_shared.py"


@pytest.mark.slow
@pytest.mark.host
def test_digits_log_weights_example(tmp_path):
    spec = importlib.util.spec_from_file_location("digits_shared_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["digits_shared_example"] = mod
    spec.loader.exec_module(mod)
    torch.set_num_threads(2)
    d = mod.load_digits()
    r = mod.evaluate(mod.train(True, d.x_train, d.y_train, epochs=3), d.x_test, d.y_test, tmp_path)
    assert r["ops"] == ["conv2d", "conv2d_codebook", "fully_connected_codebook", "fully_connected_codebook"]
    assert r["c_equals_reference"] == len(d.y_test) == 360
    assert r["int8_accuracy"] > 0.8
    notes = [e["compression"] for e in r["program"].report["layers"] if "codebook" in e["op"]]
    assert all("4-bit indices, one table per layer" in n for n in notes), notes
    assert np.all(r["q"].shape[0] == 360)
