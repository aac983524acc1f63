"""tinygen: quantized and binarized neural networks to static, bit-exact C for Cortex-M.

    program = tinygen.build("model.pt2", board="host", out_dir="build/model")
    program = tinygen.load("build/model")
    q = program.quantize(x); program.reference(q); program.run_host(q)
"""

from tinygen.version import __version__


def build(model, board: str = "host", out_dir=None, **kw):
    """Import, lower, plan, generate and compile a model; returns a `Program`."""
    from tinygen.pipeline import build as _build

    return _build(model, board=board, out_dir=out_dir, **kw)


def load(out_dir):
    """The `Program` of an existing build directory."""
    from tinygen.program import load as _load

    return _load(out_dir)


__all__ = ["build", "load", "__version__"]
