"""Host driver: the generated C compiled for this machine, checked bit for bit against the numpy
reference by the validation core. On a mismatch it reruns that input layer by layer (through
the generated `_invoke_hooked` entry point) to name the first diverging layer.
"""

from __future__ import annotations

from tinygen.reference import interpreter
from tinygen.validation.core import Mismatch, Progress, ValidationResult, as_list, check_samples, load_inputs

__all__ = ["Mismatch", "ValidationResult", "make_inputs", "validate_host"]


def make_inputs(program, count: int, seed: int, inputs_path=None):
    """Seeded random inputs or an .npy file: the same ones `validate --qemu/--port` uses."""
    return load_inputs(program, inputs_path, count, seed)


def validate_host(program, count: int = 100, seed: int = 0, inputs=None,
                  progress: Progress | None = None) -> ValidationResult:
    arrays = load_inputs(program, inputs, count, seed)
    refs = as_list(interpreter.run(program.graph, arrays))
    host = program._host_model()
    matched, mismatches = check_samples(program, arrays, refs, lambda _i, sample: host.invoke_one(sample),
                                        lambda sample: host.invoke_layers(sample)[1], progress)
    return ValidationResult("host (generated C, gcc)", arrays[0].shape[0], matched, mismatches)
