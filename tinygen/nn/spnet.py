"""Switchable-precision networks (SP-Net, thesis ch. 5): one set of float weights, several bit widths.

A switch is a bit width k shared by the weights and activations of the switchable layers:

    k = 8      int8: weights symmetric per channel in [-127, 127] (`quantize_weight_per_channel`),
               activations `QuantAct` (asymmetric int8, EMA range)
    k = 2, 4   k-bit: weights per channel in [-(2^(k-1) - 1), 2^(k-1) - 1] (`quantize_weight_kbit`),
               activations `KBitAct(k)` or the ReLU-based `ReLUQuantAct(k)` (see below)
    k = 1      binary: weights sign(W) * mean|W| per channel, activations sign (`BinaryAct`)

The layers:

* `SPConv2d` / `SPLinear`: one float weight (and bias), quantized by the active switch's quantizer.
* `SwitchableBatchNorm2d` / `SwitchableBatchNorm1d`: a private BatchNorm (running mean and variance,
  gamma, beta) per switch, since each width shifts the statistics of what follows (switchable BN).
* `SPAct`: the active switch's activation quantizer, each with its own range.
* `SPQuantAct`: an int8 quantizer with a private range per switch (e.g. in front of an int8 last
  layer whose input distribution still differs between switches).

`set_switch(model, k)` selects the active switch in every switchable submodule (training trains the
switches in turn, as the thesis does, each batch summing their losses).

Export: one `torch.export` program per switch of the same module, saved together in a directory
`<name>.spnet/` holding `manifest.json` ({"format": "tinygen-spnet", "version": 1, "name",
"switches": [8, 4, 1], "programs": {"8": "switch8.pt2", ...}}) and the .pt2 files. With a switch
active the forward has no run-time branching, so each program is an ordinary tinygen-importable
graph (what QConv2d / KBitConv2d / BinaryConv2d export), and `tinygen build NAME.spnet` lowers
each through the normal pipeline and links them into one library (tinygen/spnet).

The ReLU-based quantizer of the thesis (`ReLUQuantAct`, PACT-like): clamp(x, 0, a) then 2^k - 1
uniform steps; it is an affine k-bit quantizer whose zero point is its lowest level, so it lowers
like `KBitAct`. The tanh-based (DoReFa) weight quantizer
(`quantize_weight_tanh`, `SPConv2d(kinds={4: "tanh"})`) puts 2^k levels symmetrically around 0
with no zero level: odd integers -n..n times 1/n, n = 2^k - 1, which for k <= 6 an int8 per-channel
fake-quant holds exactly; tinygen's compress pass then stores the layer as k-bit codebook indices
(2^k distinct values). The logarithmic weight
quantizer (`quantize_weight_log`, `SPConv2d(kinds={4: "log"})`) is: powers of two times a
per-channel power-of-two scale, stored as int8 (tinygen has no exponent-code kernel yet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from tinygen.nn.binary import BinaryAct, KBitAct, binarize_weight, quantize_weight_kbit
from tinygen.nn.quant import QuantAct, quantize_weight_per_channel

SUPPORTED_BITS = (1, 2, 4, 8)
MANIFEST = "manifest.json"
FORMAT = "tinygen-spnet"


def check_switches(switches: Iterable[int]) -> tuple[int, ...]:
    out = tuple(int(k) for k in switches)
    if not out or len(set(out)) != len(out) or any(k not in SUPPORTED_BITS for k in out):
        raise ValueError(f"switches must be distinct bit widths from {SUPPORTED_BITS}, got {list(switches)}")
    return out


class Switchable(nn.Module):
    """Base of every module that behaves per switch; `active` is set by `set_switch`."""

    def __init__(self, switches: Sequence[int]):
        super().__init__()
        self.switches = check_switches(switches)
        self.active = self.switches[0]

    def extra_repr(self) -> str:
        return f"switches={list(self.switches)}, active={self.active}"


def set_switch(model: nn.Module, bits: int) -> nn.Module:
    """Make `bits` the active switch of every switchable submodule; returns the model."""
    found = False
    for m in model.modules():
        if isinstance(m, Switchable):
            if bits not in m.switches:
                raise ValueError(f"{type(m).__name__} has switches {list(m.switches)}, not {bits}")
            m.active = bits
            found = True
    if not found:
        raise ValueError("the model has no switchable (tinygen.nn.spnet) modules")
    return model


def switches_of(model: nn.Module) -> tuple[int, ...]:
    """The switches every switchable submodule shares (in the first one's order)."""
    mods = [m for m in model.modules() if isinstance(m, Switchable)]
    if not mods:
        raise ValueError("the model has no switchable (tinygen.nn.spnet) modules")
    common = [k for k in mods[0].switches if all(k in m.switches for m in mods)]
    return tuple(common)


def quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """The weight quantizer of switch `bits` (fake-quant / sign with straight-through gradients)."""
    if bits == 8:
        return quantize_weight_per_channel(w)
    if bits in (2, 4):
        return quantize_weight_kbit(w, bits)
    if bits == 1:
        return binarize_weight(w)
    raise ValueError(f"no weight quantizer for {bits} bits (supported: {SUPPORTED_BITS})")


def quantize_weight_log(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Logarithmic weights (thesis ch. 5): sign(w) * 2^e * s_c per output channel, with L = 2^(bits-1) - 1
    magnitudes 2^0 .. 2^(L-1) in units of s_c = 2^(round(log2 max|w_c|) - L + 1), and 0 below
    2^-1/2 units (so a code of `bits` bits: sign + exponent, one code for zero). Rounding is to the
    nearest exponent. The values are integers times a power-of-two scale, so they are exported as
    a per-channel int8 fake-quant that is exact on them: tinygen stores them as int8 (it has no
    exponent-code kernel), the information is `bits` bits per weight."""
    if bits not in (2, 3, 4):
        raise ValueError(f"logarithmic weights take bits in (2, 3, 4) (at most 2^6 fits int8), got {bits}")
    levels = (1 << (bits - 1)) - 1
    shape = (-1,) + (1,) * (w.dim() - 1)
    amax = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1).clamp(min=1e-8)
    scale = torch.exp2(torch.round(torch.log2(amax)) - (levels - 1)).float()
    m = w.detach().abs() / scale.reshape(shape)
    e = torch.round(torch.log2(m.clamp(min=1e-30))).clamp(0, levels - 1)
    q = torch.sign(w.detach()) * torch.where(m < 2.0 ** -0.5, torch.zeros_like(m), torch.exp2(e))
    wq = w + (q * scale.reshape(shape) - w).detach()  # straight-through gradient
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(wq, scale, zero, 0, -127, 127)


def quantize_weight_tanh(w: torch.Tensor, bits: int) -> torch.Tensor:
    """The thesis's tanh-based weight quantizer (DoReFa-Net): t = tanh(w) / (2 max|tanh(w)|) + 1/2
    over the whole tensor, w_q = 2 round(t n) / n - 1 with n = 2^bits - 1, so w_q is an odd integer
    in [-n, n] times 1/n. Exported as a per-channel int8 fake-quant with scale 1/n, exact on those
    values (|2i - n| <= 63 for bits <= 6); straight-through gradient through tanh's normalisation."""
    if not 2 <= bits <= 6:
        raise ValueError(f"tanh-based weights take bits in 2..6 (odd integers up to 2^bits - 1 must fit int8), got {bits}")
    n = (1 << bits) - 1
    t = torch.tanh(w)
    t = t / (2 * t.detach().abs().max().clamp(min=1e-8)) + 0.5
    odd = 2 * torch.round(t.detach() * n) - n  # odd integers -n..n
    wq = (2 * t - 1) + (odd / n - (2 * t - 1)).detach()  # straight-through: the gradient of 2t - 1
    scale = torch.full((w.shape[0],), 1.0 / n, dtype=torch.float32, device=w.device)
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(wq, scale, zero, 0, -127, 127)


WEIGHT_KINDS = ("uniform", "log", "tanh")
_KIND_QUANTIZERS = {"log": quantize_weight_log, "tanh": quantize_weight_tanh}


class _SPWeighted(Switchable):
    """Shared by SPConv2d and SPLinear: `kinds` maps a switch to "log" (`quantize_weight_log`) or
    "tanh" (`quantize_weight_tanh`) weights instead of the switch's uniform quantizer."""

    def __init__(self, switches: Sequence[int], kinds: dict[int, str] | None):
        super().__init__(switches)
        self.kinds = {int(k): v for k, v in (kinds or {}).items()}
        for k, v in self.kinds.items():
            if k not in self.switches or v not in WEIGHT_KINDS:
                raise ValueError(f"kinds maps switches {list(self.switches)} to {WEIGHT_KINDS}, got {k}: {v!r}")
            if v in _KIND_QUANTIZERS:
                _KIND_QUANTIZERS[v](torch.ones(1, 1), k)  # refuses widths the quantizer has no code for

    def quantized(self, w: torch.Tensor) -> torch.Tensor:
        kind = self.kinds.get(self.active)
        if kind in _KIND_QUANTIZERS:
            return _KIND_QUANTIZERS[kind](w, self.active)
        return quantize_weight(w, self.active)


class SPConv2d(_SPWeighted):
    """Conv2d with one float weight, quantized by the active switch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 groups: int = 1, bias: bool = False, switches: Sequence[int] = (8, 4, 1),
                 kinds: dict[int, str] | None = None):
        super().__init__(switches, kinds)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv._conv_forward(x, self.quantized(self.conv.weight), self.conv.bias)


class SPLinear(_SPWeighted):
    """Linear with one float weight, quantized by the active switch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, switches: Sequence[int] = (8, 4, 1),
                 kinds: dict[int, str] | None = None):
        super().__init__(switches, kinds)
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized(self.linear.weight), self.linear.bias)


