"""What kernel selection knows of the machine the code will run on."""

from __future__ import annotations

from dataclasses import dataclass

# Cores with the ARMv7E-M DSP extension (SXTB16, SMLAD, QADD8, ...).
DSP_CORES = frozenset({"cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"})


@dataclass(frozen=True)
class Target:
    name: str
    features: frozenset[str]  # "dsp": ARMv7E-M SIMD; "fpu": single-precision float unit


# The host runs every variant: tg_dsp.h gives each DSP intrinsic a portable C definition, so the
# host tier tests the algorithm of the optimized kernels and the QEMU tier their instructions.
HOST = Target("host", frozenset({"dsp", "fpu"}))


def target_of(board) -> Target:
    """A `tinygen.boards.Board` (or "host") -> its Target."""
    if board == "host" or board is None:
        return HOST
    features = set()
    if board.core in DSP_CORES:
        features.add("dsp")
    if board.fpu and board.fpu != "none":
        features.add("fpu")
    return Target(board.core, frozenset(features))
