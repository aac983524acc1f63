"""Lowered graph + memory plan -> C sources (Jinja2 templates)."""

from tinygen.codegen.generate import GeneratedModel, generate

__all__ = ["GeneratedModel", "generate"]
