"""The SP-Net example on the real (offline) digits data, shortened for CI: joint training of the
8/4/1-bit switches, export, one host library, and every switch bit-exact to its own reference on
the whole test split (through <name>_invoke_precision). Training is cut to 2 epochs. The full table (QEMU, both boards,
separately trained models) is examples/spnet_digits/run.py."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tinygen import spnet

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spnet_digits" / "spnet_digits.py"


def _example():
    spec = importlib.util.spec_from_file_location("spnet_digits_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["spnet_digits_example"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.host
def test_spnet_digits_example(tmp_path):
    ex = _example()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        split = ex.load_digits()
        model = ex.train(split, epochs=2, width=16, log=None)  # the checks do not need a good model
    finally:
        torch.set_num_threads(threads)
    program = spnet.build(ex.export(model, tmp_path / "digits.spnet"), out_dir=tmp_path / "out")
    assert program.bits == [8, 4, 1]
    ops = {s["bits"]: s["ops"] for s in program.report["switches"]}
    assert ops[4].count("conv2d_packed") == 3 and ops[1].count("bconv2d") == 3 and "conv2d_packed" not in ops[8]
    q = program.quantize(split.x_test, layout="NCHW")
    result = spnet.validate_host(program, inputs=q)
    assert result.passed and [s.count for s in result.switches] == [360] * 3, result.summary_text()
    for a in ex.compare(program, model, split):
        assert a.top1_agreement >= 0.9, a  # integer reference vs PyTorch fake-quant, per switch
        assert a.int8_accuracy > 0.2, a  # guards against a broken pipeline only (chance is 0.1)
    assert not np.array_equal(program.reference(8, q[:20]), program.reference(1, q[:20]))
