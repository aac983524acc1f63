"""One TFLite op at a time, built directly as a flatbuffer with chosen quantization parameters (no
TensorFlow needed): the imported graph's reference equals TensorFlow Lite Micro on every element,
over sweeps of scales, zero points, shapes and options. A few also check the host C."""

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from tests.importers.tflite_builder import TfliteBuilder, options, tflm_run  # noqa: E402
from tinygen.importers.tflite import import_tflite  # noqa: E402
from tinygen.reference import interpreter  # noqa: E402
from tinygen.testing import compile_graph  # noqa: E402
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S  # noqa: E402

OPS = S.BuiltinOperator
ALL_CODES = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)


def _check(model: bytes, x: np.ndarray, host_dir=None):
    g = import_tflite("op.tflite", data=model)
    (ref,) = interpreter.run(g, [x])
    (tflm,) = tflm_run(model, [x])
    np.testing.assert_array_equal(ref, tflm.reshape(ref.shape))
    if host_dir is not None:
        host = compile_graph(g, host_dir)
        for b in range(min(len(x), 4)):
            np.testing.assert_array_equal(host.invoke_one([x[b:b + 1]])[0], ref[b:b + 1])
    return g, ref


def _scales(rng, n, lo=1e-3, hi=1.0):
    return [(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), int(rng.integers(-128, 128))) for _ in range(n)]


def _unary(code, s_in, zp_in, s_out, zp_out, opts=None, version=1, shape=(1, 256)):
    b = TfliteBuilder()
    i = b.tensor(shape, np.int8, s_in, zp_in)
    o = b.tensor(shape, np.int8, s_out, zp_out)
    b.op(code, [i], [o], *(opts or (None, 0)), version=version)
    return b.build([i], [o])


@pytest.mark.parametrize("seed", range(3))
def test_logistic_hard_swish_requantize_tables(seed):
    """All 256 input codes, 40 random input grids per function per seed."""
    rng = np.random.default_rng(seed)
    for s_in, zp in _scales(rng, 40):
        _check(_unary(OPS.LOGISTIC, s_in, zp, 1 / 256, -128, version=2), ALL_CODES)
        s_out = s_in * float(rng.uniform(0.2, 1.2))
        _check(_unary(OPS.HARD_SWISH, s_in, zp, s_out, int(rng.integers(-128, 0))), ALL_CODES)
        s_out = s_in * float(np.exp(rng.uniform(-3, 3)))
        _check(_unary(OPS.QUANTIZE, s_in, zp, s_out, int(rng.integers(-128, 128)), version=2), ALL_CODES)


@pytest.mark.parametrize("depth", [1, 3, 10, 17, 100])
def test_softmax(depth, tmp_path):
    rng = np.random.default_rng(depth)
    for k, (s_in, zp) in enumerate(_scales(rng, 12, 1e-3, 0.5)):
        beta = [1.0, 0.5, 2.0][k % 3]
        x = rng.integers(-128, 128, (16, depth)).astype(np.int8)
        x[:4] = rng.integers(120, 128, (4, depth))  # near-ties
        model = _unary(OPS.SOFTMAX, s_in, zp, 1 / 256, -128, options("SoftmaxOptions", beta=beta), 2, (1, depth))
        _check(model, x, tmp_path / f"h{k}" if k < 2 else None)


def _mean_model(shape, axes, keep, s_in, zp, s_out, zp_out):
    b = TfliteBuilder()
    i = b.tensor(shape, np.int8, s_in, zp)
    ax = b.tensor((len(axes),), np.int32, data=np.array(axes, np.int32))
    full = [1 if a in [x % len(shape) for x in axes] else d for a, d in enumerate(shape)]
    out_shape = tuple(full) if keep else tuple(d for a, d in enumerate(shape) if a not in [x % len(shape) for x in axes])
    o = b.tensor(out_shape, np.int8, s_out, zp_out)
    b.op(OPS.MEAN, [i, ax], [o], *options("ReducerOptions", keepDims=keep), version=2)
    return b.build([i], [o])


