"""isoflop_analysis: Hoffmann's approach 2 on an isoFLOP grid, its bias for the grid run, and the joint fit beside it.

The package by concern: ``models`` (Input, Output), ``procedure`` (``run``: the parabolas, the power
laws, the bias, the joint fit), ``assess`` (agreement, regret, held-out budgets).
"""
from __future__ import annotations

from ...laws import allocation
from .models import Input, Output
from .procedure import run

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE"]

DESCRIPTION = """
Analyse an isoFLOP grid (several model sizes at each of several compute budgets) the two ways labs
do, side by side. Approach 2 (Hoffmann et al. 2022; Llama 3, DeepSeek): per budget a parabola of loss
in ln N, its vertex (with wild-bootstrap and delta-method intervals) and curvature; N_opt(C) and
D_opt(C) power laws with bootstrap intervals. The joint law E + A/N^alpha + B/D^beta fitted to every
run (fit_scaling_law's fitter) with bootstrap intervals. Then the approach-2 bias for the grid
actually run (the parabola is a local quadratic of an asymmetric profile: off-centre grids and
unequal exponents shift the vertex; computed from the fitted law on the same points), a
bias-corrected approach 2, the two methods' agreement at the target budget, and the regret (loss
lost) of following each there. Runs with role=validation (e.g. a larger held-out budget) are
predicted, not fitted. Give runs or a CSV with N, D (or C), loss and optionally budget.
"""

_LAW = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
EXAMPLE = {
    "runs": [
        {"N": n, "C": c, "loss": round(float(allocation.joint_loss(_LAW, n, c / (6 * n))) * (1 + 0.002 * ((i * 7) % 5 - 2)), 5)}
        for c in (1e18, 1e19, 1e20)
        for i, n in enumerate(float(allocation.compute_optimal(_LAW, c)["N_opt"]) * 10 ** k for k in (-0.6, -0.3, 0.0, 0.3, 0.6))
    ],
    "target_compute": 1e22,
    "bootstrap": 500,
    "joint_bootstrap": 20,
    "seed": 0,
}
