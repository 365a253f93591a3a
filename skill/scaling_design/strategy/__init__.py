"""scaling_design: the whole strategy, every step in order, one plan and a markdown report.

The flow of the skill: factor_identification -> level_specification ->
metric_specification -> design_matrix_construction -> sample_size_estimation ->
budget_constrained_design. Each step is called through its own Input model, fed by
the outputs before it; nothing here redoes a step's work. Afterwards the plan is
checked for consistency (every factor in the matrix, levels as specified, enough
replicates, the budget respected, the Budget Gate met) and given a verdict with
its reasons.

The package by concern: ``models`` (Input, Output, the record), ``inputs`` (each step's
Input built from the outputs before it), ``checks`` (the consistency checks and the
verdict), ``flow`` (the order and the assembly).
"""
from ..step_order import STEP_ORDER
from .checks import _check_factors, _check_final_levels, _check_levels, _check_replicates, _scale_points
from .flow import run
from .inputs import _prior_at
from .models import DESCRIPTION, EXAMPLE, Check, Input, Output, Summary

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "STEP_ORDER", "Check", "Summary"]
# private helpers re-exported for the tests that check them one by one
_TESTED = (_check_factors, _check_final_levels, _check_levels, _check_replicates, _scale_points, _prior_at)
