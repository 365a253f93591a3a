"""statistical_method_selection: which test or fitting procedure, with its configuration.

Three tasks:
- compare_conditions: the decision table of classical comparisons (knowledge/statistics.toml)
  walked from a description of the data (groups, pairing, normality, runs), with the
  reason for every branch, the follow-up test, the multiplicity correction and the
  interval; optionally a power check through sample_size_estimation.
- fit_scaling_law: the law form, objective, intervals and form-selection procedure for
  scaling data, returned as `fit_config`, which fit_scaling_law accepts as is.
- compare_arms: two arms on one scaling axis (e.g. two architectures): shared vs separate
  exponents, the slope and intercept tests and the exponent difference with an interval;
  run on the data when it is given.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import knowledge
from ..errors import InputError
from ..laws.forms import get_form
from ..sops import sample_size_estimation as sse
from ..sops.sample_size_estimation import DefaultUsed, StepWarning
from .arms_comparison import ArmsResult, run_arms

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE"]

Tristate = Literal["yes", "no", "unknown"]


class Input(BaseModel):
    """A description of the data and the question; the data themselves only for compare_arms."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["compare_conditions", "fit_scaling_law", "compare_arms"] = Field(
        "fit_scaling_law", description=(
            "compare_conditions: a classical comparison of a metric between conditions; fit_scaling_law: how to fit "
            "a law to scaling runs (returns fit_config); compare_arms: does the exponent or only the intercept differ "
            "between two arms (e.g. architectures)."))
    study_kind: Literal["scaling", "general"] = Field(
        "scaling", description="scaling (default): any task; general: an ablation, hyperparameter or architecture "
                               "comparison between conditions, answered as compare_conditions (the default task then).")
    # -- compare_conditions ----------------------------------------------------------------
    outcome_type: Literal["continuous", "proportion", "ordinal"] = Field(
        "continuous", description="The per-run outcome: continuous (loss), proportion (accuracy of a run) or ordinal "
                                  "(ranks, ratings: rank-based tests).")
    n_groups: int = Field(2, ge=1, le=1000, description="Conditions compared (1 = against a reference value).")
    paired: bool = Field(False, description="The same units (seeds, data order, eval items) are measured under every condition.")
    normality: Tristate = Field("unknown", description="Is the metric (paired: the differences) roughly normal? yes, no or unknown.")
    runs_per_group: int | None = Field(None, ge=1, le=100000, description="Runs (or paired units) per condition; decides small-sample choices.")
    n_comparisons: int = Field(1, ge=1, le=100000, description="Hypotheses tested in the same study (for the multiplicity correction).")
    equivalence_question: bool = Field(False, description="The question is whether a difference is practically relevant (or absent), not only whether it exists.")
    effect_size: float | None = Field(None, gt=0, description="Optional standardised effect (Cohen's d; f for 3+ groups) to check the power of the planned runs.")
    # -- fit_scaling_law -----------------------------------------------------------------------
    scaling_axes: Literal["single", "params_and_tokens"] = Field(
        "single", description="single: loss against one scale (N, D or C); params_and_tokens: loss against N and D jointly.")
    data_repeated: bool = Field(False, description="params_and_tokens: some runs repeat data (epochs over a limited set of unique tokens).")
    saturation: Tristate = Field("unknown", description="Do losses approach a floor (irreducible loss) within the range? yes, no or unknown.")
    bend: bool = Field(False, description="The log-log curve visibly changes slope (a break) within the range.")
    n_runs: int | None = Field(None, ge=1, le=1000000, description="Runs available or planned (all scales and seeds).")
    runs: list[dict[str, float]] | None = Field(None, max_length=100000, description=(
        "fit_scaling_law task: finished runs ({N, D, loss} or {x, loss}); given them, the form and objective are chosen "
        "by rolling extrapolation (hold out the two largest scales in turn) and returned in `selection`."))
    n_scales: int | None = Field(None, ge=1, le=100000, description="Distinct scales (points along the axis, or (N, D) pairs).")
    replicates: int = Field(1, ge=1, le=1000, description="Seeds per scale.")
    outliers_expected: bool = Field(True, description="Some runs may be off the trend (instabilities, a bad node, a mis-set hyperparameter).")
    bootstrap: int | None = Field(None, ge=0, le=10000, description="Bootstrap replicates for fit_config; default 1000 (at least 1,000 for reported intervals).")
    level: float = Field(0.95, gt=0.5, lt=1, description="Confidence level of the intervals.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the bootstrap, passed on in fit_config.")
    # -- compare_arms -----------------------------------------------------------------------------
    arms_form: Literal["auto", "power", "saturating"] = Field("auto", description=(
        "Law fitted to each arm: auto (default) tests the log-log curvature and takes saturating (E + A x^-alpha) when "
        "the curves bend, power (a log-log straight line) otherwise; a power law on saturating losses reports the "
        "local slope, not the exponent, and can order the arms wrongly."))
    arms_target_scale: float | None = Field(None, gt=0, le=1e30, description=(
        "Scale (same unit as the arm scales) where the arms' predicted losses are compared, with intervals; "
        "default the largest scale run. Set it to the scale you will train."))
    arm_a_scales: list[float] | None = Field(None, description="Arm A: scale of every run (parameters, tokens or FLOPs).")
    arm_a_losses: list[float] | None = Field(None, description="Arm A: final loss of every run, same order.")
    arm_b_scales: list[float] | None = Field(None, description="Arm B: scale of every run.")
    arm_b_losses: list[float] | None = Field(None, description="Arm B: final loss of every run, same order.")
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the tests.")

    @model_validator(mode="after")
    def _check(self) -> "Input":
        if self.study_kind == "general" and self.task != "compare_conditions":
            if "task" in self.model_fields_set:
                raise ValueError(f"`task` must be compare_conditions when study_kind is general; got {self.task!r} "
                                 "(fit_scaling_law and compare_arms are for scaling studies)")
            self.task = "compare_conditions"
        if self.paired and self.n_groups < 2:
            raise ValueError(f"`paired` needs n_groups >= 2 (conditions measured on the same units); got n_groups = {self.n_groups}")
        arms = [self.arm_a_scales, self.arm_a_losses, self.arm_b_scales, self.arm_b_losses]
        if any(a is not None for a in arms) and not all(a is not None for a in arms):
            raise ValueError("give all four of arm_a_scales, arm_a_losses, arm_b_scales, arm_b_losses, or none")
        for s, l, name in ((self.arm_a_scales, self.arm_a_losses, "arm_a"), (self.arm_b_scales, self.arm_b_losses, "arm_b")):
            if s is not None and len(s) != len(l):
                raise ValueError(f"`{name}_scales` and `{name}_losses` must have the same length; got {len(s)} and {len(l)}")
        return self


