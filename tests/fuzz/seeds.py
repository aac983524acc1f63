"""Seed model files for the model fuzzers: small torch.export and TorchScript archives."""

from __future__ import annotations

from pathlib import Path


def torch_seeds(workdir: Path) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    """({file name: bytes}, {file name: extra CLI args})."""
    import torch

    from tests.torch_models import make

    seeds, argv = {}, {}
    for name in ("conv_stack", "branches", "flatten_linear"):
        model, shape = make(name)
        pt2 = workdir / f"{name}.pt2"
        torch.export.save(torch.export.export(model, (torch.zeros(shape),)), str(pt2))
        seeds[pt2.name] = pt2.read_bytes()
        ts = workdir / f"{name}_ts.pt"
        torch.jit.trace(model, torch.zeros(shape)).save(str(ts))
        seeds[ts.name] = ts.read_bytes()
        argv[ts.name] = ["--input-shape", ",".join(map(str, shape))]
    return seeds, argv
