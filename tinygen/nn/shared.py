"""Weight-sharing training modules (issue 14): layers whose exported int8 weights take at most
2^k distinct values, which tinygen stores as k-bit codebook indices plus a small table
(tinygen/passes/compress/codebook_weights.py).

* `LogConv2d` / `LogLinear`: the logarithmic quantizer of the thesis (ch. 5.2.1.3): each weight
  is 0 or +-2^e * s_c, e in 0..n-1 with n = 2^(bits-1) - 1 magnitudes (bits=4: 15 levels), s_c =
  max|w_c| / 2^(n-1) per output channel, the exponent rounded in the log domain (|w| / s_c below
  2^-1/2 becomes 0). The integer weights are the same 15 values {0, +-1, +-2, ..., +-64} in every
  channel, so one 4-bit table serves the whole layer.
* `KMeansConv2d` / `KMeansLinear`: Deep Compression's weight sharing: `cluster()` runs k-means
  (linear initialisation, `clusters` centroids) on the current weights and fixes each weight's
  cluster; training then updates the shared centroids (each one's gradient is the sum over its
  weights). Before `cluster()` they behave like QConv2d / QLinear. The weights are fake-quantized
  per layer (symmetric int8), so the layer keeps at most `clusters` integer values.

Both express their integer weights through PyTorch's fake-quant ops (straight-through gradients),
so `torch.export` carries exactly the integers tinygen imports.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn.quant import WMAX, quantize_weight_per_channel


def log_quantize_weight(w: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """Fake-quantize w to the signed power-of-two levels described in the module doc."""
    if not 2 <= bits <= 4:
        raise ValueError(f"log quantizer bits must be 2, 3 or 4, got {bits}")
    n = (1 << (bits - 1)) - 1  # magnitudes 2^0 .. 2^(n-1)
    top = float(1 << (n - 1))
    flat = w.detach().reshape(w.shape[0], -1)
    scale = (flat.abs().amax(dim=1).clamp(min=1e-8) / top).float()
    r = w.detach().abs() / scale.reshape((-1,) + (1,) * (w.dim() - 1))
    e = torch.round(torch.log2(r.clamp(min=1e-30))).clamp(0, n - 1)
    q = torch.where(r < 2 ** -0.5, torch.zeros_like(r), torch.exp2(e)) * torch.sign(w.detach())
    wq = q * scale.reshape((-1,) + (1,) * (w.dim() - 1))
    ste = w + (wq - w).detach()  # straight-through: the gradient of the identity
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(ste, scale, zero, 0, -WMAX, WMAX)


class LogConv2d(nn.Conv2d):
    """nn.Conv2d with logarithmic (signed power-of-two) weights; `bits` 2-4 (see the module doc)."""

    def __init__(self, *args, bits: int = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self.bits = bits

    def forward(self, x):
        return self._conv_forward(x, log_quantize_weight(self.weight, self.bits), self.bias)


class LogLinear(nn.Linear):
    """nn.Linear with logarithmic (signed power-of-two) weights; `bits` 2-4."""

    def __init__(self, *args, bits: int = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self.bits = bits

    def forward(self, x):
        return F.linear(x, log_quantize_weight(self.weight, self.bits), self.bias)


def kmeans_1d(values: torch.Tensor, clusters: int, iterations: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """(centroids [clusters], assignment [values.numel()]) by Lloyd's algorithm from centroids
    spaced linearly between the min and max (deterministic)."""
    v = values.detach().reshape(-1).float()
    c = torch.linspace(float(v.min()), float(v.max()), clusters)
    for _ in range(iterations):
        assign = torch.argmin((v[:, None] - c[None, :]).abs(), dim=1)
        sums = torch.zeros(clusters).index_add_(0, assign, v)
        counts = torch.zeros(clusters).index_add_(0, assign, torch.ones_like(v))
        c = torch.where(counts > 0, sums / counts.clamp(min=1), c)
    return c, torch.argmin((v[:, None] - c[None, :]).abs(), dim=1)


def _shared_weight(centroids: torch.Tensor, assign: torch.Tensor, shape) -> torch.Tensor:
    w = centroids[assign].reshape(shape)
    scale = (centroids.detach().abs().amax().clamp(min=1e-8) / WMAX).float()
    zero = torch.zeros((), dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_tensor_affine(w, scale, zero, -WMAX, WMAX)  # tensor qparams: exportable


class _KMeans:
    def _init_sharing(self, clusters: int) -> None:
        if not 2 <= clusters <= 16:
            raise ValueError(f"clusters must be 2 to 16 (a 1- to 4-bit codebook), got {clusters}")
        self.clusters = clusters
        self.register_buffer("assign", torch.zeros(0, dtype=torch.long))
        self.centroids = nn.Parameter(torch.zeros(clusters))

    @torch.no_grad()
    def cluster(self) -> None:
        """Share the weights: k-means on the current weights fixes each weight's centroid."""
        c, a = kmeans_1d(self.weight, self.clusters)
        self.centroids.copy_(c)
        self.assign = a

    def _weight(self) -> torch.Tensor:
        if self.assign.numel() == 0:
            return quantize_weight_per_channel(self.weight)
        return _shared_weight(self.centroids, self.assign, self.weight.shape)


class KMeansConv2d(_KMeans, nn.Conv2d):
    """nn.Conv2d with k-means shared weights after `cluster()` (see the module doc)."""

    def __init__(self, *args, clusters: int = 16, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_sharing(clusters)

    def forward(self, x):
        return self._conv_forward(x, self._weight(), self.bias)


class KMeansLinear(_KMeans, nn.Linear):
    """nn.Linear with k-means shared weights after `cluster()`."""

    def __init__(self, *args, clusters: int = 16, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_sharing(clusters)

    def forward(self, x):
        return F.linear(x, self._weight(), self.bias)
