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
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import knowledge
from ..errors import InputError
from ..laws import precision
from ..laws.forms import get_form
from ..laws.results import LawInputError
from .design_matrix_construction import NamedValue as DefaultUsed, StepWarning

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "DefaultUsed", "StepWarning"]

DesignType = Literal["two_sample", "paired", "one_sample", "anova", "regression", "fit_precision"]
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


class Input(BaseModel):
    """Either a classical power analysis or a fit-precision study; see `design_type`."""

    model_config = ConfigDict(extra="forbid")

    design_type: DesignType = Field(
        "two_sample", description=(
            "two_sample (independent groups, Welch/Student t), paired (same seeds or eval items under two "
            "conditions), one_sample (against a reference value), anova (k independent groups), regression "
            "(F test of n_predictors coefficients), or fit_precision (Monte Carlo precision of a scaling-law fit)."))
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
    alternative: Literal["two-sided", "larger", "smaller"] = Field("two-sided", description="Alternative hypothesis of the t tests.")
    k_groups: int = Field(3, ge=2, le=1000, description="Number of groups for anova.")
    n_predictors: int = Field(1, ge=1, le=1000, description="Coefficients tested jointly, for regression.")
    allocation_ratio: float = Field(1.0, gt=0, le=100, description="two_sample: runs in group 2 / runs in group 1.")
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
    target_relative_error: float = Field(0.05, gt=0, lt=10, description="Acceptable relative error of the quantity (0.05 = 5%).")
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
    seed: int = Field(0, ge=0, description="Seed of the simulation; same input, same output.")

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
        if self.scale_max <= self.scale_min:
            raise ValueError(f"`scale_min` must be < `scale_max`; got {self.scale_min:g} >= {self.scale_max:g}")
        if (self.min_difference is None) != (self.sd is None):
            raise ValueError("`min_difference` and `sd` go together: give both (effect = min_difference / sd) or neither")
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
    design_type: str = Field(description="The analysis done.")
    solved_for: str = Field(description="The quantity solved for: runs, power, effect_size, or replicates/points for fit_precision.")
    missing: list[str] = Field(description="Inputs that were left empty and so were solved for or defaulted.")
    parameters: dict[str, Any] = Field(description="Every input value the calculation used (after defaults).")
    result: SampleSizeResult = Field(description="The answer.")
    sensitivity: list[SensitivityRow] = Field(description="Runs needed for nearby effect sizes and power 0.8 / 0.9 (classical designs).")
    fit_precision: FitPrecision | None = Field(description="The Monte Carlo precision curve (fit_precision only).")
    assumptions: list[str] = Field(description="What the numbers assume.")
    recommendations: list[str] = Field(description="What to do with them; what to call next.")
    defaults_used: list[DefaultUsed] = Field(description="Defaults the step filled in, with their sources.")
    warnings: list[StepWarning] = Field(description="Non-fatal findings with codes.")


# ---------------------------------------------------------------------------------------------
def _stats() -> dict[str, Any]:
    return knowledge.load("statistics")


def _margin(inp: Input, stats, defaults: list[DefaultUsed]) -> float:
    if inp.failed_run_margin is not None:
        return inp.failed_run_margin
    m = stats["failed_run_margin"]
    defaults.append(DefaultUsed(name="failed_run_margin", value=m["default"], source=m["source"]))
    return float(m["default"])


def _with_margin(total: int, margin: float) -> int:
    return int(math.ceil(total * (1.0 + margin) - 1e-9))


