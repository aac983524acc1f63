"""Switchable-precision networks (SP-Net): every switch of one network in one model library.

    tinygen.nn.spnet.export_spnet(model, example, "net.spnet")   # one torch.export program per switch
    prog = tinygen.spnet.build("net.spnet", board="f746zg")       # or `tinygen build net.spnet`
    prog[4].reference(q); prog.run_host(4, q)                     # per-switch Program views
    tinygen.spnet.validate_host(prog); tinygen.spnet.validate_device(prog, qemu=True)

Design and what the switches share: tinygen/spnet/assemble.py.
"""


def build(model, board: str = "host", out_dir=None, **kw):
    from tinygen.spnet.assemble import build_spnet

    return build_spnet(model, board=board, out_dir=out_dir, **kw)


def load(out_dir):
    from tinygen.spnet.program import SPNetProgram

    return SPNetProgram(out_dir)


def validate_host(program, **kw):
    from tinygen.spnet.checks import validate_host as _v

    return _v(program, **kw)


def validate_device(program, **kw):
    from tinygen.spnet.checks import validate_device as _v

    return _v(program, **kw)


__all__ = ["build", "load", "validate_host", "validate_device"]
