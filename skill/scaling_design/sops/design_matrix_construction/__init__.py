"""design_matrix_construction: the run table.

Classical multi-factor designs come from pyDOE3 (full factorial, two-level fractional by
generators or target resolution, Plackett-Burman, central composite, Box-Behnken, Latin
hypercube, Taguchi arrays) and are checked for orthogonality, balance, resolution and
aliasing. Scaling grids (one-axis sweeps, N x D grids, isoFLOP grids around a prior
optimum, inference grids) are built here. Every table gets replicates with distinct
recorded seeds, blocks, a seeded random run order and the cost of each run.

The package by concern: ``models`` (Input, Output), ``classical`` (pyDOE3 designs), ``grids`` (scaling
grids, replicates, seeds, order, cost), ``properties`` (the design's checks), ``build`` (``run``).
"""
from __future__ import annotations

from typing import Any

from .build import run, to_csv
from .grids import distinct_seeds
from .models import (
    CLASSICAL, COUNTED, DESIGNS, KIND_TO_NAME, LAW_PARAMS, MAX_ALIAS_FACTORS, MAX_LEVEL, MAX_REPLICATES, MAX_RUNS,
    RESULT_COLUMNS_DEFAULT, SCALING, CostSummary, DesignProperties, FactorLevels, Input, IsoflopBudget, Level,
    NamedValue, Output, StepWarning)

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "FactorLevels", "DESIGNS", "distinct_seeds", "to_csv",
           "NamedValue", "StepWarning", "CostSummary", "DesignProperties", "IsoflopBudget", "Level", "CLASSICAL",
           "SCALING", "COUNTED", "KIND_TO_NAME", "LAW_PARAMS", "MAX_ALIAS_FACTORS", "MAX_LEVEL", "MAX_REPLICATES",
           "MAX_RUNS", "RESULT_COLUMNS_DEFAULT"]

DESCRIPTION = """
Build the run table of an experiment: which runs to do, with seeds, order, blocks and cost.

Use after level_specification (pass its `levels` as `factors`, or a mapping name -> list of values). Scaling
studies: `one_axis_sweep` (one factor varied, `fixed` holds the rest), `n_by_d_grid` (N levels x D levels
or x `tokens_per_param`), `isoflop` (`compute_budgets` x model sizes around the prior compute-optimal N,
D = C/(6N)), `inference_grid` (batch_size x seq_len x N). Classical multi-factor designs through pyDOE3:
full_factorial, fractional_factorial (`generators` like 'D = ABC' or a target `resolution`),
plackett_burman, central_composite, box_behnken, latin_hypercube, taguchi, with orthogonality, balance,
resolution, alias pattern, centre points and error degrees of freedom checked.

Returns the run table (`runs` as JSON records and `csv`), a `results_template_csv` with an empty `loss`
column that fit_scaling_law reads back once filled, per-run FLOPs (6ND or counted FLOPs per token) and
GPU-hours (hardware peak x MFU, both stated), totals, and warnings. Next: sample_size_estimation for
replicates, or budget_constrained_design to choose the runs worth doing under a budget.
"""

EXAMPLE: dict[str, Any] = {
    "design": "isoflop",
    "compute_budgets": [1e18, 3e18, 1e19],
    "models_per_budget": 7,
    "replicates": 1,
    "hardware": "H100",
    "seed": 0,
}
