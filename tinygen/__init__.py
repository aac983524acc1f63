"""tinygen: quantized and binarized neural networks to static, bit-exact C for Cortex-M.

    program = tinygen.build("model.pt2", board="host", out_dir="build/model")
    program = tinygen.load("build/model")
    q = program.quantize(x); program.reference(q); program.run_host(q)
"""

from tinygen.version import __version__


def build(model, board: str = "host", out_dir=None, **kw):
    """Import, lower, plan, generate and compile a model; returns a `Program`."""
    import os

    from tinygen.spnet.assemble import is_spnet

    if isinstance(model, (str, os.PathLike)) and is_spnet(model):  # an SP-Net directory: an SPNetProgram
        from tinygen.spnet.assemble import build_spnet

        return build_spnet(model, board=board, out_dir=out_dir, **kw)
    from tinygen.pipeline import build as _build

    return _build(model, board=board, out_dir=out_dir, **kw)


def load(out_dir):
    """The `Program` of an existing build directory (an SPNetProgram for an SP-Net build)."""
    from pathlib import Path

    if (Path(out_dir) / "spnet.json").is_file():
        from tinygen.spnet.program import SPNetProgram

        return SPNetProgram(out_dir)
    from tinygen.program import load as _load

    return _load(out_dir)


__all__ = ["build", "load", "__version__"]
