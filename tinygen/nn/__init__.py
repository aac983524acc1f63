"""Quantization-aware training modules whose `torch.export` graphs the importer understands.

Everything is expressed with PyTorch's own fake-quant ops (`fake_quantize_per_tensor_affine`,
`fake_quantize_per_channel_affine`), whose gradients are straight-through estimators, so an
exported model carries exactly the quantizers tinygen lowers to integers. Binary layers use a
sign with a straight-through estimator (`tinygen.nn.binary`); importing this package registers
the `tinygen::sign_ste` custom op.
"""

from tinygen.nn.binary import (BinaryAct, BinaryConv2d, BinaryLinear, KBitAct, KBitConv2d, KBitLinear, SignSTE,
                               sign_ste)
from tinygen.nn.pruned import PrunedBinaryConv2d
from tinygen.nn.quant import QConv1d, QConv2d, QLinear, QuantAct, quantize_weight_per_channel
from tinygen.nn.shared import KMeansConv2d, KMeansLinear, LogConv2d, LogLinear, kmeans_1d, log_quantize_weight

__all__ = ["BinaryAct", "BinaryConv2d", "BinaryLinear", "KBitAct", "KBitConv2d", "KBitLinear", "KMeansConv2d",
           "KMeansLinear", "LogConv2d", "LogLinear", "PrunedBinaryConv2d", "QConv1d", "QConv2d", "QLinear", "QuantAct",
           "SignSTE", "kmeans_1d", "log_quantize_weight", "quantize_weight_per_channel", "sign_ste"]
