"""The README's promises that can drift: the CI command and the supported-ops table."""

from pathlib import Path

from tinygen.ops.base import supported_ops

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in readme and "bash scripts/test.sh" in ci


def test_every_lowered_op_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    missing = [op for op in supported_ops() if f"`{op}`" not in readme]
    assert not missing, f"README's ops table lacks {missing}"