class Method(BaseModel):
    id: str = Field(description="Row of the decision table (knowledge/statistics.toml) or procedure id.")
    name: str = Field(description="The test or procedure.")
    call: str = Field(description="The library call that does it.")
    reason: str = Field(description="Why it fits this data.")
    source: str = Field(description="Reference.")


class FitConfig(BaseModel):
    form: str = Field(description="Law form for fit_scaling_law.")
    objective: str = Field(description="Fitting objective.")
    delta: float = Field(description="Huber delta on log residuals.")
    bootstrap: int = Field(description="Bootstrap replicates (clustered by scale when seeds repeat).")
    seed: int = Field(description="Seed of the bootstrap.")
    level: float = Field(description="Confidence level of the intervals.")


class ModelSelection(BaseModel):
    procedure: str = Field(description="How to choose between candidate forms.")
    candidates: list[str] = Field(description="Forms to compare.")
    criterion: str = Field(description="What decides.")
    secondary: str = Field(description="A secondary signal.")


class Output(BaseModel):
    task: str = Field(description="The task answered.")
    primary: Method = Field(description="The recommended test or procedure.")
    post_hoc: Method | None = Field(description="Follow-up test after an omnibus test, if any.")
    multiplicity: Method | None = Field(description="Correction for several hypotheses, if needed.")
    interval: Method = Field(description="How to put an interval on the effect or the parameters.")
    alternatives: list[Method] = Field(description="Other valid choices and when to prefer them.")
    decision_path: list[str] = Field(description="Each branch taken through the decision table, with its reason.")
    fit_config: FitConfig | None = Field(description="Ready configuration for fit_scaling_law (fit_scaling_law and compare_arms tasks).")
    model_selection: ModelSelection | None = Field(description="How to choose between law forms.")
    arms: ArmsResult | None = Field(description="The two-arm comparison, when arm data were given.")
    power_check: dict[str, Any] | None = Field(description="Power of the planned runs (via sample_size_estimation), when effect_size was given.")
    assumptions: list[str] = Field(description="What the choice assumes.")
    defaults_used: list[DefaultUsed] = Field(description="Defaults filled in, with sources.")
    warnings: list[StepWarning] = Field(description="Non-fatal findings with codes.")
    study_kind: str = Field("scaling", description="scaling or general, as asked.")
    outcome_type: str = Field("continuous", description="The per-run outcome type the choice assumed.")
    power_check_failed: bool = Field(False, description="True when the power check found power below 0.8 for the planned runs.")
    selection: dict[str, Any] | None = Field(None, description=(
        "Given runs: every form x objective scored by rolling extrapolation (heldout_error, heldout_errors), the choice and ties."))


