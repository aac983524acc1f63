"""Binary and sub-byte passes on tiny graphs: each rewrite, each integer fold checked by brute
force, and every refusal naming the layer and the reason."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.errors import QuantizationError, UnsupportedOpError
from tinygen.ir import float_ops as FO
from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.nn import BinaryAct, BinaryConv2d, BinaryLinear, QConv2d, QuantAct
from tinygen.passes.binary_weights import binary_scales, binary_weights
from tinygen.passes.fuse_sign import fuse_sign
from tinygen.passes.lower.packed import weight_storage
from tinygen.passes.lower.sign import accumulator_thresholds
from tinygen.passes.propagate_binary import propagate_binary
from tinygen.pipeline import import_any, lower_model

from tests.pipeline.binary_models import calibrate


def _float_conv_graph(w: np.ndarray) -> Graph:
    g = Graph("g")
    g.add_tensor(Tensor("x", (1, w.shape[1], 4, 4), DType.UINT32))
    g.inputs.append("x")
    g.add_const("w", w.astype(np.float32))
    g.add_tensor(Tensor("y", (1, w.shape[0], 2, 2), DType.FLOAT32))
    g.add_node(Node("conv", "conv2d", ["x", "w"], ["y"], FO.Conv2d()))
    g.outputs.append("y")
    return g


# -- binary weights -----------------------------------------------------------------------------------
def test_binary_weights_become_pm1_with_alpha():
    rng = np.random.default_rng(0)
    alpha = np.array([0.25, 1.5, 3e-3], np.float32)
    signs = np.where(rng.random((3, 2, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    signs[2] = 1.0  # a channel with one sign only is still binary
    g = binary_weights(_float_conv_graph(signs * alpha[:, None, None, None]))
    w = g.t(g.nodes[0].inputs[1])
    np.testing.assert_array_equal(w.data, signs.astype(np.int8))
    assert w.quant.scale == tuple(float(a) for a in alpha) and w.quant.bits == 1
    assert (w.quant.qmin, w.quant.qmax, w.quant.axis) == (-1, 1, 0)


def test_non_binary_float_weights_name_the_channel():
    w = np.ones((2, 1, 3, 3), np.float32)
    w[1, 0, 1, 1] = 0.5
    assert binary_scales(w)[0] is None and "output channel 1 holds {0.5, 1}" in binary_scales(w)[1]
    g = binary_weights(_float_conv_graph(w))
    assert g.t(g.nodes[0].inputs[1]).quant is None  # left for lowering to refuse (see the error tests)


# -- fuse_sign / propagate_binary -------------------------------------------------------------------
class Chain(nn.Module):
    def __init__(self, order, gamma=1.0, relu=False):
        super().__init__()
        self.q, self.a0 = QuantAct(), BinaryAct()
        self.c, self.bn, self.a1 = BinaryConv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), BinaryAct()
        self.order, self.relu = order, relu
        with torch.no_grad():
            self.bn.weight.fill_(gamma)

    def forward(self, x):
        x = self.a0(self.q(x))
        y = self.c(x)
        for step in self.order:
            y = {"pool": lambda v: F.max_pool2d(v, 2), "bn": self.bn, "htanh": F.hardtanh,
                 "relu": F.relu, "sign": self.a1}[step](y)
        return y


def _float_passes(model, shape=(1, 8, 6, 6)):
    graph, _ = import_any(calibrate(model, shape), shape)
    for p in (binary_weights, fuse_sign, propagate_binary):
        graph = p(graph, "m")
    return graph


@pytest.mark.parametrize("order,ops", [
    (["bn", "sign"], ["sign", "conv2d_sign"]),
    (["bn", "htanh", "sign"], ["sign", "conv2d_sign"]),
    (["bn", "pool", "sign"], ["sign", "conv2d_sign", "max_pool2d"]),
    (["pool", "bn", "sign"], ["sign", "conv2d_sign", "max_pool2d"]),
    (["bn", "sign", "pool"], ["sign", "conv2d_sign", "max_pool2d"]),
    (["sign"], ["sign", "conv2d_sign"]),
])
def test_fuse_sign_chains(order, ops):
    graph = _float_passes(Chain(order))
    assert [n.op for n in graph.nodes if n.op != "fake_quant"] == ops
    fused = next(n for n in graph.nodes if n.op == "conv2d_sign")
    assert (fused.attrs.bn is not None) == ("bn" in order)
    for n in graph.nodes[1:]:
        assert graph.t(n.outputs[0]).dtype == DType.UINT32  # every tensor after the first sign is binary


def test_relu_before_sign_is_not_fused():
    graph = _float_passes(Chain(["bn", "relu", "sign"]))
    assert "conv2d_sign" not in [n.op for n in graph.nodes]  # sign(relu(y)) is always +1: left to be refused


def test_pool_before_bn_with_negative_gamma_is_refused():
    model = Chain(["pool", "bn", "sign"])
    with torch.no_grad():
        model.bn.weight[3] = -0.5
    with pytest.raises(UnsupportedOpError, match=r"max_pool2d.*negative scale \(channel 3"):
        _float_passes(model)


# -- integer folds ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_accumulator_thresholds_agree_with_float64_everywhere(seed):
    rng = np.random.default_rng(seed)
    c, a = 12, 40
    r = np.exp(rng.uniform(-6, -2, c))
    bias = rng.normal(0, 0.05, c)
    gamma = rng.normal(0, 1, c)
    gamma[::4] = 0.0
    bn = FO.BatchNormParams(tuple(gamma), tuple(rng.normal(0, 0.5, c)), tuple(rng.normal(0, 0.05, c)),
                            tuple(rng.uniform(0.01, 2, c)), 1e-5)
    amax = np.full(c, a)
    d, t = accumulator_thresholds(r, bias, bn, amax)
    acc = np.arange(-a, a + 1)
    for ch in range(c):
        y = gamma[ch] * (r[ch] * acc + bias[ch] - bn.mean[ch]) / np.sqrt(bn.var[ch] + bn.eps) + bn.beta[ch]
        v = {1: acc - t[ch], -1: t[ch] - acc, 0: np.full_like(acc, t[ch])}[int(d[ch])]
        np.testing.assert_array_equal(v >= 0, y >= 0, err_msg=f"channel {ch}")


@pytest.mark.parametrize("qmin,qmax,bits,values,negated,want", [
    (-127, 127, 8, [-127, 5, 127], False, (8, 0)),
    (-1, 1, 1, [-1, 1, 1], False, (1, 0)),
    (-1, 1, 1, [-1, 0, 1], False, (2, -1)),  # a BN channel with gamma 0 in a binary layer
    (-1, 1, 8, [-1, 1], False, (2, -1)),  # 3 levels declared: 2 bits, not 1
    (-7, 7, 8, [-7, 7], False, (4, -7)),
    (-2, 1, 8, [-2, 1], False, (2, -2)),
    (-2, 1, 8, [2, -1], True, (4, -2)),  # negated 4-level weights need 5 levels
    (-8, 7, 8, [8, -7], True, (8, 0)),  # negated 16-level weights need 17 levels
])
def test_weight_storage(qmin, qmax, bits, values, negated, want):
    q = QuantParams((1.0,), (0,), qmin, qmax, bits=bits)
    assert weight_storage(np.asarray(values), q, negated) == want


# -- refusals name the layer and the reason -----------------------------------------------------------
class OnBinary(nn.Module):
    """QuantAct -> sign -> `layer` [-> BN -> sign]."""

    def __init__(self, layer, then=None, sign_after=True):
        super().__init__()
        self.q, self.a0, self.layer, self.then = QuantAct(), BinaryAct(), layer, then
        self.bn = nn.BatchNorm2d(layer.out_channels) if sign_after and hasattr(layer, "out_channels") else None
        self.a1 = BinaryAct() if sign_after else None

    def forward(self, x):
        y = self.layer(self.a0(self.q(x)))
        if self.bn is not None:
            y = self.bn(y)
        if self.a1 is not None:
            y = self.a1(y)
        return self.then(y) if self.then is not None else y


class FlattenLinear(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc, self.bn, self.a = BinaryLinear(c * 9, 4), nn.BatchNorm1d(4), BinaryAct()

    def forward(self, x):
        return self.a(self.bn(self.fc(x.flatten(1))))


class AddBits(nn.Module):
    def __init__(self, quant: bool):
        super().__init__()
        self.q = QuantAct() if quant else nn.Identity()

    def forward(self, x):
        return self.q(x + x)


class QuantAfterSign(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = QuantAct()

    def forward(self, x):
        return self.q(x)


ERRORS = [
    ("groups", lambda: OnBinary(BinaryConv2d(4, 4, 3, padding=1, groups=2)), (1, 4, 5, 5),
     UnsupportedOpError, ["module 'layer'", "groups=2 is not supported"]),
    ("int8_weights", lambda: OnBinary(QConv2d(4, 6, 3)), (1, 4, 5, 5),
     QuantizationError, ["module 'layer'", "needs binary weights", "output channel 0 holds"]),
    ("float_weights", lambda: OnBinary(nn.Conv2d(4, 6, 3)), (1, 4, 5, 5),
     QuantizationError, ["module 'layer'", "not quantized, nor binary (output channel 0 holds"]),
    ("reflect_padding", lambda: OnBinary(BinaryConv2d(4, 4, 3, padding=1, padding_mode="reflect")), (1, 4, 5, 5),
     UnsupportedOpError, ["module 'layer'", "explicit padding (reflect) is not supported"]),
    ("flatten_33", lambda: OnBinary(BinaryConv2d(4, 33, 3), FlattenLinear(33)), (1, 4, 5, 5),
     UnsupportedOpError, ["flatten", "binary 33x3x3 map needs a channel count that is a multiple of 32"]),
    ("dilated_pool", lambda: OnBinary(BinaryConv2d(4, 4, 1), lambda y: F.max_pool2d(y, 2, dilation=2)),
     (1, 4, 6, 6), UnsupportedOpError, ["max_pool2d", "dilation (2, 2)"]),
    ("add", lambda: OnBinary(BinaryConv2d(4, 4, 1), AddBits(True)), (1, 4, 5, 5),
     UnsupportedOpError, ["[add]", "'add' on a binary (+-1) tensor is not supported"]),
    ("add_unquantized", lambda: OnBinary(BinaryConv2d(4, 4, 1), AddBits(False)), (1, 4, 5, 5),
     QuantizationError, ["[add]", "reads a binary (+-1) tensor and produces a tensor without quantization"]),
    ("conv_unquantized", lambda: OnBinary(BinaryConv2d(4, 4, 1), sign_after=False), (1, 4, 5, 5),
     QuantizationError, ["module 'layer'", "end a binary conv/linear with a BinaryAct"]),
    ("fake_quant_of_bits", lambda: OnBinary(BinaryConv2d(4, 4, 1), QuantAfterSign()), (1, 4, 5, 5),
     QuantizationError, ["[fake_quant]", "fake-quantizing a binary (+-1) tensor"]),
]


@pytest.mark.parametrize("make,shape,cls,needles", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_refusals_name_layer_and_reason(make, shape, cls, needles):
    model = calibrate(make(), shape)
    with pytest.raises(cls) as info:
        graph, name = import_any(model, shape)
        lower_model(graph, name)
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, msg


def test_flatten_of_32_channel_map_feeds_bfully_connected():
    model = calibrate(OnBinary(BinaryConv2d(4, 32, 3), FlattenLinear(32)), (1, 4, 5, 5))
    graph, name = import_any(model, (1, 4, 5, 5))
    low = lower_model(graph, name)
    assert [n.op for n in low.nodes] == ["binarize", "bconv2d", "reshape", "bfully_connected"]
    assert low.nodes[-1].attrs.in_features == 32 * 9
