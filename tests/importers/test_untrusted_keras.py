"""Legacy Keras .h5 files run Lambda bytecode on load: refused from the config, before loading."""

import zipfile

import pytest

from tinygen.cli import main

tf = pytest.importorskip("tensorflow")


def _cli(argv, capsys):
    rc = main(argv)
    return rc, capsys.readouterr().err


def test_h5_lambda_refused_and_not_run(tmp_path, capsys):
    marker = tmp_path / "ran"
    marker_path = str(marker)

    def payload(x):
        open(marker_path, "w").close()
        return x * 2

    model = tf.keras.Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(3), tf.keras.layers.Lambda(payload)])
    path = tmp_path / "lam.h5"
    model.save(str(path))
    marker.unlink()  # building the model above called the Lambda
    rc, err = _cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and not marker.exists()
    assert "Lambda" in err and ".keras" in err and "--trust-pickle" in err and "Traceback" not in err


def test_h5_custom_layer_class_refused(tmp_path, capsys):
    import h5py

    model = tf.keras.Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(3)])
    path = tmp_path / "custom.h5"
    model.save(str(path))
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = f.attrs["model_config"].replace('"Dense"', '"evil.module.Backdoor"')
    rc, err = _cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and "evil.module.Backdoor" in err and "Traceback" not in err


def test_zip_that_is_zipfile_accepts_but_zipfile_rejects(tmp_path, capsys):
    """An end-of-central-directory record pointing at garbage: is_zipfile says yes, ZipFile fails."""
    path = tmp_path / "odd.pt2"
    eocd = b"PK\x05\x06" + b"\x00" * 4 + (1).to_bytes(2, "little") * 2 + (46).to_bytes(4, "little") + b"\x00" * 6
    path.write_bytes(b"\x00" * 46 + eocd)
    assert zipfile.is_zipfile(path)
    rc, err = _cli(["build", str(path), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and str(path) in err and "Traceback" not in err