# ---------------------------------------------------------------------------------------------
def _table() -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in knowledge.load("statistics")["tests"]}


def _method(row_id: str, reason: str | None = None) -> Method:
    row = _table()[row_id]
    return Method(id=row_id, name=row["test"], call=row["call"], reason=reason or row["reason"], source=row["source"])


def _parametric(inp: Input, path: list[str]) -> bool:
    """Whether a normal-theory test is justified, and why."""
    norm = knowledge.load("statistics")["normality"]
    n = inp.runs_per_group
    if inp.normality == "yes":
        path.append("normality: stated roughly normal -> normal-theory test")
        return True
    if inp.normality == "no":
        path.append("normality: stated not normal -> rank-based test")
        return False
    if n is not None and n >= norm["large_sample"]:
        path.append(f"normality unknown but {n} >= {norm['large_sample']} runs per group -> the mean is close to normal (central limit theorem)")
        return True
    path.append("normality unknown with few or unstated runs -> rank-based test (a normality check on few runs has little power)")
    return False


def _compare_conditions(inp: Input) -> Output:
    path, warnings, alternatives = [], [], []
    post_hoc = None
    n = inp.runs_per_group
    if n is not None and n < 2:
        raise InputError("runs_per_group", f"runs_per_group must be >= 2 to estimate run-to-run variance; got {n}")
    small = n is not None and n < knowledge.load("statistics")["normality"]["small_sample"]
    if inp.n_groups == 1:
        path.append("one group against a reference value")
        primary = _method("one_sample_t") if _parametric(inp, path) else _method("wilcoxon")
    elif inp.n_groups == 2:
        parametric = _parametric(inp, path)
        if inp.paired:
            path.append("two conditions on the same units -> paired test (removes seed-to-seed variance)")
            primary = _method("paired_t") if parametric else _method("wilcoxon")
        else:
            path.append("two independent groups -> unpaired test")
            primary = _method("welch_t") if parametric else _method("mann_whitney")
        if small and not parametric:
            path.append(f"only {n} runs per group -> the exact permutation test replaces the rank test's large-sample p-value")
            alternatives.append(primary)
            primary = _method("permutation")
    else:
        parametric = _parametric(inp, path)
        if inp.paired:
            path.append(f"{inp.n_groups} conditions on the same units -> repeated-measures test")
            primary = _method("rm_anova") if parametric else _method("friedman_nemenyi")
        else:
            path.append(f"{inp.n_groups} independent groups -> one-way test")
            primary = _method("anova_tukey") if parametric else _method("kruskal_dunn")
        post_hoc = Method(id=primary.id + "_post_hoc", name=primary.name.split(", then ")[-1],
                          call=primary.call.split(", then ")[-1], reason="pairwise follow-up that keeps the family-wise error at alpha",
                          source=primary.source)
    if primary.id != "permutation":
        alternatives.append(_method("permutation"))
    bayes = _method("bayesian")
    if inp.equivalence_question:
        path.append("the question is practical relevance -> Bayesian comparison with a region of practical equivalence leads")
        alternatives.insert(0, primary)
        primary = bayes
    else:
        alternatives.append(bayes)
    multiplicity = None
    if inp.n_comparisons > 1:
        path.append(f"{inp.n_comparisons} hypotheses -> Holm-Bonferroni across them")
        multiplicity = _method("holm")
    if inp.n_groups >= 2 and n is not None and n < 3:
        warnings.append(StepWarning(code="very_few_runs", severity="warning",
                                    message=f"{n} runs per group: no test has useful power; plan more seeds (sample_size_estimation)"))
    return Output(task=inp.task, primary=primary, post_hoc=post_hoc, multiplicity=multiplicity, interval=_method("bootstrap_ci"),
                  alternatives=alternatives, decision_path=path, fit_config=None, model_selection=None, arms=None,
                  power_check=_power_check(inp, path), assumptions=_comparison_assumptions(inp),
                  defaults_used=[], warnings=warnings)


