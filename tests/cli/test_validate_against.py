"""`tinygen validate DIR --against MODEL`: the comparison with the framework model the build came
from, printed and in report.json / report.txt, while the exit status stays the bit-exact verdict.
A Keras float model (quantized by TFLite's converter) and a PyTorch float model (PT2E PTQ with
tinygen.quantizer), both briefly trained on scikit-learn's digits, with labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinygen
from tests.importers.torch_flows import digits
from tinygen.cli import main
from tinygen.validation.against import agreement

pytestmark = [pytest.mark.host, pytest.mark.slow]
COUNT = 60


def _figures(out_dir):
    return json.loads((out_dir / "report.json").read_text())["against"]["outputs"][0]


def _check_report(out_dir, printed: str, expect_top1: float, expect_acc: float):
    fig = _figures(out_dir)
    assert fig["count"] == COUNT
    # the figures the report gives, against ones computed here from the program's own outputs
    assert fig["top1_agreement"] == pytest.approx(expect_top1) and fig["accuracy"] == pytest.approx(expect_acc)
    assert fig["top1_agreement"] >= 0.9 and fig["cosine"] > 0.99 and 0 < fig["l2_ratio"] < 0.2
    assert 0 < fig["mean_steps"] <= fig["max_steps"]
    for line in ("top-1 agreement", "accuracy (labels)", "error in output steps", "cosine similarity",
                 "L2 error ratio"):
        assert line in printed
    text = (out_dir / "report.txt").read_text()
    assert text.count("Validation against the framework model") == 1 and "cosine similarity" in text


def test_against_keras_float_model(tmp_path, capsys):
    from tinygen.importers.keras import tensorflow_quiet

    tf = tensorflow_quiet()
    xtr, ytr, xte, yte = digits()
    xtr, xte = np.moveaxis(xtr, 1, -1), np.moveaxis(xte, 1, -1)  # Keras: channels last
    tf.keras.utils.set_random_seed(0)

    def net():
        return tf.keras.Sequential([tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(8, 3, activation="relu"),
                                    tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    model = net()
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(xtr, ytr, epochs=4, batch_size=64, verbose=0)
    model.save(tmp_path / "m.keras")
    net().save(tmp_path / "untrained.keras")
    np.save(tmp_path / "calib.npy", xtr[:200])
    np.save(tmp_path / "x.npy", xte[:COUNT])
    np.save(tmp_path / "y.npy", yte[:COUNT])
    out = tmp_path / "o"
    assert main(["build", str(tmp_path / "m.keras"), "-o", str(out), "--calibration", str(tmp_path / "calib.npy")]) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--against", str(tmp_path / "m.keras"), "--inputs", str(tmp_path / "x.npy"),
                 "--labels", str(tmp_path / "y.npy"), "--count", str(COUNT)]) == 0
    printed = capsys.readouterr().out
    assert "validate: PASS" in printed
    program = tinygen.load(out)
    y = program.dequantize(program.reference(program.quantize(xte[:COUNT])))
    f = model.predict(xte[:COUNT], verbose=0)
    _check_report(out, printed, np.mean(y.argmax(1) == f.argmax(1)), np.mean(y.argmax(1) == yte[:COUNT]))
    # another model: poor agreement, yet the exit status is still the bit-exact verdict
    assert main(["validate", str(out), "--host", "--against", str(tmp_path / "untrained.keras"),
                 "--inputs", str(tmp_path / "x.npy"), "--count", str(COUNT)]) == 0
    assert _figures(out)["top1_agreement"] < 0.5 and "accuracy" not in capsys.readouterr().out


def test_against_pytorch_float_model_nchw(tmp_path, capsys):
    pytest.importorskip("torchao")
    import torch

    from tests.importers.torch_flows import Net, train

    torch.set_num_threads(2)
    xtr, ytr, xte, yte = digits()
    model = train(Net(width=4), xtr, ytr, epochs=3).eval()
    path = tmp_path / "float.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1, 8, 8),)), path)
    np.save(tmp_path / "calib.npy", xtr[:200])
    np.save(tmp_path / "x.npy", xte[:COUNT])  # channels first, as saved from PyTorch
    np.save(tmp_path / "y.npy", yte[:COUNT])
    out = tmp_path / "o"
    assert main(["build", str(path), "-o", str(out), "--calibration", str(tmp_path / "calib.npy")]) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--against", str(path), "--inputs", str(tmp_path / "x.npy"),
                 "--labels", str(tmp_path / "y.npy"), "--layout", "NCHW", "--count", str(COUNT)]) == 0
    printed = capsys.readouterr().out
    program = tinygen.load(out)
    y = program.dequantize(program.reference(program.quantize(xte[:COUNT], layout="NCHW")))
    with torch.no_grad():
        f = model(torch.from_numpy(xte[:COUNT])).numpy()
    _check_report(out, printed, np.mean(y.argmax(1) == f.argmax(1)), np.mean(y.argmax(1) == yte[:COUNT]))
    # the same inputs in the wrong layout are refused, naming the shape wanted
    assert main(["validate", str(out), "--against", str(path), "--inputs", str(tmp_path / "x.npy")]) == 1
    assert "--layout NCHW" in capsys.readouterr().err


def test_agreement_figures():
    """The formulas on values worked out by hand."""
    y = np.array([[1.0, 0.0], [0.0, 2.0]])
    f = np.array([[1.0, 0.5], [1.0, 1.5]])
    a = agreement("out", y, f, 0.5, labels=np.array([0, 0]))
    assert a.top1_agreement == 1.0 and a.accuracy == 0.5 and a.framework_accuracy == 0.5
    assert a.max_steps == 2.0 and a.mean_steps == pytest.approx((0 + 1 + 2 + 1) / 4)
    assert a.cosine == pytest.approx(4.0 / (np.sqrt(5) * np.sqrt(4.5)))
    assert a.l2_ratio == pytest.approx(np.sqrt(1.5) / np.sqrt(4.5))