@pytest.mark.parametrize("case", [((1, 7, 5, 3), [1, 2]), ((1, 4, 4, 17), [2, 1]), ((1, 7, 5, 17), [1]),
                                  ((1, 3, 9, 2), [2]), ((1, 6, 10), [1]), ((1, 6, 10), [-1]), ((1, 9, 5, 2), [3])])
@pytest.mark.parametrize("keep", [False, True])
def test_mean(case, keep):
    shape, axes = case
    rng = np.random.default_rng(len(shape) * 10 + len(axes) + keep)
    for s_in, zp in _scales(rng, 6, 1e-3, 0.5):
        same = rng.random() < 0.3
        s_out, zp_out = (s_in, zp) if same else (s_in * float(rng.uniform(0.3, 2)), int(rng.integers(-128, 128)))
        x = rng.integers(-128, 128, (8, *shape[1:])).astype(np.int8)
        _check(_mean_model(shape, axes, keep, s_in, zp, s_out, zp_out), x)


def _pool_model(code, shape, k, s, padding, fused, scale, zp):
    out_h = -(-shape[1] // s[0]) if padding == 0 else (shape[1] - k[0]) // s[0] + 1
    out_w = -(-shape[2] // s[1]) if padding == 0 else (shape[2] - k[1]) // s[1] + 1
    b = TfliteBuilder()
    i = b.tensor(shape, np.int8, scale, zp)
    o = b.tensor((1, out_h, out_w, shape[3]), np.int8, scale, zp)
    b.op(code, [i], [o], *options("Pool2DOptions", padding=padding, strideW=s[1], strideH=s[0], filterWidth=k[1],
                                  filterHeight=k[0], fusedActivationFunction=fused), version=2)
    return b.build([i], [o])


@pytest.mark.parametrize("code", [OPS.AVERAGE_POOL_2D, OPS.MAX_POOL_2D], ids=["avg", "max"])
def test_pools(code, tmp_path):
    rng = np.random.default_rng(int(code))
    for t in range(16):
        shape = [(1, 7, 5, 3), (1, 6, 6, 17), (1, 5, 9, 2)][t % 3]
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        model = _pool_model(code, shape, k, s, t % 2, [0, 1, 2, 3][t % 4], 0.05, int(rng.integers(-20, 20)))
        x = rng.integers(-128, 128, (6, *shape[1:])).astype(np.int8)
        _check(model, x, tmp_path / f"h{t}" if t < 2 else None)


def _conv_model(rng, shape, cout, k, stride, dilation, padding, fused, depthwise=False):
    cin = shape[3]
    b = TfliteBuilder()
    s_in, zp_in = 0.04, int(rng.integers(-30, 30))
    i = b.tensor(shape, np.int8, s_in, zp_in)
    if depthwise:
        w_shape, qdim, n = (1, k[0], k[1], cout), 3, cout
    else:
        w_shape, qdim, n = (cout, k[0], k[1], cin), 0, cout
    ws = rng.uniform(0.002, 0.02, n).astype(np.float32)
    w = b.tensor(w_shape, np.int8, ws, np.zeros(n, np.int64), rng.integers(-127, 128, w_shape), qdim=qdim)
    bias = b.tensor((cout,), np.int32, (s_in * ws).astype(np.float32), np.zeros(n, np.int64),
                    rng.integers(-2000, 2000, cout))
    eff = [(k[j] - 1) * dilation[j] + 1 for j in range(2)]
    out_hw = [-(-shape[1 + j] // stride[j]) if padding == 0 else (shape[1 + j] - eff[j]) // stride[j] + 1
              for j in range(2)]
    o = b.tensor((1, *out_hw, cout), np.int8, 0.05, int(rng.integers(-20, 20)))
    if depthwise:
        opts = options("DepthwiseConv2DOptions", padding=padding, strideW=stride[1], strideH=stride[0],
                       depthMultiplier=cout // cin, fusedActivationFunction=fused,
                       dilationWFactor=dilation[1], dilationHFactor=dilation[0])
        b.op(OPS.DEPTHWISE_CONV_2D, [i, w, bias], [o], *opts, version=3)
    else:
        opts = options("Conv2DOptions", padding=padding, strideW=stride[1], strideH=stride[0],
                       fusedActivationFunction=fused, dilationWFactor=dilation[1], dilationHFactor=dilation[0])
        b.op(OPS.CONV_2D, [i, w, bias], [o], *opts, version=3)
    return b.build([i], [o])


@pytest.mark.parametrize("depthwise", [False, True], ids=["conv", "depthwise"])
def test_convolutions(depthwise):
    """Strides, dilations, SAME/VALID (odd padding totals), every fused activation."""
    rng = np.random.default_rng(7 + depthwise)
    for t in range(12):
        shape = [(1, 7, 5, 3), (1, 6, 9, 4)][t % 2]
        cout = shape[3] * (1 + t % 2) if depthwise else [17, 5, 8][t % 3]
        k = [(3, 3), (2, 3), (1, 1), (5, 3)][t % 4]
        stride = [(1, 1), (2, 2), (1, 2)][t % 3]
        dilation = (2, 1) if t % 5 == 4 else (1, 1)
        model = _conv_model(rng, shape, cout, k, stride, dilation, t % 2, [0, 1, 2, 3][t % 4], depthwise)
        _check(model, rng.integers(-128, 128, (5, *shape[1:])).astype(np.int8))


def _binary_model(code, a_shape, b_shape, out_shape, b_const, fused, rng):
    bld = TfliteBuilder()
    sa, za = 0.03, int(rng.integers(-50, 50))
    sb, zb = float(rng.uniform(0.01, 0.1)), int(rng.integers(-50, 50))
    a = bld.tensor(a_shape, np.int8, sa, za)
    data = rng.integers(-128, 128, b_shape) if b_const else None
    b = bld.tensor(b_shape, np.int8, sb, zb, data)
    o = bld.tensor(out_shape, np.int8, float(rng.uniform(0.02, 0.2)), int(rng.integers(-30, 30)))
    name = {OPS.ADD: "AddOptions", OPS.SUB: "SubOptions", OPS.MUL: "MulOptions"}[code]
    bld.op(code, [a, b], [o], *options(name, fusedActivationFunction=fused), version=2)
    return bld.build([a] if b_const else [a, b], [o])


@pytest.mark.parametrize("code", [OPS.ADD, OPS.MUL], ids=["add", "mul"])
def test_elementwise_broadcast(code):
    rng = np.random.default_rng(int(code))
    cases = [((1, 7, 5, 3), (1, 7, 5, 3), False), ((1, 7, 5, 17), (17,), True), ((1, 7, 5, 3), (1, 1, 5, 3), True),
             ((1, 10), (1, 10), False), ((1, 4, 6), (6,), True)]
    for t, (a_shape, b_shape, const) in enumerate(cases):
        model = _binary_model(code, a_shape, b_shape, a_shape, const, t % 4, rng)
        xs = [rng.integers(-128, 128, (6, *a_shape[1:])).astype(np.int8)]
        if not const:
            xs.append(rng.integers(-128, 128, (6, *b_shape[1:])).astype(np.int8))
        g = import_tflite("op.tflite", data=model)
        (ref,) = interpreter.run(g, xs)
        (tflm,) = tflm_run(model, xs)
        np.testing.assert_array_equal(ref, tflm)


def test_fully_connected_keep_dims_and_no_bias():
    rng = np.random.default_rng(11)
    b = TfliteBuilder()
    x = b.tensor((1, 3, 12), np.int8, 0.05, 3)
    ws = rng.uniform(0.002, 0.02, 7).astype(np.float32)
    w = b.tensor((7, 36), np.int8, ws, np.zeros(7, np.int64), rng.integers(-127, 128, (7, 36)))
    o = b.tensor((1, 7), np.int8, 0.1, -5)
    b.op(OPS.FULLY_CONNECTED, [x, w, -1], [o], *options("FullyConnectedOptions", fusedActivationFunction=1), version=4)
    model = b.build([x], [o])
    _check(model, rng.integers(-128, 128, (10, 3, 12)).astype(np.int8))


@pytest.mark.parametrize("v2", [False, True], ids=["pad", "padv2"])
def test_pad_standalone(v2, tmp_path):
    rng = np.random.default_rng(13 + v2)
    b = TfliteBuilder()
    x = b.tensor((1, 4, 5, 3), np.int8, 0.05, 7)
    pads = np.array([[0, 0], [1, 2], [0, 3], [2, 1]], np.int32)
    p = b.tensor((4, 2), np.int32, data=pads)
    o = b.tensor((1, 7, 8, 6), np.int8, 0.05, 7)
    ins = [x, p]
    if v2:
        ins.append(b.tensor((1,), np.int8, 0.05, 7, np.array([-100], np.int8)))
    b.op(OPS.PADV2 if v2 else OPS.PAD, ins, [o], version=2)
    g, ref = _check(b.build([x], [o]), rng.integers(-128, 128, (4, 4, 5, 3)).astype(np.int8), tmp_path)
    assert [n.op for n in g.nodes] == ["pad"]


def test_pad_folded_into_conv():
    """PAD (zero point) -> VALID conv becomes one conv with asymmetric padding, exactly."""
    rng = np.random.default_rng(17)
    b = TfliteBuilder()
    x = b.tensor((1, 7, 5, 3), np.int8, 0.04, -9)
    p = b.tensor((4, 2), np.int32, data=np.array([[0, 0], [2, 1], [0, 1], [0, 0]], np.int32))
    px = b.tensor((1, 10, 6, 3), np.int8, 0.04, -9)
    b.op(OPS.PAD, [x, p], [px], version=2)
    ws = rng.uniform(0.002, 0.02, 4).astype(np.float32)
    w = b.tensor((4, 3, 3, 3), np.int8, ws, np.zeros(4, np.int64), rng.integers(-127, 128, (4, 3, 3, 3)))
    o = b.tensor((1, 8, 4, 4), np.int8, 0.05, 2)
    b.op(OPS.CONV_2D, [px, w, -1], [o], *options("Conv2DOptions", padding=1, strideW=1, strideH=1,
                                                    dilationWFactor=1, dilationHFactor=1), version=3)
    g, _ = _check(b.build([x], [o]), rng.integers(-128, 128, (6, 7, 5, 3)).astype(np.int8))
    assert [n.op for n in g.nodes] == ["conv2d"] and g.nodes[0].attrs.padding == (2, 1, 0, 1)


@pytest.mark.parametrize("seed", range(3))
def test_sub(seed, tmp_path):
    """SUB over the broadcast shapes of add/mul and every fused activation, equal to TFLM; host C once."""
    rng = np.random.default_rng(100 + seed)
    cases = [((1, 7, 5, 3), (1, 7, 5, 3), False), ((1, 7, 5, 17), (17,), True), ((1, 7, 5, 3), (1, 1, 5, 3), True),
             ((1, 10), (1, 10), False), ((1, 4, 6), (6,), True), ((1, 3, 1, 4), (1, 3, 2, 4), False)]
    for t, (a_shape, b_shape, const) in enumerate(cases):
        out_shape = tuple(np.broadcast_shapes(a_shape, b_shape))
        model = _binary_model(OPS.SUB, a_shape, b_shape, out_shape, const, (t + seed) % 4, rng)
        xs = [rng.integers(-128, 128, (6, *a_shape[1:])).astype(np.int8)]
        if not const:
            xs.append(rng.integers(-128, 128, (6, *b_shape[1:])).astype(np.int8))
        g = import_tflite("op.tflite", data=model)
        assert [n.op for n in g.nodes] == ["sub"]
        (ref,) = interpreter.run(g, xs)
        (tflm,) = tflm_run(model, xs)
        np.testing.assert_array_equal(ref, tflm)
        if t == 0:
            host = compile_graph(g, tmp_path / f"sub{t}")
            for b in range(2):
                np.testing.assert_array_equal(host.invoke_one([x[b:b + 1] for x in xs])[0], ref[b:b + 1])