def _comparison_assumptions(inp: Input) -> list[str]:
    out = ["runs within a group are independent (different seeds, no shared failures)"]
    if inp.paired:
        out.append("pairs share everything but the condition (seed, data order, evaluation set)")
    out.append("the metric is measured the same way in every run (same evaluation set and protocol)")
    return out


def _power_check(inp: Input, path: list[str]) -> dict[str, Any] | None:
    """Power of the planned runs, or runs needed, for the given effect (sample_size_estimation)."""
    if inp.effect_size is None:
        return None
    design = ("one_sample" if inp.n_groups == 1 else "paired" if inp.paired and inp.n_groups == 2
              else "two_sample" if inp.n_groups == 2 else "anova")
    fields = {"design_type": design, "effect_size": inp.effect_size, "alpha": inp.alpha}
    if design == "anova":
        fields["k_groups"] = inp.n_groups
    if inp.runs_per_group is not None:
        fields["runs_per_group"] = inp.runs_per_group
    if inp.n_comparisons > 1 and design != "anova":  # each pairwise test at the corrected alpha (post-hoc tests of
        fields["n_comparisons"] = inp.n_comparisons  # an omnibus F keep the family-wise error themselves)
    out = sse.run(sse.Input(**fields))
    path.append(f"power check through sample_size_estimation ({design}, normal-theory; rank tests keep ~95% efficiency on normal data)")
    return {"design_type": design, "solved_for": out.solved_for, **out.result.model_dump()}


# -- scaling fits ----------------------------------------------------------------------------------
_FORM_STEP_DOWN = {"broken": "saturating", "saturating": "power"}


def _choose_form(inp: Input, path: list[str], warnings: list[StepWarning]) -> tuple[str, list[str]]:
    if inp.scaling_axes == "params_and_tokens":
        if inp.data_repeated:
            path.append("N and D with repeated data -> data-constrained joint law (Muennighoff 2023)")
            return "data_constrained", ["data_constrained", "chinchilla"]
        path.append("N and D jointly -> joint law E + A/N^alpha + B/D^beta (Hoffmann 2022 approach 3)")
        return "chinchilla", ["chinchilla"]
    scales = inp.n_scales
    if inp.bend:
        if scales is None or scales >= 8:
            path.append("a visible break in slope -> broken power law (Caballero 2022); it needs many points (8+ scales)")
            return "broken", ["broken", "saturating"]
        warnings.append(StepWarning(code="too_few_scales_for_break", severity="warning",
                                    message=f"a broken power law needs about 8+ scales; got {scales}. Fit the saturating law and look at the residuals around the suspected break"))
        path.append(f"a break is suspected but {scales} scales cannot pin it -> saturating law")
        return "saturating", ["saturating", "power"]
    if inp.saturation == "yes":
        path.append("losses approach a floor -> saturating law E + A x^-alpha")
        return "saturating", ["saturating", "power"]
    if inp.saturation == "no":
        path.append("far from the floor -> pure power law (a straight line in log-log)")
        return "power", ["power", "saturating"]
    if scales is not None and scales < 5:
        path.append(f"saturation unknown and only {scales} scales -> pure power law (E would be unidentified)")
        return "power", ["power", "saturating"]
    path.append("saturation unknown -> saturating law (it contains the pure power law at E = 0); compare both on held-out scale")
    return "saturating", ["saturating", "power"]


