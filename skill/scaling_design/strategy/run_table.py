"""The plan's final run table, made once.

The runs the plan will execute (the chosen settings with their replicates, and the
validation runs held out of the fit) get run ids in cost order, one recorded seed each
(distinct), a block per replicate and a run order randomised within each block with the
plan's seed. design.csv, the results template, plan.json, the report's tables and the
plots are all views of this one table; the steps' own tables are candidates.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from .. import knowledge
from ..laws.allocation import compute_optimal
from ..laws.cost import gpu_hours
from ..sops.design_matrix_construction import distinct_seeds, to_csv

__all__ = ["FinalTable", "build_table", "LEAD_COLUMNS", "validation_runs", "VALIDATION_SHARE", "VALIDATION_AXIS"]

LEAD_COLUMNS = ("run_id", "run_order", "block", "replicate", "seed", "role")
# columns a step's table carries about its own bookkeeping, replaced here
_BOOKKEEPING = {"run_id", "run_order", "block", "replicate", "point", "seed", "role"}
# the single scaling axis fit_scaling_law reads as `x` for a one-axis form
SINGLE_AXIS = {"model": "N", "data": "D"}
# the axis whose held-out level is the validation run's setting, per plan kind
VALIDATION_AXIS = {"model": "N", "data": "D", "compute_optimal": "C"}
# the prior of the compute-optimal validation run's split (the compute-optimal sizing's prior law)
PRIOR_LAW = "epoch"
# the validation run is bought only when it costs at most this share of the budget
VALIDATION_SHARE = 0.5
SETTING_COLUMNS = {"model": ("N", "D"), "data": ("N", "D"), "compute_optimal": ("N", "D"),
                   "inference": ("batch_size", "seq_len", "N")}


class FinalTable(BaseModel):
    columns: list[str] = Field(description="Columns of the table, in order.")
    runs: list[dict[str, Any]] = Field(description="Every run the plan executes, in run_id order.")
    seed: int = Field(description="Seed of the run seeds and the run order.")
    result_columns: list[str] = Field(description="Columns the results template leaves empty.")
    n_fit: int = Field(description="Runs the law is fitted on (role fit).")
    n_validation: int = Field(description="Runs held out of the fit and scored after it (role validation).")

    def csv(self) -> str:
        return to_csv(self.runs, self.columns)

    def template_csv(self) -> str:
        columns = self.columns + [c for c in self.result_columns if c not in self.columns]
        return to_csv([dict(r, **{c: None for c in self.result_columns}) for r in self.runs], columns)


def validation_runs(scaling_type: str, held_out: float | None, fixed: dict[str, float], peak: float,
                    mfu: float) -> list[dict[str, Any]]:
    """One run at level_specification's held-out point of the main axis, the other resource as in the fit.

    For a compute-optimal plan the held-out point is a compute budget above the largest isoFLOP
    budget, run at the prior law's compute-optimal split of it: the fit's loss prediction there is
    scored, the quantity the plan's extrapolation rests on."""
    if held_out is None or scaling_type not in VALIDATION_AXIS:
        return []
    if scaling_type == "compute_optimal":
        n, d = _prior_optimum(held_out)
    else:
        n, d = (held_out, fixed["D"]) if scaling_type == "model" else (fixed["N"], held_out)
    c = 6.0 * n * d
    return [{"N": float(n), "D": float(d), "C": c, "tokens_per_param": d / n,
             "gpu_hours": float(gpu_hours(c, peak, mfu))}]


def _prior_optimum(compute: float) -> tuple[float, float]:
    """(N_opt, D_opt) of the prior joint law (Besiroglu et al. 2024, the law the compute-optimal sizing assumes)."""
    p = knowledge.published_law(PRIOR_LAW)["params"]
    opt = compute_optimal([p["E"], p["A"], p["B"], p["alpha"], p["beta"]], compute)
    return float(opt["N_opt"]), float(opt["D_opt"])


def _cost(row: dict[str, Any]) -> float:
    for key in ("C", "flops", "gpu_hours"):
        if row.get(key) is not None:
            return float(row[key])
    return 0.0


def build_table(scaling_type: str, fit_rows: list[dict[str, Any]], validation: list[dict[str, Any]], seed: int,
                result_columns: list[str]) -> FinalTable:
    setting = SETTING_COLUMNS[scaling_type]
    tagged: list[tuple[Literal["fit", "validation"], dict[str, Any]]] = \
        [("fit", {k: v for k, v in r.items() if k not in _BOOKKEEPING}) for r in fit_rows] + \
        [("validation", dict(r)) for r in validation]
    # run ids in cost order (then by setting), so the ids read cheapest first
    tagged.sort(key=lambda t: (t[0] == "validation", _cost(t[1]), tuple(float(t[1].get(c) or 0) for c in setting)))
    seen: dict[tuple, int] = {}
    runs = []
    for i, (role, row) in enumerate(tagged):
        key = (role,) + tuple(row.get(c) for c in setting)
        seen[key] = seen.get(key, 0) + 1
        runs.append({"run_id": f"r{i + 1:04d}", "run_order": 0, "block": seen[key], "replicate": seen[key],
                     "seed": 0, "role": role, **row})
    rng = np.random.default_rng(seed)
    for run, s in zip(runs, distinct_seeds(rng, len(runs))):
        run["seed"] = int(s)
    # blocks run in sequence (a whole sweep done before any repeat), the runs inside a block in random order
    order = 1
    for block in sorted({r["block"] for r in runs}):
        members = [r for r in runs if r["block"] == block]
        for j in rng.permutation(len(members)):
            members[int(j)]["run_order"] = order
            order += 1
    axis = SINGLE_AXIS.get(scaling_type)
    if axis is not None:
        for r in runs:
            r["x"] = r[axis]
    factor_cols = [c for c in setting if any(c in r for r in runs)]
    rest = [c for c in ("x", "C", "tokens_per_param", "flops", "gpu_hours", "memory_gb", "memory_ok", "expected_ttft_s",
                      "expected_tpot_s", "expected_throughput")
            if c not in factor_cols and any(c in r for r in runs)]
    others = sorted({k for r in runs for k in r} - set(LEAD_COLUMNS) - set(factor_cols) - set(rest))
    columns = list(LEAD_COLUMNS) + factor_cols + rest + others
    clean = [{c: r.get(c) for c in columns} for r in runs]
    return FinalTable(columns=columns, runs=clean, seed=seed, result_columns=list(result_columns),
                      n_fit=sum(r["role"] == "fit" for r in clean),
                      n_validation=sum(r["role"] == "validation" for r in clean))
