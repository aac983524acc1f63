"""Compare a built program with its numpy reference, input by input, bit for bit.

`validate_host` runs the generated C compiled for this machine. On a mismatch it reruns that
input layer by layer (through the generated `_invoke_hooked` entry point) and names the first
layer whose output differs from the reference's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinygen.errors import TinygenError
from tinygen.reference import interpreter


@dataclass
class Mismatch:
    sample: int
    output: int
    count: int  # differing elements
    first_index: tuple[int, ...]
    got: int
    expected: int
    layer: str = ""  # first diverging layer, when known

    def describe(self) -> str:
        where = f"; first diverging layer: {self.layer}" if self.layer else ""
        return (f"input #{self.sample} output {self.output}: {self.count} element(s) differ, first at "
                f"{list(self.first_index)} (got {self.got}, expected {self.expected}){where}")


@dataclass
class ValidationResult:
    target: str
    total: int
    matched: int
    mismatches: list[Mismatch] = field(default_factory=list)
    latency: str = ""

    @property
    def passed(self) -> bool:
        return self.total > 0 and self.matched == self.total

    def summary_text(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [f"{verdict}: {self.matched}/{self.total} inputs bit-identical to the reference on {self.target}"]
        lines += [f"  {m.describe()}" for m in self.mismatches[:5]]
        if len(self.mismatches) > 5:
            lines.append(f"  ... and {len(self.mismatches) - 5} more")
        if self.latency:
            lines.append(f"  latency: {self.latency}")
        return "\n".join(lines)


def make_inputs(program, count: int, seed: int, inputs_path: str | Path | None) -> list[np.ndarray]:
    """One [count, ...] int array per model input: seeded random over the valid integer range,
    or loaded from an .npy file (int8 as is; float is quantized, device layout expected)."""
    if inputs_path is not None:
        path = Path(inputs_path)
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
    rng = np.random.default_rng(seed)
    return [rng.integers(s.qmin, s.qmax + 1, (count, *s.shape[1:])).astype(s.dtype) for s in program.inputs]


def first_diverging_layer(program, sample: list[np.ndarray], captured: dict[int, bytes]) -> str:
    env = interpreter.run(program.graph, sample, keep_all=True)
    for i, node in enumerate(program.graph.nodes):
        expected = np.ascontiguousarray(env[node.outputs[0]]).tobytes()
        if captured.get(i) != expected:
            return f"L{i} {node.op} '{node.name}' (from {node.source})"
    return ""


def compare(target: str, reference: list[np.ndarray], run_one: Callable[[int], list[np.ndarray]], total: int,
            locate: Callable[[int], str] | None = None, progress: Callable[[int, int], None] | None = None,
            ) -> ValidationResult:
    result = ValidationResult(target, total, 0)
    for b in range(total):
        outs = run_one(b)
        ok = True
        for k, (got, exp) in enumerate(zip(outs, reference)):
            exp_b = exp[b:b + 1]
            got = np.asarray(got).reshape(exp_b.shape)
            if not np.array_equal(got, exp_b):
                ok = False
                diff = np.argwhere(got != exp_b)
                idx = tuple(int(v) for v in diff[0])
                result.mismatches.append(Mismatch(b, k, len(diff), idx, int(got[idx]), int(exp_b[idx]),
                                                  locate(b) if locate else ""))
        result.matched += ok
        if progress:
            progress(b + 1, total)
    return result


def validate_host(program, count: int = 100, seed: int = 0, inputs=None, progress=None) -> ValidationResult:
    data = make_inputs(program, count, seed, inputs)
    n = data[0].shape[0]
    reference = interpreter.run(program.graph, data)
    host = program._host_model()

    def run_one(b):
        return host.invoke_one([x[b:b + 1] for x in data])

    def locate(b):
        sample = [x[b:b + 1] for x in data]
        _, captured = host.invoke_layers(sample)
        return first_diverging_layer(program, sample, captured)

    return compare("host (generated C, gcc)", reference, run_one, n, locate, progress)


def tty_progress(label: str):
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r{label}: {done}/{total}", end=end, file=sys.stderr, flush=True)
    return show
