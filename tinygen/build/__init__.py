"""Compile generated C: for the host (shared library, called through cffi) or for a board."""
