"""Bad .tflite inputs: one clear TinygenError each, naming the problem (and the operator)."""

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from tests.importers.tflite_builder import TfliteBuilder, options  # noqa: E402
from tinygen.errors import QuantizationError, TinygenError, UnsupportedOpError  # noqa: E402
from tinygen.importers import import_model  # noqa: E402
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S  # noqa: E402

OPS = S.BuiltinOperator


def _write(tmp_path, data: bytes, name="m.tflite"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _int8_model(code=OPS.LOGISTIC, version=2, opts=None):
    b = TfliteBuilder()
    i = b.tensor((1, 8), np.int8, 0.05, 0)
    o = b.tensor((1, 8), np.int8, 1 / 256, -128)
    b.op(code, [i], [o], *(opts or (None, 0)), version=version)
    return b.build([i], [o])


def _float_conv_model():
    rng = np.random.default_rng(0)
    b = TfliteBuilder()
    i = b.tensor((1, 5, 5, 3), np.float32)
    w = b.tensor((4, 3, 3, 3), np.float32, data=rng.normal(size=(4, 3, 3, 3)))
    bias = b.tensor((4,), np.float32, data=np.zeros(4))
    o = b.tensor((1, 5, 5, 4), np.float32)
    b.op(OPS.CONV_2D, [i, w, bias], [o], *options("Conv2DOptions", padding=0, strideW=1, strideH=1,
                                                     dilationWFactor=1, dilationHFactor=1))
    return b.build([i], [o])


def test_valid_model_imports(tmp_path):
    g = import_model(_write(tmp_path, _int8_model()))
    assert [n.op for n in g.nodes] == ["lut"]


@pytest.mark.parametrize("cut", [12, 40, 0.5, -8])
def test_truncated_file(tmp_path, cut):
    data = _int8_model()
    n = int(len(data) * cut) if isinstance(cut, float) else (cut if cut > 0 else len(data) + cut)
    with pytest.raises(TinygenError, match="not a valid TFLite flatbuffer|truncated"):
        import_model(_write(tmp_path, data[:n]))


def test_not_a_flatbuffer(tmp_path):
    junk = np.random.default_rng(1).integers(0, 256, 300).astype(np.uint8).tobytes()
    with pytest.raises(TinygenError, match="not a valid TFLite flatbuffer"):
        import_model(_write(tmp_path, junk))
    with pytest.raises(TinygenError, match="not a model tinygen can read"):
        import_model(_write(tmp_path, junk, "m.bin"))


def test_unsupported_op_names_op_and_index(tmp_path):
    with pytest.raises(UnsupportedOpError,
                       match=r"^m.tflite: operator 0 \(ELU v2\): is not supported; `tinygen build --list-ops`"):
        import_model(_write(tmp_path, _int8_model(OPS.ELU)))


def test_unsupported_op_version(tmp_path):
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(LOGISTIC v9\).*version 9 is newer.*up to 3"):
        import_model(_write(tmp_path, _int8_model(OPS.LOGISTIC, version=9)))


def test_float_model_says_how_to_quantize(tmp_path):
    with pytest.raises(QuantizationError, match="not a full-integer model.*representative_dataset.*TFLITE_BUILTINS_INT8"):
        import_model(_write(tmp_path, _float_conv_model()))


def test_foreign_custom_op(tmp_path):
    b = TfliteBuilder()
    i = b.tensor((1, 8), np.int8, 0.05, 0)
    o = b.tensor((1, 8), np.int8, 0.05, 0)
    b.op(OPS.CUSTOM, [i], [o], custom="MyFancyOp", custom_options=b"\x00")
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(MyFancyOp v1\): custom op 'MyFancyOp'.*LceBconv2d"):
        import_model(_write(tmp_path, b.build([i], [o])))


def test_softmax_with_wrong_output_grid(tmp_path):
    b = TfliteBuilder()
    i = b.tensor((1, 8), np.int8, 0.05, 0)
    o = b.tensor((1, 8), np.int8, 1 / 128, 0)
    b.op(OPS.SOFTMAX, [i], [o], *options("SoftmaxOptions", beta=1.0), version=2)
    with pytest.raises(QuantizationError, match=r"operator 0 \(SOFTMAX v2\).*1/256"):
        import_model(_write(tmp_path, b.build([i], [o])))


def test_unsupported_fused_activation(tmp_path):
    b = TfliteBuilder()
    i = b.tensor((1, 8), np.int8, 0.05, 0)
    j = b.tensor((1, 8), np.int8, 0.05, 0)
    o = b.tensor((1, 8), np.int8, 0.05, 0)
    b.op(OPS.ADD, [i, j], [o], *options("AddOptions", fusedActivationFunction=4), version=2)
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(ADD v2\).*TANH"):
        import_model(_write(tmp_path, b.build([i, j], [o])))


def test_batch_other_than_one(tmp_path):
    b = TfliteBuilder()
    i = b.tensor((4, 8), np.int8, 0.05, 0)
    o = b.tensor((4, 8), np.int8, 1 / 256, -128)
    b.op(OPS.LOGISTIC, [i], [o], version=2)
    with pytest.raises(TinygenError, match="leading batch dimension of 1"):
        import_model(_write(tmp_path, b.build([i], [o])))


def _lce_bconv(**opts):
    from flatbuffers import flexbuffers

    rng = np.random.default_rng(3)
    b = TfliteBuilder()
    x = b.tensor((1, 4, 4, 1), np.int32)  # 8 channels bit-packed into one word
    w = b.tensor((2, 3, 3, 1), np.int32, data=rng.integers(0, 256, (2, 3, 3, 1)))
    m = b.tensor((2,), np.float32, data=np.ones(2))
    bias = b.tensor((2,), np.float32, data=np.zeros(2))
    o = b.tensor((1, 2, 2, 2), np.float32)  # VALID 3x3
    base = dict(channels_in=8, stride_height=1, stride_width=1, padding=1, pad_values=1)
    base.update(opts)
    base = {k: v for k, v in base.items() if v is not None}
    b.op(OPS.CUSTOM, [x, w, m, bias, -1], [o], custom="LceBconv2d", custom_options=bytes(flexbuffers.Dumps(base)))
    return b.build([x], [o])


def test_lce_bconv2d_imports(tmp_path):
    g = import_model(_write(tmp_path, _lce_bconv()))
    assert [n.op for n in g.nodes] == ["bconv2d_float"]


@pytest.mark.parametrize("opts,pattern", [
    ({"stride_height": 0}, r"custom option 'stride_height' is 0; it must be an integer in \[1, 65536\]"),
    ({"dilation_width_factor": -2}, r"custom option 'dilation_width_factor' is -2"),
    ({"channels_in": None}, r"custom option 'channels_in' is missing"),
    ({"padding": "SAME"}, r"custom option 'padding' is SAME"),
])
def test_lce_bad_custom_options(tmp_path, opts, pattern):
    with pytest.raises(TinygenError, match=r"operator 0 \(LceBconv2d v1\): " + pattern) as e:
        import_model(_write(tmp_path, _lce_bconv(**opts)))
    assert len(str(e.value)) < 300


def test_lce_multiplier_count_must_match_channels(tmp_path):
    import flatbuffers

    mdl = S.ModelT.InitFromObj(S.Model.GetRootAsModel(_lce_bconv(), 0))
    mdl.buffers[mdl.subgraphs[0].tensors[2].buffer].data = np.ones(3, np.float32).view(np.uint8)
    mdl.subgraphs[0].tensors[2].shape = [3]
    fb = flatbuffers.Builder(1024)
    fb.Finish(mdl.Pack(fb), file_identifier=b"TFL3")
    with pytest.raises(TinygenError, match=r"operator 0 \(LceBconv2d v1\): 3 multipliers and 2 biases for 2 output"):
        import_model(_write(tmp_path, bytes(fb.Output())))


def test_elementwise_rank_mismatch(tmp_path):
    b = TfliteBuilder()
    i = b.tensor((1, 8), np.int8, 0.05, 0)
    j = b.tensor((1, 2, 4), np.int8, 0.05, 0)
    o = b.tensor((1, 8), np.int8, 0.05, 0)
    b.op(OPS.ADD, [i, j], [o], *options("AddOptions"), version=2)
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(ADD v2\): input 't1' \[1, 2, 4\] has another rank "
                                                 r"than the output \[1, 8\]"):
        import_model(_write(tmp_path, b.build([i, j], [o])))


def test_mean_over_an_empty_axis(tmp_path):
    b = TfliteBuilder()
    i = b.tensor((1, 0, 4, 3), np.int8, 0.05, 0)
    axes = b.tensor((2,), np.int32, data=np.array([1, 2]))
    o = b.tensor((1, 3), np.int8, 0.05, 0)
    b.op(OPS.MEAN, [i, axes], [o], *options("ReducerOptions", keepDims=False), version=2)
    with pytest.raises(TinygenError, match=r"operator 0 \(MEAN v2\): mean over axes \[1, 2\] of \[1, 0, 4, 3\] "
                                           "reduces an empty axis"):
        import_model(_write(tmp_path, b.build([i], [o])))
