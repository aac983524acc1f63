"""Quantization-aware training modules whose `torch.export` graphs the importer understands.

Everything is expressed with PyTorch's own fake-quant ops (`fake_quantize_per_tensor_affine`,
`fake_quantize_per_channel_affine`), whose gradients are straight-through estimators, so an
exported model carries exactly the quantizers tinygen lowers to integers.
"""

from tinygen.nn.quant import QConv2d, QLinear, QuantAct, quantize_weight_per_channel

__all__ = ["QConv2d", "QLinear", "QuantAct", "quantize_weight_per_channel"]
