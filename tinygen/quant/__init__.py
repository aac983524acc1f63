"""Compile-time quantization arithmetic: how integer parameters are derived from real scales.

* `rounding`          round half away from zero (C's round(), TFLite's TfLiteRound)
* `multiplier`        real multiplier -> (int32 multiplier, shift), the one QuantizeMultiplier
* `activation_range`  fused activations (relu, relu6, ...) as bounds on an integer grid
* `params`            requantization parameters of conv/linear, add, mul and mean

Two derivation modes exist and every function that differs between them takes `mode`:
"tflm" reproduces TensorFlow Lite Micro's Prepare-time arithmetic (what imported .tflite models
must match bit for bit), "torch" is tinygen's own derivation for PyTorch fake-quant models.
How the parameters are applied at run time (requantize, srdhm) is tinygen/reference/fixedpoint.py,
mirrored in C by runtime_c/include/tg_fixedpoint.h.
"""
