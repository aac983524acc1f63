"""Compile generated C: for the host (shared library, called through cffi) or for a board.

(Named `compile`, not `build`, so that it never shadows the public `tinygen.build()`.)
"""
