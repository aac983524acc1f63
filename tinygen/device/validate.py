"""`validate`: run inputs through the firmware (QEMU stand-in or a real board) and prove every
output bit-identical to the numpy reference.

`inputs` may be arrays ([N, ...] per model input, or one sample), an .npy path, or None for
seeded random inputs (tinygen.validation.core.load_inputs, the same ones `validate --host` uses).
Comparison, the first diverging layer and the mismatch report come from the validation core;
this driver adds the handshake, the latency counts and the profile.

Steps: handshake (refuse firmware built from other model source: the INFO model hash must equal
sha256(DIR/model/<prefix>.c)[:8], and the tensor specs must match), send N seeded random (or
given) inputs with RUN, compare with `program.reference` by `np.array_equal`; on a mismatch,
replay that input with DUMP and name the first layer whose output differs from the reference.
Latency: exact emulated instruction counts under QEMU (never called cycles), DWT cycles and
milliseconds at the board clock on hardware; with profile=True also per layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinygen.boards import firmware_target, load_board
from tinygen.device import protocol as P
from tinygen.device.session import Session
from tinygen.errors import TinygenError
from tinygen.validation import core
from tinygen.validation.core import Mismatch, Progress, first_diverging_layer

__all__ = ["DeviceValidationResult", "Mismatch", "ValidationResult", "check_handshake", "first_diverging_layer",
           "validate"]


@dataclass
class LayerProfile:
    index: int
    name: str
    op: str
    count: int  # instructions (QEMU) or cycles (board)
    macs: int

    @property
    def per_mac(self) -> float | None:
        return self.count / self.macs if self.macs else None


@dataclass(kw_only=True)
class DeviceValidationResult(core.ValidationResult):
    """target: what ran ("mps2-an386" or the port); board: the board the firmware represents."""
    board: str
    emulated: bool
    unit: str  # "emulated instructions" or "cycles"
    latencies: list[int]
    clock_hz: int
    info: P.DeviceInfo
    stack_peak: int = 0
    stack_worst: int | None = None  # thread stack worst case from the call graph (firmware.json)
    profile: list[LayerProfile] = field(default_factory=list)
    exit_code: int | None = None
    macs: int = 0

    @property
    def latency(self) -> int | None:
        return max(self.latencies) if self.latencies else None

    def ms(self, count: int) -> float | None:
        return None if self.emulated or not self.clock_hz else count * 1e3 / self.clock_hz

    def summary_text(self) -> str:
        where = (f"QEMU {self.target} standing in for {self.board}" if self.emulated
                 else f"{self.board} on {self.target} at {self.clock_hz / 1e6:.0f} MHz")
        lines = [self.verdict_line(),
                 f"target: {where}; firmware {self.info.version}, model {self.info.prefix} {self.info.model_hash.hex()}"]
        if self.info.status_text and not self.emulated:
            lines.append("board bring-up: " + "; ".join(self.info.status_text))
        if self.latencies:
            lo, hi = min(self.latencies), max(self.latencies)
            lat = f"latency: {hi:,} {self.unit} per inference"
            if lo != hi:
                lat += f" (min {lo:,})"
            if self.emulated:
                lat += " - exact instruction counts from -icount, not cycles"
            else:
                lat += f" = {self.ms(hi):.3f} ms"
            if self.macs:
                lat += f"; {hi / self.macs:.2f} per MAC over {self.macs:,} MACs"
            lines.append(lat)
        worst = f", worst case {self.stack_worst:,} B from the call graph of the firmware run" if self.stack_worst else ""
        lines.append(f"memory: arena {self.info.arena_bytes:,} B, stack peak {self.stack_peak:,} B measured{worst}, "
                     f"{self.info.stack_bytes:,} B reserved")
        if self.profile:
            total = sum(p.count for p in self.profile) or 1
            unit = "instr" if self.emulated else "cycles"
            lines.append(f"  {'#':>3}  {'layer':<20} {'op':<12} {unit:>12} {'share':>6} {'MACs':>10} {unit + '/MAC':>11}")
            for p in self.profile:
                pm = f"{p.per_mac:.2f}" if p.per_mac is not None else "-"
                lines.append(f"  {p.index:>3}  {p.name[:20]:<20} {p.op[:12]:<12} {p.count:>12,} "
                             f"{100 * p.count / total:>5.1f}% {p.macs:>10,} {pm:>11}")
        lines += self.mismatch_lines()
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "passed": self.passed, "target": self.target, "board": self.board, "emulated": self.emulated,
            "unit": self.unit, "count": self.count, "matched": self.matched, "latencies": self.latencies,
            "clock_hz": self.clock_hz, "stack_peak": self.stack_peak, "stack_worst": self.stack_worst,
            "macs": self.macs,
            "model_hash": self.info.model_hash.hex(), "arena_bytes": self.info.arena_bytes,
            "profile": [{"index": p.index, "name": p.name, "op": p.op, "count": p.count, "macs": p.macs}
                        for p in self.profile],
            "mismatches": [m.describe() for m in self.mismatches], "exit_code": self.exit_code,
        }


# -- checks ------------------------------------------------------------------------------------

def expected_hash(program) -> bytes:
    from tinygen.compile.firmware import model_hash

    return model_hash(Path(program.out_dir) / "model", program.prefix)


def check_handshake(info: P.DeviceInfo, program) -> None:
    want = expected_hash(program)
    if info.model_hash != want:
        raise TinygenError(f"the firmware runs model {info.prefix} {info.model_hash.hex()}, but "
                           f"{program.out_dir}/model/{program.prefix}.c is {want.hex()}: "
                           "flash the firmware built from this directory (tinygen flash) and retry")
    for role, mine, theirs in (("input", program.inputs, info.inputs), ("output", program.outputs, info.outputs)):
        if len(mine) != len(theirs):
            raise TinygenError(f"firmware has {len(theirs)} {role}s, the model {len(mine)}")
        for a, b in zip(mine, theirs):
            if tuple(a.shape) != tuple(b.shape) or np.dtype(a.dtype) != b.dtype:
                raise TinygenError(f"{role} {a.name!r}: firmware has {b.dtype} {list(b.shape)}, "
                                   f"the model {a.dtype} {list(a.shape)}")


# -- counts ------------------------------------------------------------------------------------

class _Converter:
    """Raw counter ticks -> instructions (QEMU, exact by rounding) or cycles (board)."""

    def __init__(self, info: P.DeviceInfo):
        self.emulated = info.virtual_time
        if self.emulated:
            spec = load_board(info.target).qemu
            if spec is None:
                raise TinygenError(f"firmware reports virtual time but {info.target} is not a QEMU stand-in")
            self.scale = spec.instructions_per_tick
            self.unit = "emulated instructions"
        else:
            if info.counter_hz != info.clock_hz:
                self.scale = info.clock_hz / info.counter_hz
            else:
                self.scale = 1.0
            self.unit = "cycles"
        self.overhead = round(info.counter_overhead * self.scale)

    def __call__(self, ticks: int) -> int:
        return max(0, round(ticks * self.scale) - self.overhead)


# -- the run -------------------------------------------------------------------------------------

def _run_session(session: Session, program, arrays: list[np.ndarray], refs: list[np.ndarray], profile: bool,
                 progress: Progress | None, target: str, board: str) -> DeviceValidationResult:
    info = session.hello()
    check_handshake(info, program)
    conv = _Converter(info)
    n = arrays[0].shape[0]
    latencies, peak = [], [0]

    def run_sample(i: int, sample: list[np.ndarray]) -> list[np.ndarray]:
        r = session.run(sample)
        if r.status != 0:
            raise TinygenError(f"the model's invoke returned {r.status} on sample {i}")
        latencies.append(conv(r.ticks))
        peak[0] = max(peak[0], r.stack_peak)
        return r.outputs

    matched, mismatches = core.check_samples(program, arrays, refs, run_sample,
                                             lambda sample: session.run(sample, P.DUMP).layers or {}, progress)
    layers = []
    if profile and n:
        r = session.run([a[0:1] for a in arrays], P.PROFILE)
        from tinygen.ops.base import get

        for idx, (node, ticks) in enumerate(zip(program.graph.nodes, r.layer_ticks or [])):
            layers.append(LayerProfile(idx, node.name, node.op, conv(ticks), get(node.op).macs(node, program.graph)))
    macs = _total_macs(program)
    if not conv.emulated:
        board = info.target  # what the board actually runs, as the firmware reports it
    return DeviceValidationResult(target=target, count=n, matched=matched, mismatches=mismatches, board=board,
                                  emulated=conv.emulated, unit=conv.unit, latencies=latencies, clock_hz=info.clock_hz,
                                  info=info, stack_peak=peak[0], profile=layers, exit_code=None, macs=macs)


def _total_macs(program) -> int:
    from tinygen.ops.base import get

    return int(sum(get(node.op).macs(node, program.graph) for node in program.graph.nodes))


def validate(program, *, qemu: bool = False, port: str | None = None, inputs=None, count: int = 10, seed: int = 0,
             profile: bool = False, progress: Progress | None = None, board: str | None = None,
             emulator: str | None = None, baud: int = 115200, timeout: float = 20.0,
             rebuild: bool = False) -> DeviceValidationResult:
    """Validate `program` (a tinygen.Program) on QEMU (qemu=True) or a board on `port`."""
    if qemu == (port is not None):
        raise TinygenError("choose exactly one target: qemu=True or port=...")
    arrays = core.load_inputs(program, inputs, count, seed)  # the same ones as host validation
    if arrays[0].shape[0] == 0:
        raise TinygenError("no inputs to validate (count is 0)")
    refs = [np.asarray(r) for r in core.as_list(program.reference(*arrays))]
    board_name = board or program.board
    if qemu:
        return _validate_qemu(program, board_name, emulator, arrays, refs, profile, progress, timeout, rebuild)
    return _validate_port(program, board_name, port, baud, arrays, refs, profile, progress, timeout)


def _validate_qemu(program, board_name, emulator, arrays, refs, profile, progress, timeout, rebuild):
    from tinygen.compile.firmware import build_firmware, config_name, firmware_elf
    from tinygen.device.qemu import QemuTarget, describe_exit

    target, limits = firmware_target(board_name, emulate=True, emulator=emulator)
    elf = firmware_elf(program.out_dir, config_name(board_name, True, emulator))
    meta = elf.parent / "firmware.json"
    stale = (rebuild or not elf.exists() or not meta.exists()
             or json.loads(meta.read_text()).get("model_hash") != expected_hash(program).hex()
             or json.loads(meta.read_text()).get("limits") != limits.name)
    if stale:
        build_firmware(program.out_dir, program.prefix, board_name, emulate=True, emulator=emulator)
    n_bytes = sum(a.nbytes for a in arrays)
    with QemuTarget(elf, target, timeout=max(120.0, timeout + n_bytes / 4000.0)) as q:
        session = Session(q.link, timeout=timeout, on_exit=q.poll)
        if not session.wait_boot(timeout):
            raise TinygenError(f"no BOOT frame from {target.name} within {timeout:.0f} s; QEMU log: "
                               + (q.log().strip()[-400:] or "empty"))
        result = _run_session(session, program, arrays, refs, profile, progress, target.name, limits.name)
        session.exit(0)
        code = q.wait(5.0)
    result.exit_code = q.returncode if code is None else code
    result.stack_worst = _stack_worst(meta)
    if result.exit_code != 0:
        raise TinygenError(f"QEMU {target.name} ended badly: {describe_exit(result.exit_code)}")
    return result


def _stack_worst(meta: Path) -> int | None:
    """The thread stack's call-graph worst case recorded by the firmware build, if readable."""
    try:
        return int(json.loads(meta.read_text())["stack"]["thread_stack_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _validate_port(program, board_name, port, baud, arrays, refs, profile, progress, timeout):
    from tinygen.device.serial_link import open_serial

    board = load_board(board_name)
    link = open_serial(port, baud)
    try:
        session = Session(link, timeout=timeout)
        session.wait_boot(0.3)  # present only if the board was just reset; harmless otherwise
        result = _run_session(session, program, arrays, refs, profile, progress, port, board.name)
    finally:
        link.close()
    from tinygen.compile.firmware import config_name, firmware_elf

    result.stack_worst = _stack_worst(firmware_elf(program.out_dir, config_name(board_name)).parent / "firmware.json")
    return result


ValidationResult = DeviceValidationResult  # the name callers of this driver know
TickConverter = _Converter  # raw ticks -> instructions or cycles, for other drivers (tinygen/spnet)
