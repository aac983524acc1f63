"""The PyTorch importer on every kind of file a user has, and one clear error for bad input."""

import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn

import tinygen
from tinygen.cli import main
from tests.torch_models import make


def _export(model, shape, path):
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(path))
    return path


def _run_cli(argv, capsys):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_missing_file(tmp_path, capsys):
    rc, _, err = _run_cli(["build", str(tmp_path / "nope.pt2"), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and "no such file" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 10)
    rc, _, err = _run_cli(["build", str(bad), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and "not a model tinygen can read" in err and "Traceback" not in err


def test_truncated_archive(tmp_path, capsys):
    model, shape = make("conv_stack")
    good = _export(model, shape, tmp_path / "m.pt2").read_bytes()
    cut = tmp_path / "cut.pt2"
    cut.write_bytes(good[: len(good) // 2])
    rc, _, err = _run_cli(["build", str(cut), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and str(cut) in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.partial*"))


def test_pickle_refused_without_flag_then_accepted(tmp_path, capsys):
    model, shape = make("conv_stack")
    path = tmp_path / "m.pt"
    torch.save(model, path)
    rc, _, err = _run_cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and "--trust-pickle" in err and "torch.export" in err
    rc, _, err = _run_cli(["build", str(path), "-o", str(tmp_path / "o"), "--trust-pickle"], capsys)
    assert rc == 1 and "--input-shape" in err
    rc, _, _ = _run_cli(["build", str(path), "-o", str(tmp_path / "o"), "--trust-pickle", "--input-shape",
                         ",".join(map(str, shape))], capsys)
    assert rc == 0
    q = np.random.default_rng(0).integers(-128, 128, (3, 5, 4, 8)).astype(np.int8)
    p = tinygen.load(tmp_path / "o")
    assert p.inputs[0].shape == (1, 9, 7, 3)
    np.testing.assert_array_equal(p.run_host(np.random.default_rng(0).integers(-128, 128, (3, 9, 7, 3)).astype(np.int8)),
                                  p.reference(np.random.default_rng(0).integers(-128, 128, (3, 9, 7, 3)).astype(np.int8)))
    del q


def test_torchscript_archive(tmp_path, capsys):
    model, shape = make("branches")
    path = tmp_path / "ts.pt"
    torch.jit.trace(model, torch.zeros(shape)).save(str(path))
    rc, _, err = _run_cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and "--input-shape" in err
    rc, _, err = _run_cli(["build", str(path), "-o", str(tmp_path / "o"), "--input-shape", ",".join(map(str, shape))], capsys)
    assert rc == 0, err
    exported = tinygen.build(_export(model, shape, tmp_path / "e.pt2"), out_dir=tmp_path / "e")
    ts = tinygen.load(tmp_path / "o")
    q = np.random.default_rng(1).integers(-128, 128, (6, *exported.inputs[0].shape[1:])).astype(np.int8)
    np.testing.assert_array_equal(ts.run_host(q), exported.reference(q))


class Unquantized(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return self.c(x)


class WithExp(nn.Module):
    def forward(self, x):
        x = torch.fake_quantize_per_tensor_affine(x, 0.1, 0, -128, 127)
        return torch.fake_quantize_per_tensor_affine(torch.exp(x), 0.1, 0, -128, 127)


class FloatWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        x = torch.fake_quantize_per_tensor_affine(x, 0.1, 0, -128, 127)
        return torch.fake_quantize_per_tensor_affine(self.c(x), 0.1, 0, -128, 127)


@pytest.mark.parametrize("cls,needle", [
    (Unquantized, "input 'x' is not quantized"),
    (WithExp, "unsupported op 'aten.exp.default'"),
    (FloatWeights, "weights are not quantized"),
])
def test_model_errors_name_the_problem(cls, needle, tmp_path, capsys):
    path = _export(cls().eval(), (1, 1, 5, 5), tmp_path / "m.pt2")
    rc, _, err = _run_cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and needle in err and "Traceback" not in err, err
    assert [line for line in err.splitlines() if not line.startswith("  ")] == [err.splitlines()[-1]]  # one line
    assert not (tmp_path / "o").exists()


def test_unsupported_op_points_to_list_ops(tmp_path, capsys):
    path = _export(WithExp().eval(), (1, 1, 5, 5), tmp_path / "m.pt2")
    _, _, err = _run_cli(["build", str(path)], capsys)
    assert "node exp" in err and "--list-ops" in err and "aten.conv2d.default" not in err and len(err) < 400, err
    rc, out, _ = _run_cli(["build", "--list-ops"], capsys)
    assert rc == 0 and "  aten.conv2d.default" in out.splitlines() and "  CONV_2D" in out.splitlines()


def test_dynamic_batch_refused(tmp_path, capsys):
    batch = torch.export.Dim("batch", min=2, max=8)
    ep = torch.export.export(Unquantized().eval(), (torch.zeros((2, 1, 5, 5)),), dynamic_shapes=({0: batch},))
    path = tmp_path / "dyn.pt2"
    torch.export.save(ep, str(path))
    rc, _, err = _run_cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and "dynamic shape" in err


def test_standard_fake_quant_ops_with_uint8_range(tmp_path):
    """Plain PyTorch fake-quant ops (float scale, quint8-style [0, 255] activations) are recognised."""
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 2, 3, 3) * 0.3)

        def forward(self, x):
            x = torch.fake_quantize_per_tensor_affine(x, 0.02, 128, 0, 255)
            w = torch.fake_quantize_per_channel_affine(self.w, torch.full((4,), 0.01), torch.zeros(4, dtype=torch.int32),
                                                       0, -127, 127)
            y = nn.functional.conv2d(x, w)
            return torch.fake_quantize_per_tensor_affine(y, 0.05, 100, 0, 255)

    model = M().eval()
    program = tinygen.build(_export(model, (1, 2, 6, 6), tmp_path / "m.pt2"), out_dir=tmp_path / "o")
    assert program.inputs[0].zero_point == 0 and program.outputs[0].zero_point == -28  # shifted by 128
    x = np.random.default_rng(0).uniform(-2, 2, (10, 2, 6, 6)).astype(np.float32)
    q = program.quantize(x, layout="NCHW")
    ref = program.reference(q)
    np.testing.assert_array_equal(program.run_host(q), ref)
    with torch.no_grad():
        t = model(torch.from_numpy(x)).numpy().transpose(0, 2, 3, 1)
    steps = np.abs(program.dequantize(ref) - t) / 0.05
    assert steps.max() <= 1.0 + 1e-4


def test_export_archive_zip_listing_is_not_needed(tmp_path):
    """Detection is by content: a torch.export archive with a .bin extension still imports."""
    model, shape = make("conv_stack")
    path = _export(model, shape, tmp_path / "model.bin")
    assert zipfile.is_zipfile(path)
    assert tinygen.build(path, out_dir=tmp_path / "o").inputs[0].shape == (1, 9, 7, 3)


class AddWithoutQuantizer(nn.Module):
    def forward(self, x):
        a = torch.fake_quantize_per_tensor_affine(x, 0.1, 0, -128, 127)
        return a + torch.fake_quantize_per_tensor_affine(torch.relu(a), 0.05, -128, -128, 127)


@pytest.mark.parametrize("cls, node", [(AddWithoutQuantizer, "add"), (Unquantized, "input 'x'")])
def test_missing_quantizer_names_the_node_and_the_flows(cls, node, tmp_path, capsys):
    """Issue 13 item 7: the node, the three flows that add a quantizer, and no op list."""
    path = _export(cls().eval(), (1, 1, 5, 5), tmp_path / "m.pt2")
    rc, _, err = _run_cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    line = err.splitlines()[-1]
    assert rc == 1 and node in line, line
    for flow in ("tinygen.nn", "tinygen.quantizer.TinygenQuantizer", "--calibration", ".tflite"):
        assert flow in line, (flow, line)
    assert "aten." not in line and len(line) < 450, (len(line), line)
    assert [e for e in err.splitlines() if not e.startswith("  ")] == [line]  # one line
