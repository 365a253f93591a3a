"""Level specification: the scale points of each factor, made feasible, and checked.

Levels are spaced (geometric by default) between each factor's minimum and maximum, then
made realisable: a parameter target becomes a transformer shape whose counted parameters
land within the tolerance of the target, a token target becomes whole optimizer steps of
one batch, a batch size becomes a power of two. Checks with verdicts say whether the points
can support a power-law fit (decades, count, smallest scale), suggest a larger held-out point,
and whether the plan fits the budget.

The package by concern: ``models`` (Input, Output), ``shapes`` (spacing, model shapes), ``checks``
(feasibility verdicts), ``procedure`` (``run``, ``input_from_factors``).
"""
from __future__ import annotations

from .models import MAX_LEVELS, Check, FactorLevels, FactorRange, Input, ModelShape, Output, Spacing
from .procedure import input_from_factors, run
from .shapes import search_shape

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "FactorRange", "ModelShape", "search_shape",
           "input_from_factors", "Check", "FactorLevels", "Spacing", "MAX_LEVELS"]

DESCRIPTION = """
Second step of a scaling study: turns each factor's range into concrete scale points. Give the
scaling type and factors [{name, minimum, maximum, unit}] (factor_identification's
independent_variables fit directly); optionally num_levels (default from the Budget Gate),
spacing (geometric default, linear, log_uniform, custom), vocabulary, sequence length, batch and
budget. Returns per factor the levels in the seed's fields (num_levels, levels, spacing,
justification, source) made feasible: for parameters, a transformer shape per level (n_layer,
d_model, heads, d_ff, aspect ratio in band) whose counted parameters are within 5% of the target,
with both non-embedding and total counts; tokens as whole optimizer steps; batch sizes as powers of
two. Also a larger held-out point per factor, total_combinations, cost, budget_compatible, and
feasibility_check verdicts (decades covered, at least 4 points, smallest scale above the power-law
threshold, tokens-per-parameter varied in compute-optimal studies). Next: metric_specification, then
design_matrix_construction with these levels.
"""

EXAMPLE = {
    "scaling_type": "model",
    "factors": [{"name": "parameters", "minimum": 1e7, "maximum": 1e9, "unit": "parameters"}],
    "num_levels": 6,
    "vocab_size": 50257,
    "fixed_tokens": 2e10,
    "budget_gpu_hours": 5000,
    "hardware": "H100",
}