class _SwitchableBN(Switchable):
    _bn = nn.BatchNorm2d

    def __init__(self, num_features: int, switches: Sequence[int] = (8, 4, 1), **kw):
        super().__init__(switches)
        self.bns = nn.ModuleDict({str(k): self._bn(num_features, **kw) for k in self.switches})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bns[str(self.active)](x)


class SwitchableBatchNorm2d(_SwitchableBN):
    """A private BatchNorm2d (statistics and affine) per switch."""
    _bn = nn.BatchNorm2d


class SwitchableBatchNorm1d(_SwitchableBN):
    """A private BatchNorm1d (statistics and affine) per switch."""
    _bn = nn.BatchNorm1d


class ReLUQuantAct(QuantAct):
    """ReLU-based k-bit activation quantizer: clamp(x, 0, a), 2^k levels, a from an EMA of the
    batch maximum; real = s * (q - qmin), q in [-2^(k-1), 2^(k-1) - 1], s = a / (2^k - 1)."""

    def __init__(self, bits: int = 4, momentum: float = 0.01):
        if not 2 <= bits <= 8:
            raise ValueError(f"bits must lie in [2, 8], got {bits}")
        super().__init__(momentum=momentum, learned=False)
        self.bits = bits
        self.qmin, self.qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def _qparams(self, lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale = (hi / (self.qmax - self.qmin)).clamp(min=1e-8).float()
        return scale, torch.tensor(self.qmin, dtype=torch.int32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._observe(x)
        return torch.fake_quantize_per_tensor_affine(x, self.scale, self.zero_point, self.qmin, self.qmax)


def activation_quantizer(bits: int, kbit: str = "kbit") -> nn.Module:
    """The activation quantizer of switch `bits`; `kbit` = "kbit" (KBitAct) or "relu" (ReLUQuantAct)."""
    if bits == 8:
        return QuantAct()
    if bits in (2, 4):
        return ReLUQuantAct(bits) if kbit == "relu" else KBitAct(bits)
    if bits == 1:
        return BinaryAct()
    raise ValueError(f"no activation quantizer for {bits} bits (supported: {SUPPORTED_BITS})")


class SPAct(Switchable):
    """The active switch's activation quantizer (int8, k-bit or sign), each with its own range."""

    def __init__(self, switches: Sequence[int] = (8, 4, 1), kbit: str = "kbit"):
        super().__init__(switches)
        self.acts = nn.ModuleDict({str(k): activation_quantizer(k, kbit) for k in self.switches})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.acts[str(self.active)](x)


class SPQuantAct(Switchable):
    """An int8 activation quantizer with a private range per switch."""

    def __init__(self, switches: Sequence[int] = (8, 4, 1)):
        super().__init__(switches)
        self.acts = nn.ModuleDict({str(k): QuantAct() for k in self.switches})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.acts[str(self.active)](x)


# -- export ---------------------------------------------------------------------------------------
def export_spnet(model: nn.Module, example_input: torch.Tensor, path: str | Path,
                 switches: Sequence[int] | None = None, name: str | None = None) -> Path:
    """Save one torch.export program per switch into the directory `path` (conventionally
    `<name>.spnet`) with its manifest; returns the directory. The model is left in eval mode
    with its first switch active."""
    path = Path(path)
    switches = check_switches(switches if switches is not None else switches_of(model))
    path.mkdir(parents=True, exist_ok=True)
    programs = {}
    model.eval()
    for k in switches:
        set_switch(model, k)
        ep = torch.export.export(model, (example_input,))
        fname = f"switch{k}.pt2"
        torch.export.save(ep, str(path / fname))
        programs[str(k)] = fname
    set_switch(model, switches[0])
    manifest = {"format": FORMAT, "version": 1, "name": name or path.name.split(".")[0],
                "switches": list(switches), "programs": programs}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return path
