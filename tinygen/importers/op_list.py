"""The ops each importer translates, for `tinygen build --list-ops` (errors only point here, so a
refused model gets one line instead of the whole list)."""

from __future__ import annotations


def torch_ops() -> list[str]:
    from tinygen.importers.torch.context import HANDLERS
    from tinygen.importers.torch.graph import PASS_THROUGH

    return sorted(set(HANDLERS) | PASS_THROUGH)


def tflite_ops() -> list[str]:
    """Builtin TFLite ops tinygen imports (int8), then the Larq (LCE) custom ops; [] without the
    TFLite schema package."""
    try:
        from tinygen.importers.tflite import builtin, lce, matmul, movement, pointwise  # noqa: F401  (fill the tables)
        from tinygen.importers.tflite.context import CUSTOM_HANDLERS, INT_HANDLERS
        from tinygen.importers.tflite.reader import schema
    except ImportError:
        return []
    codes = schema().BuiltinOperator
    names = {v: k for k, v in vars(codes).items() if not k.startswith("_")}
    return sorted(names[c] for c in INT_HANDLERS) + sorted(CUSTOM_HANDLERS)


def listing() -> str:
    lines = ["PyTorch (torch.export ATen ops):"] + [f"  {n}" for n in torch_ops()]
    tfl = tflite_ops()
    if tfl:
        lines += ["TFLite (int8 builtins, then Larq/LCE custom ops):"] + [f"  {n}" for n in tfl]
    return "\n".join(lines)
