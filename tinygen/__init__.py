"""tinygen: quantized and binarized neural networks to static, bit-exact C for Cortex-M."""

__version__ = "0.1.0"
