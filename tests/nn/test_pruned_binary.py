"""tinygen.nn.PrunedBinaryConv2d end to end: the exported mask (whole zero kernels) becomes a
bconv2d_pruned node whose sign bits equal PyTorch's exactly; masks tinygen cannot read are refused
naming the layer."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from tinygen.errors import QuantizationError
from tinygen.nn import BinaryAct, BinaryConv2d, PrunedBinaryConv2d
from tinygen.pipeline import import_any, lower_model
from tinygen.reference import bitpack

from tests.pipeline.binary_models import (FixedAct, calibrate, exact_binary_weights, lowered, reference_bits,
                                          tie_free_bn, torch_out, unpack_like)


class PrunedConvSign(nn.Module):
    """FixedAct -> sign -> PrunedBinaryConv2d (+-0.5 weights) -> BN -> sign: exact in float32."""

    def __init__(self, cin, cout, fraction, group, out_group=1, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.q, self.a0 = FixedAct(), BinaryAct()
        self.conv = exact_binary_weights(PrunedBinaryConv2d(cin, cout, 3, padding=1, bias=False))
        with torch.no_grad():  # latent magnitudes for prune_ to rank (the signs alone are binarized)
            self.conv.weight.mul_(torch.rand(self.conv.weight.shape[:2])[:, :, None, None] + 1.0)
        self.conv.scale = False
        self.conv.prune_(fraction, group, out_group)
        self.bn, self.a1 = nn.BatchNorm2d(cout), BinaryAct()
        tie_free_bn(self.bn, 1.5 * (9 * cin * (1 - fraction)) ** 0.5, 1.0, torch.Generator().manual_seed(seed))

    def forward(self, x):
        return self.a1(self.bn(self.conv(self.a0(self.q(x)))))


@pytest.mark.parametrize("cin,cout,fraction,group,out_group", [(33, 40, 0.5, 1, 1), (64, 33, 0.5, 32, 1),
                                                               (96, 64, 0.67, 32, 32), (3, 17, 0.34, 1, 1)])
def test_pruned_conv_sign_bits_equal_torch(cin, cout, fraction, group, out_group):
    model = PrunedConvSign(cin, cout, fraction, group, out_group, seed=cin).eval()
    assert model.conv.pruned_fraction() == pytest.approx(int(fraction * cin) // group * group / cin)  # whole groups
    shape = (1, cin, 7, 6)
    graph = lowered(model, shape)
    assert [n.op for n in graph.nodes] == ["binarize", "bconv2d_pruned"]
    mask = graph.t(graph.nodes[1].inputs[2]).data
    np.testing.assert_array_equal(bitpack.unpack_bits(mask, cin), model.conv.kernel_mask.numpy().astype(np.uint8))
    x = np.random.default_rng(cin).normal(size=(12, *shape[1:])).astype(np.float32)
    out, _ = reference_bits(graph, x)
    t = torch_out(model, x)
    assert (t > 0).any() and (t < 0).any()
    np.testing.assert_array_equal(unpack_like(out, t.shape), t.astype(np.int8))


def test_prune_chooses_smallest_groups_per_output_block():
    conv = PrunedBinaryConv2d(64, 64, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.ones_like(conv.weight))
        conv.weight[:32, 32:] *= 0.1  # outputs 0..31: input word 1 is the weaker one
        conv.weight[32:, :32] *= 0.1
    conv.prune_(0.5, group=32, out_group=32)
    m = conv.kernel_mask
    assert m[:32, :32].all() and not m[:32, 32:].any() and m[32:, 32:].all() and not m[32:, :32].any()
    with pytest.raises(ValueError):
        conv.prune_(1.5)


class HolesInKernels(BinaryConv2d):
    """A binary conv with one zero weight inside a kept kernel: not a kernel mask."""

    def forward(self, x):
        hole = torch.ones_like(self.weight)
        hole[0, 1, 1, 2] = 0.0
        return self._conv_forward(x, torch.where(self.weight >= 0, 1.0, -1.0) * hole, self.bias)


def test_mask_that_is_not_whole_kernels_is_refused_naming_the_layer():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.a0 = FixedAct(), BinaryAct()
            self.layer = HolesInKernels(4, 6, 3, bias=False)
            self.bn, self.a1 = nn.BatchNorm2d(6), BinaryAct()

        def forward(self, x):
            return self.a1(self.bn(self.layer(self.a0(self.q(x)))))

    shape = (1, 4, 5, 5)
    model = calibrate(Net(), shape)
    with pytest.raises(QuantizationError) as info:
        graph, name = import_any(model, shape)
        lower_model(graph, name)
    msg = str(info.value)
    assert "module 'layer'" in msg and "kernel (output 0, input 1) has 1 of 9 weights zero" in msg, msg
    assert "whole k x k kernels" in msg, msg
