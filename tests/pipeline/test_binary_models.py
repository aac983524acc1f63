"""Binarized and sub-byte PyTorch models through the whole pipeline.

* exact: models whose float32 arithmetic in PyTorch is exact (binary_models.py) must give the
  very same sign bits in tinygen's reference, for every edge channel count and geometry;
* whole models: host C == reference bit for bit, and the reference's top-1 agrees with PyTorch
  on >= 99% of seeded random inputs (int8 outputs: within one quantization step on >= 99%);
* the int8 output stage of a binary layer rounds once, so its outputs equal PyTorch's fake-quant
  except where float32 puts the value within ~1e-5 steps of a rounding tie.
"""

import numpy as np
import pytest
import torch

import tinygen
from tests.pipeline.binary_models import (BinaryConvSign, BinaryToInt8, BinaryToInt8Head, FlattenSignLinear,
                                          Int8ConvSign, SmallBNN, SubByte, calibrate, lowered, reference_bits,
                                          torch_out, unpack_like)

EDGE = (1, 31, 32, 33, 63, 64, 65)
# (cin, cout, kernel, stride, padding): every edge count as input and output, kernels 1 and 3,
# strides 1 and 2, padding 0 and 1
GEOMETRIES = [(1, 65, 3, 1, 1), (31, 33, 3, 2, 1), (32, 32, 1, 1, 0), (33, 31, 3, 1, 0), (63, 64, 3, 2, 0),
              (64, 63, 1, 2, 0), (65, 1, 3, 1, 1), (33, 64, 1, 1, 1)]


def _ops(graph):
    return [n.op for n in graph.nodes]


def _assert_same_bits(model, shape, n=12, seed=0):
    graph = lowered(model, shape)
    x = np.random.default_rng(seed).normal(size=(n, *shape[1:])).astype(np.float32)
    out, _ = reference_bits(graph, x)
    t = torch_out(model, x)
    assert (t > 0).any() and (t < 0).any()  # the model's thresholds lie inside its range
    np.testing.assert_array_equal(unpack_like(out, t.shape), t.astype(np.int8))
    return graph


@pytest.mark.parametrize("cin,cout,k,stride,pad", GEOMETRIES, ids=[f"{g}" for g in GEOMETRIES])
def test_binary_conv_bn_sign_bits_equal_torch(cin, cout, k, stride, pad):
    model = BinaryConvSign(cin, cout, k, stride, pad, seed=cin + cout).eval()
    graph = _assert_same_bits(model, (1, cin, 7, 6))
    assert _ops(graph) == ["binarize", "bconv2d"]


@pytest.mark.parametrize("pool", ["before_bn", "after_bn", "after_sign"])
def test_max_pool_on_binary_is_exact(pool):
    model = BinaryConvSign(33, 40, 3, 1, 1, seed=5, pool=pool).eval()
    graph = _assert_same_bits(model, (1, 33, 7, 9))
    assert _ops(graph) == ["binarize", "bconv2d", "bmax_pool2d"]


@pytest.mark.parametrize("linear", [False, True], ids=["conv", "linear"])
def test_int8_to_binary_threshold_bits_equal_torch(linear):
    model = Int8ConvSign(linear=linear, seed=3).eval()
    graph = _assert_same_bits(model, (1, 3, 5, 5), n=24)
    assert _ops(graph) == (["reshape", "fully_connected", "binarize"] if linear else ["conv2d_bits"])


def test_flatten_then_sign_then_binary_linear():
    graph = _assert_same_bits(FlattenSignLinear().eval(), (1, 3, 5, 5))
    assert _ops(graph) == ["reshape", "binarize", "bfully_connected"]


def test_binary_output_without_bn_or_bias():
    model = BinaryConvSign(20, 8, 3, 1, 1, seed=2, bias=False).eval()
    model.bn = torch.nn.Identity()
    _assert_same_bits(model, (1, 20, 5, 5))


@pytest.mark.host
def test_binary_output_host_equals_reference(tmp_path):
    model = BinaryConvSign(33, 65, 3, 2, 1, seed=1, pool="after_sign").eval()
    program = tinygen.build(model, out_dir=tmp_path / "o", input_shape=(1, 33, 9, 8))
    q = program.quantize(np.random.default_rng(0).normal(size=(6, 33, 9, 8)), layout="NCHW")
    ref = program.reference(q)
    assert ref.dtype == np.uint32 and program.outputs[0].shape == (1, 3, 2, 3)  # 65 channels in 3 words
    np.testing.assert_array_equal(program.run_host(q), ref)
    np.testing.assert_array_equal(tinygen.load(tmp_path / "o").run_host(q), ref)


