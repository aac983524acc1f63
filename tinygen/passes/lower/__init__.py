"""Float dialect (quantized, NCHW) -> lowered dialect (integer ops, NHWC).

One lowering function per float op, registered with `@lowers("op")` in the modules of this
package. Every activation already has quantization parameters (passes.assign_quant).
"""

from tinygen.passes.lower.context import LOWERINGS, LowerCtx, lower

from tinygen.passes.lower import layers, elementwise, pooling, data  # noqa: F401,E402  (register)

__all__ = ["LOWERINGS", "LowerCtx", "lower"]
