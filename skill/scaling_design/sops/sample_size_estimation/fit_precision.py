"""Fit precision of a scaling law: the Monte Carlo sample-size curve."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable

import numpy as np

from ... import knowledge
from ...errors import InputError
from ...laws import precision
from ...laws.forms import get_form
from ...laws.results import LawInputError
from ..design_matrix_construction import NamedValue as DefaultUsed, StepWarning
from .classical import _margin, _stats, _with_margin
from .models import (
    MAX_REPLICATES, MAX_SCALE, MIN_SCALE, NOISE_MULTIPLIERS, CurvePoint, FitPrecision, Input, MAX_SIMS_PER_STEP,
    Output, PrecisionSensitivityRow, REFINE_BATCHES, SampleSizeResult)


# -- fit precision ---------------------------------------------------------------------------------
def _check_prior_bounds(form, params: dict[str, float]) -> None:
    """Each prior value inside the form's own parameter bounds (the fitter's), as the other steps check theirs."""
    bad = {k: v for k, v in params.items()
           if not (np.isfinite(v) and form.bounds[k][0] <= v <= form.bounds[k][1] and abs(v) <= MAX_SCALE)}
    if bad:
        allowed = {k: [form.bounds[k][0], min(form.bounds[k][1], MAX_SCALE)] for k in bad}
        raise InputError("prior_params", f"prior_params must be finite and within the bounds of form {form.name!r} "
                                         f"{allowed}; got {bad}")


def _prior(inp: Input, defaults: list[DefaultUsed]):
    if inp.prior_params is not None:
        if inp.form is None:
            raise InputError("form", "prior_params needs `form` (e.g. chinchilla) to say which law they belong to")
        form = _get_form(inp.form)
        missing = [n for n in form.param_names if n not in inp.prior_params]
        extra = [n for n in inp.prior_params if n not in form.param_names]
        if missing or extra:
            raise InputError("prior_params", f"prior_params for form {form.name!r} must have exactly {list(form.param_names)}; missing {missing}, unknown {extra}")
        _check_prior_bounds(form, inp.prior_params)
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
        from ...laws.allocation import compute_optimal

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
        from ...laws.allocation import compute_optimal

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
    from ...laws.simulate import NoiseModel

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
    from ...laws.simulate import MAX_SIMULATIONS, monte_carlo

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
        if mc.n_done == 0:  # the time bound left no simulation for this step: it has no figure to report
            warnings.append(StepWarning(code="simulation_truncated", severity="warning",
                                        message=f"the time limit left no simulation for the step with {X.shape[0]} runs; "
                                                "the curve stops before it: raise time_limit_s"))
            break
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
                               truncated=a.truncated or b.truncated, elapsed_s=a.elapsed_s + b.elapsed_s,
                               n_starts=None if a.n_starts is None else np.concatenate([a.n_starts, b.n_starts]))


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
    truncated = any(w.code in ("time_limit_reached", "simulation_truncated") for w in warnings)
    return Output(truncated=truncated, design_type="fit_precision", solved_for=inp.scan, missing=[inp.scan], parameters=parameters,
                  result=result, sensitivity=[], fit_precision=precision_out,
                  precision_sensitivity=_noise_sensitivity(inp, curve, pick, noise.sigma, margin),
                  assumptions=[f"the truth is the prior law ({prior_source})",
                               f"run-to-run noise is {noise.kind} with sigma {noise.sigma:g}",
                               f"the study fits with {inp.objective} (delta {inp.delta:g}), the same fitter as simulated",
                               "runs are independent; a failed refit counts as a miss"],
                  recommendations=_fit_recommendations(inp, needed, curve, margin),
                  defaults_used=defaults, warnings=warnings)


def _noise_sensitivity(inp, curve, pick, sigma: float, margin: float) -> list[PrecisionSensitivityRow]:
    """Replicates needed and error bought at 0.5-2 x the assumed noise, scaled from the Monte Carlo curve.

    The error is taken as proportional to the noise sigma (and, beyond the curve, to 1 / sqrt(replicates)):
    exact for least squares on a straight line in log space, a small-noise approximation for nonlinear
    laws; a bias does not scale so. At 1 x the answer is the curve's own."""
    if pick is None or pick.error_percentile <= 0:
        return []
    rows = []
    for m in NOISE_MULTIPLIERS:
        hit = next((c for c in curve if m * c.error_percentile <= inp.target_relative_error), None)
        if hit is not None:
            reps, runs, how = hit.replicates, _with_margin(hit.runs, margin), "the curve's point, error x noise multiplier"
        else:  # beyond the curve: more replicates of the last design, error / sqrt(replicates)
            ratio = m * pick.error_percentile / inp.target_relative_error  # a tiny target would overflow the square
            need = math.ceil(pick.replicates * ratio ** 2 - 1e-9) if ratio < 1e6 else MAX_REPLICATES + 1
            ok = need <= MAX_REPLICATES
            reps, runs = (need, _with_margin(need * pick.points, margin)) if ok else (None, None)
            how = f"extrapolated from {pick.replicates} replicate(s) as error / sqrt(replicates)"
        err = m * pick.error_percentile
        rows.append(PrecisionSensitivityRow(
            noise_multiplier=m, noise=m * sigma, replicates=reps, runs=runs, error_at_chosen=err,
            meets_target_at_chosen=bool(err <= inp.target_relative_error),
            method=f"{how} (error proportional to noise: a small-noise approximation, bias not scaled)"))
    return rows


def _fit_recommendations(inp, needed, curve, margin) -> list[str]:
    out = []
    if needed is not None:
        out.append(f"{needed.runs} runs ({needed.points} design points x {needed.replicates} replicate{'s' if needed.replicates != 1 else ''}) bring the "
                   f"{inp.percentile:.0%} error to {needed.error_percentile:.2%}; plan {_with_margin(needed.runs, margin)} with the failed-run margin")
    elif len(curve) >= 2 and curve[-1].error_percentile > 0.8 * curve[0].error_percentile:
        out.append("adding runs barely helps: the error is dominated by how far the target lies beyond the data; widen the scale range instead")
    out.append("call budget_constrained_design to price the runs and pick the scale points; then design_matrix_construction for the run table")
    out.append("after the runs, call fit_scaling_law with the configuration from statistical_method_selection")
    return out
