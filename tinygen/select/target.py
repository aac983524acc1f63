"""What kernel selection knows of the machine the code will run on."""

from __future__ import annotations

from dataclasses import dataclass

# Cores with the ARMv7E-M DSP extension (SXTB16, SMLAD, QADD8, ...).
DSP_CORES = frozenset({"cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"})


# Boards with at least this much flash take kernels that spend flash on speed (e.g. tg_add_s8_lut's
# 2 KB of tables per layer): feature "roomy_flash". Below it (the F446RE's 512 KB) flash is what
# decides whether a MobileNet fits, so those kernels are not chosen.
ROOMY_FLASH_BYTES = 1 << 20


@dataclass(frozen=True)
class Target:
    name: str
    features: frozenset[str]  # "dsp": ARMv7E-M SIMD; "fpu": single-precision float unit; "roomy_flash"


# The host runs every variant: tg_dsp.h gives each DSP intrinsic a portable C definition, so the
# host tier tests the algorithm of the optimized kernels and the QEMU tier their instructions.
HOST = Target("host", frozenset({"dsp", "fpu", "roomy_flash"}))


def target_of(board) -> Target:
    """A `tinygen.boards.Board` (or "host") -> its Target."""
    if board == "host" or board is None:
        return HOST
    features = set()
    if board.core in DSP_CORES:
        features.add("dsp")
    if board.fpu and board.fpu != "none":
        features.add("fpu")
    from tinygen.boards import firmware_target

    if firmware_target(board)[1].flash_bytes >= ROOMY_FLASH_BYTES:  # a QEMU stand-in: its real board's
        features.add("roomy_flash")
    return Target(board.core, frozenset(features))
