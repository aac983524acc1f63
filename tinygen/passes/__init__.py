"""Graph rewrites. Float-dialect passes prepare a framework graph; `lower` turns it into integer ops.

Each pass is a function Graph -> Graph (it may modify the graph it is given and returns it); its
docstring states the rewrite. `tinygen.ir.verify` runs after each one in the pipeline.
"""
