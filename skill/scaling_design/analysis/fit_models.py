"""fit_scaling_law's input and output models: the runs, the options, and what a fit returns."""
from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..laws.bootstrap import MAX_BOOTSTRAP
from ..limits import MAX_FIT_RUNS
from .robust_fit import OUTLIER_Z

__all__ = ["ObjectiveName", "Run", "Point", "Input", "IntervalOut", "Warning_", "Prediction", "FrontierPoint", "Effect",
           "UsedRun", "Output"]


ObjectiveName = Literal["huber-log", "ls-log", "ls"]


class Run(BaseModel):
    """One training run's result. Give the inputs the form needs: N and D (or C) for the
    joint law, x for a single-factor law, N, D and U for the data-constrained law."""

    model_config = ConfigDict(extra="allow")
    N: float | None = Field(None, description="Parameters (say which counting: total or non-embedding).")
    D: float | None = Field(None, description="Training tokens.")
    C: float | None = Field(None, description="Training FLOPs; D = C / (6N) when D is absent.")
    U: float | None = Field(None, description="Unique tokens (data-constrained form).")
    x: float | None = Field(None, description="The scale of a single-factor law (params, tokens or FLOPs).")
    loss: float | None = Field(None, description="Final held-out loss (nats/token); empty = not run yet (skipped).")
    seed: float | None = Field(None, description="Training seed; runs at the same inputs are replicates.")
    weight: float | None = Field(None, ge=0, description="Per-run weight in the objective (default 1).")


