"""LCE custom ops one at a time (flatbuffers written directly, LCE's own flexbuffer options) against
LCE's interpreter: binary convolutions over the edge channel counts 1/31/32/33/63/64/65, strides,
dilations, +1 and zero padding, bit-packed and float outputs, fused activations; binary max pool;
the float ops of LCE models. Also the refusals."""

import numpy as np
import pytest

pytest.importorskip("larq_compute_engine")

from flatbuffers import flexbuffers  # noqa: E402

from tests.importers.larq_zoo import lce_run  # noqa: E402
from tests.importers.tflite_builder import TfliteBuilder, options  # noqa: E402
from tinygen.errors import UnsupportedOpError  # noqa: E402
from tinygen.importers.tflite import import_tflite  # noqa: E402
from tinygen.reference import bitpack, interpreter  # noqa: E402
from tinygen.testing import compile_graph  # noqa: E402
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S  # noqa: E402

OPS = S.BuiltinOperator


def _conv_out(size, k, s, d, same):
    eff = (k - 1) * d + 1
    return -(-size // s) if same else (size - eff) // s + 1


def _bconv_model(rng, h, w, cin, cout, k, stride, dil, same, pad_values, out_kind, fused=0):
    words = bitpack.words_for(cin)
    b = TfliteBuilder()
    x = b.tensor((1, h, w, words), np.int32)
    filt = bitpack.pack_bits(rng.integers(0, 2, (cout, k[0], k[1], cin))).view(np.int32)
    f = b.tensor(filt.shape, np.int32, data=filt)
    oh, ow = _conv_out(h, k[0], stride[0], dil[0], same), _conv_out(w, k[1], stride[1], dil[1], same)
    if out_kind == "bitpacked":
        kk = k[0] * k[1] * cin
        thr = b.tensor((cout,), np.int32, data=rng.integers(-2, kk + 2, cout))
        ins = [x, f, -1, -1, thr]
        o = b.tensor((1, oh, ow, bitpack.words_for(cout)), np.int32)
    else:
        m = b.tensor((cout,), np.float32, data=(rng.normal(size=cout) * 0.05).astype(np.float32))
        bias = b.tensor((cout,), np.float32, data=rng.normal(size=cout).astype(np.float32))
        ins = [x, f, m, bias, -1]
        o = b.tensor((1, oh, ow, cout), np.float32)
    opts = flexbuffers.Dumps({"channels_in": cin, "dilation_height_factor": dil[0], "dilation_width_factor": dil[1],
                              "fused_activation_function": fused, "pad_values": pad_values,
                              "padding": 0 if same else 1, "stride_height": stride[0], "stride_width": stride[1]})
    b.op(OPS.CUSTOM, ins, [o], custom="LceBconv2d", custom_options=opts)
    return b.build([x], [o]), (h, w, words), cin


def _packed_inputs(rng, n, shape, cin):
    return bitpack.pack_bits(rng.integers(0, 2, (n, *shape[:2], cin))).view(np.int32)


def _compare(model, x, host_dir=None):
    g = import_tflite("lce.tflite", data=model)
    xin = x.view(np.uint32) if x.dtype == np.int32 else x
    (ref,) = interpreter.run(g, [xin])
    got = lce_run(model, x)
    got = got.view(np.uint32) if got.dtype == np.int32 else got
    np.testing.assert_array_equal(ref, got.reshape(ref.shape))
    if host_dir is not None:
        host = compile_graph(g, host_dir)
        for i in range(2):
            np.testing.assert_array_equal(host.invoke_one([xin[i:i + 1]])[0], ref[i:i + 1])
    return g


EDGE = [1, 31, 32, 33, 63, 64, 65]


@pytest.mark.parametrize("out_kind", ["bitpacked", "float"])
@pytest.mark.parametrize("cin", EDGE)
def test_bconv2d_edge_channels(cin, out_kind, tmp_path):
    rng = np.random.default_rng(cin * 7 + (out_kind == "float"))
    for t, cout in enumerate([1, 33, 64]):
        pad_values = 0 if (out_kind == "float" and t == 1) else 1
        model, shape, _ = _bconv_model(rng, 7, 5, cin, cout, (3, 3), (1, 1), (1, 1), True, pad_values, out_kind)
        _compare(model, _packed_inputs(rng, 6, shape, cin), tmp_path / f"h{t}" if t == 1 and cin in (33, 64) else None)


def test_bconv2d_geometry_and_activations(tmp_path):
    rng = np.random.default_rng(5)
    cases = [((2, 3), (2, 2), (1, 1), True), ((3, 3), (1, 2), (2, 1), True), ((3, 1), (2, 1), (1, 1), False),
             ((1, 1), (1, 1), (1, 1), True), ((3, 3), (2, 2), (1, 1), False)]
    for t, (k, stride, dil, same) in enumerate(cases):
        for out_kind, pad_values, fused in [("bitpacked", 1, 0), ("float", 1, t % 4), ("float", 0, 0)]:
            model, shape, cin = _bconv_model(rng, 9, 8, 40, 20, k, stride, dil, same, pad_values, out_kind, fused)
            host = tmp_path / f"h{t}_{out_kind}_{pad_values}" if t == 0 else None  # one library per directory
            _compare(model, _packed_inputs(rng, 4, shape, cin), host)


def test_bmaxpool(tmp_path):
    rng = np.random.default_rng(9)
    for t, (k, s, same) in enumerate([((2, 2), (2, 2), True), ((3, 3), (2, 2), True), ((3, 2), (1, 1), False)]):
        b = TfliteBuilder()
        x = b.tensor((1, 7, 5, 3), np.int32)
        oh, ow = _conv_out(7, k[0], s[0], 1, same), _conv_out(5, k[1], s[1], 1, same)
        o = b.tensor((1, oh, ow, 3), np.int32)
        opts = flexbuffers.Dumps({"filter_height": k[0], "filter_width": k[1], "padding": 0 if same else 1,
                                  "stride_height": s[0], "stride_width": s[1]})
        b.op(OPS.CUSTOM, [x], [o], custom="LceBMaxPool2d", custom_options=opts)
        xin = rng.integers(-2**31, 2**31, (6, 7, 5, 3), dtype=np.int64).astype(np.int32)
        _compare(b.build([x], [o]), xin, tmp_path / f"h{t}" if t == 0 else None)


def _float_op_model(build_op, in_shape):
    """A float op followed by an LCE sign (which makes it an LCE model; the op's output is the
    graph output)."""
    b = TfliteBuilder()
    i = b.tensor(in_shape, np.float32)
    o = build_op(b, i)
    oshape = tuple(b.tensors[o].shape)
    q = b.tensor(oshape[:-1] + (bitpack.words_for(oshape[-1]),), np.int32)
    b.op(OPS.CUSTOM, [o], [q], custom="LceQuantize")
    return b.build([i], [o])


def _ulps(a, b):
    def ordered(v):
        i = v.astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    return np.abs(ordered(a) - ordered(b))


def test_float_ops(tmp_path):
    """Exact: max pool, add, mul, relu, mean. Within rounding: conv, fully connected (|error| below
    the float32 summation bound K * eps * sum|x w|), softmax (<= 4 ulps)."""
    rng = np.random.default_rng(21)
    f32 = np.float32

    def conv(b, i):
        w = b.tensor((16, 3, 3, 3), f32, data=rng.normal(size=(16, 3, 3, 3)))
        bias = b.tensor((16,), f32, data=rng.normal(size=16))
        o = b.tensor((1, 8, 6, 16), f32)
        b.op(OPS.CONV_2D, [i, w, bias], [o], *options("Conv2DOptions", padding=0, strideW=1, strideH=1,
                                                         dilationWFactor=1, dilationHFactor=1,
                                                         fusedActivationFunction=0))
        return o

    def fc(b, i):
        w = b.tensor((10, 64), f32, data=rng.normal(size=(10, 64)))
        bias = b.tensor((10,), f32, data=rng.normal(size=10))
        o = b.tensor((1, 10), f32)
        b.op(OPS.FULLY_CONNECTED, [i, w, bias], [o], *options("FullyConnectedOptions"))
        return o

    def maxpool(b, i):
        o = b.tensor((1, 4, 3, 20), f32)
        b.op(OPS.MAX_POOL_2D, [i], [o], *options("Pool2DOptions", padding=0, strideW=2, strideH=2, filterWidth=2,
                                                 filterHeight=2, fusedActivationFunction=3))
        return o

    def bn(b, i):
        s = b.tensor((20,), f32, data=rng.normal(size=20))
        t = b.tensor((20,), f32, data=rng.normal(size=20))
        m = b.tensor((1, 8, 6, 20), f32)
        o = b.tensor((1, 8, 6, 20), f32)
        b.op(OPS.MUL, [i, s], [m], *options("MulOptions"))
        b.op(OPS.ADD, [t, m], [o], *options("AddOptions", fusedActivationFunction=1))
        return o

    def relu(b, i):
        o = b.tensor((1, 8, 6, 20), f32)
        b.op(OPS.RELU6, [i], [o])
        return o

    def mean(b, i):
        ax = b.tensor((2,), np.int32, data=np.array([1, 2], np.int32))
        o = b.tensor((1, 20), f32)
        b.op(OPS.MEAN, [i, ax], [o], *options("ReducerOptions", keepDims=False))
        return o

    def softmax(b, i):
        o = b.tensor((1, 10), f32)
        b.op(OPS.SOFTMAX, [i], [o], *options("SoftmaxOptions", beta=1.0))
        return o

    exact = {"maxpool": (maxpool, (1, 8, 6, 20)), "bn": (bn, (1, 8, 6, 20)), "relu": (relu, (1, 8, 6, 20)),
             "mean": (mean, (1, 8, 6, 20))}
    for k, (fn, shape) in enumerate(exact.values()):
        x = (rng.normal(size=(20, *shape[1:])) * 4).astype(f32)
        _compare(_float_op_model(fn, shape), x, tmp_path / f"e{k}")
    for k, (fn, shape) in enumerate([(conv, (1, 8, 6, 3)), (fc, (1, 64))]):
        model = _float_op_model(fn, shape)
        x = (rng.normal(size=(20, *shape[1:])) * 3).astype(f32)
        g = import_tflite("f.tflite", data=model)
        (ref,) = interpreter.run(g, [x])
        got = lce_run(model, x).reshape(ref.shape)
        w = g.t(g.nodes[-1].inputs[1]).data.astype(np.float64)
        if w.ndim == 4:  # bound for conv: K * eps * sum |x| |w| <= K * eps * K * max|x| max|w| + |b|
            kk = w[0].size
            bound = kk * np.finfo(f32).eps * (kk * np.abs(x).max() * np.abs(w).max() + 10)
        else:
            bound = w.shape[1] * np.finfo(f32).eps * (np.abs(x) @ np.abs(w).T + 10)
        assert np.all(np.abs(ref.astype(np.float64) - got) <= bound)
        host = compile_graph(g, tmp_path / f"r{k}")
        np.testing.assert_array_equal(host.invoke_one([x[:1]])[0], ref[:1])
    model = _float_op_model(softmax, (1, 10))
    x = (rng.normal(size=(40, 10)) * 3).astype(f32)
    g = import_tflite("s.tflite", data=model)
    (ref,) = interpreter.run(g, [x])
    assert _ulps(ref, lce_run(model, x)).max() <= 4
    host = compile_graph(g, tmp_path / "s")
    for i in range(5):
        np.testing.assert_array_equal(host.invoke_one([x[i:i + 1]])[0], ref[i:i + 1])


def test_refusals(tmp_path):
    rng = np.random.default_rng(3)
    # zero padding where the image is smaller than the kernel: LCE's own correction is incomplete
    model, _, _ = _bconv_model(rng, 2, 2, 32, 8, (3, 3), (1, 1), (1, 1), True, 0, "float")
    with pytest.raises(UnsupportedOpError, match="LCE skips its padding correction"):
        import_tflite("m.tflite", data=model)
    # bit-packed output with zero padding
    model, _, _ = _bconv_model(rng, 7, 5, 32, 8, (3, 3), (1, 1), (1, 1), True, 0, "bitpacked")
    with pytest.raises(UnsupportedOpError, match="pad_values=1.0"):
        import_tflite("m.tflite", data=model)
    # a float op tinygen does not run in LCE models
    b = TfliteBuilder()
    i = b.tensor((1, 4, 4, 8), np.float32)
    o = b.tensor((1, 4, 4, 8), np.float32)
    b.op(OPS.TANH, [i], [o])
    q = b.tensor((1, 4, 4, 1), np.int32)
    b.op(OPS.CUSTOM, [o], [q], custom="LceQuantize")
    with pytest.raises(UnsupportedOpError, match=r"operator 0 \(TANH v1\)"):
        import_tflite("m.tflite", data=b.build([i], [q]))
    # the int8 variant
    b = TfliteBuilder()
    i = b.tensor((1, 4, 4, 8), np.float32)
    o = b.tensor((1, 4, 4, 8), np.int8, 0.1, 0)
    b.op(OPS.QUANTIZE, [i], [o])
    m = b.tensor((1, 4, 4, 8), np.float32)
    b.op(OPS.DEQUANTIZE, [o], [m])
    q = b.tensor((1, 4, 4, 1), np.int32)
    b.op(OPS.CUSTOM, [m], [q], custom="LceQuantize")
    with pytest.raises(UnsupportedOpError, match="int8 variant"):
        import_tflite("m.tflite", data=b.build([i], [q]))
