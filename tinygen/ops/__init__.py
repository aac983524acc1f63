"""Lowered ops, one module each. Importing this package registers all of them."""

from tinygen.ops import conv2d  # noqa: F401