SCALE_RANGE = (1e-30, 1e30)  # the laws' domain check (laws.fit.validate_data) uses the same bounds


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")
    N: float | None = Field(None, ge=SCALE_RANGE[0], le=SCALE_RANGE[1], description="Parameters.")
    D: float | None = Field(None, ge=SCALE_RANGE[0], le=SCALE_RANGE[1], description="Training tokens.")
    U: float | None = Field(None, ge=SCALE_RANGE[0], le=SCALE_RANGE[1], description="Unique tokens.")
    x: float | None = Field(None, ge=SCALE_RANGE[0], le=SCALE_RANGE[1], description="Scale for a single-factor law.")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
    NON_FINITE_OK: ClassVar[tuple[str, ...]] = ("param_bounds",)  # an open bound is [0, inf)
    form: str = Field("chinchilla", max_length=500, description=(
        "Law form: power (A x^-alpha), kaplan ((x/X_c)^-alpha), saturating (E + A x^-alpha), chinchilla "
        "(E + A/N^alpha + B/D^beta), broken (one smooth break), data_constrained (Muennighoff 2023, needs U), "
        "farseer (Li et al. 2025), joint_nbeta (N-dependent data exponent), log_linear (A - B ln x); 'auto' to "
        "choose form and objective by rolling extrapolation (hold out the two largest scales in turn); or an "
        "expression over N, D, U, x and named parameters, e.g. 'E + A*N**-alpha + B*D**-beta'."))
    candidates: list[str] | None = Field(None, max_length=20, description=(
        "With form 'auto': the forms to choose among (default: every built-in form that takes the data's inputs)."))
    objectives: list[ObjectiveName] | None = Field(None, max_length=3, description=(
        "With form 'auto': the objectives to choose among (default: huber-log, ls-log, ls)."))
    param_bounds: dict[str, list[float]] | None = Field(None, description=(
        "For an expression form: bounds per parameter, e.g. {\"alpha\": [0, 5]} (default [0, inf) for amplitudes, "
        "[-10, 10] for the others)."))
    outliers: Literal["flag", "exclude"] = Field("flag", description=(
        f"Off-trend runs (robust log residual beyond {OUTLIER_Z} scales) are always flagged; 'exclude' "
        "also refits without them and reports what they moved."))
    direction: Literal["lower_is_better", "higher_is_better"] = Field("lower_is_better", description=(
        "lower_is_better for a loss; higher_is_better fits 1 - metric for a metric in (0, 1) (a loss that rises "
        "with scale is refused as a likely accuracy)."))
    runs: list[Run] | None = Field(None, max_length=MAX_FIT_RUNS, description=(
        f"Run results as rows (at most {MAX_FIT_RUNS:,}); or give csv_path or csv_text."))
    csv_path: str | None = Field(None, description="Path to a CSV with columns N, D (or C), loss (x, loss for single-factor forms).")
    csv_text: str | None = Field(None, description="CSV content, same columns as csv_path.")
    objective: ObjectiveName = Field("huber-log", description=(
        "huber-log: summed Huber on log residuals (Hoffmann 2022; robust, the default); ls-log: least squares "
        "on log loss; ls: least squares on loss."))
    delta: float = Field(1e-3, ge=1e-8, le=1.0, description="Huber delta on log residuals (Hoffmann 2022 used 1e-3).")
    bootstrap: int = Field(0, ge=0, le=MAX_BOOTSTRAP, description=(
        f"Bootstrap replicates for intervals (0 = asymptotic only; use >= 1000 to report; cap {MAX_BOOTSTRAP})."))
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the bootstrap resampling.")
    level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of the intervals.")
    predict_at: list[Point] | None = Field(None, description="Points to predict the loss at, with intervals.")
    compute_budgets: list[float] | None = Field(None, description=(
        "Training FLOPs at which to report the compute-optimal N and D (joint law only; default: the largest "
        "compute in the data, and 10x and 100x beyond it)."))
    resource_factor: float = Field(2.0, ge=1e-3, le=1e3, description="Report the loss change from multiplying each resource by this factor (1e-3 to 1e3).")
    time_limit_s: float = Field(120.0, gt=0, le=3600, description="Time bound on the bootstrap (seconds).")

    @model_validator(mode="after")
    def _one_source(self):
        given = [n for n in ("runs", "csv_path", "csv_text") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of runs, csv_path or csv_text; got {given or 'none'}")
        if self.bootstrap == 1:
            raise ValueError("bootstrap must be 0 (off) or >= 2 replicates; got 1")
        if self.compute_budgets is not None and any(not (c > 0 and np.isfinite(c)) for c in self.compute_budgets):
            raise ValueError(f"compute_budgets must all be > 0 FLOPs; got {self.compute_budgets}")
        return self


class IntervalOut(BaseModel):
    low: float
    high: float
    level: float


class Warning_(BaseModel):
    code: str
    severity: str
    message: str
    param: str | None = None


class Prediction(BaseModel):
    at: dict[str, float] = Field(description="Inputs of the point.")
    loss: float = Field(description="Predicted loss.")
    interval: IntervalOut = Field(description="Interval for the law's mean loss at the point.")
    prediction_interval: IntervalOut = Field(description="Interval for one new run (adds run-to-run noise).")
    extrapolates: bool
    decades_beyond_data: float


class FrontierPoint(BaseModel):
    compute: float = Field(description="Training FLOPs, C = 6ND.")
    N_opt: float
    D_opt: float
    tokens_per_param: float
    loss: float
    intervals: dict[str, IntervalOut] | None = Field(None, description="Bootstrap intervals of N_opt, D_opt, tokens_per_param, loss.")


class Effect(BaseModel):
    resource: str
    factor: float
    at: dict[str, float]
    relative_change: float = Field(description="Relative change of the loss (negative = lower loss).")
    reducible_relative_change: float | None = Field(None, description="Relative change of the reducible part L - E.")
    interval: IntervalOut | None = None
    statement: str


class UsedRun(BaseModel):
    at: dict[str, float]
    loss: float
    predicted: float
    log_residual: float


class Output(BaseModel):
    truncated: bool = Field(False, description="The time bound (time_limit_s) stopped the bootstrap before all "
                                               "replicates: intervals rest on fewer replicates than asked.")
    form: str
    equation: str
    inputs: list[str]
    params: dict[str, float] = Field(description="Fitted parameters by name (never rounded).")
    standard_errors: dict[str, float]
    se_source: Literal["bootstrap", "asymptotic"]
    covariance: list[list[float]] | None = Field(None, description=(
        "Parameter covariance in the order of `params`: of the bootstrap replicates when bootstrap >= 2, else "
        "asymptotic (Gauss-Newton); None when it cannot be computed."))
    intervals: dict[str, IntervalOut] | None = Field(None, description="Percentile bootstrap intervals (when bootstrap >= 2).")
    objective: str
    delta: float | None
    objective_value: float
    n_runs: int
    n_skipped: int = Field(description="Rows without a loss (runs not done yet), skipped.")
    converged: bool
    warnings: list[Warning_]
    optimizer: dict
    sigma_log: float = Field(description="Robust scale of log residuals (1.4826 MAD).")
    predictions: list[Prediction]
    frontier: list[FrontierPoint]
    allocation_exponents: dict[str, float] | None = None
    effects: list[Effect]
    runs_used: list[UsedRun]
    bootstrap: dict | None = None
    selection: list[dict] | None = Field(None, description=(
        "With form 'auto': every candidate (form, objective) with heldout_error (mean over folds of the mean "
        "absolute relative error of the held-out runs), heldout_errors per fold, competitive, params."))
    selected: dict | None = Field(None, description="With form 'auto': the chosen candidate, the fold cuts, and whether candidates tie.")
    outliers: list[dict] = Field(default_factory=list, description="Off-trend runs: row (0-based data row), robust_residual, loss, predicted.")
    outlier_refit: dict | None = Field(None, description="With outliers='exclude': the rows excluded and each parameter with and without them.")
    validation: list[dict] = Field(default_factory=list, description="Runs with role=validation: held out, predicted, relative error.")
    notes: list[str]
