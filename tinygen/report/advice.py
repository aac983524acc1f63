"""What to change when a model does not fit: which layers, and how, in the user's own tools."""

from __future__ import annotations


def _layer(e: dict) -> str:
    return f"'{e['name']}' ({e['op']}, {e['weight_bytes']:,} B)"


def flash_advice(report: dict, over_bytes: int) -> list[str]:
    """Name the largest-weight layers that cover the overflow at 4 bits, and how to get there."""
    by_weight = sorted((e for e in report["layers"] if e["weight_bytes"]), key=lambda e: (-e["weight_bytes"], e["index"]))
    chosen, saved = [], 0
    for e in by_weight:  # int8 -> 4-bit halves a layer's weights
        chosen.append(e)
        saved += e["weight_bytes"] // 2
        if saved >= over_bytes or len(chosen) == 5:
            break
    if not chosen:
        return ["  try: a board with more flash"]
    names = ", ".join(_layer(e) for e in chosen)
    return [f"  try: 4-bit weights in {names} (saves about {saved:,} B; 2 or 1 bit saves more):",
            "       in PyTorch QAT replace those nn.Conv2d/nn.Linear with tinygen.nn.KBitConv2d/KBitLinear(..., bits=4)"
            " (BinaryConv2d/BinaryLinear for 1 bit);",
            "       with PT2E give their weights a QuantizationSpec with quant_min=-8, quant_max=7 (4 bit) in your quantizer,"
            " or use a board with more flash"]


def sram_advice(report: dict) -> list[str]:
    """The layers around the peak and what shrinks their activations."""
    peak = report["peak"]
    layers = {e["index"]: e for e in report["layers"]}
    at = layers.get(peak["layer"]) if peak["layer"] is not None else None
    if at is None:
        return ["  try: a board with more SRAM"]
    near = [layers[i]["name"] for i in (peak["layer"] - 1, peak["layer"], peak["layer"] + 1) if i in layers]
    return [f"  try: fewer channels or a lower resolution (stride 2 earlier) around the peak layer '{at['name']}'"
            f" ({', '.join(repr(n) for n in near)}), binary activations there (tinygen.nn.BinaryAct packs 32 per word),"
            " or a board with more SRAM"]