# -- classical power analysis ----------------------------------------------------------------
class _Power:
    """One statsmodels power class behind a uniform (effect, runs per group, power) interface."""

    def __init__(self, inp: Input):
        from statsmodels.stats import power as smp  # slow import: only when a classical design is asked

        self.inp, self.kind = inp, inp.design_type
        self.engine = {"two_sample": smp.TTestIndPower, "paired": smp.TTestPower, "one_sample": smp.TTestPower,
                       "anova": smp.FTestAnovaPower, "regression": smp.FTestPowerF2}[self.kind]()

    def _signed(self, effect):
        return -effect if (self.kind in ("two_sample", "paired", "one_sample") and self.inp.alternative == "smaller"
                           and effect is not None) else effect

    def solve(self, effect: float | None, per_group: float | None, power: float | None) -> float:
        """statsmodels' answer, or an InputError when its root finder gives none (NaN, or a failure at extremes)."""
        solved = "runs_per_group" if per_group is None else "effect_size" if effect is None else "power"
        try:
            out = float(self._solve(effect, per_group, power))
        except (TypeError, ValueError, ArithmeticError) as exc:
            if isinstance(exc, InputError):
                raise
            out, why = math.nan, f" ({exc})"
        else:
            why = ""
        if not math.isfinite(out):
            raise InputError("effect_size" if solved == "runs_per_group" else solved,
                             f"statsmodels finds no {solved} for effect_size={effect}, runs_per_group={per_group}, "
                             f"power={power}{why}: the combination is too extreme to solve; move effect_size, "
                             f"runs_per_group or power towards usual values (e.g. effect 0.2-2, power 0.8)")
        return out

    def _solve(self, effect: float | None, per_group: float | None, power: float | None) -> float:
        inp, e = self.inp, self._signed(effect)
        if self.kind == "two_sample":
            return self.engine.solve_power(effect_size=e, nobs1=per_group, alpha=inp.alpha, power=power,
                                           ratio=inp.allocation_ratio, alternative=inp.alternative)
        if self.kind in ("paired", "one_sample"):
            return self.engine.solve_power(effect_size=e, nobs=per_group, alpha=inp.alpha, power=power,
                                           alternative=inp.alternative)
        if self.kind == "anova":  # statsmodels counts total runs
            total = None if per_group is None else per_group * inp.k_groups
            out = self.engine.solve_power(effect_size=e, nobs=total, alpha=inp.alpha, power=power, k_groups=inp.k_groups)
            return out / inp.k_groups if per_group is None else out
        # regression: runs = df_denom + df_num + 1 (FTestPowerF2, the corrected interface)
        df_denom = None if per_group is None else per_group - inp.n_predictors - 1
        if df_denom is not None and df_denom < 1:
            raise InputError("runs_per_group", f"runs_per_group must exceed n_predictors + 1 = {inp.n_predictors + 1} for regression; got {per_group}")
        out = self.engine.solve_power(effect_size=e, df_num=inp.n_predictors, df_denom=df_denom, alpha=inp.alpha, power=power)
        return out + inp.n_predictors + 1 if per_group is None else out

    def total(self, per_group: int) -> int:
        if self.kind == "two_sample":
            return per_group + int(math.ceil(per_group * self.inp.allocation_ratio - 1e-9))
        if self.kind == "anova":
            return per_group * self.inp.k_groups
        return per_group

    def min_runs(self) -> int:
        return self.inp.n_predictors + 2 if self.kind == "regression" else 2


def _effect_from_difference(inp: Input) -> float:
    d = inp.min_difference / inp.sd
    if not MIN_EFFECT <= d <= MAX_EFFECT:
        raise InputError("min_difference", f"min_difference / sd must be a standardised effect in [{MIN_EFFECT:g}, "
                                           f"{MAX_EFFECT:g}]; got {inp.min_difference:g} / {inp.sd:g} = {d:g}")
    if inp.design_type == "anova":  # Cohen 1988 8.2.1: two extreme groups, the rest at the mean
        return d * math.sqrt(1.0 / (2 * inp.k_groups))
    if inp.design_type == "regression":
        raise InputError("min_difference", "min_difference/sd give a difference of means; for regression give effect_size as Cohen's f^2 (R^2 / (1 - R^2))")
    return d


