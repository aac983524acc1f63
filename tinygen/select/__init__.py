"""Kernel selection: the stage between lowering and planning that picks one C kernel per node.

The rule, kept here and nowhere else: each op lists its variants fastest first (`OpDef.kernels`);
a node gets the first one whose `supports(node, graph)` holds and whose `needs` the target
offers. `policy="ref"` (`tinygen build --kernels ref`) considers only reference kernels, for
bisecting a mismatch. The choice is recorded on the node (`Node.kernel`, serialized with the
graph); the planner (scratch), codegen and the report read only that record.
"""

from tinygen.select.kernels import POLICIES, select_kernels
from tinygen.select.target import HOST, Target, target_of

__all__ = ["HOST", "POLICIES", "Target", "select_kernels", "target_of"]