def _fit_runs_check(inp: Input, form: str, path: list[str], warnings: list[StepWarning]) -> str:
    """Step down to a smaller form when the runs cannot support the chosen one."""
    per_param = knowledge.load("statistics")["scaling_fit"]["min_runs_per_param"]
    n = inp.n_runs
    if n is None:
        return form
    while n <= get_form(form).n_params and form in _FORM_STEP_DOWN:
        smaller = _FORM_STEP_DOWN[form]
        path.append(f"{n} runs cannot fit the {get_form(form).n_params} parameters of {form} with any residual -> {smaller}")
        form = smaller
    p = get_form(form).n_params
    if n <= p:
        raise InputError("n_runs", f"n_runs must exceed the {p} parameters of form {form!r} {list(get_form(form).param_names)}; "
                                   f"got {n}. Plan more runs (sample_size_estimation) before fitting")
    if n < per_param * p:
        warnings.append(StepWarning(code="few_runs_per_parameter", severity="warning",
                                    message=f"{n} runs for {p} parameters (< {per_param} per parameter): intervals will be wide and the bootstrap unstable"))
    return form


def _objective(inp: Input, path: list[str], defaults: list[DefaultUsed]) -> tuple[str, float]:
    cfg = knowledge.load("statistics")["scaling_fit"]
    if inp.task == "compare_arms":
        path.append("arms comparison -> least squares on log loss (the F test's reference distribution assumes it)")
        return "ls-log", float(cfg["delta"])
    if inp.outliers_expected:
        path.append("objective: Huber on log residuals, delta 1e-3, summed (robust to off-trend runs; Hoffmann 2022, Besiroglu 2024)")
        defaults.append(DefaultUsed(name="delta", value=cfg["delta"], source=cfg["source"]))
        return "huber-log", float(cfg["delta"])
    path.append("no outliers expected -> least squares on log loss (efficient for Gaussian log-noise)")
    return "ls-log", float(cfg["delta"])


def _scaling(inp: Input) -> Output:
    path, warnings, defaults = [], [], []
    cfg = knowledge.load("statistics")["scaling_fit"]
    arms = None
    if inp.task == "compare_arms":
        arms = run_arms(inp, warnings)
        form = arms.form if arms else ("saturating" if inp.arms_form == "auto" else inp.arms_form)
        candidates = [form]
        if arms and arms.form_choice == "curvature":
            path.append(f"two arms, form auto: the log-log curvature test (p = {arms.curvature_p_value:.2g}) chose {form}")
        path.append(f"two arms, form {form}: fit separate exponents, a shared exponent, and one common law; "
                    "compare the predicted losses at the target scale")
    else:
        form, candidates = _choose_form(inp, path, warnings)
        form = _fit_runs_check(inp, form, path, warnings)
        candidates = [c for c in candidates if inp.n_runs is None or inp.n_runs > get_form(c).n_params] or [form]
    objective, delta = _objective(inp, path, defaults)
    boot = inp.bootstrap
    if boot is None:
        boot = int(cfg["bootstrap"])
        defaults.append(DefaultUsed(name="bootstrap", value=boot, source=cfg["source"]))
    if boot == 1:
        raise InputError("bootstrap", "bootstrap must be 0 (off) or >= 2 replicates; got 1")
    config = FitConfig(form=form, objective=objective, delta=delta, bootstrap=boot, seed=inp.seed, level=inp.level)
    clustered = inp.replicates > 1
    interval = Method(id="cluster_bootstrap" if clustered else "bootstrap",
                      name="bootstrap clustered by scale (scales, then seeds within them)" if clustered else "nonparametric bootstrap over runs",
                      call="fit_scaling_law(bootstrap=...) (laws.bootstrap)",
                      reason=("seeds at one scale share the scale's deviation from the law; resampling them as independent runs understates the uncertainty"
                              if clustered else "percentile intervals need no normality and carry through to N_opt and extrapolated losses"),
                      source="Efron & Tibshirani 1993; Besiroglu et al. 2024 (4,000 resamples); at least 1,000 for reported intervals")
    if 0 < boot < 1000:
        warnings.append(StepWarning(code="few_bootstrap_replicates", severity="info",
                                    message=f"{boot} bootstrap replicates: fine for a look, use >= 1000 for reported intervals"))
    selection = ModelSelection(
        procedure="leave the largest scale out: fit each candidate on the smaller scales, predict the held-out runs",
        candidates=candidates, criterion="absolute error of the predicted log loss at the held-out scale (extrapolation is the use)",
        secondary="AIC/BIC on the full fit (in-sample; a tie-breaker, not the judge)")
    primary = Method(id="fit_" + form, name=f"{get_form(form).equation} fitted with {objective}", call="fit_scaling_law",
                     reason="; ".join(p for p in path), source=cfg["source"])
    if inp.task == "compare_arms":
        primary = Method(id="arms_nested_f", name=("nested fits: separate vs shared exponent (slope), shared vs common "
                                                   "(intercept), guarded by separate vs common (omnibus)"),
                         call="laws.compare.compare_arms", reason=("ANCOVA with an arm x log-scale interaction for the power law; "
                                                                   "the same nested F tests for the saturating law"),
                         source="Fisher 1932 (analysis of covariance); Bates & Watts 1988 (nested nonlinear least squares)")
    return Output(task=inp.task, primary=primary, post_hoc=None, multiplicity=None, interval=interval, alternatives=[],
                  decision_path=path, fit_config=config, model_selection=selection if inp.task != "compare_arms" else None,
                  arms=arms, power_check=None, assumptions=_scaling_assumptions(inp, form), defaults_used=defaults, warnings=warnings)


