"""Model files -> float-dialect IR (torch) or lowered IR (already-integer formats: .tflite, and
Keras files converted to .tflite with TensorFlow).

`import_model` picks the importer from the file's content, not only its extension.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tinygen.errors import TinygenError
from tinygen.ir.graph import Graph


def import_model(path: str | Path, input_shape: tuple[int, ...] | None = None, trust_pickle: bool = False,
                 calibration=None) -> Graph:
    """`calibration` (float32 samples or an .npy path) quantizes a float Keras or PyTorch model
    (see importers/torch/ptq.py for what it does to a PyTorch program)."""
    path = Path(path)
    if not path.exists():
        raise TinygenError(f"{path}: no such file")
    if not path.is_file():
        raise TinygenError(f"{path}: not a file")
    from tinygen.importers.keras import is_keras_file

    if is_keras_file(path):
        from tinygen.importers.keras import import_keras

        return import_keras(path, calibration, trust_pickle)
    if zipfile.is_zipfile(path):
        from tinygen.importers.torch.graph import import_torch

        if calibration is not None:
            from tinygen.importers.torch.ptq import import_torch_calibrated

            return import_torch_calibrated(path, input_shape, trust_pickle, calibration)

        return import_torch(path, input_shape=input_shape, trust_pickle=trust_pickle)
    head = path.read_bytes()[:8]
    if head[4:8] == b"TFL3" or path.suffix.lower() == ".tflite":
        from tinygen.importers.tflite import import_tflite

        return import_tflite(path)
    raise TinygenError(
        f"{path}: not a model tinygen can read (expected a torch.export .pt2/.pt archive, a TorchScript archive, "
        "a torch.save pickle with --trust-pickle, a .tflite flatbuffer, or a Keras .keras/.h5 file)"
    )
