"""Keras models quantized to int8 with TFLiteConverter, imported from .tflite: tinygen's reference
and its host C equal TensorFlow Lite Micro's output on every element, for many seeded inputs."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tflite_micro")

import tinygen  # noqa: E402
from tests.importers.keras_zoo import ZOO, calibration, make_keras, op_names, quantize  # noqa: E402
from tests.importers.tflite_builder import tflm_run  # noqa: E402


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """name -> .tflite path, converted once per test session (never cached in the repo)."""
    d = tmp_path_factory.mktemp("zoo")
    out = {}
    for name, (_, shape, _) in ZOO.items():
        path = d / f"{name}.tflite"
        path.write_bytes(quantize(make_keras(name), calibration(shape)))
        out[name] = path
    return out


def _inputs(program, n_random=30, n_real=30, seed=0):
    """Uniform int8 codes (every path, saturation) plus quantized normal samples (typical ranges)."""
    spec = program.inputs[0]
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (n_random, *spec.shape[1:])).astype(np.int8)
    real = rng.normal(size=(n_real, *spec.shape[1:])).astype(np.float32)
    return np.concatenate([a, program.quantize(real)])


@pytest.mark.host
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_equals_tflm(name, zoo, tmp_path):
    path = zoo[name]
    assert ZOO[name][2] <= op_names(path.read_bytes()), "the converter no longer emits the ops this model covers"
    program = tinygen.build(path, out_dir=tmp_path / "out")
    x = _inputs(program, seed=sorted(ZOO).index(name))
    ref = program.reference(x)
    (tflm,) = tflm_run(path.read_bytes(), [x])
    np.testing.assert_array_equal(ref, tflm.reshape(ref.shape))
    np.testing.assert_array_equal(program.run_host(x), ref)
    assert len(np.unique(ref)) > 3  # the outputs are not all saturated


@pytest.mark.host
def test_per_tensor_dense_equals_tflm(tmp_path):
    _, shape, _ = ZOO["dense"]
    data = quantize(make_keras("dense", seed=3), calibration(shape, seed=3), per_channel_dense=False)
    path = tmp_path / "dense_pt.tflite"
    path.write_bytes(data)
    program = tinygen.build(path, out_dir=tmp_path / "out")
    fc = [n for n in program.graph.nodes if n.op == "fully_connected"]
    assert fc and all(len(set(n.attrs.multiplier)) == 1 for n in fc)  # one scale per layer
    x = _inputs(program, seed=5)
    (tflm,) = tflm_run(data, [x])
    np.testing.assert_array_equal(program.reference(x), tflm)
    np.testing.assert_array_equal(program.run_host(x), tflm)


def test_float_io_edges_are_stripped(tmp_path):
    """Converted with float32 input/output: QUANTIZE/DEQUANTIZE at the edges are stripped and the
    program exposes int8 I/O with the file's quantization parameters."""
    import tensorflow as tf

    _, shape, _ = ZOO["conv"]
    samples = calibration(shape)
    c = tf.lite.TFLiteConverter.from_keras_model(make_keras("conv"))
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([samples[i:i + 1]] for i in range(len(samples)))
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    data = bytes(c.convert())
    assert {"QUANTIZE", "DEQUANTIZE"} <= op_names(data)
    path = tmp_path / "float_io.tflite"
    path.write_bytes(data)
    from tinygen.importers.tflite import import_tflite

    g = import_tflite(path)
    assert g.t(g.inputs[0]).dtype.value == "int8" and g.t(g.outputs[0]).dtype.value == "int8"
    assert g.t(g.inputs[0]).quant is not None
    from tinygen.reference import interpreter

    from tinygen.quant.rounding import round_half_away

    x = samples[:20]
    s_in, zp_in = g.t(g.inputs[0]).quant.scale[0], g.t(g.inputs[0]).quant.zero_point[0]
    q = np.clip(round_half_away(x / np.float32(s_in)) + zp_in, -128, 127)  # TFLM's QUANTIZE: float32, ties away
    (ref,) = interpreter.run(g, [q.astype(np.int8)])
    (tflm,) = tflm_run(data, [x])  # TFLM quantizes the float input itself
    s, zp = g.t(g.outputs[0]).quant.scale[0], g.t(g.outputs[0]).quant.zero_point[0]
    np.testing.assert_array_equal(np.float32(s) * (ref.astype(np.float32) - zp), tflm)


def test_keras_files_need_calibration(tmp_path):
    """A float Keras model (.keras or .h5) is quantized with the given calibration samples, and
    refused without them (tinygen builds integer code only)."""
    from tinygen.errors import TinygenError

    _, shape, _ = ZOO["dense"]
    model = make_keras("dense", seed=4)
    samples = calibration(shape, seed=4)
    np.save(tmp_path / "cal.npy", samples)
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"dense{suffix}"
        model.save(str(path))
        with pytest.raises(TinygenError, match="needs calibration samples.*--calibration"):
            tinygen.build(path, out_dir=tmp_path / "refused")
        program = tinygen.build(path, out_dir=tmp_path / f"out{suffix}", calibration=tmp_path / "cal.npy")
        expect = quantize(model, samples)
        x = _inputs(program, 10, 10, seed=4)
        (tflm,) = tflm_run(expect, [x])
        np.testing.assert_array_equal(program.reference(x), tflm)
    with pytest.raises(TinygenError, match="calibration samples have shape"):
        tinygen.build(tmp_path / "dense.keras", out_dir=tmp_path / "bad", calibration=samples[:, :3])


@pytest.mark.qemu
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_validates_under_qemu(name, zoo, tmp_path):
    """The same imported models as Cortex-M4 firmware under QEMU, against the reference."""
    import shutil

    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("needs arm-none-eabi-gcc and qemu-system-arm (scripts/setup.sh installs them)")
    from tinygen.device.validate import validate

    program = tinygen.build(zoo[name], board="f446re", out_dir=tmp_path / "out")
    x = tmp_path / "x.npy"
    np.save(x, _inputs(program, n_random=3, n_real=3))
    result = validate(program, qemu=True, inputs=x, count=6)
    assert result.passed, result.summary_text()
