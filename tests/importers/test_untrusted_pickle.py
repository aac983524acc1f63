"""Model files are untrusted: no code from a pickle inside an archive runs without --trust-pickle."""

import io
import os
import pickle
import zipfile

import numpy as np
import torch

from tinygen.cli import main
from tests.torch_models import make


class _Payload:
    """Unpickling this runs `touch MARKER`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _nested_torch_save(obj_pickle: bytes) -> bytes:
    """A torch.save-style zip whose data.pkl is the given pickle."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", obj_pickle)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/byteorder", "little")
    return buf.getvalue()


def _replace_member(src, dst, suffix, data):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename.endswith(suffix) else zin.read(info))
    return dst


def _export(tmp_path):
    model, shape = make("conv_stack")
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(path))
    return path


def _cli(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err


def test_payload_in_sample_inputs_does_not_run(tmp_path, capsys):
    marker = tmp_path / "ran"
    bad = _replace_member(_export(tmp_path), tmp_path / "bad.pt2", "sample_inputs/model.pt",
                          _nested_torch_save(pickle.dumps(_Payload(marker), protocol=2)))
    rc, err = _cli(["build", str(bad), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and not marker.exists()
    assert "posix.system" in err and "sample_inputs/model.pt" in err and "--trust-pickle" in err
    errors = [line for line in err.splitlines() if line.startswith("tinygen: error:")]
    assert "Traceback" not in err and len(errors) == 1 and len(errors[0]) - len(str(bad)) < 300


def test_payload_as_plain_pickle_protocol_4(tmp_path, capsys):
    """STACK_GLOBAL (protocol 4) and a legacy (non-zip) torch.save stream in a weights member."""
    marker = tmp_path / "ran"
    good = _export(tmp_path)
    with zipfile.ZipFile(good) as z:
        weight = next(n for n in z.namelist() if n.endswith("/weight_0"))
        config = next(n for n in z.namelist() if n.endswith("model_weights_config.json"))
        cfg = z.read(config).decode().replace('"use_pickle": false', '"use_pickle": true', 1)
    tmp = _replace_member(good, tmp_path / "t.pt2", config, cfg.encode())
    bad = _replace_member(tmp, tmp_path / "bad.pt2", weight, pickle.dumps(_Payload(marker), protocol=4))
    rc, err = _cli(["build", str(bad), "-o", str(tmp_path / "o")], capsys)
    assert rc == 1 and not marker.exists()
    assert "system" in err and "weight_0" in err and "Traceback" not in err


def test_payload_in_torchscript_constants(tmp_path, capsys):
    marker = tmp_path / "ran"
    model, shape = make("branches")
    ts = tmp_path / "ts.pt"
    torch.jit.trace(model, torch.zeros(shape)).save(str(ts))
    bad = _replace_member(ts, tmp_path / "bad.pt", "constants.pkl", pickle.dumps(_Payload(marker), protocol=2))
    rc, err = _cli(["build", str(bad), "-o", str(tmp_path / "o"), "--input-shape", ",".join(map(str, shape))], capsys)
    assert rc == 1 and not marker.exists() and "constants.pkl" in err and "Traceback" not in err


def test_legitimate_archives_load_without_trust(tmp_path, capsys):
    rc, err = _cli(["build", str(_export(tmp_path)), "-o", str(tmp_path / "o")], capsys)
    assert rc == 0, err


def test_trust_pickle_still_loads_a_pickled_model(tmp_path, capsys):
    model, shape = make("conv_stack")
    path = tmp_path / "m.pt"
    torch.save(model, path)
    rc, err = _cli(["build", str(path), "-o", str(tmp_path / "o"), "--trust-pickle", "--input-shape",
                    ",".join(map(str, shape))], capsys)
    assert rc == 0, err


def test_object_npy_calibration_refused(tmp_path, capsys):
    from tinygen.importers.keras import _calibration

    path = tmp_path / "cal.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    import pytest
    from tinygen.errors import TinygenError

    with pytest.raises(TinygenError, match="pickled Python objects"):
        _calibration(path, (1, 4), "m.keras")


def test_truncated_torchscript_record_is_one_error_not_a_crash(tmp_path):
    """A storage record shorter than its element count made torch.jit.load segfault."""
    from tests.fuzz.mutate import run_cli_isolated

    model, shape = make("conv_stack")
    ts = tmp_path / "ts.pt"
    torch.jit.trace(model, torch.zeros(shape)).save(str(ts))
    with zipfile.ZipFile(ts) as z:
        record = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
        cut = z.read(record)[: record.file_size // 2]
    bad = _replace_member(ts, tmp_path / "cut.pt", record.filename, cut)
    err = tmp_path / "err.txt"
    what, code = run_cli_isolated(["build", str(bad), "-o", str(tmp_path / "o"), "--input-shape",
                                   ",".join(map(str, shape))], timeout=120, err_path=str(err))
    text = err.read_text()
    assert what == "refused" and code == 1, (what, code, text[-500:])
    assert "damaged" in text and record.filename.split("/", 1)[1] in text and "Traceback" not in text
