"""Memory planning: node order, lifetimes and arena offsets.

Pipeline: `schedule` (a topological order with less live memory) -> `apply_schedule` ->
`plan_memory` (fused row-band pairs, liveness with in-place aliases, lag and scratch buffers ->
offsets), or `plan_with_schedule` for both at once; `PlanOptions` puts graph inputs in the arena
or turns in-place and fused execution off. See liveness.py, fusion.py, greedy.py, exact.py,
assign.py and schedule.py.
"""

from tinygen.plan.liveness import PlanOptions
from tinygen.plan.memory_plan import MemoryPlan, plain_lower_bound, plan_memory, plan_with_schedule
from tinygen.plan.schedule import apply_schedule, order_peak, schedule

__all__ = ["MemoryPlan", "PlanOptions", "apply_schedule", "order_peak", "plain_lower_bound", "plan_memory", "plan_with_schedule", "schedule"]
