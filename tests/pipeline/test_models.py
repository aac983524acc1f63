"""Whole PyTorch models through the pipeline: host C == reference exactly, and the reference
tracks the PyTorch fake-quant model (statistical contract: >= 99% of values within one step)."""

import numpy as np
import pytest
import torch

import tinygen
from tests.torch_models import MODELS, make


def export(model, shape, path):
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(path))
    return path


@pytest.mark.host
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_bit_exact_and_close_to_torch(name, tmp_path):
    model, shape = make(name)
    program = tinygen.build(export(model, shape, tmp_path / f"{name}.pt2"), out_dir=tmp_path / "out")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, *shape[1:])).astype(np.float32)
    q = program.quantize(x, layout="NCHW")
    ref = program.reference(q)
    host = program.run_host(q)
    np.testing.assert_array_equal(host, ref)

    with torch.no_grad():
        t = np.concatenate([model(torch.from_numpy(x[i:i + 1])).numpy() for i in range(len(x))])
    if t.ndim == 4:
        t = t.transpose(0, 2, 3, 1)  # tinygen outputs are channels-last
    steps = np.abs(program.dequantize(ref) - t) / np.float32(program.outputs[0].scale)
    assert (steps <= 1.0 + 1e-4).mean() >= 0.99, f"max {steps.max()} steps"


@pytest.mark.host
def test_generated_sources_are_deterministic(tmp_path):
    model, shape = make("branches")
    path = export(model, shape, tmp_path / "m.pt2")
    a = tinygen.build(path, out_dir=tmp_path / "a")
    b = tinygen.build(path, out_dir=tmp_path / "b")
    for name in ("m.c", "m.h"):
        assert (a.out_dir / "model" / name).read_bytes() == (b.out_dir / "model" / name).read_bytes()


@pytest.mark.host
def test_load_round_trip(tmp_path):
    model, shape = make("conv_stack")
    program = tinygen.build(export(model, shape, tmp_path / "m.pt2"), out_dir=tmp_path / "out")
    again = tinygen.load(tmp_path / "out")
    assert again.inputs == program.inputs and again.outputs == program.outputs
    q = np.random.default_rng(3).integers(-128, 128, (5, *program.inputs[0].shape[1:])).astype(np.int8)
    np.testing.assert_array_equal(again.reference(q), program.reference(q))
    np.testing.assert_array_equal(again.run_host(q), program.reference(q))


@pytest.mark.host
def test_in_memory_module_and_exported_program(tmp_path):
    model, shape = make("pools")
    p1 = tinygen.build(model, out_dir=tmp_path / "a", input_shape=shape)
    p2 = tinygen.build(torch.export.export(model, (torch.zeros(shape),)), out_dir=tmp_path / "b")
    q = np.random.default_rng(0).integers(-128, 128, (4, *p1.inputs[0].shape[1:])).astype(np.int8)
    np.testing.assert_array_equal(p1.reference(q), p2.run_host(q))


def test_weights_are_const_and_no_malloc(tmp_path):
    model, shape = make("flatten_linear")
    program = tinygen.build(export(model, shape, tmp_path / "m.pt2"), out_dir=tmp_path / "out")
    src = (program.out_dir / "model" / f"{program.prefix}.c").read_text()
    arrays = [line for line in src.splitlines() if line.endswith("= {") and "[" in line]
    assert arrays and all(line.startswith("static const ") for line in arrays)
    for f in (program.out_dir / "model").glob("*.c"):
        assert "malloc" not in f.read_text()
