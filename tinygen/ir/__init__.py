"""Framework-neutral graph: typed tensors and nodes with typed attributes."""

from tinygen.ir.graph import DType, Graph, Node, QuantParams, Tensor
from tinygen.ir.verify import verify

__all__ = ["DType", "Graph", "Node", "QuantParams", "Tensor", "verify"]
