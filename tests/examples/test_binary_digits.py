"""The binarized example end to end on the real (offline) digits data: training, export, build,
host run. Criteria on the whole test split: host C equals the reference exactly, and the
reference's top-1 agrees with the PyTorch model on >= 99% of inputs. Training is shortened to
keep CI fast; the binary network's weights must be several times smaller than its int8 twin's."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import tinygen

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "binary_digits" / "binary_digits.py"


def _example():
    spec = importlib.util.spec_from_file_location("binary_digits_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["binary_digits_example"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.host
def test_binary_digits_example(tmp_path):
    ex = _example()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see run.py --threads: one thread is the robust choice on a shared machine
    try:
        split = ex.load_digits()
        model = ex.train(split, epochs=6, log=None)
    finally:
        torch.set_num_threads(threads)
    path = tmp_path / "digits_bnn.pt2"
    ex.export(model, path)
    program = tinygen.build(path, out_dir=tmp_path / "out")
    ops = [layer["op"] for layer in program.report["layers"]]
    assert ops.count("bconv2d") == 3 and "conv2d_bits" in ops and "binarize" not in ops and "bmax_pool2d" in ops
    a = ex.compare(program, torch.export.load(str(path)).module(), split)
    print(a.table())
    assert a.n == len(split.y_test) == 360
    assert a.c_equals_reference == a.n
    assert a.top1_agreement >= 0.99
    assert a.int8_accuracy > 0.8  # this only guards against a broken pipeline
    twin_path = tmp_path / "twin.pt2"
    ex.export(ex.int8_twin(), twin_path)
    twin = tinygen.build(twin_path, out_dir=tmp_path / "twin")
    assert twin.report["weight_bytes"] > 5 * program.report["weight_bytes"]
