"""`validate`: run inputs through the firmware (QEMU stand-in or a real board) and prove every
output bit-identical to the numpy reference.

`inputs` may be arrays ([N, ...] per model input, or one sample), an .npy path, or None for
seeded random inputs (tinygen.validate.make_inputs, the same ones `validate --host` uses).

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
from typing import Callable

import numpy as np

from tinygen.boards import firmware_target, load_board
from tinygen.device import protocol as P
from tinygen.device.session import Session
from tinygen.errors import TinygenError

Progress = Callable[[int, int], None]


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
    target: str  # what ran: "mps2-an386" or the port
    board: str  # the board the firmware represents
    emulated: bool
    unit: str  # "emulated instructions" or "cycles"
    count: int
    matched: int
    latencies: list[int]
    clock_hz: int
    info: P.DeviceInfo
    stack_peak: int = 0
    profile: list[LayerProfile] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    exit_code: int | None = None
    macs: int = 0

    @property
    def passed(self) -> bool:
        return self.count > 0 and self.matched == self.count and not self.mismatches

    @property
    def latency(self) -> int | None:
        return max(self.latencies) if self.latencies else None

    def ms(self, count: int) -> float | None:
        return None if self.emulated or not self.clock_hz else count * 1e3 / self.clock_hz

    def summary_text(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        where = (f"QEMU {self.target} standing in for {self.board}" if self.emulated
                 else f"{self.board} on {self.target} at {self.clock_hz / 1e6:.0f} MHz")
        lines = [f"validate: {verdict}, {self.matched}/{self.count} outputs bit-identical to the reference",
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
        lines.append(f"memory: arena {self.info.arena_bytes:,} B, stack peak {self.stack_peak:,} B "
                     f"of {self.info.stack_bytes:,} B reserved")
        if self.profile:
            total = sum(p.count for p in self.profile) or 1
            unit = "instr" if self.emulated else "cycles"
            lines.append(f"  {'#':>3}  {'layer':<20} {'op':<12} {unit:>12} {'share':>6} {'MACs':>10} {unit + '/MAC':>11}")
            for p in self.profile:
                pm = f"{p.per_mac:.2f}" if p.per_mac is not None else "-"
                lines.append(f"  {p.index:>3}  {p.name[:20]:<20} {p.op[:12]:<12} {p.count:>12,} "
                             f"{100 * p.count / total:>5.1f}% {p.macs:>10,} {pm:>11}")
        for m in self.mismatches[:5]:
            lines.append("MISMATCH " + m.describe())
        if len(self.mismatches) > 5:
            lines.append(f"... and {len(self.mismatches) - 5} more mismatching samples")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "passed": self.passed, "target": self.target, "board": self.board, "emulated": self.emulated,
            "unit": self.unit, "count": self.count, "matched": self.matched, "latencies": self.latencies,
            "clock_hz": self.clock_hz, "stack_peak": self.stack_peak, "macs": self.macs,
            "model_hash": self.info.model_hash.hex(), "arena_bytes": self.info.arena_bytes,
            "profile": [{"index": p.index, "name": p.name, "op": p.op, "count": p.count, "macs": p.macs}
                        for p in self.profile],
            "mismatches": [m.describe() for m in self.mismatches], "exit_code": self.exit_code,
        }


# -- inputs ------------------------------------------------------------------------------------

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


def _as_list(x) -> list[np.ndarray]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


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


def _diff(expected: np.ndarray, got: np.ndarray) -> tuple[int, tuple[int, ...], int, int]:
    bad = np.argwhere(expected != got)
    first = tuple(int(i) for i in bad[0])
    return len(bad), first, int(expected[first]), int(got[first])


def first_diverging_layer(program, sample_inputs: list[np.ndarray], layers: dict[int, bytes]) -> tuple[str, str]:
    """Compare DUMP'ed layer outputs with the reference's, in execution order."""
    from tinygen.reference import interpreter

    env = interpreter.run(program.graph, sample_inputs, keep_all=True)
    for idx, node in enumerate(program.graph.nodes):
        ref = np.asarray(env[node.outputs[0]])[0]
        raw = layers.get(idx)
        label = f"L{idx} {node.name} ({node.op})"
        if raw is None:
            return label, "no dump received for this layer"
        got = np.frombuffer(raw, dtype=ref.dtype.newbyteorder("<"))
        if got.size != ref.size:
            return label, f"device tensor has {got.size} values, reference {ref.size}"
        got = got.astype(ref.dtype).reshape(ref.shape)
        if not np.array_equal(got, ref):
            n, first, e, g = _diff(ref, got)
            return label, f"{n} of {ref.size} values differ, first at {list(first)}: expected {e}, got {g}"
    return "", "every layer matches; the difference is in the output copy"


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
                 progress: Progress | None, target: str, board: str) -> ValidationResult:
    info = session.hello()
    check_handshake(info, program)
    conv = _Converter(info)
    n = arrays[0].shape[0]
    out_names = [s.name for s in program.outputs]
    latencies, mismatches, matched, peak = [], [], 0, 0
    for i in range(n):
        sample = [a[i:i + 1] for a in arrays]
        r = session.run(sample)
        if r.status != 0:
            raise TinygenError(f"the model's invoke returned {r.status} on sample {i}")
        latencies.append(conv(r.ticks))
        peak = max(peak, r.stack_peak)
        bad = None
        for name, ref, got in zip(out_names, refs, r.outputs):
            exp = ref[i:i + 1].reshape(got.shape)
            if not np.array_equal(exp, got):
                cnt, first, e, g = _diff(exp, got)
                bad = Mismatch(i, name, cnt, exp.size, first, e, g)
                break
        if bad is None:
            matched += 1
        else:
            dump = session.run(sample, P.DUMP)
            bad.layer, bad.layer_detail = first_diverging_layer(program, sample, dump.layers or {})
            mismatches.append(bad)
        if progress:
            progress(i + 1, n)
    layers = []
    if profile and n:
        r = session.run([a[0:1] for a in arrays], P.PROFILE)
        from tinygen.ops.base import get

        for idx, (node, ticks) in enumerate(zip(program.graph.nodes, r.layer_ticks or [])):
            layers.append(LayerProfile(idx, node.name, node.op, conv(ticks), get(node.op).macs(node, program.graph)))
    macs = _total_macs(program)
    if not conv.emulated:
        board = info.target  # what the board actually runs, as the firmware reports it
    return ValidationResult(target, board, conv.emulated, conv.unit, n, matched, latencies, info.clock_hz, info,
                            peak, layers, mismatches, None, macs)


def _total_macs(program) -> int:
    from tinygen.ops.base import get

    return int(sum(get(node.op).macs(node, program.graph) for node in program.graph.nodes))


def validate(program, *, qemu: bool = False, port: str | None = None, inputs=None, count: int = 10, seed: int = 0,
             profile: bool = False, progress: Progress | None = None, board: str | None = None,
             emulator: str | None = None, baud: int = 115200, timeout: float = 20.0,
             rebuild: bool = False) -> ValidationResult:
    """Validate `program` (a tinygen.Program) on QEMU (qemu=True) or a board on `port`."""
    if qemu == (port is not None):
        raise TinygenError("choose exactly one target: qemu=True or port=...")
    if inputs is None or isinstance(inputs, (str, Path)):
        # The same seeded inputs (or .npy loading and quantization) as host validation.
        from tinygen.validate import make_inputs

        arrays = make_inputs(program, count, seed, inputs)
    else:
        arrays = _given_inputs(program, inputs)
    if arrays[0].shape[0] == 0:
        raise TinygenError("no inputs to validate (count is 0)")
    refs = [np.asarray(r) for r in _as_list(program.reference(*arrays))]
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
    if result.exit_code != 0:
        raise TinygenError(f"QEMU {target.name} ended badly: {describe_exit(result.exit_code)}")
    return result


def _validate_port(program, board_name, port, baud, arrays, refs, profile, progress, timeout):
    from tinygen.device.serial_link import open_serial

    board = load_board(board_name)
    link = open_serial(port, baud)
    try:
        session = Session(link, timeout=timeout)
        session.wait_boot(0.3)  # present only if the board was just reset; harmless otherwise
        return _run_session(session, program, arrays, refs, profile, progress, port, board.name)
    finally:
        link.close()
