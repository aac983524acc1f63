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


class _Payload:
    """Unpickling this runs `touch MARKER`: a payload that must never run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def payload_seeds(workdir: Path, marker: Path) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    """Archives with a code-running pickle in them (a TorchScript constants.pkl and a
    torch.save data.pkl): mutated, none of them may ever create `marker`."""
    import io
    import pickle
    import zipfile

    import torch

    from tests.torch_models import make

    payload = pickle.dumps(_Payload(marker), protocol=2)
    model, shape = make("branches")
    ts = workdir / "payload_src_ts.pt"
    torch.jit.trace(model, torch.zeros(shape)).save(str(ts))
    out = io.BytesIO()
    with zipfile.ZipFile(ts) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, payload if info.filename.endswith("constants.pkl") else zin.read(info))
    ts.unlink()
    saved = io.BytesIO()
    with zipfile.ZipFile(saved, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/byteorder", "little")
    shape_arg = ["--input-shape", ",".join(map(str, shape))]
    return ({"payload_ts.pt": out.getvalue(), "payload_save.pt": saved.getvalue()},
            {"payload_ts.pt": shape_arg, "payload_save.pt": shape_arg})
