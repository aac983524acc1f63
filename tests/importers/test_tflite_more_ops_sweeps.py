"""Sweeps of the TFLite ops added with tests/importers/keras_zoo_ops.py, each op built directly as a
flatbuffer (no TensorFlow): the imported graph's reference equals TensorFlow Lite Micro on every
element over random grids, shapes and options; a few also run the host C. Plus the one-line refusals."""

import numpy as np
import pytest

pytest.importorskip("tflite_micro")

from tests.importers.test_tflite_ops import ALL_CODES, _check, _scales, _unary  # noqa: E402
from tests.importers.tflite_builder import TfliteBuilder, options  # noqa: E402
from tinygen.errors import UnsupportedOpError  # noqa: E402
from tinygen.importers.tflite import import_tflite  # noqa: E402
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S  # noqa: E402

OPS = S.BuiltinOperator


def test_tanh_relu_relu6_leaky_relu_tables():
    """All 256 input codes, 30 random grids per function; output grids on either side of the input's."""
    rng = np.random.default_rng(200)
    for s_in, zp in _scales(rng, 30):
        _check(_unary(OPS.TANH, s_in, zp, 1 / 128, 0, version=2), ALL_CODES)
        s_out, zp_out = s_in * float(np.exp(rng.uniform(-1.5, 1.5))), int(rng.integers(-128, 128))
        _check(_unary(OPS.RELU, s_in, zp, s_out, zp_out, version=2), ALL_CODES)
        _check(_unary(OPS.RELU6, s_in, zp, s_out, zp_out, version=2), ALL_CODES)
        alpha = float(rng.choice([0.0, 0.01, 0.2, 0.5, 1.0, 3.0]))
        _check(_unary(OPS.LEAKY_RELU, s_in, zp, s_out, zp_out, options("LeakyReluOptions", alpha=alpha), 2),
               ALL_CODES)


def _resize(code, opts_name, in_hw, out_hw, align, half, c=3):
    b = TfliteBuilder()
    i = b.tensor((1, *in_hw, c), np.int8, 0.05, 3)
    size = b.tensor((2,), np.int32, data=np.array(out_hw, np.int32))
    o = b.tensor((1, *out_hw, c), np.int8, 0.05, 3)
    b.op(code, [i, size], [o], *options(opts_name, alignCorners=align, halfPixelCenters=half), version=3)
    return b.build([i], [o])


@pytest.mark.parametrize("code,opts", [(OPS.RESIZE_NEAREST_NEIGHBOR, "ResizeNearestNeighborOptions"),
                                       (OPS.RESIZE_BILINEAR, "ResizeBilinearOptions")], ids=["nearest", "bilinear"])
def test_resize_up_and_down(code, opts, tmp_path):
    """Up- and down-scaling, odd ratios and single pixels, for the three corner rules; host C once per rule."""
    rng = np.random.default_rng(int(code))
    sizes = [((4, 3), (8, 9)), ((5, 7), (3, 2)), ((1, 4), (3, 1)), ((7, 5), (7, 5)), ((3, 3), (10, 4)),
             ((9, 6), (2, 11))]
    for align, half in ((False, False), (True, False), (False, True)):
        for k, (in_hw, out_hw) in enumerate(sizes):
            x = rng.integers(-128, 128, (4, *in_hw, 3)).astype(np.int8)
            _check(_resize(code, opts, in_hw, out_hw, align, half), x, tmp_path / f"{align}{half}" if k == 0 else None)


def _strided(shape, begin, end, strides, bm=0, em=0, sm=0):
    b = TfliteBuilder()
    i = b.tensor(shape, np.int8, 0.05, -4)
    ts = [b.tensor((len(shape),), np.int32, data=np.array(v, np.int32)) for v in (begin, end, strides)]
    out = []
    for d, n in enumerate(shape):
        if sm >> d & 1:
            continue
        r = range(n)[slice(None if bm >> d & 1 else begin[d], None if em >> d & 1 else end[d], strides[d])]
        out.append(len(r))
    o = b.tensor(tuple(out), np.int8, 0.05, -4)
    b.op(OPS.STRIDED_SLICE, [i, *ts], [o], *options("StridedSliceOptions", beginMask=bm, endMask=em,
                                                   shrinkAxisMask=sm), version=2)
    return b.build([i], [o]), out


def test_strided_slice_sweep(tmp_path):
    """25 random begins/ends (negative too), strides in -3..3, begin/end/shrink masks; host C on a few."""
    rng = np.random.default_rng(31)
    shape = (1, 7, 5, 9)
    done = 0
    while done < 25:
        begin = [0] + [int(rng.integers(-n, n)) for n in shape[1:]]
        end = [1] + [int(rng.integers(-n - 1, n + 2)) for n in shape[1:]]
        strides = [1] + [int(rng.choice([-3, -2, -1, 1, 2, 3])) for _ in shape[1:]]
        bm, em = int(rng.integers(0, 16)) & ~1, int(rng.integers(0, 16)) & ~1
        sm = int(rng.choice([0, 0, 2, 4, 8]))
        strides = [abs(v) if sm >> d & 1 else v for d, v in enumerate(strides)]  # see test_refusals
        model, out = _strided(shape, begin, end, strides, bm, em, sm)
        if 0 in out or len(out) < 2:
            continue
        x = rng.integers(-128, 128, (3, *shape[1:])).astype(np.int8)
        _check(model, x, tmp_path / f"s{done}" if done < 3 else None)
        done += 1