def _scaling_assumptions(inp: Input, form: str) -> list[str]:
    out = ["runs at every scale use the same recipe, with hyperparameters tuned or transferred per scale",
           "loss is measured on the same held-out set at the end of the learning-rate decay"]
    if form in ("chinchilla", "data_constrained"):
        out.append("the runs vary tokens per parameter (e.g. 5, 20, 80) so alpha and beta separate")
    if inp.task == "compare_arms":
        out.append("log-loss noise is roughly normal with the same variance in both arms (pooled in the F test)")
    return out


def run(inp: Input) -> Output:
    """Pick the test or fitting procedure for the data described."""
    if inp.task == "compare_conditions":
        if inp.outcome_type == "ordinal" and inp.normality != "no":
            inp = inp.model_copy(update={"normality": "no"})  # ranks are not normal: the rank-based branch
        out = _compare_conditions(inp)
        power = (out.power_check or {}).get("power")
        if power is not None and power < 0.8:
            out.power_check_failed = True
            out.warnings.append(StepWarning(code="underpowered", severity="warning", message=(
                f"power {power:.2f} < 0.80 for effect_size {inp.effect_size:g} with runs_per_group {inp.runs_per_group}: "
                "plan more seeds (sample_size_estimation solves for them) or report the result as inconclusive")))
        out.study_kind, out.outcome_type = inp.study_kind, inp.outcome_type
        return out
    out = _scaling(inp)
    out.study_kind = inp.study_kind
    if inp.runs and inp.task == "fit_scaling_law":
        from .form_selection import select_from_runs
        out.selection = select_from_runs(inp.runs)
        out.decision_path.append(f"runs given: rolling extrapolation chose {out.selection['chosen']['form']} with "
                                 f"{out.selection['chosen']['objective']} (tie among {out.selection['competitive']})"
                                 if out.selection["tie"] else
                                 f"runs given: rolling extrapolation chose {out.selection['chosen']['form']} with "
                                 f"{out.selection['chosen']['objective']}")
    return out


DESCRIPTION = """
Which statistical method to use, with the reason for each choice.
- task=compare_conditions: from a description of the data (n_groups, paired, normality,
  runs_per_group, n_comparisons) walks the classical decision table (paired/Welch t, ANOVA + Tukey,
  Wilcoxon/Mann-Whitney, Kruskal-Wallis + Dunn, Friedman + Nemenyi, permutation, Bayesian,
  bootstrap CI, Holm) and returns the test, its follow-up, the correction and the library call;
  with effect_size it also checks power via sample_size_estimation.
- task=fit_scaling_law: picks the law form, objective (Huber on log residuals, delta), bootstrap
  intervals (clustered by scale) and form selection (leave the largest scale out); `fit_config`
  is accepted as is by fit_scaling_law.
- task=compare_arms: for two arms (e.g. architectures) tests whether the exponent differs or only
  the intercept (shared vs separate exponents), with p-values and the exponent difference with an
  interval when arm_a_/arm_b_ data are given; arms_form auto (default) checks the log-log curvature
  and fits the saturating law when the curves bend; the arms are also compared by predicted loss at
  arms_target_scale (default the largest run), with intervals.
Next: fit_scaling_law with fit_config, or sample_size_estimation to size the runs.
"""

EXAMPLE: dict[str, Any] = {
    "task": "fit_scaling_law",
    "scaling_axes": "params_and_tokens",
    "n_runs": 30,
    "n_scales": 30,
    "replicates": 1,
    "outliers_expected": True,
    "seed": 0,
}