def _classical(inp: Input) -> Output:
    stats = _stats()
    defaults: list[DefaultUsed] = []
    warnings: list[StepWarning] = []
    effect = inp.effect_size if inp.min_difference is None else _effect_from_difference(inp)
    per_group, power = inp.runs_per_group, inp.power
    given = {"effect_size": effect is not None, "runs_per_group": per_group is not None, "power": power is not None}
    missing = [k for k, v in given.items() if not v]
    pd_ = stats["power_defaults"]
    if all(given.values()):
        raise InputError("power", "effect_size (or min_difference with sd), runs_per_group and power are all given; "
                                  "leave exactly one empty to solve for it (as statsmodels' solve_power does)")
    if effect is None and per_group is None:
        raise InputError("effect_size", "give effect_size (or min_difference with sd) to solve for runs_per_group, "
                                        "or runs_per_group to solve for the detectable effect_size")
    if power is None and not (effect is not None and per_group is not None):
        power = float(pd_["power"])
        defaults.append(DefaultUsed(name="power", value=power, source=pd_["source"]))
    engine = _Power(inp)
    margin = _margin(inp, stats, defaults)
    if per_group is None:
        solved_for = "runs_per_group"
        exact = float(engine.solve(effect, None, power))
        n = max(int(math.ceil(exact - 1e-9)), engine.min_runs())
        achieved = float(engine.solve(effect, n, None))
    elif effect is None:
        solved_for, exact, n = "effect_size", float(per_group), per_group
        effect = abs(float(engine.solve(None, per_group, power)))
        achieved = power
    else:
        solved_for, exact, n = "power", float(per_group), per_group
        achieved = power = float(engine.solve(effect, per_group, None))
    total = engine.total(n)
    result = SampleSizeResult(min_per_group=n, total_runs=total, with_safety_margin=_with_margin(total, margin),
                              per_group_exact=exact, power=achieved, effect_size=effect,
                              target_met=bool(solved_for != "power" or achieved >= float(pd_["power"])))
    if solved_for == "power" and achieved < float(pd_["power"]):
        warnings.append(StepWarning(code="underpowered", severity="warning",
                                    message=f"power is {achieved:.3f} < {pd_['power']} at {n} runs per group; add runs or accept a larger detectable effect"))
    if n < 5 and inp.design_type != "regression":
        warnings.append(StepWarning(code="very_few_runs", severity="info",
                                    message=f"{n} runs per group leaves the normality assumption untestable; consider a permutation test (statistical_method_selection)"))
    return Output(
        design_type=inp.design_type, solved_for=solved_for, missing=missing,
        parameters=_classical_parameters(inp, effect, power, margin),
        result=result, sensitivity=_sensitivity(engine, effect, margin), fit_precision=None,
        assumptions=_classical_assumptions(inp), recommendations=_classical_recommendations(inp, result, solved_for),
        defaults_used=defaults, warnings=warnings)


def _classical_parameters(inp: Input, effect, power, margin) -> dict[str, Any]:
    out: dict[str, Any] = {"effect_size": effect, "effect_measure": {"anova": "Cohen's f", "regression": "Cohen's f^2"}.get(inp.design_type, "Cohen's d"),
                           "alpha": inp.alpha, "power": power, "failed_run_margin": margin}
    if inp.design_type in ("two_sample", "paired", "one_sample"):
        out["alternative"] = inp.alternative
    if inp.design_type == "two_sample":
        out["allocation_ratio"] = inp.allocation_ratio
    if inp.design_type == "anova":
        out["k_groups"] = inp.k_groups
    if inp.design_type == "regression":
        out["n_predictors"] = inp.n_predictors
    if inp.min_difference is not None:
        out.update(min_difference=inp.min_difference, sd=inp.sd)
    return out


def _sensitivity(engine: _Power, effect: float, margin: float) -> list[SensitivityRow]:
    rows = []
    for power in (0.8, 0.9):
        for m in EFFECT_MULTIPLIERS:
            e = effect * m
            n = max(int(math.ceil(float(engine.solve(e, None, power)) - 1e-9)), engine.min_runs())
            rows.append(SensitivityRow(effect_size=e, power=power, per_group=n, total_runs=_with_margin(engine.total(n), margin)))
    return rows


