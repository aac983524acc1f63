"""tinygen's version, in its own module so that stages can name it without importing the package
entry points (tinygen/__init__.py reaches the pipeline, which reaches every stage)."""

__version__ = "0.1.0"
