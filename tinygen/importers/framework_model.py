"""Run the user's framework model (the float or fake-quant original) on float inputs, for
`tinygen validate --against MODEL`: PyTorch (torch.export archives, TorchScript, trusted pickles;
fake-quant, PT2E Q/DQ or float), Keras (.keras / .h5) and float .tflite.

`load_framework_model(path)` returns a `FrameworkModel`: its `layout` ("NCHW" for PyTorch,
"NHWC" for Keras and TFLite, the layout of 4-D inputs) and `run(x)`, float32 [N, ...] inputs in
that layout -> one float32 [N, ...] array per model output. The figures are computed by
tinygen/validation/against.py, which imports no framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tinygen.errors import TinygenError


@dataclass
class FrameworkModel:
    name: str  # e.g. "PyTorch model.pt2"
    layout: str
    run: Callable[[np.ndarray], list[np.ndarray]]


def load_framework_model(path, trust_pickle: bool = False, input_shape=None) -> FrameworkModel:
    path = Path(path)
    if not path.exists():
        raise TinygenError(f"{path}: no such model file")
    with open(path, "rb") as f:
        head = f.read(8)
    from tinygen.importers.keras import is_keras_file

    if is_keras_file(path):
        return _keras(path, trust_pickle)
    if head[4:8] == b"TFL3":
        return _tflite(path)
    if head[:2] == b"PK" or trust_pickle:
        return _torch(path, trust_pickle, input_shape)
    raise TinygenError(f"{path}: not a PyTorch archive, Keras model (.keras/.h5) or .tflite file; --against takes "
                       "the float or fake-quant model the build came from")


def _as_outputs(y) -> list[np.ndarray]:
    ys = list(y) if isinstance(y, (list, tuple)) else [y]
    return [np.asarray(v, dtype=np.float32) for v in ys]


def _torch(path: Path, trust_pickle: bool, input_shape) -> FrameworkModel:
    import torch

    import tinygen.nn  # noqa: F401  (registers tinygen's own ops, which a tinygen.nn export calls)
    from tinygen.importers.torch.load import load_exported_program

    ep, _ = load_exported_program(path, input_shape, trust_pickle)
    module = ep.module()

    def run(x: np.ndarray) -> list[np.ndarray]:
        # exported programs keep the batch size they were exported with (usually 1): one sample at a time
        outs: list[list[np.ndarray]] = []
        with torch.no_grad():
            for i in range(len(x)):
                outs.append(_as_outputs([t.numpy() for t in _tensors(module(torch.from_numpy(x[i:i + 1])))]))
        return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]

    return FrameworkModel(f"PyTorch {path.name}", "NCHW", run)


def _tensors(y):
    import torch

    if isinstance(y, torch.Tensor):
        return [y]
    return [t for t in y if isinstance(t, torch.Tensor)]


def _keras(path: Path, trust_pickle: bool) -> FrameworkModel:
    from tinygen.importers.keras import load_keras_model

    model, _ = load_keras_model(path, trust_pickle)

    def run(x: np.ndarray) -> list[np.ndarray]:
        return _as_outputs(model(x, training=False))

    return FrameworkModel(f"Keras {path.name}", "NHWC", run)


def _tflite(path: Path) -> FrameworkModel:
    from tinygen.importers.keras import tensorflow_quiet

    tf = tensorflow_quiet()
    interp = tf.lite.Interpreter(model_path=str(path))
    ins, outs = interp.get_input_details(), interp.get_output_details()
    if len(ins) != 1 or ins[0]["dtype"] != np.float32 or any(o["dtype"] != np.float32 for o in outs):
        raise TinygenError(f"{path}: --against takes a float .tflite (float32 input and outputs); this one has "
                           f"{[str(np.dtype(d['dtype'])) for d in ins]} inputs: compare an int8 .tflite with TFLM instead")
    interp.allocate_tensors()

    def run(x: np.ndarray) -> list[np.ndarray]:
        res: list[list[np.ndarray]] = []
        for i in range(len(x)):
            interp.set_tensor(ins[0]["index"], x[i:i + 1])
            interp.invoke()
            res.append([interp.get_tensor(o["index"]).astype(np.float32) for o in outs])
        return [np.concatenate([r[k] for r in res]) for k in range(len(outs))]

    return FrameworkModel(f"TFLite {path.name}", "NHWC", run)
