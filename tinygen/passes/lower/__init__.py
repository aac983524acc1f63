"""Float dialect (quantized, NCHW) -> lowered dialect (integer ops, NHWC).

One lowering function per float op, registered with `@lowers("op")` in the modules of this
package. Every activation already has quantization parameters (passes.assign_quant), except
binary tensors, whose consumers are lowered by the `binary=True` registrations (binary.py).
"""

from tinygen.passes.lower.context import BINARY_LOWERINGS, LOWERINGS, LowerCtx, lower

from tinygen.passes.lower import layers, elementwise, pooling, data, sign, binary  # noqa: F401,E402  (register)
from tinygen.passes.lower import reductions, softmax, conv1d  # noqa: F401,E402  (FlyNet ops)

__all__ = ["BINARY_LOWERINGS", "LOWERINGS", "LowerCtx", "lower"]
