"""What a study does with the chosen runs when the budget moves: budgets in money or wall-clock
hours, the order in which to cut runs, and when to stop buying.

Money and wall-clock budgets become GPU-hours (a price per GPU-hour; GPUs working in parallel)
and then FLOPs through the hardware's peak and MFU, as a GPU-hour budget does. The cut order is
a backward elimination on the information matrix: each step drops the chosen run whose removal
raises the target's predicted variance least per unit of cost saved, so a study that loses
budget keeps the runs the target needs most.
"""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from ...laws.optimal_design import information_matrix, target_variance
from ...sops.design_matrix_construction import StepWarning

__all__ = ["CutStep", "gpu_hours_of_budget", "cut_order", "stopping_rules", "wall_clock_warning", "MAX_CUT_RUNS"]

MAX_CUT_RUNS = 300   # chosen runs beyond this are ranked in one pass instead of eliminated one by one


class CutStep(BaseModel):
    run_id: str = Field(description="The run to cut at this step.")
    cost_flops: float = Field(description="FLOPs it saves.")
    cumulative_saved_flops: float = Field(description="FLOPs saved by this and every earlier cut.")
    predicted_sd_after: float | None = Field(description="Predicted sd of the target with this and every earlier run "
                                                         "cut (None when the rest no longer identify the law).")


def gpu_hours_of_budget(budget: float, unit: str, usd_per_gpu_hour: float | None, n_gpus: int | None) -> float:
    """A budget in money (usd) or wall-clock hours as GPU-hours."""
    if unit == "usd":
        return budget / float(usd_per_gpu_hour)
    if unit == "wall_clock_hours":
        return budget * int(n_gpus)
    return budget


def cut_order(rows: np.ndarray, counts: np.ndarray, run_index: np.ndarray, run_ids: list[str], costs: np.ndarray,
              flops: np.ndarray, G: np.ndarray, done_M: np.ndarray) -> list[CutStep]:
    """Backward elimination over the chosen runs (run_index[k] is the candidate of run k); costs in the
    budget's unit rank the cuts, flops are reported."""
    counts = np.asarray(counts, int).copy()
    left = list(range(len(run_index)))
    steps, saved = [], 0.0
    one_pass = len(left) > MAX_CUT_RUNS
    order = _one_pass(rows, counts, run_index, costs, G, done_M) if one_pass else None
    while left:
        if one_pass:
            k = order[len(steps)]
        else:
            base = _variance(rows, counts, G, done_M)
            k = min(left, key=lambda j: _cost_of_cut(rows, counts, run_index[j], costs, G, done_M, base))
        left.remove(k)
        counts[run_index[k]] -= 1
        saved += float(flops[run_index[k]])
        var, full = target_variance(done_M + information_matrix(rows, counts), G)
        total = float(np.sum(var))
        steps.append(CutStep(run_id=run_ids[k], cost_flops=float(flops[run_index[k]]), cumulative_saved_flops=saved,
                             predicted_sd_after=float(np.sqrt(total)) if full and np.isfinite(total) else None))
    return steps


def _variance(rows, counts, G, done_M) -> float:
    """Summed target variance of these runs (inf when they do not identify the law)."""
    var, full = target_variance(done_M + information_matrix(rows, counts), G)
    total = float(np.sum(var))
    return total if full and np.isfinite(total) else np.inf


def _cost_of_cut(rows, counts, i, costs, G, done_M, base: float) -> float:
    """The rise in target variance per unit of cost saved by cutting one run of candidate i."""
    trial = counts.copy()
    trial[i] -= 1
    after = _variance(rows, trial, G, done_M)
    if not np.isfinite(after):
        return np.inf
    return (after - base) / float(costs[i]) if np.isfinite(base) else after / float(costs[i])


def _one_pass(rows, counts, run_index, costs, G, done_M) -> list[int]:
    base = _variance(rows, counts, G, done_M)
    scores = [_cost_of_cut(rows, counts, i, costs, G, done_M, base) for i in run_index]
    return list(np.argsort(scores, kind="stable"))


def stopping_rules(n_runs: int, hedged: bool, predicted_sd: float | None, quantity: str) -> list[str]:
    """When to stop buying runs, and when to stop and re-plan, for these runs."""
    rules = [
        "run the chosen runs cheapest first" + (" (the space-filling share is among the first)" if hedged else "")
        + "; after each round pass the finished ones as completed_runs and ask for the next runs",
        f"stop buying when the target's predicted sd is at or below the precision you need (these {n_runs} runs buy "
        + (f"{predicted_sd:.3g} in log units" if predicted_sd is not None else "no finite precision") + f" for the {quantity})",
        "stop and re-plan when a round brings sequential_disagrees_with_prior or random_design_better: the prior law "
        "was wrong where the target is",
        "judge a run by its final loss only: a checkpoint part-way through a cosine schedule overstates the loss "
        "(Hoffmann et al. 2022, Appendix B), so do not stop runs early on their loss",
        "stop and re-plan when more than 20% of the runs fail (rule of thumb: the failed-run margin a plan carries is "
        "10-20%)",
    ]
    return rules


def wall_clock_warning(run_gpu_hours: np.ndarray, wall_clock_hours: float, n_gpus: int,
                       warnings: list[StepWarning]) -> None:
    """Warn when the largest chosen run cannot finish within the wall clock on every GPU at once."""
    if not len(run_gpu_hours):
        return
    longest = float(np.max(run_gpu_hours)) / n_gpus
    if longest > wall_clock_hours:
        warnings.append(StepWarning(code="run_exceeds_wall_clock", severity="warning", message=(
            f"the largest chosen run needs {longest:.3g} hours even on all {n_gpus} GPUs, more than the "
            f"{wall_clock_hours:g}-hour wall clock: drop it (see cut_order) or allow more time")))
