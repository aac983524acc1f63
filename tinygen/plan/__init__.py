"""Memory planning: lifetimes in, arena offsets out. See plan/liveness.py and plan/greedy.py."""

from tinygen.plan.memory_plan import MemoryPlan, plan_memory

__all__ = ["MemoryPlan", "plan_memory"]
