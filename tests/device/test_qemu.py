"""Whole firmware under QEMU over the serial protocol: bit-exact validation on every stand-in,
deterministic instruction counts, mismatch localisation, hash refusal, faults, robustness."""

import dataclasses
import time

import numpy as np
import pytest

from tinygen.device import protocol as P
from tinygen.device.qemu import QemuTarget, describe_exit
from tinygen.device.session import Session
from tinygen.device.validate import check_handshake, validate
from tinygen.errors import TinygenError
from tinygen.program import Program
from tests.device.models import cached_firmware, cached_program

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def program(fw_root):
    return cached_program(fw_root)


@pytest.mark.parametrize("board", ["f446re", "f746zg", "f767zi", "netduinoplus2"])
def test_validate_bit_exact(program, fw_root, board):
    cached_firmware(fw_root, board, emulate=True)  # built once per session (validate reuses it)
    r = validate(program, qemu=True, board=board, count=6, seed=1, profile=True)
    assert r.passed, r.summary_text()
    assert r.emulated and r.unit == "emulated instructions" and r.exit_code == 0
    # a real count: no int8 kernel does a MAC in under half an instruction
    assert len(r.latencies) == 6 and min(r.latencies) > r.macs // 2 > 0
    assert [p.name for p in r.profile] == ["conv0", "conv1", "conv2"]
    per_layer = sum(p.count for p in r.profile)
    assert abs(r.latencies[0] - per_layer) < 200  # per-layer counts carry the hook dispatch
    assert 0 < r.stack_peak <= r.info.stack_bytes
    text = r.summary_text()
    assert "PASS" in text and "emulated instructions per inference" in text and " ms" not in text


def test_instruction_counts_are_deterministic_and_agree_between_m4_stand_ins(program, fw_root):
    runs = [validate(program, qemu=True, board="f446re", count=4, seed=5).latencies for _ in range(2)]
    assert runs[0] == runs[1]
    netduino = validate(program, qemu=True, board="netduinoplus2", count=4, seed=5).latencies
    # FPGAIO at 3.2 ticks/instruction and TIM2 at 1 tick/instruction give the same exact count.
    assert netduino == runs[0]


def test_mismatch_names_the_first_diverging_layer(program, fw_root):
    g = program.graph.copy()
    w = g.tensors["w1"]
    g.tensors["w1"] = dataclasses.replace(w, data=(w.data.astype(np.int16) + 1).clip(-127, 127).astype(np.int8))
    wrong = Program(program.out_dir, g, program.prefix, program.board)  # same C, different reference
    r = validate(wrong, qemu=True, board="f446re", count=2, seed=0)
    assert not r.passed and r.matched == 0
    m = r.mismatches[0]
    assert m.layer == "L1 conv1 (conv2d)" and "values differ" in m.layer_detail
    assert "first diverging layer L1 conv1" in r.summary_text()


def test_refuses_firmware_of_another_model(program, fw_root, tmp_path):
    import shutil

    r = cached_firmware(fw_root, "f446re", emulate=True)
    other = tmp_path / "other"
    shutil.copytree(program.out_dir / "model", other / "model")
    (other / "model" / "tgnet.c").write_text((other / "model" / "tgnet.c").read_text() + "/* edited */\n")
    prog2 = Program(other, program.graph, program.prefix, program.board)
    with QemuTarget(r.elf, r.board) as q:
        s = Session(q.link, on_exit=q.poll)
        assert s.wait_boot(10)
        with pytest.raises(TinygenError, match="flash the firmware built from this directory"):
            check_handshake(s.hello(), prog2)
        s.exit(0)


def test_protocol_errors_and_resync_on_the_real_firmware(program, fw_root):
    r = cached_firmware(fw_root, "f446re", emulate=True)
    with QemuTarget(r.elf, r.board) as q:
        s = Session(q.link, timeout=10, on_exit=q.poll)
        assert s.wait_boot(10)
        info = s.hello()
        assert info.prefix == "tgnet" and info.num_layers == 3 and info.counter_unit == "fpgaio"
        q.link.write(bytes(range(256)) + b"\xA5\x5A\x02\x07\xff\xff" + b"\xA5" * 40)  # garbage, false syncs
        assert s.ping(b"after garbage") == b"after garbage"
        bad = bytearray(P.encode_frame(P.PING, 77, b"abc"))
        bad[-2] ^= 0x10  # payload CRC broken: the firmware answers ERROR for seq 77
        q.link.write(bytes(bad))
        err = s.receive(time.monotonic() + 10, "ERROR")
        assert (err.type, err.seq, P.decode_error(err.payload).code) == (P.ERROR, 77, 1)
        with pytest.raises(P.DeviceError, match="payload too long"):
            s.request(P.PING, bytes(info.rx_capacity + 1), P.PONG)
        with pytest.raises(P.DeviceError, match="unknown message type"):
            s.request(0x40, b"", P.PONG)
        with pytest.raises(P.DeviceError, match="input payload size"):
            s.request(P.RUN, bytes(8), P.RESULT)
        x = np.zeros((1, 8, 8, 3), np.int8)
        assert np.array_equal(s.run([x]).outputs[0], program.reference(x))  # still serving
        s.exit(3)
        assert q.wait() == 3


