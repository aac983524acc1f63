"""int8 QAT building blocks.

* `QuantAct`: asymmetric int8 activation quantizer, real = s * (q - zp), q in [-128, 127].
  Its range is an exponential moving average of batch min/max during training (the default) or
  learned (LSQ-style, `learned=True`); in eval mode it is frozen.
* `QConv2d` / `QConv1d` / `QLinear`: weights fake-quantized symmetric per output channel to [-127, 127]
  (scale_c = max|w_c| / 127), as TFLite/TFLM expect. Inputs and outputs are quantized by the
  `QuantAct`s the user places around them; bias stays float and is quantized by tinygen to
  int32 with scale s_in * s_w.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

QMIN, QMAX = -128, 127
WMAX = 127


def quantize_weight_per_channel(w: torch.Tensor) -> torch.Tensor:
    """Fake-quantize `w` symmetric per output channel (axis 0) to [-127, 127]."""
    amax = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1).clamp(min=1e-8)
    scale = (amax / WMAX).float()
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -WMAX, WMAX)


class QuantAct(nn.Module):
    """Fake-quantize activations to int8 with a zero point.

    momentum: EMA factor for the running min/max while training.
    learned: learn the range end points by gradient descent instead (initialised from the first
    batch), using PyTorch's learnable fake-quant op.
    """

    def __init__(self, momentum: float = 0.01, learned: bool = False):
        super().__init__()
        self.momentum = momentum
        self.learned = learned
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))
        self.register_buffer("min_val", torch.tensor(0.0))
        self.register_buffer("max_val", torch.tensor(0.0))
        self.register_buffer("scale", torch.tensor(1.0))
        self.register_buffer("zero_point", torch.tensor(0, dtype=torch.int32))
        if learned:
            # shape [1]: PyTorch's learnable fake-quant op wants 1-element tensors, not scalars
            self.learned_scale = nn.Parameter(torch.ones(1))
            self.learned_zero = nn.Parameter(torch.zeros(1))

    @torch.no_grad()
    def _observe(self, x: torch.Tensor) -> None:
        lo, hi = x.min().clamp(max=0.0), x.max().clamp(min=0.0)
        if not bool(self.initialized):
            self.min_val.copy_(lo)
            self.max_val.copy_(hi)
            self.initialized.fill_(1)
            if self.learned:
                s, z = self._qparams(lo, hi)
                self.learned_scale.copy_(s.reshape(1))
                self.learned_zero.copy_(z.float().reshape(1))
        else:
            self.min_val.lerp_(lo, self.momentum)
            self.max_val.lerp_(hi, self.momentum)
        s, z = self._qparams(self.min_val, self.max_val)
        self.scale.copy_(s)
        self.zero_point.copy_(z)

    @staticmethod
    def _qparams(lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale = ((hi - lo) / (QMAX - QMIN)).clamp(min=1e-8).float()
        zp = (QMIN - torch.round(lo / scale)).clamp(QMIN, QMAX).to(torch.int32)
        return scale, zp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._observe(x)
            if self.learned:
                return torch._fake_quantize_learnable_per_tensor_affine(
                    x, self.learned_scale, self.learned_zero, QMIN, QMAX, 1.0
                )
        elif self.learned:
            # Frozen: export a plain per-tensor fake-quant with the learned values.
            s = self.learned_scale.detach().abs().clamp(min=1e-8)
            z = self.learned_zero.detach().round().clamp(QMIN, QMAX).to(torch.int32)
            return torch.fake_quantize_per_tensor_affine(x, s, z, QMIN, QMAX)
        return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, QMIN, QMAX)


class QConv2d(nn.Conv2d):
    """nn.Conv2d with per-channel symmetric int8 fake-quantized weights."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, quantize_weight_per_channel(self.weight), self.bias)


class QConv1d(nn.Conv1d):
    """nn.Conv1d with per-channel symmetric int8 fake-quantized weights (e.g. ECA's channel convolution)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, quantize_weight_per_channel(self.weight), self.bias)


class QLinear(nn.Linear):
    """nn.Linear with per-channel symmetric int8 fake-quantized weights."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, quantize_weight_per_channel(self.weight), self.bias)
