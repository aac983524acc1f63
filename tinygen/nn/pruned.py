"""Kernel-level pruning of binarized convolutions (thesis ch. 4.3.2): whole k x k kernels of an
(output, input) channel pair removed.

`PrunedBinaryConv2d` is a `BinaryConv2d` with a `kernel_mask` buffer [out, in] (1 kept, 0 pruned);
its effective weight is sign(W) [* alpha] * mask, so a pruned kernel is all zeros. `torch.export`
lifts the buffer as a constant and the importer evaluates the weight expression, so the exported
model carries the mask as whole zero kernels: tinygen reads it from there (a zero weight inside an
otherwise kept kernel is not a kernel mask and is refused, naming the layer).

`prune_(fraction, group, out_group)` sets the mask from the latent weights: per block of
`out_group` consecutive output channels, the groups of `group` consecutive input channels with the
smallest L1 norm are pruned until `fraction` of the kernels are. Every mask is exact on the device;
how much time it saves depends on its structure: `group=32` matches tinygen's packing (32 channels
per word), so the generated kernel skips whole words, and `out_group=32` makes each packed output
word's channels keep the same words, which the kernel counts as one dense block without moving
bits; `group=1` prunes single kernels, exact but counted under masks with no word skipped, which is
slower than the unpruned layer (benchmarks/pruned_bnn.py measures both).
"""

from __future__ import annotations

import torch

from tinygen.nn.binary import BinaryConv2d, binarize_weight


class PrunedBinaryConv2d(BinaryConv2d):
    """BinaryConv2d whose (output, input) kernels can be removed by `kernel_mask`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.groups != 1:
            raise ValueError("kernel pruning needs groups=1")
        self.register_buffer("kernel_mask", torch.ones(self.out_channels, self.in_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = binarize_weight(self.weight, self.scale, self.impl) * self.kernel_mask[:, :, None, None]
        return self._conv_forward(x, w, self.bias)

    def pruned_fraction(self) -> float:
        return float(1.0 - self.kernel_mask.mean())

    @torch.no_grad()
    def prune_(self, fraction: float, group: int = 1, out_group: int = 1) -> "PrunedBinaryConv2d":
        """Prune `fraction` of each output channel's kernels (rounded down to whole groups of `group`
        input channels; the last group may be shorter), the smallest L1 norms first, choosing the same
        input groups for each block of `out_group` output channels."""
        if not 0.0 <= fraction <= 1.0 or group < 1 or out_group < 1:
            raise ValueError(f"fraction must lie in [0, 1] and groups be >= 1, got {fraction}, {group}, {out_group}")
        norms = self.weight.abs().sum(dim=(2, 3))  # [out, in]
        starts = list(range(0, self.in_channels, group))
        g_norm = torch.stack([norms[:, s:s + group].mean(dim=1) for s in starts], dim=1)  # [out, groups]
        n_prune = int(fraction * self.in_channels + 1e-9) // group
        mask = torch.ones_like(self.kernel_mask)
        for o0 in range(0, self.out_channels, out_group):
            order = torch.argsort(g_norm[o0:o0 + out_group].sum(dim=0))
            for gi in order[:n_prune].tolist():
                mask[o0:o0 + out_group, starts[gi]:starts[gi] + group] = 0.0
        self.kernel_mask.copy_(mask)
        return self
