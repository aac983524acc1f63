"""How far the built program is from the framework model it came from (`validate --against`):
the statistical comparison, beside the bit-exact one of core.py.

For each model output, with y the program's output dequantized and f the framework model's:

    top-1 agreement   mean(argmax y == argmax f) over samples (outputs [N, K], K > 1)
    accuracy          mean(argmax y == label), and the framework model's, when labels are given
    steps             |y - f| / s_out (s_out: the output's quantization step); max and mean
    cosine            <y, f> / (|y| |f|) over all values
    L2 error ratio    |y - f| / |f| over all values (stedgeai validate's "l2r")

The program's outputs are the numpy reference's, which the target matched bit for bit where the
verdict says PASS. Framework code stays in tinygen/importers/framework_model.py.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinygen.errors import TinygenError

SECTION = "Validation against the framework model"


@dataclass
class OutputAgreement:
    output: str
    count: int
    max_steps: float
    mean_steps: float
    cosine: float
    l2_ratio: float
    top1_agreement: float | None = None
    accuracy: float | None = None
    framework_accuracy: float | None = None

    def lines(self) -> list[str]:
        out = []
        if self.top1_agreement is not None:
            out.append(f"top-1 agreement                 {self.top1_agreement:.4f}")
        if self.accuracy is not None:
            out.append(f"accuracy (labels)               {self.accuracy:.4f} (framework model {self.framework_accuracy:.4f})")
        out += [f"error in output steps           max {self.max_steps:.2f}, mean {self.mean_steps:.4f}",
                f"cosine similarity               {self.cosine:.6f}",
                f"L2 error ratio                  {self.l2_ratio:.6f}"]
        return [f"  {self.output}: {line}" for line in out]


def to_output_layout(f: np.ndarray, y_shape, framework_layout: str) -> np.ndarray:
    """A framework output in the program's (channels-last) layout: NCHW -> NHWC for 4-D outputs."""
    if f.shape == tuple(y_shape):
        return f
    if framework_layout == "NCHW" and f.ndim == 4 and np.moveaxis(f, 1, -1).shape == tuple(y_shape):
        return np.moveaxis(f, 1, -1)
    if f.size == int(np.prod(y_shape)):
        return f.reshape(y_shape)
    raise TinygenError(f"the framework model's output has shape {list(f.shape)}, the program's {list(y_shape)}")


def agreement(name: str, y: np.ndarray, f: np.ndarray, step: float, labels: np.ndarray | None = None) -> OutputAgreement:
    """Figures of one output; y and f float arrays of the same shape [N, ...]."""
    y64, f64 = np.asarray(y, np.float64), np.asarray(f, np.float64)
    steps = np.abs(y64 - f64) / float(step)
    ny, nf = np.linalg.norm(y64), np.linalg.norm(f64)
    cosine = float(np.dot(y64.ravel(), f64.ravel()) / (ny * nf)) if ny > 0 and nf > 0 else float(ny == nf)
    l2 = float(np.linalg.norm(y64 - f64) / nf) if nf > 0 else float(np.linalg.norm(y64) > 0) * float("inf")
    a = OutputAgreement(name, len(y), float(steps.max(initial=0)), float(steps.mean()), cosine, l2)
    if y.ndim == 2 and y.shape[1] > 1:
        a.top1_agreement = float(np.mean(y.argmax(1) == f.argmax(1)))
        if labels is not None:
            labels = np.asarray(labels).reshape(-1)
            a.accuracy = float(np.mean(y.argmax(1) == labels))
            a.framework_accuracy = float(np.mean(f.argmax(1) == labels))
    return a


def summary_lines(framework: str, figures: list[OutputAgreement]) -> list[str]:
    count = figures[0].count if figures else 0
    return [f"{SECTION} ({framework}, {count} samples):", *[line for a in figures for line in a.lines()]]


def write_report(out_dir: Path, framework: str, figures: list[OutputAgreement]) -> None:
    """Record the figures in DIR/report.json ("against") and DIR/report.txt (one section, replaced
    on every run)."""
    out_dir = Path(out_dir)
    path = out_dir / "report.json"
    rep = json.loads(path.read_text()) if path.exists() else {}
    rep["against"] = {"framework_model": framework, "outputs": [asdict(a) for a in figures]}
    path.write_text(json.dumps(rep, indent=1) + "\n")
    text = out_dir / "report.txt"
    old = text.read_text() if text.exists() else ""
    head = old.split(f"\n{SECTION}")[0].rstrip("\n") if not old.startswith(SECTION) else ""
    text.write_text((head + "\n\n" if head else "") + "\n".join(summary_lines(framework, figures)) + "\n")


# -- inputs ------------------------------------------------------------------------------------

def comparison_inputs(program, x: np.ndarray | None, layout: str, framework_layout: str,
                      count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(quantized inputs for the program, float inputs for the framework model) of one model input.

    x: float samples in `layout` (NHWC or NCHW) or int8 samples in the program's layout (then
    dequantized for the framework model), or None for seeded random int8 samples."""
    spec = program.inputs[0]
    if len(program.inputs) != 1:
        raise TinygenError("--against compares single-input models only")
    if x is None:
        from tinygen.validation.core import load_inputs

        q = load_inputs(program, None, count, seed)[0]
        x, layout = None, "NHWC"
    else:
        x = np.asarray(x)[:count] if count else np.asarray(x)
        if np.issubdtype(x.dtype, np.floating):
            q = program.quantize(x, layout=layout if layout == "NCHW" else None)
        elif x.dtype == spec.dtype:
            q, x, layout = x, None, "NHWC"
        else:
            raise TinygenError(f"--inputs must be float, or {spec.dtype} quantized for the program, got {x.dtype}")
    if tuple(q.shape[1:]) != tuple(spec.shape[1:]):
        raise TinygenError(f"--inputs: samples must have shape {list(spec.shape[1:])} ({spec.layout or 'flat'})"
                           + (" or, with --layout NCHW, channels first" if q.ndim == 4 else "") + f", got {list(q.shape[1:])}")
    if x is None:  # the framework model sees the values the program's int8 inputs stand for
        x = ((q.astype(np.float32) - spec.zero_point) * np.float32(spec.scale)).astype(np.float32)
    x = np.asarray(x, np.float32)
    if x.ndim == 4 and layout != framework_layout:
        x = np.moveaxis(x, 1, -1) if layout == "NCHW" else np.moveaxis(x, -1, 1)
    return q, np.ascontiguousarray(x)
