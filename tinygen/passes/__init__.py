"""Graph rewrites. Float-dialect passes prepare a framework graph; `lower` turns it into integer ops.

Each pass is a function (graph, source) -> graph (it may modify the graph it is given and returns
it; `source` names the model in error messages); its docstring states the rewrite.
`tinygen.ir.verify` runs after each one in the pipeline. Float-dialect order (pipeline.FLOAT_PASSES):
binary_weights, fuse_sign, propagate_binary, fold_batch_norm, fuse_activation; then assign_quant
and lower.
"""
