"""downstream_prediction: a task metric predicted in two steps, (N, D) -> task loss -> metric.

The package by concern: ``models`` (Input, Output), ``procedure`` (``run``). The numerics are
``laws.downstream`` (the sigmoid, the two-step bootstrap).
"""
from __future__ import annotations

import numpy as np

from ...laws import allocation
from ...laws.downstream import sigmoid
from .models import Input, Output
from .procedure import run

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE"]

DESCRIPTION = """
Predict a downstream metric (accuracy on a task) of a larger model from a ladder of small ones, in
two steps (Bhagia et al. 2024, OLMo ladder; Llama 3): step 1 fits the task loss as the joint law
E + A/N^alpha + B/D^beta; step 2 fits the metric as a sigmoid of the task loss. A bootstrap over runs
refits both steps on each resample, so the metric's interval carries both. Give runs or a CSV with
N, D (or C), the task loss (loss_column) and the metric (metric_column, a fraction in [0, 1]) with
its direction as metric_specification gives it (higher_is_better for accuracy). Returns both steps'
parameters with intervals, the metric at predict_at (default 10x the largest rung) with intervals,
and the held-out check of rows with role=validation. Use it instead of fitting a power law to an
accuracy (fit_scaling_law refuses a rising metric as a loss).
"""

_TASK = {"E": 0.9, "A": 300.0, "B": 900.0, "alpha": 0.32, "beta": 0.30}
_SIGMOID = np.array([0.25, 0.9, 5.0, 2.0])
_RUNGS = [(n, n * t) for n in (1.5e8, 3e8, 6e8, 1.2e9) for t in (20, 40, 100)]
EXAMPLE = {
    "runs": [{"N": n, "D": d, "loss": round(float(allocation.joint_loss(_TASK, n, d)) * (1 + 0.003 * ((i * 5) % 3 - 1)), 5),
              "accuracy": round(float(sigmoid(_SIGMOID, allocation.joint_loss(_TASK, n, d), False)) + 0.005 * ((i * 7) % 3 - 1), 4)}
             for i, (n, d) in enumerate(_RUNGS)],
    "predict_at": [{"N": 1.2e10, "D": 2.4e11}],
    "bootstrap": 200,
    "seed": 0,
}
