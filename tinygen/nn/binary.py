"""Binarized and sub-byte training modules whose `torch.export` graphs the importer understands.

* `sign_ste(x)`: +1 for x >= 0, -1 otherwise (0 maps to +1, as tinygen's binary tensors do).
  Its gradient is the clipped straight-through estimator, grad * (|x| <= 1). Two
  implementations with the same numbers:
  - `SignSTE`, a `torch.autograd.Function`. `torch.export` inlines its forward into
    `where(ge(x, 0), ones_like(x), neg(ones_like(x)))`, which the importer recognises as sign.
    An exported file needs nothing from tinygen to load. This is the default.
  - the custom op `tinygen::sign_ste` (registered when `tinygen.nn` is imported), which export
    keeps as one node. Loading such a .pt2 needs `import tinygen.nn` first (tinygen's importer
    does that itself).
* `BinaryAct`: sign of the activations, giving a binary (bit-packed on the device) tensor.
* `BinaryConv2d` / `BinaryLinear`: weights sign(W) * alpha, alpha = mean |W| per output channel
  (XNOR-Net) when `scale=True`, else +-1. The input is used as given: put a `BinaryAct` before
  the layer for binary activations (bconv2d on the device), or an int8 `QuantAct` for int8
  activations with 1-bit weights (conv2d_packed).
* `KBitConv2d` / `KBitLinear`: weights fake-quantized symmetric per output channel to `levels`
  integer values (<= 2^bits): odd `levels` give [-(levels-1)/2, (levels-1)/2] (the default,
  2^bits - 1 levels, survives BatchNorm folding with negative scale unchanged); even `levels`
  give [-levels/2, levels/2 - 1].
* `KBitAct`: a `QuantAct` with 2^bits levels, [-2^(bits-1), 2^(bits-1) - 1]; stored in int8 bytes
  on the device, with every producer clamping to that range.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn.quant import QuantAct


# -- sign with a straight-through estimator -------------------------------------------------------
def _sign_forward(x: torch.Tensor) -> torch.Tensor:
    ones = torch.ones_like(x)
    return torch.where(x >= 0, ones, -ones)


def _ste_grad(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    return grad * (x.abs() <= 1).to(grad.dtype)


class SignSTE(torch.autograd.Function):
    """sign(x) with x >= 0 -> +1; backward: the clipped straight-through estimator."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _sign_forward(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _ste_grad(x, grad)


@torch.library.custom_op("tinygen::sign_ste", mutates_args=())
def sign_ste_op(x: torch.Tensor) -> torch.Tensor:
    """The same sign as SignSTE, as one custom op that survives torch.export as a single node."""
    return _sign_forward(x)


@sign_ste_op.register_fake
def _(x):
    return torch.empty_like(x)


def _op_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0])


def _op_backward(ctx, grad):
    (x,) = ctx.saved_tensors
    return _ste_grad(x, grad)


sign_ste_op.register_autograd(_op_backward, setup_context=_op_setup)

IMPLS = ("function", "custom_op")


def sign_ste(x: torch.Tensor, impl: str = "function") -> torch.Tensor:
    if impl == "function":
        return SignSTE.apply(x)
    if impl == "custom_op":
        return sign_ste_op(x)
    raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")


class BinaryAct(nn.Module):
    """Binary activation: sign(x) in {-1, +1} (x >= 0 -> +1) with a straight-through gradient."""

    def __init__(self, impl: str = "function"):
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        self.impl = impl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sign_ste(x, self.impl)

    def extra_repr(self) -> str:
        return f"impl={self.impl!r}"


def binarize_weight(w: torch.Tensor, scale: bool = True, impl: str = "function") -> torch.Tensor:
    """sign(w) * alpha per output channel (alpha = mean |w_c|, at least 1e-8), or sign(w)."""
    b = sign_ste(w, impl)
    if not scale:
        return b
    alpha = w.abs().reshape(w.shape[0], -1).mean(dim=1).clamp(min=1e-8)
    return b * alpha.reshape((-1,) + (1,) * (w.dim() - 1))


class BinaryConv2d(nn.Conv2d):
    """nn.Conv2d with binarized weights sign(W) [* alpha per output channel]."""

    def __init__(self, *args, scale: bool = True, impl: str = "function", **kwargs):
        super().__init__(*args, **kwargs)
        self.scale, self.impl = scale, impl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, binarize_weight(self.weight, self.scale, self.impl), self.bias)


class BinaryLinear(nn.Linear):
    """nn.Linear with binarized weights sign(W) [* alpha per output channel]."""

    def __init__(self, *args, scale: bool = True, impl: str = "function", **kwargs):
        super().__init__(*args, **kwargs)
        self.scale, self.impl = scale, impl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, binarize_weight(self.weight, self.scale, self.impl), self.bias)


# -- k-bit weights and activations ----------------------------------------------------------------
def level_range(bits: int, levels: int | None = None) -> tuple[int, int]:
    """Integer range [qmin, qmax] of `levels` (default 2^bits - 1) symmetric-ish weight levels."""
    if bits not in (2, 4):
        raise ValueError(f"k-bit weights take bits in (2, 4), got {bits}")
    levels = (1 << bits) - 1 if levels is None else int(levels)
    if not 2 <= levels <= 1 << bits:
        raise ValueError(f"{bits}-bit weights hold 2..{1 << bits} levels, got {levels}")
    if levels % 2:
        return -(levels // 2), levels // 2
    return -(levels // 2), levels // 2 - 1


def quantize_weight_kbit(w: torch.Tensor, bits: int, levels: int | None = None) -> torch.Tensor:
    """Fake-quantize `w` per output channel (axis 0) to the integer range of `level_range`."""
    qmin, qmax = level_range(bits, levels)
    amax = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1).clamp(min=1e-8)
    scale = (amax / max(qmax, -qmin)).float()
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, qmin, qmax)


class KBitConv2d(nn.Conv2d):
    """nn.Conv2d with weights fake-quantized per output channel to k bits (`levels` values)."""

    def __init__(self, *args, bits: int = 4, levels: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        level_range(bits, levels)
        self.bits, self.levels = bits, levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, quantize_weight_kbit(self.weight, self.bits, self.levels), self.bias)


class KBitLinear(nn.Linear):
    """nn.Linear with weights fake-quantized per output channel to k bits (`levels` values)."""

    def __init__(self, *args, bits: int = 4, levels: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        level_range(bits, levels)
        self.bits, self.levels = bits, levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, quantize_weight_kbit(self.weight, self.bits, self.levels), self.bias)


class KBitAct(QuantAct):
    """Activation quantizer with 2^bits levels [-2^(bits-1), 2^(bits-1) - 1] (EMA range only)."""

    def __init__(self, bits: int = 4, momentum: float = 0.01):
        if not 2 <= bits <= 8:
            raise ValueError(f"bits must lie in [2, 8], got {bits}")
        super().__init__(momentum=momentum, learned=False)
        self.bits = bits
        self.qmin, self.qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def _qparams(self, lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale = ((hi - lo) / (self.qmax - self.qmin)).clamp(min=1e-8).float()
        zp = (self.qmin - torch.round(lo / scale)).clamp(self.qmin, self.qmax).to(torch.int32)
        return scale, zp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._observe(x)
        return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, self.qmin, self.qmax)
