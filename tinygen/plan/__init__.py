"""Memory planning: node order, lifetimes and arena offsets.

Pipeline: `schedule` (a topological order with less live memory) -> `apply_schedule` ->
`plan_memory` (liveness with in-place aliases and scratch -> offsets), or `plan_with_schedule`
for both at once. See liveness.py, greedy.py, exact.py, assign.py and schedule.py.
"""

from tinygen.plan.liveness import PlanOptions
from tinygen.plan.memory_plan import MemoryPlan, plain_lower_bound, plan_memory, plan_with_schedule
from tinygen.plan.schedule import apply_schedule, order_peak, schedule

__all__ = ["MemoryPlan", "PlanOptions", "apply_schedule", "order_peak", "plain_lower_bound", "plan_memory", "plan_with_schedule", "schedule"]
