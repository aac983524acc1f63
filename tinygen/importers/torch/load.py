"""Read a PyTorch file into an `ExportedProgram`, whatever form the user saved it in.

* `torch.export.save` archives (.pt2 or any extension): loaded directly; the input shape is in it.
* TorchScript archives (`torch.jit.save`): converted with PyTorch's TorchScript-to-export
  converter; needs `input_shape`.
* `torch.save(model)` pickles: unpickling runs arbitrary code, so only with `trust_pickle`;
  needs `input_shape` and the model's class importable.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tinygen.errors import TinygenError
from tinygen.importers.isolated import probe_load

_META_REGISTERED = False
_SAFE_EXPORT = "Re-export with torch.export.export(model.eval(), (example,)) and torch.export.save"


def _archive_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        raise TinygenError(f"{path}: corrupt archive (not a valid zip); re-export the model") from None
    if any(n.endswith("serialized_exported_program.json") or "/models/" in n and n.endswith(".json") for n in names):
        return "export"
    if any("/code/" in n for n in names) or any(n.endswith("constants.pkl") for n in names):
        return "torchscript"
    if any(n.endswith("data.pkl") for n in names):
        return "pickle"
    return "export"


def _register_fake_quant_meta() -> None:
    """The TorchScript converter traces with fake tensors; give it a shape function for the
    tensor-qparams fake-quant kernel that PyTorch 2.13 lacks."""
    global _META_REGISTERED
    if _META_REGISTERED:
        return
    import torch

    lib = torch.library.Library("aten", "IMPL")

    def meta(x, scale, zero_point, enabled, qmin, qmax):
        return torch.empty_like(x), torch.empty_like(x, dtype=torch.bool)

    lib.impl("_fake_quantize_per_tensor_affine_cachemask_tensor_qparams", meta, "Meta")
    _register_fake_quant_meta.lib = lib  # keep the registration alive
    _META_REGISTERED = True


def _example(input_shape, what: str, path: Path):
    import torch

    if input_shape is None:
        raise TinygenError(f"{path}: a {what} does not record its input shape; pass --input-shape, e.g. 1,3,32,32")
    return (torch.zeros(tuple(input_shape)),)


class _FirstError:
    """Stands in for torch.export's module logger during a load: torch.export.load logs the real
    deserialization error as a warning, then raises one saying 'check the warnings above' (which
    the CLI hides), so keep the logged exception for our message."""

    def __init__(self, log):
        self.log = log
        self.first = None

    def warning(self, msg, *args, exc_info=None, **kw):
        import sys

        if exc_info and self.first is None:
            self.first = sys.exc_info()[1] if exc_info is True else exc_info
        self.log.warning(msg, *args, exc_info=exc_info, **kw)

    def __getattr__(self, name):
        return getattr(self.log, name)


def _export_load(path: Path):
    import torch
    import torch.export as export_module

    capture = _FirstError(export_module.log)
    export_module.log = capture
    try:
        return torch.export.load(str(path))
    except Exception as e:
        if "warnings above" in str(e) and isinstance(capture.first, BaseException):
            raise capture.first from None
        raise
    finally:
        export_module.log = capture.log


def _torchscript_program(path: Path, example):
    """torch.jit.load, then PyTorch's TorchScript-to-export converter traced on `example`."""
    import torch
    from torch._export.converter import TS2EPConverter

    _register_fake_quant_meta()
    module = torch.jit.load(str(path), map_location="cpu")
    for p in module.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        return TS2EPConverter(module, example).convert()


def load_exported_program(path: Path, input_shape=None, trust_pickle: bool = False):
    """Return (program, traced): traced programs were made here from a concrete example input, so
    symbolic sizes in them stand for that example's sizes."""
    import torch

    kind = _archive_kind(path)
    if kind in ("export", "torchscript"):
        from tinygen.importers.untrusted import check_archive

        check_archive(path, kind == "torchscript", _SAFE_EXPORT, trust_pickle)
    try:
        if kind == "export":
            from tinygen.importers.torch.pt2e import register_op_libraries

            register_op_libraries()  # PT2E programs call quantized_decomposed ops
            probe_load(path, "PyTorch (torch.export.load)", lambda: _export_load(path))
            return _export_load(path), False
        if kind == "torchscript":
            example = _example(input_shape, "TorchScript archive", path)
            probe_load(path, "PyTorch (torch.jit.load and the TorchScript converter)",
                       lambda: _torchscript_program(path, example))
            return _torchscript_program(path, example), True
        if not trust_pickle:
            raise TinygenError(
                f"{path}: this is a torch.save pickle; loading it runs code from the file. Export the model with "
                "torch.export.export(model.eval(), (example,)) and torch.export.save, or pass --trust-pickle "
                "if you trust the file"
            )
        module = torch.load(str(path), map_location="cpu", weights_only=False)
        if not isinstance(module, torch.nn.Module):
            raise TinygenError(f"{path}: the pickle holds a {type(module).__name__}, not an nn.Module (a state_dict "
                               "has no graph; save the model with torch.export instead)")
        example = _example(input_shape, "pickled module", path)
        return torch.export.export(module.eval(), example), True
    except TinygenError:
        raise
    except Exception as e:  # torch raises many types for unreadable files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        first = first.replace("Please check the warnings above for possible errors.", "").strip()[:200]
        raise TinygenError(f"{path}: PyTorch could not load this {kind} file: {first}") from e
