"""`tinygen validate` of an SP-Net build: every switch (or the chosen ones) bit-exact against its
own numpy reference, on the host or under QEMU / on a board, with per-switch latency.

On a device one session serves all switches, and the inferences interleave the switches (sample
i runs every switch, in an order rotated by i), so switching back and forth between inferences
is exercised on every run; each output must still equal that switch's reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinygen.errors import TinygenError
from tinygen.validation import core


@dataclass
class SwitchResult:
    bits: int
    count: int
    matched: int
    mismatches: list = field(default_factory=list)
    latencies: list[int] = field(default_factory=list)
    macs: int = 0
    profile: list = field(default_factory=list)  # (layer, name, op, count, MACs) with profile=True

    @property
    def passed(self) -> bool:
        return self.count > 0 and self.matched == self.count and not self.mismatches


@dataclass
class SPNetValidation:
    target: str
    unit: str
    switches: list[SwitchResult]

    @property
    def passed(self) -> bool:
        return bool(self.switches) and all(s.passed for s in self.switches)

    def summary_text(self) -> str:
        ok = sum(s.matched for s in self.switches)
        n = sum(s.count for s in self.switches)
        lines = [f"validate: {'PASS' if self.passed else 'FAIL'}, {ok}/{n} outputs bit-identical to their "
                 f"switch's reference ({len(self.switches)} switch{'es' if len(self.switches) != 1 else ''}), target: {self.target}"]
        for s in self.switches:
            line = f"  {s.bits} bits: {s.matched}/{s.count} bit-identical"
            if s.latencies:
                hi = max(s.latencies)
                line += f", latency {hi:,} {self.unit}"
                if s.macs:
                    line += f" ({hi / s.macs:.2f} per MAC over {s.macs:,} MACs)"
            lines.append(line)
            lines += ["    MISMATCH " + m.describe() for m in s.mismatches[:3]]
            for idx, name, op, n, macs in s.profile:
                per = f"{n / macs:.2f}/MAC" if macs else ""
                lines.append(f"    L{idx:<3} {name[:24]:<24} {op[:14]:<14} {n:>12,} {per}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"passed": self.passed, "target": self.target, "unit": self.unit,
                "switches": [{"bits": s.bits, "count": s.count, "matched": s.matched, "latencies": s.latencies,
                              "macs": s.macs, "mismatches": [m.describe() for m in s.mismatches],
                              "profile": [{"index": i, "name": nm, "op": op, "count": n, "macs": m}
                                          for i, nm, op, n, m in s.profile]}
                             for s in self.switches]}


def _chosen(program, switches) -> list[int]:
    if not switches:
        return program.bits
    bad = [k for k in switches if k not in program.switches]
    if bad:
        raise TinygenError(f"{program.out_dir}: no switch with {bad[0]} bits; the build has {program.bits} "
                           "(use --switch with one of them)")
    return list(switches)


def _macs(sw) -> int:
    from tinygen.ops.base import get

    return int(sum(get(n.op).macs(n, sw.graph) for n in sw.graph.nodes))


def validate_host(program, count: int = 100, seed: int = 0, inputs=None, switches=None) -> SPNetValidation:
    results = []
    for bits in _chosen(program, switches):
        sw = program[bits]
        arrays = core.load_inputs(sw, inputs, count, seed)
        refs = core.as_list(sw.reference(*arrays))
        host = sw._host_model()
        matched, mismatches = core.check_samples(sw, arrays, refs, lambda _i, s: host.invoke_one(s),
                                                 lambda s: host.invoke_layers(s)[1])
        results.append(SwitchResult(bits, arrays[0].shape[0], matched, mismatches, macs=_macs(sw)))
    return SPNetValidation("host (generated C, gcc)", "", results)


def validate_device(program, *, qemu: bool = False, port: str | None = None, count: int = 10, seed: int = 0,
                    inputs=None, switches=None, board: str | None = None, emulator: str | None = None,
                    baud: int = 115200, timeout: float = 20.0, rebuild: bool = False,
                    profile: bool = False) -> SPNetValidation:
    """One session (QEMU or a board): every chosen switch on the same inputs, interleaved;
    `profile` adds each switch's per-layer counts on the first input."""
    from tinygen.boards import firmware_target, load_board
    from tinygen.device.session import Session
    from tinygen.device.validate import TickConverter, check_handshake
    from tinygen.spnet.program import DeviceSwitchView

    if qemu == (port is not None):
        raise TinygenError("choose exactly one target: qemu=True or port=...")
    chosen = _chosen(program, switches)
    first = program[chosen[0]]
    x = core.load_inputs(first, inputs, count, seed)[0]
    if x.shape[0] == 0:
        raise TinygenError("no inputs to validate (count is 0)")
    views = {k: DeviceSwitchView(program[k]) for k in chosen}
    refs = {k: np.asarray(program[k].reference(x)) for k in chosen}
    board_name = board or program.board

    def session_run(session: Session, target: str) -> SPNetValidation:
        info = session.hello()
        check_handshake(info, views[chosen[0]])
        conv = TickConverter(info)
        results = {k: SwitchResult(k, 0, 0, macs=_macs(program[k])) for k in chosen}
        for i in range(x.shape[0]):
            for j in range(len(chosen)):
                k = chosen[(i + j) % len(chosen)]
                sel = np.full((1, 1), k, np.int32)
                r = session.run([x[i:i + 1], sel])
                if r.status != 0:
                    raise TinygenError(f"{program.prefix}_invoke_precision({k}) returned {r.status} on sample {i}")
                res = results[k]
                res.count += 1
                res.latencies.append(conv(r.ticks))
                bad = core.compare_sample(i, [s.name for s in views[k].outputs], [refs[k]], r.outputs)
                if bad is None:
                    res.matched += 1
                else:
                    layers = session.run([x[i:i + 1], sel], _dump()).layers or {}
                    bad.layer, bad.layer_detail = core.first_diverging_layer(program[k], [x[i:i + 1]], layers)
                    res.mismatches.append(bad)
        if profile:
            from tinygen.device import protocol as P
            from tinygen.ops.base import get

            for k in chosen:
                g = program[k].graph
                r = session.run([x[:1], np.full((1, 1), k, np.int32)], P.PROFILE)
                results[k].profile = [(i, n.name, n.op, conv(t), int(get(n.op).macs(n, g)))
                                      for i, (n, t) in enumerate(zip(g.nodes, r.layer_ticks or []))]
        return SPNetValidation(target, conv.unit, [results[k] for k in chosen])

    if qemu:
        import json

        from tinygen.compile.firmware import build_firmware, config_name, firmware_elf
        from tinygen.device.qemu import QemuTarget, describe_exit
        from tinygen.device.validate import expected_hash

        target, limits = firmware_target(board_name, emulate=True, emulator=emulator)
        elf = firmware_elf(program.out_dir, config_name(board_name, True, emulator))
        meta = elf.parent / "firmware.json"
        stale = (rebuild or not elf.exists() or not meta.exists()
                 or json.loads(meta.read_text()).get("model_hash") != expected_hash(views[chosen[0]]).hex())
        if stale:
            build_firmware(program.out_dir, program.prefix, board_name, emulate=True, emulator=emulator)
        with QemuTarget(elf, target, timeout=max(120.0, timeout + x.nbytes * len(chosen) / 4000.0)) as q:
            session = Session(q.link, timeout=timeout, on_exit=q.poll)
            if not session.wait_boot(timeout):
                raise TinygenError(f"no BOOT frame from {target.name} within {timeout:.0f} s; QEMU log: "
                                   + (q.log().strip()[-400:] or "empty"))
            result = session_run(session, f"QEMU {target.name} standing in for {limits.name}")
            session.exit(0)
            code = q.wait(5.0)
        code = q.returncode if code is None else code
        if code != 0:
            raise TinygenError(f"QEMU {target.name} ended badly: {describe_exit(code)}")
        return result
    from tinygen.device.serial_link import open_serial

    b = load_board(board_name)
    link = open_serial(port, baud)
    try:
        session = Session(link, timeout=timeout)
        session.wait_boot(0.3)
        return session_run(session, f"{b.name} on {port}")
    finally:
        link.close()


def _dump() -> int:
    from tinygen.device import protocol as P

    return P.DUMP