def test_squeeze(tmp_path):
    b = TfliteBuilder()
    i = b.tensor((1, 1, 5, 3), np.int8, 0.05, 1)
    o = b.tensor((1, 5, 3), np.int8, 0.05, 1)
    b.op(OPS.SQUEEZE, [i], [o], *options("SqueezeOptions", squeezeDims=[1]))
    g, _ = _check(b.build([i], [o]), np.random.default_rng(3).integers(-128, 128, (4, 1, 5, 3)).astype(np.int8),
                  tmp_path)
    assert [n.op for n in g.nodes] == ["reshape"]


def test_prelu_grids(tmp_path):
    """PRELU with per-channel and per-element alpha over random input, alpha and output grids."""
    rng = np.random.default_rng(41)
    for t in range(12):
        s_in, zp = _scales(rng, 1)[0]
        a_shape = [(1, 1, 6), (3, 4, 6), (6,)][t % 3]
        b = TfliteBuilder()
        i = b.tensor((1, 3, 4, 6), np.int8, s_in, zp)
        a = b.tensor(a_shape, np.int8, float(rng.uniform(0.001, 0.02)), int(rng.integers(-20, 20)),
                     rng.integers(-128, 128, a_shape))
        o = b.tensor((1, 3, 4, 6), np.int8, s_in * float(rng.uniform(0.3, 2)), int(rng.integers(-100, 100)))
        b.op(OPS.PRELU, [i, a], [o])
        _check(b.build([i], [o]), rng.integers(-128, 128, (4, 3, 4, 6)).astype(np.int8),
               tmp_path / f"p{t}" if t < 2 else None)


def test_batch_matmul_constant_weights(tmp_path):
    """Symmetric and asymmetric constant weights (one conv, or int8 parts when w - z_w leaves int8),
    adj_y both ways, one row and many, rank 3 and 4 left-hand sides; host C on two."""
    rng = np.random.default_rng(53)
    cases = [((1, 6, 5), 0, False), ((1, 1, 5), 3, True), ((1, 2, 3, 7), -60, False), ((1, 9, 4), 100, True),
             ((1, 4, 16), 127, False), ((1, 3, 8), -128, True)]
    for t, (xs, zp_w, adj_y) in enumerate(cases):
        k, n = xs[-1], int(rng.integers(1, 7))
        w_shape = (1, n, k) if adj_y else (1, k, n)
        b = TfliteBuilder()
        x = b.tensor(xs, np.int8, float(rng.uniform(0.01, 0.1)), int(rng.integers(-30, 30)))
        wq = rng.integers(-128, 128, w_shape)
        wq.flat[0] = 127 if zp_w == -128 else wq.flat[0]  # 127 - (-128) = 255 needs three int8 parts
        w = b.tensor(w_shape, np.int8, float(rng.uniform(0.005, 0.05)), zp_w, wq)
        o = b.tensor(xs[:-1] + (n,), np.int8, float(rng.uniform(0.05, 0.3)), int(rng.integers(-20, 20)))
        b.op(OPS.BATCH_MATMUL, [x, w], [o], *options("BatchMatMulOptions", adjY=adj_y))
        g, _ = _check(b.build([x], [o]), rng.integers(-128, 128, (5, *xs[1:])).astype(np.int8),
                      tmp_path / f"m{t}" if t in (2, 3) else None)
        shifted = wq - zp_w
        assert [n.op for n in g.nodes].count("concat") == int(shifted.min() < -128 or shifted.max() > 127)
        if zp_w == -128:
            assert len(next(n for n in g.nodes if n.op == "concat").inputs) == 3


def _refused(model, pattern):
    with pytest.raises(UnsupportedOpError, match=pattern):
        import_tflite("m.tflite", data=model)


def test_refusals_name_operator_and_field():
    b = TfliteBuilder()
    i = b.tensor((1, 8), np.int8, 0.05, 0)
    o = b.tensor((1, 8), np.int8, 0.05, 0)
    b.op(OPS.LEAKY_RELU, [i], [o], *options("LeakyReluOptions", alpha=-0.5))
    _refused(b.build([i], [o]), r"m.tflite: operator 0 \(LEAKY_RELU v1\): alpha -0.5")

    b = TfliteBuilder()
    i = b.tensor((1, 4, 5), np.int8, 0.05, 0)
    perm = b.tensor((3,), np.int32, data=np.array([1, 0, 2], np.int32))
    o = b.tensor((4, 1, 5), np.int8, 0.05, 0)
    b.op(OPS.TRANSPOSE, [i, perm], [o])
    _refused(b.build([i], [o]), r"operator 0 \(TRANSPOSE v1\): perm \[1, 0, 2\] moves the batch axis")

    b = TfliteBuilder()
    x = b.tensor((1, 4, 3), np.int8, 0.05, 0)
    w = b.tensor((1, 3, 2), np.int8, 0.05, 0)
    o = b.tensor((1, 4, 2), np.int8, 0.05, 0)
    b.op(OPS.BATCH_MATMUL, [x, w], [o], *options("BatchMatMulOptions"))
    _refused(b.build([x, w], [o]), r"operator 0 \(BATCH_MATMUL v1\): the right-hand side is an activation")

    model, _ = _strided((1, 7, 5, 9), [0, 1, 0, 0], [1, 5, 5, 9], [1, 1, 1, 1])
    m = S.ModelT.InitFromPackedBuf(model, 0)
    m.subgraphs[0].operators[0].builtinOptions.ellipsisMask = 2
    import flatbuffers

    fb = flatbuffers.Builder(1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    _refused(bytes(fb.Output()), r"operator 0 \(STRIDED_SLICE v2\): ellipsis_mask")

    model, _ = _strided((1, 7, 5, 9), [0, 3, 0, 0], [1, 4, 5, 9], [1, -1, 1, 1], sm=2)
    _refused(model, r"operator 0 \(STRIDED_SLICE v2\): shrunk axis 1 has stride -1")
