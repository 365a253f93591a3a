"""Classical power analysis through statsmodels.stats.power, with a failed-run margin."""
from __future__ import annotations

import math
from typing import Any


from ... import knowledge, limits
from ...errors import InputError
from ..design_matrix_construction import NamedValue as DefaultUsed, StepWarning
from .models import MAX_EFFECT, MIN_EFFECT, EFFECT_MULTIPLIERS, Input, Output, SampleSizeResult, SensitivityRow


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
def _bounded(engine: type) -> type:
    """The statsmodels power class with the call's deadline checked at every power evaluation, so
    a root search that cannot converge stops at time_limit_s instead of running on."""
    def power(self, *args, **kwargs):
        limits.check("the power solve")
        return engine.power(self, *args, **kwargs)

    return type(f"Bounded{engine.__name__}", (engine,), {"power": power})


class _Power:
    """One statsmodels power class behind a uniform (effect, runs per group, power) interface."""

    def __init__(self, inp: Input):
        from statsmodels.stats import power as smp  # slow import: only when a classical design is asked

        self.inp, self.kind = inp, inp.design_type
        self.engine = _bounded({"two_sample": smp.TTestIndPower, "paired": smp.TTestPower, "one_sample": smp.TTestPower,
                                "anova": smp.FTestAnovaPower, "regression": smp.FTestPowerF2}[self.kind])()

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
            raise InputError(self._blamed(solved, power),
                             f"statsmodels finds no {solved} for effect_size={effect}, runs_per_group={per_group}, "
                             f"power={power}, alpha={self.inp.alpha:g}{why}: the combination is too extreme to solve; "
                             "move effect_size, runs_per_group, power or alpha towards usual values (e.g. effect 0.2-2, "
                             "power 0.8, alpha 0.05)")
        return out

    def _blamed(self, solved: str, power: float | None) -> str:
        """The field to move: alpha when no effect can lift power above it, else the first of the solve's inputs
        the caller sent (a value left at its default is not theirs to correct), else the effect size."""
        sent = self.inp.model_fields_set
        if "alpha" in sent and power is not None and self.inp.alpha >= power:
            return "alpha"
        givens = [f for f in ("effect_size", "runs_per_group", "power", "alpha", "allocation_ratio") if f != solved]
        return next((f for f in givens if f in sent), "effect_size")

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
    if inp.n_comparisons > 1:  # Bonferroni: each of the m tests at alpha / m keeps the family-wise error at alpha
        inp = inp.model_copy(update={"alpha": inp.alpha / inp.n_comparisons})
    if inp.power is not None and inp.power < 0.8:
        warnings.append(StepWarning(code="target_power_below_0.8", severity="warning",
                                    message=f"target power {inp.power:g} < 0.80 (Cohen 1988's conventional minimum): "
                                            "a null result will be hard to read"))
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
        defaults_used=defaults, warnings=warnings, alpha_adjusted=inp.alpha)


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
