"""What every validation target shares: the inputs, the bit-exact comparison with the numpy
reference, the first diverging layer, and the result with its report lines.

The drivers beside it only produce outputs for one sample and layer dumps on request:
tinygen/validation/host.py (the generated C compiled for this machine) and
tinygen/device/validate.py (the firmware under QEMU or on a board).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinygen.errors import TinygenError
from tinygen.reference import interpreter

Progress = Callable[[int, int], None]


@dataclass
class Mismatch:
    sample: int
    output: str
    n_diff: int
    size: int
    first_index: tuple[int, ...]
    expected: int
    got: int
    layer: str = ""  # first diverging layer, "L1 conv1 (conv2d)"
    layer_detail: str = ""

    def describe(self) -> str:
        s = (f"sample {self.sample} output '{self.output}': {self.n_diff} of {self.size} values differ, first at "
             f"{list(self.first_index)}: expected {self.expected}, got {self.got}")
        if self.layer:
            s += f"; first diverging layer {self.layer}: {self.layer_detail}"
        return s


@dataclass
class ValidationResult:
    target: str
    count: int
    matched: int
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.count > 0 and self.matched == self.count and not self.mismatches

    @property
    def total(self) -> int:  # the host result's old name for count
        return self.count

    def verdict_line(self) -> str:
        return (f"validate: {'PASS' if self.passed else 'FAIL'}, {self.matched}/{self.count} outputs "
                f"bit-identical to the reference")

    def mismatch_lines(self, limit: int = 5) -> list[str]:
        lines = ["MISMATCH " + m.describe() for m in self.mismatches[:limit]]
        if len(self.mismatches) > limit:
            lines.append(f"... and {len(self.mismatches) - limit} more mismatching samples")
        return lines

    def summary_text(self) -> str:
        return "\n".join([self.verdict_line(), f"target: {self.target}", *self.mismatch_lines()])


# -- inputs ------------------------------------------------------------------------------------

def load_inputs(program, inputs=None, count: int = 10, seed: int = 0) -> list[np.ndarray]:
    """One [N, ...] integer array per model input: seeded random over the valid range (inputs
    None), loaded from an .npy path (float is quantized), or given arrays (already quantized)."""
    if inputs is None:
        rng = np.random.default_rng(seed)
        return [rng.integers(s.qmin, s.qmax + 1, (count, *s.shape[1:])).astype(s.dtype) for s in program.inputs]
    if isinstance(inputs, (str, Path)):
        return _npy_inputs(program, Path(inputs), count)
    return _given_inputs(program, inputs)


def _npy_inputs(program, path: Path, count: int) -> list[np.ndarray]:
    try:
        arr = np.load(path)
    except Exception as e:
        raise TinygenError(f"{path}: cannot read inputs ({e})") from None
    spec = program.inputs[0]
    if arr.shape == tuple(spec.shape[1:]):
        arr = arr[None]
    if tuple(arr.shape[1:]) != tuple(spec.shape[1:]):
        raise TinygenError(f"{path}: inputs must have shape [N, {', '.join(map(str, spec.shape[1:]))}] "
                           f"({spec.layout or 'flat'}), got {list(arr.shape)}")
    if np.issubdtype(arr.dtype, np.floating):
        arr = program.quantize(arr)
    elif arr.dtype != spec.dtype:
        raise TinygenError(f"{path}: integer inputs must be {spec.dtype}, got {arr.dtype}")
    return [arr[:count] if count else arr]


def _given_inputs(program, inputs) -> list[np.ndarray]:
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if len(arrays) != len(program.inputs):
        raise TinygenError(f"the model takes {len(program.inputs)} inputs, {len(arrays)} given")
    out = []
    for a, s in zip(arrays, program.inputs):
        a = np.asarray(a)
        if a.shape == tuple(s.shape[1:]):
            a = a[None]
        if a.shape[1:] != tuple(s.shape[1:]):
            raise TinygenError(f"input {s.name!r} must have shape [N, {', '.join(map(str, s.shape[1:]))}], "
                               f"got {list(a.shape)}")
        if a.dtype != s.dtype:
            raise TinygenError(f"input {s.name!r} must be {s.dtype} (quantize it first: program.quantize), got {a.dtype}")
        out.append(a)
    if len({a.shape[0] for a in out}) != 1:
        raise TinygenError("all inputs must have the same number of samples")
    return out


# -- comparison --------------------------------------------------------------------------------

def _diff(expected: np.ndarray, got: np.ndarray) -> tuple[int, tuple[int, ...], int, int]:
    bad = np.argwhere(expected != got)
    first = tuple(int(i) for i in bad[0])
    return len(bad), first, int(expected[first]), int(got[first])


def compare_sample(index: int, names: list[str], refs: list[np.ndarray], outs: list[np.ndarray]) -> Mismatch | None:
    """The first output of sample `index` that is not bit-identical to the reference, or None."""
    for name, ref, got in zip(names, refs, outs):
        exp = ref[index:index + 1]
        got = np.asarray(got).reshape(exp.shape)
        if not np.array_equal(exp, got):
            n, first, e, g = _diff(exp, got)
            return Mismatch(index, name, n, exp.size, first, e, g)
    return None


def first_diverging_layer(program, sample_inputs: list[np.ndarray], layers: dict[int, bytes]) -> tuple[str, str]:
    """(label, detail) of the first layer, in execution order, whose captured output bytes differ
    from the reference's; `layers` maps layer index -> raw little-endian output bytes."""
    env = interpreter.run(program.graph, sample_inputs, keep_all=True)
    for idx, node in enumerate(program.graph.nodes):
        ref = np.asarray(env[node.outputs[0]])[0]
        raw = layers.get(idx)
        label = f"L{idx} {node.name} ({node.op}, from {node.source})" if node.source else f"L{idx} {node.name} ({node.op})"
        if raw is None:
            return label, "no output captured for this layer"
        got = np.frombuffer(raw, dtype=ref.dtype.newbyteorder("<"))
        if got.size != ref.size:
            return label, f"captured tensor has {got.size} values, reference {ref.size}"
        got = got.astype(ref.dtype).reshape(ref.shape)
        if not np.array_equal(got, ref):
            n, first, e, g = _diff(ref, got)
            return label, f"{n} of {ref.size} values differ, first at {list(first)}: expected {e}, got {g}"
    return "", "every layer matches; the difference is in the output copy"


def check_samples(program, arrays: list[np.ndarray], refs: list[np.ndarray],
                  run_sample: Callable[[int, list[np.ndarray]], list[np.ndarray]],
                  dump_layers: Callable[[list[np.ndarray]], dict[int, bytes]],
                  progress: Progress | None = None) -> tuple[int, list[Mismatch]]:
    """Run every sample through a target and compare; on a mismatch, dump that sample's layers
    and name the first diverging one. Returns (matched, mismatches)."""
    n = arrays[0].shape[0]
    names = [s.name for s in program.outputs]
    matched, mismatches = 0, []
    for i in range(n):
        sample = [a[i:i + 1] for a in arrays]
        bad = compare_sample(i, names, refs, run_sample(i, sample))
        if bad is None:
            matched += 1
        else:
            bad.layer, bad.layer_detail = first_diverging_layer(program, sample, dump_layers(sample))
            mismatches.append(bad)
        if progress:
            progress(i + 1, n)
    return matched, mismatches


def as_list(x) -> list[np.ndarray]:
    return list(x) if isinstance(x, (list, tuple)) else [x]
