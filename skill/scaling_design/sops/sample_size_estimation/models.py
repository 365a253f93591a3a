"""sample_size_estimation's Input and Output models and caps."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...errors import out_of_order
from ..design_matrix_construction import NamedValue as DefaultUsed, StepWarning


DesignType = Literal["two_sample", "paired", "one_sample", "anova", "regression", "fit_precision",
                     "replicate_precision"]
CLASSICAL = ("two_sample", "paired", "one_sample", "anova", "regression")
MAX_REPLICATES = 20
MAX_POINTS = 24
MAX_SIMS_PER_STEP = 5000
MIN_SCALE, MAX_SCALE = 1e-6, 1e30  # bounds of scales and design points: fitted laws stay finite floats
MIN_TOKENS_PER_PARAM, MAX_TOKENS_PER_PARAM = 0.01, 1e5
MIN_EFFECT, MAX_EFFECT = 1e-3, 100.0  # standardised effects the power solvers answer for (d = 1e-3: ~1.6e7 runs)
MAX_TIME_S = 600.0
REFINE_BATCHES = 8          # a step whose percentile cannot be told from the target runs up to 8 x n_sims
EFFECT_MULTIPLIERS = (0.75, 1.0, 1.25)
NOISE_MULTIPLIERS = (0.5, 1.0, 1.5, 2.0)  # sensitivity of the precision modes to the assumed noise


class Input(BaseModel):
    """Either a classical power analysis or a fit-precision study; see `design_type`."""

    model_config = ConfigDict(extra="forbid")

    study_kind: Literal["scaling", "general"] = Field(
        "scaling", description="scaling (default): any design_type; general: an ablation or comparison of "
                               "conditions, answered by a classical power analysis (fit_precision is refused).")
    design_type: DesignType = Field(
        "two_sample", description=(
            "two_sample (independent groups, Welch/Student t), paired (same seeds or eval items under two "
            "conditions), one_sample (against a reference value), anova (k independent groups), regression "
            "(F test of n_predictors coefficients), fit_precision (Monte Carlo precision of a scaling-law fit), or "
            "replicate_precision (replicates per cell of a benchmark grid from the replicate spread, cv)."))
    # -- classical power analysis: give all but one of effect, runs, power ------------------------
    effect_size: float | None = Field(
        None, ge=MIN_EFFECT, le=MAX_EFFECT, description=(
            "Standardised effect: Cohen's d for t tests (paired: mean difference / sd of differences), Cohen's f for "
            "anova, f^2 for regression. > 0; the direction comes from `alternative`. Leave empty to solve for it, "
            "or give min_difference and sd instead. Accepted: 1e-3 to 100."))
    min_difference: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Smallest difference worth detecting, in the metric's units (e.g. 0.01 nats). Used with `sd`.")
    sd: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Run-to-run standard deviation of the metric in the same units (e.g. seed sd ~0.002 nats; paired: sd of the differences).")
    runs_per_group: int | None = Field(
        None, ge=2, le=100000, description="Runs per group (regression: total runs). Leave empty to solve for it.")
    power: float | None = Field(
        None, gt=0, lt=1, description="Target power in (0, 1); default 0.80 (0.90 for confirmatory studies). Leave empty (with effect and runs given) to solve for it.")
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level in (0, 1).")
    n_comparisons: int = Field(1, ge=1, le=10000, description="Hypotheses tested together (e.g. 2 ablated conditions "
                                                              "against a control): the power solve uses alpha / n_comparisons.")
    alternative: Literal["two-sided", "larger", "smaller"] = Field("two-sided", description="Alternative hypothesis of the t tests.")
    k_groups: int = Field(3, ge=2, le=1000, description="Number of groups for anova.")
    n_predictors: int = Field(1, ge=1, le=1000, description="Coefficients tested jointly, for regression.")
    allocation_ratio: float = Field(1.0, gt=0, le=100, description="two_sample: runs in group 2 / runs in group 1.")
    # -- replicate precision (benchmark grids) ------------------------------------------------------
    cv: float | None = Field(
        None, gt=0, le=2, allow_inf_nan=False, description=(
            "replicate_precision: run-to-run coefficient of variation of a cell's metric (sd / mean of its "
            "replicates, e.g. 0.05); default 0.05, a rule of thumb to replace with a pilot cell's spread."))
    n_cells: int = Field(1, ge=1, le=100000, description="replicate_precision: cells of the grid (total runs = cells x replicates).")
    statistic: Literal["median", "mean"] = Field(
        "median", description="replicate_precision: the per-cell summary (median: sd sqrt(pi/2) times the mean's).")
    failed_run_margin: float | None = Field(
        None, ge=0, le=0.5, description="Extra share of runs planned for failures (divergence, preemption); default 0.15 (10-20% is usual).")
    # -- fit precision ------------------------------------------------------------------------
    form: str | None = Field(
        None, description="Law form to simulate and refit: power, kaplan, saturating, chinchilla, broken, data_constrained. Default: the prior law's form.")
    prior_law: str | None = Field(
        None, description="Published law used as the truth (epoch, hoffmann, epoch_hoffmann_procedure, kaplan_n, kaplan_d, kaplan_c, muennighoff). Default epoch when prior_params is empty.")
    prior_params: dict[str, float] | None = Field(
        None, description="Prior parameter values by name (e.g. {'E': 1.8, 'A': 480, 'B': 2100, 'alpha': 0.35, 'beta': 0.37}); needs `form`.")
    prior_source: str | None = Field(
        None, max_length=500, description="Where `prior_params` come from (a paper, a fit), quoted in the report; default 'prior_params (given)'.")
    design_points: list[list[float]] | None = Field(
        None, description="Explicit runs, one row per run with the form's inputs in order (chinchilla: [N, D]). Default: built from scale_min, scale_max, points, tokens_per_param.")
    scale_min: float = Field(1e7, ge=MIN_SCALE, le=MAX_SCALE, description="Smallest scale of the built design (parameters N for joint forms, else the single axis), in its units (1e-6-1e30).")
    scale_max: float = Field(1e9, ge=MIN_SCALE, le=MAX_SCALE, description="Largest scale of the built design, same units (1e-6-1e30); must exceed scale_min.")
    points: int = Field(10, ge=2, le=MAX_POINTS, description="Log-spaced scale points of the built design (per tokens-per-parameter ratio for joint forms).")
    tokens_per_param: list[float] = Field(
        [5.0, 20.0, 80.0], min_length=1, max_length=10,
        description="Joint forms: D/N ratios crossed with the N points (vary D/N so alpha and beta separate).")
    scan: Literal["replicates", "points"] = Field(
        "replicates", description="What to add until the target is met: replicates of every run, or scale points of the built design.")
    max_replicates: int = Field(5, ge=1, le=MAX_REPLICATES, description=f"Largest replicate count tried (cap {MAX_REPLICATES}).")
    max_points: int = Field(12, ge=3, le=MAX_POINTS, description=f"Largest number of scale points tried when scan=points (cap {MAX_POINTS}).")
    quantity: Literal["parameter", "n_opt", "loss_at_target"] = Field(
        "parameter", description="What must be precise: a fitted parameter, N_opt at target_compute (joint law), or the loss at target_point.")
    parameter: str = Field("alpha", description="Parameter name when quantity=parameter (e.g. alpha, beta, E).")
    target_compute: float = Field(1e24, gt=0, le=1e30, description="Training FLOPs for quantity=n_opt (and for the default target_point of joint forms).")
    target_point: list[float] | None = Field(
        None, description="Inputs of the target run for quantity=loss_at_target. Default: joint forms the compute-optimal (N, D) at target_compute, else 10 x scale_max.")
    target_relative_error: float = Field(0.05, gt=0, lt=10, description="Acceptable relative error of the quantity (0.05 = 5%); replicate_precision: of each cell's interval half-width.")
    percentile: float = Field(0.9, gt=0, lt=1, description="Which percentile of |relative error| must be below the target (0.9 = 90th).")
    noise_kind: Literal["log-constant", "absolute", "loss-dependent"] = Field(
        "log-constant", description="Noise model: relative (log-constant), absolute in nats, or growing with loss.")
    noise_sigma: float | None = Field(
        None, ge=0, le=1, description="Noise scale: sd of log loss (log-constant; default 0.0075, Epoch's residual) or nats (absolute/loss-dependent; default 0.002).")
    noise_ref_loss: float = Field(3.0, ge=1e-3, le=100, description="loss-dependent noise: loss (nats, 1e-3 to 100) at which the sd equals noise_sigma.")
    noise_power: float = Field(1.0, ge=0, le=5, description="loss-dependent noise: sd grows as (loss / ref_loss)^power.")
    objective: Literal["huber-log", "ls-log", "ls"] = Field("huber-log", description="Fitting objective the study will use.")
    delta: float = Field(1e-3, ge=1e-8, le=1, description="Huber delta on log residuals, 1e-8-1 (Hoffmann 2022: 1e-3).")
    n_sims: int = Field(200, ge=20, le=MAX_SIMS_PER_STEP, description=f"Simulated data sets per step of the curve (cap {MAX_SIMS_PER_STEP}).")
    stop_when_reached: bool = Field(True, description="Stop the curve at the first step that meets the target (saves time).")
    time_limit_s: float = Field(120.0, gt=0, le=MAX_TIME_S, description=f"Wall-clock bound for the whole Monte Carlo, seconds (cap {MAX_TIME_S:g}).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the simulation; same input, same output.")

    @field_validator("design_points")
    @classmethod
    def _rows(cls, value: list[list[float]] | None) -> list[list[float]] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("`design_points` must hold at least one run (one row per run); got an empty list")
        widths = sorted({len(row) for row in value})
        if len(widths) > 1:
            raise ValueError(f"`design_points` rows must all have the same length (the form's inputs, e.g. [N, D]); "
                             f"got rows of lengths {widths}")
        bad = next((x for row in value for x in row if not (x == x and abs(x) != float("inf") and x > 0)), None)
        if bad is not None:
            raise ValueError(f"`design_points` values must be finite numbers > 0 (run inputs such as N and D); got {bad!r}")
        return value

    @field_validator("tokens_per_param")
    @classmethod
    def _ratios(cls, value: list[float]) -> list[float]:
        bad = [r for r in value if not MIN_TOKENS_PER_PARAM <= r <= MAX_TOKENS_PER_PARAM]  # NaN fails too
        if bad:
            raise ValueError(f"`tokens_per_param` ratios must be in [{MIN_TOKENS_PER_PARAM:g}, "
                             f"{MAX_TOKENS_PER_PARAM:g}]; got {bad[0]!r}")
        return value

    @model_validator(mode="after")
    def _check(self) -> "Input":
        if self.study_kind == "general" and self.design_type not in CLASSICAL:
            raise ValueError(f"`design_type` must be one of {list(CLASSICAL)} when study_kind is general; got "
                             f"{self.design_type!r} (fit_precision sizes a scaling-law fit, replicate_precision a "
                             "benchmark grid)")
        if self.scale_max <= self.scale_min:
            raise ValueError(out_of_order(self, "scale_min", "scale_max"))
        if (self.min_difference is None) != (self.sd is None):
            raise ValueError("`min_difference` and `sd` go together: give both (effect = min_difference / sd) or neither")
        if self.power is not None and self.power <= self.alpha:  # a test rejects at rate alpha with no effect at all
            raise ValueError(f"`power` must be above `alpha`; got power {self.power:g} <= alpha {self.alpha:g}")
        if self.effect_size is not None and self.min_difference is not None:
            raise ValueError("give either `effect_size` or `min_difference` with `sd`, not both")
        return self


class SampleSizeResult(BaseModel):
    min_per_group: int | None = Field(description="Runs per group (regression: total; fit_precision: replicates per design point) that meet the target.")
    total_runs: int | None = Field(description="Runs in all, before the failure margin.")
    with_safety_margin: int | None = Field(description="Total runs to plan, with the failed-run margin, rounded up.")
    per_group_exact: float | None = Field(description="Unrounded solution of the power equation (runs per group).")
    power: float | None = Field(description="Power at the chosen runs (achieved, not the target, when runs are rounded up).")
    effect_size: float | None = Field(description="Standardised effect used or solved for.")
    target_met: bool = Field(description="Whether the target (power or precision) is met within the caps.")


class SensitivityRow(BaseModel):
    effect_size: float = Field(description="Standardised effect.")
    power: float = Field(description="Target power.")
    per_group: int = Field(description="Runs per group needed (regression: total).")
    total_runs: int = Field(description="Runs in all with the failed-run margin.")


class PrecisionSensitivityRow(BaseModel):
    noise_multiplier: float = Field(description="Assumed noise (fit_precision: noise sigma; replicate_precision: cv) times this.")
    noise: float = Field(description="The noise scale of this row.")
    replicates: int | None = Field(description="Replicates per point (cell) that meet the target at this noise; null beyond max_replicates.")
    runs: int | None = Field(description="Runs in all at those replicates, with the failed-run margin; null when none meets it.")
    error_at_chosen: float = Field(description="The precision at the chosen replicates and this noise (error percentile, or relative half-width).")
    meets_target_at_chosen: bool = Field(description="error_at_chosen <= target_relative_error.")
    method: str = Field(description="How the row is computed (closed form, or scaled from the Monte Carlo curve).")


class CurvePoint(BaseModel):
    replicates: int = Field(description="Replicates of every design point.")
    points: int = Field(description="Distinct scale points (rows of the design before replication).")
    runs: int = Field(description="Runs in the design.")
    error_percentile: float = Field(description="The chosen percentile of |relative error| of the quantity (Monte Carlo).")
    median_error: float = Field(description="Median |relative error| (Monte Carlo).")
    bias: float = Field(description="Median relative error (signed): systematic over- or under-estimation.")
    closed_form_error: float | None = Field(description="The same percentile from the closed form (pure power law, least squares); null otherwise.")
    n_sims: int = Field(description="Simulated data sets refitted.")
    converged_fraction: float = Field(description="Share of refits the fitter reports converged.")
    meets_target: bool = Field(description="error_percentile <= target_relative_error.")


class FitPrecision(BaseModel):
    form: str = Field(description="Law form simulated and refitted.")
    prior: dict[str, float] = Field(description="Parameter values used as the truth.")
    prior_source: str = Field(description="Where the prior comes from.")
    quantity: str = Field(description="The quantity whose precision is measured.")
    true_value: float = Field(description="Its value under the prior.")
    target_relative_error: float = Field(description="Target for the chosen percentile of |relative error|.")
    percentile: float = Field(description="The percentile used.")
    scan: str = Field(description="What the curve adds: replicates or points.")
    design: list[list[float]] = Field(description="The base design (one replicate), one row per run.")
    curve: list[CurvePoint] = Field(description="Precision against runs.")
    needed: CurvePoint | None = Field(description="The first curve point that meets the target; null when none within the caps.")
    noise: dict[str, Any] = Field(description="The noise model simulated.")
    fit: dict[str, Any] = Field(description="Objective and delta of the refits (the study's own).")
    elapsed_s: float = Field(description="Wall-clock time of the Monte Carlo.")
    seed: int = Field(description="Seed of the simulation.")


class Output(BaseModel):
    truncated: bool = Field(False, description="The time bound (time_limit_s) cut the Monte Carlo short: fewer "
                                               "steps or simulations than asked; the answer is rougher.")
    design_type: str = Field(description="The analysis done.")
    solved_for: str = Field(description="The quantity solved for: runs, power, effect_size, or replicates/points for fit_precision.")
    missing: list[str] = Field(description="Inputs that were left empty and so were solved for or defaulted.")
    parameters: dict[str, Any] = Field(description="Every input value the calculation used (after defaults).")
    result: SampleSizeResult = Field(description="The answer.")
    sensitivity: list[SensitivityRow] = Field(description="Runs needed for nearby effect sizes and power 0.8 / 0.9 (classical designs).")
    precision_sensitivity: list[PrecisionSensitivityRow] = Field(
        [], description="fit_precision and replicate_precision: replicates needed and precision bought when the noise "
                        "is 0.5, 1, 1.5 or 2 times the one assumed.")
    fit_precision: FitPrecision | None = Field(description="The Monte Carlo precision curve (fit_precision only).")
    assumptions: list[str] = Field(description="What the numbers assume.")
    recommendations: list[str] = Field(description="What to do with them; what to call next.")
    defaults_used: list[DefaultUsed] = Field(description="Defaults the step filled in, with their sources.")
    warnings: list[StepWarning] = Field(description="Non-fatal findings with codes.")
    alpha_adjusted: float | None = Field(None, description="alpha / n_comparisons used by a classical power solve "
                                                           "(Bonferroni; None in fit_precision mode).")