@pytest.mark.parametrize("board, emulate, kind", [("f446re", True, 0), ("f446re", True, 1),
                                                ("netduinoplus2", False, 1), ("f767zi", True, 1)])
def test_fault_handler_reports_and_exits(fw_root, board, emulate, kind):
    """kind 0: undefined instruction; kind 1: unbounded recursion. The overflow must be reported
    (MPU guard below RAM, handler on its own stack), not lock the core up."""
    r = cached_firmware(fw_root, board, emulate=emulate, defines=("TG_HARNESS_TEST_HOOKS=1",), variant="test")
    with QemuTarget(r.elf, r.board, timeout=30) as q:
        s = Session(q.link, on_exit=q.poll)
        assert s.wait_boot(10)
        s.hello()
        assert s.peek(0xE000ED94) == 0x5  # MPU on with the default map for privileged code
        with pytest.raises(P.DeviceFault) as e:
            s.crash(kind)
        fault = e.value
        if kind == 0:
            assert fault.registers["exc"] == "6" and fault.bits == ["UNDEFINSTR"]
            assert "addr2line" in str(fault)
            assert q.wait() == 118
        else:
            assert fault.registers["exc"] == "4" and "MSTKERR" in fault.bits
            assert "thread stack overflow" in str(fault)
            assert q.wait() == 116
    assert "UsageFault" in describe_exit(118) and "MemManage" in describe_exit(116)


def test_netduinoplus2_bounded_clock_init(program, fw_root):
    """Run the real F4 clock bring-up on QEMU's unimplemented RCC: every wait must time out and
    the firmware must degrade to HSI and keep working."""
    r = cached_firmware(fw_root, "netduinoplus2", defines=("TG_FORCE_CLOCK_INIT=1",), variant="clock")
    with QemuTarget(r.elf, r.board) as q:
        s = Session(q.link, on_exit=q.poll)
        assert s.wait_boot(20)
        info = s.hello()
        assert info.clock_hz == 16_000_000
        assert "HSE failed (PLL fed from HSI)" in info.status_text
        assert any("flash latency" in t or "PLL did not lock" in t for t in info.status_text)
        x = np.ones((1, 8, 8, 3), np.int8)
        assert np.array_equal(s.run([x]).outputs[0], program.reference(x))
        s.exit(0)


def test_qemu_is_always_stopped(fw_root):
    r = cached_firmware(fw_root, "f446re", emulate=True)
    with pytest.raises(RuntimeError):
        with QemuTarget(r.elf, r.board) as q:
            proc = q.proc
            raise RuntimeError("test body failed")
    assert proc.poll() is not None
    t = time.monotonic()
    with QemuTarget(r.elf, r.board, timeout=0.3) as q:  # watchdog: the firmware idles forever
        while q.poll() is None and time.monotonic() - t < 5:
            time.sleep(0.02)
        assert q.poll() is not None and q.timed_out
    assert time.monotonic() - t < 5


def test_console_socket_is_held_before_qemu_starts(fw_root):
    """The host owns the console's port from before QEMU exists to its end: a connection made
    before the launch reaches this firmware, so a parallel test cannot take the port in between."""
    import socket
    import subprocess

    from tinygen.device.qemu import listening_socket, qemu_command

    r = cached_firmware(fw_root, "f446re", emulate=True)
    listener = listening_socket()
    client = socket.create_connection(listener.getsockname(), timeout=10)
    proc = subprocess.Popen(qemu_command(r.elf, r.board, listener.fileno()), pass_fds=(listener.fileno(),),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listener.close()
    try:
        got = b""
        while len(got) < 3:
            got += client.recv(64)
        assert got[:2] == P.SYNC and got[2] == P.BOOT
    finally:
        client.close()
        proc.kill()
        proc.wait()


def test_validate_given_inputs_and_errors(program, fw_root):
    x = np.random.default_rng(9).integers(-128, 128, (3, 8, 8, 3)).astype(np.int8)
    r = validate(program, qemu=True, board="f446re", inputs=x)
    assert r.passed and r.count == 3
    with pytest.raises(TinygenError, match="must be int8"):
        validate(program, qemu=True, board="f446re", inputs=x.astype(np.int16))
    with pytest.raises(TinygenError, match="exactly one target"):
        validate(program)
    with pytest.raises(TinygenError, match="unknown board"):
        validate(program, qemu=True, board="nosuchboard")