def _whole_model(model, shape, tmp_path, n=200, seed=1, x=None):
    program = tinygen.build(model, out_dir=tmp_path / "o", input_shape=shape)
    if x is None:
        x = np.random.default_rng(seed).normal(size=(n, *shape[1:])).astype(np.float32)
    q = program.quantize(x, layout="NCHW")
    ref = program.reference(q)
    np.testing.assert_array_equal(program.run_host(q), ref)
    t = torch_out(model, x)
    if t.ndim == 4:
        t = t.transpose(0, 2, 3, 1)
    return program, ref, t


@pytest.mark.host
def test_small_bnn_host_exact_and_top1_agrees(tmp_path):
    """An untrained (calibrated only) model on random inputs: its logits have no margins, so this
    needs logits that are exact, not just within a step (the two-rounding stage agreed on ~95%)."""
    shape = (1, 2, 8, 8)
    model = calibrate(SmallBNN(seed=0), shape)
    program, ref, t = _whole_model(model, shape, tmp_path, n=300)
    ops = [layer["op"] for layer in program.report["layers"]]
    assert ops == ["conv2d_bits", "bconv2d", "bmax_pool2d", "bconv2d", "bconv2d", "reshape", "bfully_connected",
                   "bfully_connected"], ops
    assert len(np.unique(ref)) > 30
    assert (ref.argmax(1) == t.argmax(1)).mean() >= 0.995
    steps = np.abs(program.dequantize(ref) - t) / np.float32(program.outputs[0].scale)
    # every binary layer is exact and the int8 output stage rounds once: only float32 near-ties differ
    assert steps.max() <= 1.0 + 1e-4 and (steps <= 1e-4).mean() >= 0.999, ((steps > 1e-4).mean(), steps.max())


@pytest.mark.host
def test_binary_int8_output_stage_equals_torch_fake_quant(tmp_path):
    """bconv2d's int8 output (alpha, bias, BN with negative and zero gamma, ReLU folded) against
    PyTorch's fake-quant of the same float values: equal except at float32 near-ties."""
    shape = (1, 31, 6, 6)
    model = calibrate(BinaryToInt8Head(seed=0), shape)
    program, ref, t = _whole_model(model, shape, tmp_path, n=60)
    assert [n.op for n in program.graph.nodes] == ["binarize", "bconv2d"]
    assert len(np.unique(ref)) > 50
    steps = np.abs(program.dequantize(ref) - t) / np.float32(program.outputs[0].scale)
    assert steps.max() <= 1.0 + 1e-4 and (steps <= 1e-4).mean() >= 0.9999, ((steps > 1e-4).mean(), steps.max())


@pytest.mark.host
def test_binary_to_int8_with_negative_and_zero_bn(tmp_path):
    shape = (1, 31, 6, 6)
    model = calibrate(BinaryToInt8(seed=0), shape)
    program, ref, t = _whole_model(model, shape, tmp_path, n=60)
    assert [n.op for n in program.graph.nodes][:2] == ["binarize", "bconv2d"]
    steps = np.abs(program.dequantize(ref) - t) / np.float32(program.outputs[0].scale)
    assert (steps <= 1.0 + 1e-4).mean() >= 0.99, steps.max()


@pytest.mark.host
def test_sub_byte_weights(tmp_path):
    shape = (1, 3, 7, 7)
    model = calibrate(SubByte(seed=0), shape)
    program, ref, t = _whole_model(model, shape, tmp_path)
    bits = sorted(n.attrs.weight_bits for n in program.graph.nodes if n.op.endswith("_packed"))
    assert bits == [1, 2, 2, 4, 4]
    steps = np.abs(program.dequantize(ref) - t) / np.float32(program.outputs[0].scale)
    assert (steps <= 1.0 + 1e-4).mean() >= 0.99, steps.max()
    assert program.outputs[0].qmin == -8 and program.outputs[0].qmax == 7 and ref.min() >= -8 and ref.max() <= 7
