"""fit_scaling_law and compare_arms: the law form, objective and procedure for scaling data."""
from __future__ import annotations

from ... import knowledge
from ...errors import InputError
from ...laws.forms import get_form
from ...sops.sample_size_estimation import DefaultUsed, StepWarning
from ..arms_comparison import run_arms
from .models import FitConfig, Input, Method, ModelSelection, Output


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
