"""`tinygen build model.tflite --board host` from the command line, like a PyTorch model."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from tests.importers.test_tflite_errors import _int8_model  # noqa: E402


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tinygen.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.host
def test_cli_builds_and_validates_a_tflite_model(tmp_path):
    (tmp_path / "m.tflite").write_bytes(_int8_model())
    proc = _cli("build", "m.tflite", "--board", "host", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "built out for host" in proc.stdout and "tflm_logistic" in proc.stdout
    proc = _cli("validate", "out", "--host", "--count", "20", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import tinygen

    program = tinygen.load(tmp_path / "out")
    x = np.arange(-128, 128, dtype=np.int8).reshape(32, 8)
    np.testing.assert_array_equal(program.run_host(x), program.reference(x))


def test_cli_reports_a_truncated_file_in_one_line(tmp_path):
    (tmp_path / "m.tflite").write_bytes(_int8_model()[:60])
    proc = _cli("build", "m.tflite", "--board", "host", cwd=tmp_path)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tinygen: error:")]
    assert len(errors) == 1 and "not a valid TFLite flatbuffer" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
