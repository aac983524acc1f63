"""An SP-Net built into one library: every switch bit-exact to its own reference, switching
back and forth between inferences, the C API (setter, bad precision), one shared arena, the
report, and the firmware under QEMU."""

import shutil
import subprocess

import numpy as np
import pytest

from tinygen import spnet
from tinygen.errors import TinygenError
from tests.spnet.conftest import SWITCHES


def _inputs(program, n, seed):
    s = program.inputs[0]
    return np.random.default_rng(seed).integers(s.qmin, s.qmax + 1, (n, *s.shape[1:])).astype(s.dtype)


@pytest.mark.host
def test_every_switch_equals_its_reference(built):
    result = spnet.validate_host(built, count=40, seed=1)
    assert [s.bits for s in result.switches] == list(SWITCHES)
    assert result.passed, result.summary_text()
    q = _inputs(built, 8, 2)
    refs = {k: built.reference(k, q) for k in SWITCHES}
    assert len({refs[k].tobytes() for k in SWITCHES}) == len(SWITCHES)  # the switches really differ


@pytest.mark.host
def test_switching_back_and_forth_matches_fresh_runs(built):
    q = _inputs(built, 6, 3)
    order = list(np.random.default_rng(4).choice(SWITCHES, size=60))
    got = built.run_host_sequence(order, q)
    for i, (k, out) in enumerate(zip(order, got)):
        assert np.array_equal(out, built.reference(int(k), q[i % 6][None])), (i, k)
    host = built.host()
    for k in (1, 8, 2, 4, 1):  # the setter + <name>_invoke path
        assert host.set_precision(k) == 0
        assert np.array_equal(host.invoke_set(q[:1], built[k].outputs[0].shape), built.reference(k, q[:1]))
    assert host.set_precision(3) == -4  # refused; the previous switch stays
    assert np.array_equal(host.invoke_set(q[:1], built[1].outputs[0].shape), built.reference(1, q[:1]))
    with pytest.raises(RuntimeError, match="returned -4"):
        host.invoke(16, q[:1], built[8].outputs[0].shape)


@pytest.mark.host
def test_each_switch_stored_at_its_width_with_one_arena(built):
    rep = built.report
    by_bits = {s["bits"]: s for s in rep["switches"]}
    assert "conv2d_packed" in by_bits[4]["ops"] and "conv2d_packed" in by_bits[2]["ops"]
    assert "bconv2d" in by_bits[1]["ops"] and "conv2d_packed" not in by_bits[8]["ops"]
    w = [by_bits[k]["weight_bytes"] for k in SWITCHES]
    assert w == sorted(w, reverse=True) and w[0] > 2.5 * w[-1]
    assert rep["arena_bytes"] == max(s["arena_bytes"] for s in rep["switches"])
    assert set(rep["shared_kernels"]) >= {k for k in by_bits[8]["kernels"] if k in by_bits[1]["kernels"]}
    lib = built.host_lib()
    nm = subprocess.run(["nm", str(lib)], capture_output=True, text=True, check=True).stdout
    arenas = [ln for ln in nm.splitlines() if ln.endswith("_builtin_arena")]
    assert len(arenas) == 1 and arenas[0].endswith("tiny_builtin_arena"), arenas
    size = int(subprocess.run(["nm", "-S", str(lib)], capture_output=True, text=True, check=True).stdout
               .split("tiny_builtin_arena")[0].splitlines()[-1].split()[1], 16)
    assert size == rep["arena_bytes"]
    assert (built.out_dir / "model" / "tiny.h").read_text().count("int tiny_invoke_precision(int bits") == 1


@pytest.mark.host
def test_relu_quantizer_lowers_bit_exact(relu_pt2, tmp_path):
    import tinygen

    p = tinygen.build(relu_pt2, out_dir=tmp_path / "out")
    assert "conv2d_packed" in [layer["op"] for layer in p.report["layers"]]
    q = _inputs(p, 16, 5)
    assert np.array_equal(p.run_host(q), p.reference(q))


def test_switches_with_different_inputs_are_refused(exported, relu_pt2, tmp_path):
    import json

    d = tmp_path / "mixed.spnet"
    d.mkdir()
    for k in (8, 1):
        shutil.copy(exported / f"switch{k}.pt2", d)
    shutil.copy(relu_pt2, d / "other.pt2")
    meta = {"format": "tinygen-spnet", "version": 1, "name": "mixed", "switches": [8, 4, 1],
            "programs": {"8": "switch8.pt2", "4": "other.pt2", "1": "switch1.pt2"}}
    (d / "manifest.json").write_text(json.dumps(meta))
    with pytest.raises(TinygenError) as e:
        spnet.build(d, out_dir=tmp_path / "out")
    assert "\n" not in str(e.value) and "switch 4" in str(e.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.qemu
def test_every_switch_under_qemu_interleaved(exported, tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/setup.sh installs them)")
    # emulate: the firmware is built once, for the stand-in validate uses (with f746zg's flags and limits)
    program = spnet.build(exported, board="f746zg", out_dir=tmp_path / "fw", emulate=True)
    rep = program.report
    assert rep["flash_bytes"] < rep["flash_capacity_bytes"] and not rep["estimate"]
    assert all(s["flash_bytes"] > s["weight_bytes"] for s in rep["switches"])
    assert "TINY_OUTPUT0_SIZE 10" in (program.out_dir / "model" / "tiny.h").read_text()
    assert "tiny_invoke(" in (program.out_dir / "example" / "main.c").read_text()  # the user-firmware example
    q = _inputs(program, 4, 6)
    result = spnet.validate_device(program, qemu=True, inputs=q, switches=[1, 8, 4, 2], profile=True)
    assert result.passed, result.summary_text()
    assert [s.bits for s in result.switches] == [1, 8, 4, 2] and [s.count for s in result.switches] == [4] * 4
    assert all(min(s.latencies) > 0 for s in result.switches)
    one = result.switches[0]
    assert [p[2] for p in one.profile] == [n.op for n in program[1].graph.nodes] and all(p[3] > 0 for p in one.profile)
    # the layers' counts add up to the inference, less the hook calls' few instructions each
    # (the profiled input is sample 0, whose RUN latency is the first of that switch's)
    assert 0 <= one.latencies[0] - sum(p[3] for p in one.profile) < 100 * len(one.profile)


@pytest.mark.host
def test_tanh_and_log_weight_switches_are_exact_and_compact(tmp_path):
    """The thesis's tanh-based (2 and 4 bit) and logarithmic (4 bit) weight quantizers on the
    switchable convs: every switch equals its reference; tanh layers are stored as codebook indices."""
    from tinygen.nn.spnet import export_spnet
    from tests.spnet.models import calibrated, example_input

    model = calibrated((4, 2), seed=5, kinds2={4: "tanh", 2: "tanh"}, kinds3={4: "log", 2: "tanh"})
    path = export_spnet(model, example_input(), tmp_path / "tanh.spnet")
    program = spnet.build(path, out_dir=tmp_path / "out")
    result = spnet.validate_host(program, count=30, seed=6)
    assert result.passed, result.summary_text()
    ops = {s["bits"]: s["ops"] for s in program.report["switches"]}
    assert "conv2d_codebook" in ops[2] and "conv2d_codebook" in ops[4], ops
