"""sample_size_estimation: how many runs and replicates a study needs.

Two kinds of question:
- classical comparisons (two-sample, paired, one-sample, ANOVA, regression): power
  analysis through statsmodels.stats.power, solving for whichever of effect size, runs
  and power was left out, plus a margin for failed runs;
- fit precision of a scaling law: simulate the design from a prior law with a noise
  model, refit every simulated data set with the study's own fitter, and read how the
  90th-percentile error of the quantity that matters (an exponent, N_opt at a target
  compute, the loss at a target scale) falls as replicates or points are added. For a
  pure power law the closed form SE = sigma / sqrt(Sxx) is reported beside it.

The package by concern: ``models`` (Input, Output), ``classical`` (power analysis), ``fit_precision``
(the Monte Carlo); ``run`` dispatches between them.
"""
from __future__ import annotations

from typing import Any, Callable

from ..design_matrix_construction import NamedValue as DefaultUsed
from ..design_matrix_construction import StepWarning
from .classical import _classical
from .fit_precision import _fit_precision, _undecided
from .replicates import _replicate_precision
from .models import (
    CLASSICAL, MAX_POINTS, MAX_REPLICATES, MAX_SIMS_PER_STEP, MAX_TIME_S, CurvePoint, DesignType, FitPrecision,
    Input, Output, PrecisionSensitivityRow, SampleSizeResult, SensitivityRow)

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "DefaultUsed", "StepWarning", "CurvePoint",
           "DesignType", "FitPrecision", "SampleSizeResult", "SensitivityRow", "PrecisionSensitivityRow", "MAX_POINTS", "MAX_REPLICATES",
           "MAX_SIMS_PER_STEP", "MAX_TIME_S", "CLASSICAL"]
_TESTED = (_undecided,)  # checked one by one in the tests

def run(inp: Input, progress: Callable[[float, float, str], None] | None = None) -> Output:
    """Runs needed for a classical comparison, or for a precise enough scaling-law fit."""
    if inp.design_type in CLASSICAL:
        return _classical(inp)
    if inp.design_type == "replicate_precision":
        return _replicate_precision(inp)
    return _fit_precision(inp, progress=progress)


DESCRIPTION = """
How many runs and replicates a study needs. Two modes (design_type):
- two_sample, paired, one_sample, anova, regression: classical power analysis (statsmodels).
  Give all but one of effect_size (or min_difference with sd), runs_per_group and power; the one left
  out is solved for (`solved_for`, `missing`). Returns runs per group, total, total with a 10-20%
  failed-run margin, and a sensitivity table.
- fit_precision: Monte Carlo of a scaling-law fit. Simulates the design from a prior law (published,
  e.g. epoch, or prior_params) with a noise model, refits each data set with the study's fitter, and
  returns the curve of the 90th-percentile relative error of a parameter, N_opt at a target compute,
  or the loss at a target scale against runs, plus the first design meeting target_relative_error.
  For a pure power law the closed form SE = sigma / sqrt(Sxx) is shown beside it.
- replicate_precision: replicates per cell of a benchmark grid (inference) from the replicate spread:
  the t interval of each cell's median (or mean) over r replicates at run-to-run cv; give
  runs_per_group to get the precision it buys, or leave it empty for the replicates that meet
  target_relative_error; n_cells gives the total.
Both precision modes return precision_sensitivity: the answer at 0.5-2 times the assumed noise.
Next: budget_constrained_design to fit the runs to a budget; statistical_method_selection for the analysis.
"""

EXAMPLE: dict[str, Any] = {
    "design_type": "fit_precision",
    "prior_law": "kaplan_n",
    "form": "power",
    "scale_min": 1e7,
    "scale_max": 1e9,
    "points": 6,
    "quantity": "parameter",
    "parameter": "alpha",
    "target_relative_error": 0.04,
    "max_replicates": 3,
    "n_sims": 100,
    "seed": 0,
}
