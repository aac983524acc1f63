"""The pruned-kernel BNN example on the real (offline) digits data, shortened for CI: half of the
binary kernels pruned, every binary layer a bconv2d_pruned on a kernel that skips pruned words,
host C equal to the reference on the whole test split, top-1 equal to PyTorch's, fewer weight
bytes than the unpruned build, and accuracy beside it."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pruned_bnn_digits" / "pruned_bnn_digits.py"


@pytest.mark.slow
@pytest.mark.host
def test_pruned_bnn_digits_example(tmp_path):
    spec = importlib.util.spec_from_file_location("pruned_bnn_digits_example", EXAMPLE)
    ex = importlib.util.module_from_spec(spec)
    sys.modules["pruned_bnn_digits_example"] = ex
    spec.loader.exec_module(ex)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        split = ex.load_digits()
        dense, pruned = ex.train(split, epochs=2, finetune=1)
    finally:
        torch.set_num_threads(threads)
    assert pruned.pruned_fraction() >= 0.5
    rows = {label: ex.evaluate(m, split, tmp_path / label) for label, m in (("dense", dense), ("pruned", pruned))}
    d, p = rows["dense"], rows["pruned"]
    assert d["ops"].count("bconv2d") == 3 and p["ops"].count("bconv2d_pruned") == 3
    kernels = [n.kernel for n in p["program"].graph.nodes if n.op == "bconv2d_pruned"]
    assert all("_hs8k" in k for k in kernels), kernels  # the grouped kernels: pruned words skipped
    for r in (d, p):
        assert r["c_equals_reference"] == len(split.y_test) == 360
        assert r["top1_agreement"] >= 0.99
        assert r["accuracy"] > 0.8  # guards against a broken pipeline only (training is short)
    assert p["weight_bytes"] < 0.8 * d["weight_bytes"]