def _classical_assumptions(inp: Input) -> list[str]:
    base = {"two_sample": "independent runs in each group; roughly normal metric; the t test's power (Welch's is nearly the same)",
            "paired": "each pair shares seed, data order and eval set; the differences are roughly normal",
            "one_sample": "independent runs; roughly normal metric",
            "anova": "independent groups of equal size, roughly normal with equal variances",
            "regression": "linear model with normal errors; the F test of n_predictors coefficients"}[inp.design_type]
    out = [base, f"significance level alpha = {inp.alpha}"]
    if inp.min_difference is not None:
        out.append(f"the run-to-run sd {inp.sd:g} is right; if it is an estimate from few runs, plan for more")
    return out


def _classical_recommendations(inp: Input, result: SampleSizeResult, solved_for: str) -> list[str]:
    out = [f"plan {result.with_safety_margin} runs in all ({result.total_runs} before the failed-run margin)"]
    if inp.design_type in ("two_sample", "anova"):
        out.append("pair the conditions when you can (same seeds, same data order): a paired design needs fewer runs")
    out.append("call statistical_method_selection to choose the test and its follow-up for the data you will have")
    if solved_for == "effect_size":
        out.append(f"with {result.min_per_group} runs per group only effects >= {result.effect_size:.3g} are detected with power {result.power:.2f}")
    return out


# -- fit precision ---------------------------------------------------------------------------------
def _prior(inp: Input, defaults: list[DefaultUsed]):
    if inp.prior_params is not None:
        if inp.form is None:
            raise InputError("form", "prior_params needs `form` (e.g. chinchilla) to say which law they belong to")
        form = _get_form(inp.form)
        missing = [n for n in form.param_names if n not in inp.prior_params]
        extra = [n for n in inp.prior_params if n not in form.param_names]
        if missing or extra:
            raise InputError("prior_params", f"prior_params for form {form.name!r} must have exactly {list(form.param_names)}; missing {missing}, unknown {extra}")
        return form, dict(inp.prior_params), inp.prior_source or "prior_params (given)"
    name = inp.prior_law
    if name is None:
        name = "epoch"
        defaults.append(DefaultUsed(name="prior_law", value=name, source="Besiroglu et al. 2024 refit of Hoffmann's data (knowledge/published_laws.toml)"))
    try:
        law = knowledge.published_law(name)
    except KeyError as exc:
        raise InputError("prior_law", str(exc.args[0])) from None
    law_form = _get_form(law["form"])
    form = _get_form(inp.form) if inp.form else law_form
    params = dict(law["params"])
    if form.name != law_form.name:
        params = _convert_prior(law_form.name, form.name, params)
    return form, params, law["source"]


def _convert_prior(src: str, dst: str, params: dict[str, float]) -> dict[str, float]:
    """Kaplan's (x / X_c)^-alpha is the power law A x^-alpha with A = X_c^alpha; nothing else converts."""
    if src == "kaplan" and dst == "power":
        return {"A": params["X_c"] ** params["alpha"], "alpha": params["alpha"]}
    if src == "kaplan" and dst == "saturating":
        return {"E": 0.0, "A": params["X_c"] ** params["alpha"], "alpha": params["alpha"]}
    raise InputError("form", f"form {dst!r} does not match the prior law's form {src!r}; give prior_params for {dst!r} or leave form empty")


def _get_form(name: str):
    try:
        return get_form(name)
    except ValueError as exc:
        raise InputError("form", str(exc)) from None


def _built_design(inp: Input, form, points: int) -> np.ndarray:
    scales = np.geomspace(inp.scale_min, inp.scale_max, points)
    if form.inputs == ("N", "D"):
        return np.array([[n, n * r] for r in inp.tokens_per_param for n in scales])
    if len(form.inputs) == 1:
        return scales[:, None]
    raise InputError("design_points", f"form {form.name!r} has inputs {list(form.inputs)}; give design_points explicitly (one row per run)")


