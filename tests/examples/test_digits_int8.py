"""The int8 example end to end on the real (offline) digits data: QAT, export, build, host run.

The issue's criteria on the whole test split: host C equals the reference exactly; the reference
agrees with the PyTorch fake-quant model on >= 99% of top-1 predictions and is within one
quantization step on >= 99% of output values. Training is shortened to keep CI fast; the
criteria do not depend on how well the model is trained."""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import torch

import tinygen

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_int8" / "digits.py"


def _digits():
    spec = importlib.util.spec_from_file_location("digits_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["digits_example"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    digits = _digits()
    torch.set_num_threads(2)
    split = digits.load_digits()
    model = digits.train(split, epochs=4, log=None)
    path = tmp_path_factory.mktemp("digits") / "digits_q8.pt2"
    digits.export(model, path)
    return digits, split, path


@pytest.mark.slow
@pytest.mark.host
def test_digits_int8_example(trained, tmp_path):
    digits, split, path = trained
    program = tinygen.build(path, out_dir=tmp_path / "out")
    a = digits.compare(program, torch.export.load(str(path)).module(), split)
    print(a.table())
    assert a.n == len(split.y_test) == 360
    assert a.c_equals_reference == a.n
    assert a.top1_agreement >= 0.99
    assert a.within_one_step >= 0.99
    assert a.int8_accuracy > 0.8  # 4 epochs reach ~0.95; this only guards against a broken pipeline


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.parametrize("board", ["f446re", "f746zg"])  # stand-ins: mps2-an386 (M4), mps2-an500 (M7)
def test_digits_int8_example_on_qemu(trained, tmp_path, board):
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/setup.sh installs them)")
    from tinygen.device.validate import validate

    digits, split, path = trained
    program = tinygen.build(path, board=board, out_dir=tmp_path / "out")
    assert program.report["estimate"] is False and program.report["sram_bytes"] <= program.report["sram_capacity_bytes"]
    q = program.quantize(split.x_test[:12], layout="NCHW")
    inputs = tmp_path / "x.npy"
    import numpy as np

    np.save(inputs, q)
    result = validate(program, qemu=True, inputs=inputs, count=12)
    assert result.passed, result.summary_text()
