"""TFLite flatbuffer (.tflite) -> lowered graph, bit-exact with TensorFlow Lite Micro.

* `reader`   the flatbuffer, as plain data (tensors, operators, options)
* `context`  the importer state and the handler tables (start there)
* `builtin`  handlers of the builtin int8 ops
* `lce`      handlers of Larq Compute Engine's custom ops and of the float32 ops of LCE models
* `movement` STRIDED_SLICE, SPLIT(_V), PACK/UNPACK, TRANSPOSE, DEPTH_TO_SPACE/SPACE_TO_DEPTH, RESIZE_*
* `pointwise` TANH, RELU, RELU6, LEAKY_RELU, PRELU, MAXIMUM, MINIMUM
* `matmul`   BATCH_MATMUL with constant weights
"""

from __future__ import annotations

from pathlib import Path

from tinygen.importers.tflite import builtin, lce, matmul, movement, pointwise  # noqa: F401  (fill the handler tables)
from tinygen.errors import TinygenError
from tinygen.importers.tflite.context import TflImport
from tinygen.importers.tflite.reader import clip, read_tflite
from tinygen.ir.graph import Graph

INTERNAL_ERROR = "internal error importing"  # the last-resort message (the fuzz counts how often it fires)


def import_tflite(path: str | Path, data: bytes | None = None) -> Graph:
    """Read a .tflite file (or its bytes) and return the lowered graph."""
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    model = read_tflite(raw, path.name)
    importer = TflImport(model, path.stem)
    try:
        return importer.run()
    except TinygenError:
        raise
    except Exception as e:  # last resort: the checks in reader/context should have refused the file first
        op = importer.op
        at = f" at operator {op.index} ({op.name})" if op is not None else ""
        raise TinygenError(clip(f"{INTERNAL_ERROR} {path.name}{at}: {type(e).__name__}: {e}; please report the "
                                "model", 300)) from e