def _base_design(inp: Input, form) -> np.ndarray:
    if inp.design_points is None:
        return _built_design(inp, form, inp.points)
    X = np.asarray(inp.design_points, float)
    if X.ndim != 2 or X.shape[1] != len(form.inputs):
        raise InputError("design_points", f"design_points must be rows of {list(form.inputs)} for form {form.name!r}; got shape {X.shape}")
    if not np.all(np.isfinite(X)) or np.any(X < MIN_SCALE) or np.any(X > MAX_SCALE):
        raise InputError("design_points", f"design_points must be finite numbers in [{MIN_SCALE:g}, {MAX_SCALE:g}]; "
                                          f"got min {X.min():g}, max {X.max():g}")
    return X


def _steps(inp: Input, form, base: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(replicates, points, design) for every step of the curve."""
    if inp.scan == "replicates":
        distinct = np.unique(base, axis=0).shape[0]  # repeats of one point identify nothing more
        if distinct < form.n_params:
            raise InputError("design_points", f"the design has {distinct} distinct runs but form {form.name!r} has {form.n_params} parameters "
                                              f"{list(form.param_names)}; give at least {form.n_params} distinct runs")
        return [(r, base.shape[0], np.repeat(base, r, axis=0)) for r in range(1, inp.max_replicates + 1)]
    if inp.design_points is not None:
        raise InputError("scan", "scan=points builds designs from scale_min, scale_max and tokens_per_param; leave design_points empty or use scan=replicates")
    per_point = len(inp.tokens_per_param) if form.inputs == ("N", "D") else 1
    first = max(3, math.ceil(form.n_params / per_point))
    if inp.max_points < first:
        raise InputError("max_points", f"max_points must be >= {first} for form {form.name!r} ({form.n_params} parameters); got {inp.max_points}")
    out = []
    for k in range(first, inp.max_points + 1):
        X = _built_design(inp, form, k)
        out.append((1, X.shape[0], X))
    return out


def _target_point(inp: Input, form, prior, defaults) -> np.ndarray | None:
    if inp.quantity != "loss_at_target":
        return None
    if inp.target_point is not None:
        if len(inp.target_point) != len(form.inputs) or any(v <= 0 for v in inp.target_point):
            raise InputError("target_point", f"target_point must be {len(form.inputs)} positive values {list(form.inputs)}; got {inp.target_point}")
        return np.array([inp.target_point], float)
    if form.name == "chinchilla":
        from ..laws.allocation import compute_optimal

        opt = compute_optimal(prior, inp.target_compute)
        point = [float(opt["N_opt"]), float(opt["D_opt"])]
        defaults.append(DefaultUsed(name="target_point", value=point, source=f"compute-optimal (N, D) of the prior at target_compute {inp.target_compute:g} FLOPs"))
        return np.array([point])
    if len(form.inputs) == 1:
        point = [10.0 * inp.scale_max]
        defaults.append(DefaultUsed(name="target_point", value=point, source="one decade beyond scale_max (an extrapolation target)"))
        return np.array([point])
    raise InputError("target_point", f"give target_point ({list(form.inputs)}) for form {form.name!r}")


def _quantity_fn(inp: Input, form, target: np.ndarray | None) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    if inp.quantity == "parameter":
        if inp.parameter not in form.param_names:
            raise InputError("parameter", f"parameter must be one of {list(form.param_names)} for form {form.name!r}; got {inp.parameter!r}")
        i = form.param_names.index(inp.parameter)
        return inp.parameter, lambda values: values[:, i]
    if inp.quantity == "n_opt":
        if form.name != "chinchilla":
            raise InputError("quantity", f"quantity=n_opt needs the joint law (form chinchilla); got form {form.name!r}")
        from ..laws.allocation import compute_optimal

        def n_opt(values):
            ok = np.all(np.isfinite(values), axis=1) & (values[:, 3] > 0) & (values[:, 4] > 0)
            out = np.full(values.shape[0], np.nan)
            if ok.any():
                out[ok] = compute_optimal(values[ok], inp.target_compute)["N_opt"]
            return out
        return f"N_opt at C = {inp.target_compute:g} FLOPs", n_opt

    def loss(values):
        out = np.full(values.shape[0], np.nan)
        for j, row in enumerate(values):
            if np.all(np.isfinite(row)):
                out[j] = form.predict(row, target)[0]
        return out
    return "loss at " + ", ".join(f"{name} = {float(v):.4g}" for name, v in zip(form.inputs, target[0])), loss


def _noise(inp: Input, defaults):
    from ..laws.simulate import NoiseModel

    sigma = inp.noise_sigma
    if sigma is None:
        stats = _stats()["seed_noise"]
        sigma = float(stats["log_residual_sd"] if inp.noise_kind == "log-constant" else stats["seed_sd_nats"])
        defaults.append(DefaultUsed(name="noise_sigma", value=sigma, source=stats["source"]))
    return NoiseModel(kind=inp.noise_kind, sigma=sigma, ref_loss=inp.noise_ref_loss, power=inp.noise_power)


def _closed_form_error(inp: Input, form, prior, X: np.ndarray, noise, target) -> float | None:
    """The closed form for a pure power law with log-constant noise (least squares)."""
    if form.name not in ("power", "kaplan") or noise.kind != "log-constant" or noise.sigma <= 0:
        return None
    log_x = np.log(X[:, 0])
    if inp.quantity == "parameter" and inp.parameter == "alpha":
        return float(precision.abs_error_quantile(precision.slope_se(noise.sigma, log_x), inp.percentile) / prior["alpha"])
    if inp.quantity == "loss_at_target":
        sd = math.sqrt(float(precision.prediction_variance(noise.sigma, log_x, np.log(target[0, 0]))))
        return float(np.expm1(precision.abs_error_quantile(sd, inp.percentile)))
    return None


def _fit_precision(inp: Input, progress=None) -> Output:
    from ..laws.simulate import MAX_SIMULATIONS, monte_carlo

    defaults: list[DefaultUsed] = []
    warnings: list[StepWarning] = []
    stats = _stats()
    form, prior, prior_source = _prior(inp, defaults)
    base = _base_design(inp, form)
    steps = _steps(inp, form, base)
    if inp.n_sims * len(steps) > MAX_SIMULATIONS:
        raise InputError("n_sims", f"n_sims x steps = {inp.n_sims} x {len(steps)} exceeds the cap of {MAX_SIMULATIONS} simulations; lower n_sims or max_replicates/max_points")
    target = _target_point(inp, form, prior, defaults)
    label, quantity = _quantity_fn(inp, form, target)
    truth = float(quantity(form.as_array(prior)[None, :])[0])
    if not np.isfinite(truth) or truth == 0:
        raise InputError("quantity", f"{label} is {truth!r} under the prior; choose another quantity or prior")
    noise = _noise(inp, defaults)
    margin = _margin(inp, stats, defaults)
    curve, needed, simulated = [], None, 0
    start, total = time.perf_counter(), inp.n_sims * len(steps)
    for s, (reps, pts, X) in enumerate(steps):
        left = inp.time_limit_s - (time.perf_counter() - start)
        if left <= 0:
            warnings.append(StepWarning(code="time_limit_reached", severity="warning",
                                        message=f"stopped after {s} of {len(steps)} steps at time_limit_s = {inp.time_limit_s:g}; raise it or lower n_sims"))
            break

        def step_progress(done, _total, msg, offset=s * inp.n_sims):
            if progress is not None:
                progress(offset + done, total, f"runs={X.shape[0]}: {msg}")
        try:
            mc = monte_carlo(form, prior, X, noise=noise, n_sims=inp.n_sims, seed=inp.seed + s, objective=inp.objective,
                             delta=inp.delta, time_limit_s=left, progress=step_progress)
            first = mc.n_done
            # A percentile from a few dozen simulations is rough: while the target lies inside its
            # sampling interval, more simulations decide the step rather than the noise of the first batch.
            for batch in range(1, REFINE_BATCHES):
                left = inp.time_limit_s - (time.perf_counter() - start)
                if (not _undecided(quantity(mc.values), truth, inp.percentile, inp.target_relative_error)
                        or left <= 0 or mc.truncated or mc.n_done + inp.n_sims > MAX_SIMS_PER_STEP
                        or simulated + mc.n_done + inp.n_sims > MAX_SIMULATIONS):
                    break
                more = monte_carlo(form, prior, X, noise=noise, n_sims=inp.n_sims, seed=inp.seed + s + batch * len(steps),
                                   objective=inp.objective, delta=inp.delta, time_limit_s=left, progress=step_progress)
                mc = _pooled(mc, more)
        except LawInputError as exc:
            raise InputError(exc.field, str(exc)) from None
        simulated += mc.n_done
        point = _curve_point(inp, mc, quantity, truth, reps, pts, X, _closed_form_error(inp, form, prior, X, noise, target))
        if mc.n_done > first:
            still = _undecided(quantity(mc.values), truth, inp.percentile, inp.target_relative_error)
            warnings.append(StepWarning(
                code="step_refined" if not still else "step_undecided", severity="info" if not still else "warning",
                message=f"at {X.shape[0]} runs the {inp.percentile:.0%} error from {first} simulations was within Monte Carlo "
                        f"noise of the {inp.target_relative_error:.1%} target; {mc.n_done} simulations put it at "
                        f"{point.error_percentile:.1%}" + (" and still cannot tell it from the target: raise n_sims" if still else "")))
        curve.append(point)
        if mc.truncated:
            warnings.append(StepWarning(code="simulation_truncated", severity="warning",
                                        message=f"the step with {X.shape[0]} runs finished {mc.n_done} of {inp.n_sims} simulations before the time limit; its percentile is rougher"))
        if point.converged_fraction < 0.9:
            warnings.append(StepWarning(code="refits_not_converged", severity="warning",
                                        message=f"only {point.converged_fraction:.0%} of refits converged at {X.shape[0]} runs: the design identifies the law poorly"))
        if point.meets_target and needed is None:
            needed = point
            if inp.stop_when_reached:
                break
    elapsed = time.perf_counter() - start
    return _fit_output(inp, form, prior, prior_source, label, truth, base, curve, needed, noise, margin, elapsed, defaults, warnings)


def _undecided(estimates: np.ndarray, truth: float, q: float, target: float) -> bool:
    """The target lies inside the ~95% distribution-free interval of the q-quantile of |relative error|
    (order statistics n q -/+ 1.96 sqrt(n q (1 - q))): the simulations cannot tell the step from the target."""
    rel = np.abs(np.asarray(estimates, float) / truth - 1.0)
    rel = np.sort(np.where(np.isfinite(rel), rel, np.inf))
    n = rel.size
    if n == 0:
        return False
    half = 1.96 * math.sqrt(n * q * (1.0 - q))
    lo, hi = max(int(math.floor(n * q - half)) - 1, 0), min(int(math.ceil(n * q + half)) - 1, n - 1)
    return bool(rel[lo] <= target < rel[hi])


def _pooled(a, b):
    """Two Monte Carlo batches of the same design as one."""
    return dataclasses.replace(a, values=np.vstack([a.values, b.values]), converged=np.concatenate([a.converged, b.converged]),
                               n_requested=a.n_requested + b.n_requested, n_done=a.n_done + b.n_done,
                               truncated=a.truncated or b.truncated, elapsed_s=a.elapsed_s + b.elapsed_s)


def _curve_point(inp, mc, quantity, truth, reps, pts, X, closed) -> CurvePoint:
    est = quantity(mc.values)
    rel = est / truth - 1.0
    finite = rel[np.isfinite(rel)]
    err = precision.relative_error_quantile(est, truth, inp.percentile)
    return CurvePoint(replicates=reps, points=pts, runs=int(X.shape[0]), error_percentile=err,
                      median_error=float(np.median(np.abs(finite))) if finite.size else float("nan"),
                      bias=float(np.median(finite)) if finite.size else float("nan"),
                      closed_form_error=closed, n_sims=int(mc.n_done), converged_fraction=float(np.mean(mc.converged)),
                      meets_target=bool(err <= inp.target_relative_error))


def _fit_output(inp, form, prior, prior_source, label, truth, base, curve, needed, noise, margin, elapsed, defaults, warnings) -> Output:
    met = needed is not None
    if not met:
        warnings.append(StepWarning(code="target_not_reached", severity="warning",
                                    message=f"no design up to {curve[-1].runs if curve else 0} runs brings the {inp.percentile:.0%} error of {label} below "
                                            f"{inp.target_relative_error:.1%}; widen the range of scales, add points, or relax the target"))
    if curve and curve[0].closed_form_error is not None and inp.objective == "huber-log" and noise.sigma > 3 * inp.delta:
        warnings.append(StepWarning(code="closed_form_assumes_least_squares", severity="info",
                                    message="the closed form is for least squares; Huber with delta well below the noise behaves like least absolute deviations and is up to ~25% less precise on Gaussian noise"))
    pick = needed or (curve[-1] if curve else None)
    total = pick.runs if pick else None
    result = SampleSizeResult(min_per_group=pick.replicates if pick else None, total_runs=total,
                              with_safety_margin=_with_margin(total, margin) if total else None,
                              per_group_exact=None, power=None, effect_size=None, target_met=met)
    precision_out = FitPrecision(
        form=form.name, prior=prior, prior_source=prior_source, quantity=label, true_value=truth,
        target_relative_error=inp.target_relative_error, percentile=inp.percentile, scan=inp.scan,
        design=base.tolist(), curve=curve, needed=needed,
        noise={"kind": noise.kind, "sigma": noise.sigma, "ref_loss": noise.ref_loss, "power": noise.power},
        fit={"objective": inp.objective, "delta": inp.delta}, elapsed_s=elapsed, seed=inp.seed)
    parameters = {"form": form.name, "quantity": label, "target_relative_error": inp.target_relative_error,
                  "percentile": inp.percentile, "scan": inp.scan, "n_sims": inp.n_sims, "failed_run_margin": margin,
                  "objective": inp.objective, "delta": inp.delta}
    return Output(design_type="fit_precision", solved_for=inp.scan, missing=[inp.scan], parameters=parameters,
                  result=result, sensitivity=[], fit_precision=precision_out,
                  assumptions=[f"the truth is the prior law ({prior_source})",
                               f"run-to-run noise is {noise.kind} with sigma {noise.sigma:g}",
                               f"the study fits with {inp.objective} (delta {inp.delta:g}), the same fitter as simulated",
                               "runs are independent; a failed refit counts as a miss"],
                  recommendations=_fit_recommendations(inp, needed, curve, margin),
                  defaults_used=defaults, warnings=warnings)


def _fit_recommendations(inp, needed, curve, margin) -> list[str]:
    out = []
    if needed is not None:
        out.append(f"{needed.runs} runs ({needed.points} design points x {needed.replicates} replicates) bring the "
                   f"{inp.percentile:.0%} error to {needed.error_percentile:.2%}; plan {_with_margin(needed.runs, margin)} with the failed-run margin")
    elif len(curve) >= 2 and curve[-1].error_percentile > 0.8 * curve[0].error_percentile:
        out.append("adding runs barely helps: the error is dominated by how far the target lies beyond the data; widen the scale range instead")
    out.append("call budget_constrained_design to price the runs and pick the scale points; then design_matrix_construction for the run table")
    out.append("after the runs, call fit_scaling_law with the configuration from statistical_method_selection")
    return out


def run(inp: Input, progress: Callable[[float, float, str], None] | None = None) -> Output:
    """Runs needed for a classical comparison, or for a precise enough scaling-law fit."""
    if inp.design_type in CLASSICAL:
        return _classical(inp)
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
