"""budget_constrained_design: which runs to do under a budget, and what precision they buy.

The budget (FLOPs, GPU-hours or runs) is checked against the seed's Budget Gate, and the
seed's "max runs = budget / cost per run" picks a classical design family. For a scaling
study the runs are chosen from a candidate pool to minimise the variance of what the
study is for (loss at a target scale, N_opt at a target compute, or the exponents), per
unit cost: a locally optimal design from the law's Jacobian at prior parameters and a
noise model (laws.optimal_design). The predicted precision is checked by Monte Carlo with
the real fitter, and the chosen design is compared with naive designs of the same cost.
"""
from __future__ import annotations

from .models import (MAX_CANDIDATES, MAX_REPEATS, MAX_SIMULATIONS, CandidateRun, CompletedRun, DesignComparison, Input,
                     MonteCarloSummary, Output)
from .procedure import DESCRIPTION, EXAMPLE, run

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "CandidateRun", "CompletedRun", "DesignComparison",
           "MonteCarloSummary", "MAX_CANDIDATES", "MAX_SIMULATIONS", "MAX_REPEATS"]
