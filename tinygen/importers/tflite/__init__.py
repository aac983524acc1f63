"""TFLite flatbuffer (.tflite) -> lowered graph, bit-exact with TensorFlow Lite Micro.

* `reader`   the flatbuffer, as plain data (tensors, operators, options)
* `context`  the importer state and the handler tables (start there)
* `builtin`  handlers of the builtin int8 ops
* `lce`      handlers of Larq Compute Engine's custom ops and of the float32 ops of LCE models
"""

from __future__ import annotations

from pathlib import Path

from tinygen.importers.tflite import builtin, lce  # noqa: F401  (fill the handler tables)
from tinygen.importers.tflite.context import TflImport
from tinygen.importers.tflite.reader import read_tflite
from tinygen.ir.graph import Graph


def import_tflite(path: str | Path, data: bytes | None = None) -> Graph:
    """Read a .tflite file (or its bytes) and return the lowered graph."""
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    model = read_tflite(raw, path.name)
    return TflImport(model, path.stem).run()
