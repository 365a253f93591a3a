"""fit_scaling_law: fit a law to run results, with uncertainty, diagnostics and predictions."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import file_access
from ..errors import InputError
from ..laws import allocation
from ..laws.bootstrap import bootstrap as run_bootstrap
from ..laws.fit import FitResult, fit
from ..laws.forms import get_form
from . import robust_fit
from .fit_models import Effect, FrontierPoint, Input, IntervalOut, Output, Point, Prediction, UsedRun, Warning_
from .runs_io import RunTable, from_rows, read_csv_text


DESCRIPTION = """
Fit a scaling law to finished runs and say how sure the fit is. Use after the runs of a
design are done (fill the results template's loss column, pass it as csv_path/csv_text,
or pass runs). Forms: chinchilla (E + A/N^alpha + B/D^beta), saturating, power, kaplan,
broken, data_constrained. Default objective is Hoffmann's summed Huber on log residuals
(delta 1e-3), found by variable projection plus a trust-region polish (reaches the
published optimum on Hoffmann's data in ~30 ms). Returns parameters by name, standard
errors, bootstrap percentile intervals (set bootstrap >= 1000; resampled by scale, then
seed), convergence diagnostics, coded warnings (e.g. design_not_identifiable), predictions
with intervals that say whether they extrapolate, and for the joint law the
compute-optimal frontier and the effect of multiplying N or D. form='auto' chooses the form
and objective by rolling extrapolation (hold out the two largest scales in turn) and reports
the table in `selection`; off-trend runs are flagged (`outliers`); rows with role=validation
are scored, not fitted. Next: call compute_optimal_allocation with the fit's JSON for a budget.
"""

EXAMPLE = {
    "form": "chinchilla",
    "runs": [
        {"N": n, "D": n * t, "loss": round(float(allocation.joint_loss(
            {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}, n, n * t)) * f, 5)}
        for n, f0 in zip((4e7, 1e8, 2.5e8, 6e8, 1.5e9), (1.0, 0.998, 1.003, 0.999, 1.002))
        for t, f in zip((5, 20, 80), (f0, 1.001 * f0, 0.999 * f0))
    ],
    "bootstrap": 200,
    "seed": 0,
    "predict_at": [{"N": 7e10, "D": 1.4e12}],
}


def _table_any(inp: Input, forms: list) -> tuple[RunTable, object]:
    """Read the runs with the first form whose inputs the data have (for form 'auto')."""
    first = None
    for form in forms:
        try:
            return _table(inp, form), form
        except InputError as exc:
            first = first or exc
    raise first


def _table(inp: Input, form) -> RunTable:
    if inp.runs is not None:
        return from_rows([r.model_dump(exclude_none=True) for r in inp.runs], form, "runs")
    if inp.csv_text is not None:
        return read_csv_text(inp.csv_text, form, "csv_text")
    text = file_access.read_text(inp.csv_path, "csv_path")
    return read_csv_text(text, form, "csv_path", quote=file_access.quote_content())


def _iv(low, high, level) -> IntervalOut:
    return IntervalOut(low=float(low), high=float(high), level=level)


def _point_row(form, p: Point, inputs: tuple[str, ...] | None = None) -> list[float]:
    row = []
    for name in inputs or form.inputs:
        value = getattr(p, name)
        if value is None:
            raise InputError("predict_at", f"each predict_at point needs {list(inputs or form.inputs)} for form "
                                           f"{form.name!r}; missing {name}")
        row.append(value)
    return row


def _predictions(inp: Input, res: FitResult) -> list[Prediction]:
    if not inp.predict_at:
        return []
    X = np.array([_point_row(res.form, p) for p in inp.predict_at])
    pred, lo, hi = res.predict_interval(X, inp.level, "mean", seed=inp.seed)
    _, plo, phi = res.predict_interval(X, inp.level, "prediction", seed=inp.seed)
    out = []
    for i, ext in enumerate(res.extrapolation(X)):
        out.append(Prediction(at=dict(zip(res.form.inputs, map(float, X[i]))), loss=float(pred[i]),
                              interval=_iv(lo[i], hi[i], inp.level), prediction_interval=_iv(plo[i], phi[i], inp.level),
                              **ext))
    return out


def _frontier(inp: Input, res: FitResult, X) -> tuple[list[FrontierPoint], dict | None]:
    if res.form.name != "chinchilla":  # the closed-form allocation is the joint law's
        return [], None
    budgets = inp.compute_budgets or [float(c) for c in np.max(6 * X[:, 0] * X[:, 1]) * np.array([1.0, 10.0, 100.0])]
    central = allocation.compute_optimal(res.params, np.array(budgets))
    boot = res.bootstrap
    reps = allocation.compute_optimal(boot.values, np.array(budgets)[:, None]) if boot is not None else None
    tail = (1 - inp.level) / 2
    points = []
    for i, c in enumerate(budgets):
        intervals = None
        if reps is not None:
            intervals = {k: _iv(*np.quantile(reps[k][i], [tail, 1 - tail]), inp.level)
                         for k in ("N_opt", "D_opt", "tokens_per_param", "loss")}
        points.append(FrontierPoint(compute=c, **{k: float(central[k][i]) for k in ("N_opt", "D_opt", "tokens_per_param", "loss")},
                                    intervals=intervals))
    return points, {k: float(v) for k, v in allocation.allocation_exponents(res.params).items()}


def _effects(inp: Input, res: FitResult, X) -> list[Effect]:
    k, level, tail = inp.resource_factor, inp.level, (1 - inp.level) / 2
    top = X[np.argmax(np.prod(X, axis=1))]
    at = dict(zip(res.form.inputs, map(float, top)))
    out = []
    resources = ("N", "D") if res.form.name == "chinchilla" else (res.form.inputs[0],) if len(res.form.inputs) == 1 else ()
    for r in resources:
        j = res.form.inputs.index(r)
        moved = top.copy()
        moved[j] *= k
        before, after = res.predict(top[None])[0], res.predict(moved[None])[0]
        change = after / before - 1
        reducible = None
        if "E" in res.params and before - res.params["E"] > 0:  # no reducible part left: the ratio is undefined
            reducible = float((after - res.params["E"]) / (before - res.params["E"]) - 1)
        interval = None
        if res.bootstrap is not None:
            b = res.bootstrap.predict(np.vstack([top, moved]))
            interval = _iv(*np.quantile(b[:, 1] / b[:, 0] - 1, [tail, 1 - tail]), level)
        word = {"N": "parameters", "D": "training tokens"}.get(r, r)
        statement = f"multiplying {word} by {k:g} at the largest run changes the loss by {100 * change:+.2f}%"
        out.append(Effect(resource=r, factor=k, at=at, relative_change=float(change), reducible_relative_change=reducible,
                          interval=interval, statement=statement))
    return out


def _choose(inp: Input, table: RunTable, inputs) -> tuple[FitResult, object]:
    forms = robust_fit.auto_forms(inputs, inp.candidates, inp.param_bounds)
    sel = robust_fit.select(forms, table.X, table.y, table.weights, tuple(inp.objectives or robust_fit.DEFAULT_OBJECTIVES),
                            inp.delta, inputs)
    return sel.best.fit, sel


def _auto_predictions(inp: Input, res: FitResult, sel) -> list[Prediction]:
    X_all = np.array([_point_row(res.form, p, sel.inputs) for p in inp.predict_at])
    pred, lo, hi, plo, phi = robust_fit.averaged_prediction(sel, X_all, inp.level)
    X = sel.design(res.form, X_all)
    return [Prediction(at=dict(zip(res.form.inputs, map(float, X[i]))), loss=float(pred[i]), interval=_iv(lo[i], hi[i], inp.level),
                       prediction_interval=_iv(plo[i], phi[i], inp.level), **ext)
            for i, ext in enumerate(res.extrapolation(X))]


def _validation(res: FitResult, table: RunTable, sel, sel_table: RunTable | None) -> list[dict]:
    if table.validation_X is None:
        return []
    if sel is None:
        pred = res.predict(table.validation_X)
    else:  # scored by the candidates the selection averages, on the columns it was read with
        pred = robust_fit.averaged_prediction(sel, sel_table.validation_X, 0.9)[0]
    return [{"at": dict(zip(res.form.inputs, map(float, x))), "loss": float(l), "predicted": float(p),
             "relative_error": float(p / l - 1)} for x, l, p in zip(table.validation_X, table.validation_y, pred)]


def run(inp: Input, progress=None) -> Output:
    auto = inp.form.strip().lower() == "auto"
    if auto:
        table, form = _table_any(inp, [get_form(n) for n in ("data_constrained", "chinchilla", "saturating")])
    else:
        try:
            form = get_form(inp.form, inp.param_bounds)
        except ValueError as exc:
            raise InputError(getattr(exc, "field", "form"), str(exc)) from None
        table = _table(inp, form)
    notes: list[str] = []
    if inp.direction == "higher_is_better":
        table = replace(table, y=robust_fit.to_error(table.y))
        notes.append("direction higher_is_better: the fit is of 1 - metric (an error rate)")
    robust_fit.check_direction(table.X, table.y, form.inputs, inp.direction)
    sel, sel_table = None, None
    if auto:
        res, sel = _choose(inp, table, form.inputs)
        sel_table = table
        if res.form.inputs != form.inputs:  # the chosen form takes fewer columns (e.g. no U): its own table
            table = _table(inp, res.form)
            if inp.direction == "higher_is_better":
                table = replace(table, y=robust_fit.to_error(table.y))
        form = res.form
    else:
        res = fit(form, table.X, table.y, objective=inp.objective, delta=inp.delta, weights=table.weights)
    rows = table.rows if table.rows is not None else np.arange(len(table.y))
    outliers = robust_fit.off_trend_runs(res, rows, table.y)
    outlier_refit = None
    if outliers and inp.outliers == "exclude":
        res, outlier_refit, keep = robust_fit.refit_without(res, table.X, table.y, table.weights,
                                                            [o["row"] for o in outliers], rows, inp.delta)
        table = replace(table, X=table.X[keep], y=table.y[keep], rows=rows[keep],
                        weights=None if table.weights is None else table.weights[keep])
        sel = None  # the selection was scored with the excluded runs; the refit stands alone
    if inp.bootstrap:
        boot = run_bootstrap(res, table.X, table.y, weights=table.weights, n_boot=inp.bootstrap, seed=inp.seed,
                             time_limit_s=inp.time_limit_s, progress=progress)
        res = res.with_bootstrap(boot)
    frontier, exponents = _frontier(inp, res, table.X)
    dump = res.model_dump()
    pred = res.predict(table.X)
    runs_used = [UsedRun(at=dict(zip(form.inputs, map(float, row))), loss=float(l), predicted=float(p),
                         log_residual=float(np.log(p) - np.log(l))) for row, l, p in zip(table.X, table.y, pred)]
    warnings = [Warning_(**w) for w in dump["warnings"]]
    warnings += [Warning_(code="off_trend_run", severity="warning", param=None,
                          message=f"row {o['row']}: loss {o['loss']:.4g} lies {o['robust_residual']:+.1f} robust residual scales "
                                  f"from the law ({o['predicted']:.4g})" + ("; excluded and refitted" if outlier_refit else
                                                                            "; outliers='exclude' refits without it"))
                 for o in outliers]
    selection, selected = robust_fit.selection_summary(sel) if sel is not None else (None, None)
    if sel is not None and sel.tie:
        notes.append(f"{len(sel.competitive)} candidates tie within noise ({', '.join(c.name for c in sel.competitive)}): "
                     "predictions are their geometric mean, and intervals span them (model uncertainty)")
    predictions = _auto_predictions(inp, res, sel) if (sel is not None and inp.predict_at) else _predictions(inp, res)
    return Output(
        form=form.name, equation=form.equation, inputs=list(form.inputs), params=dump["params"],
        standard_errors=dump["standard_errors"], se_source="bootstrap" if res.bootstrap is not None else "asymptotic",
        covariance=_covariance(res),
        intervals={k: IntervalOut(**v) for k, v in dump["intervals"].items()} if "intervals" in dump else None,
        objective=res.objective_name, delta=dump["delta"], objective_value=res.objective, n_runs=res.n_runs,
        n_skipped=table.n_skipped, converged=res.converged, warnings=warnings,
        optimizer=dump["optimizer"], sigma_log=res.sigma_log, predictions=predictions, frontier=frontier,
        allocation_exponents=exponents, effects=_effects(inp, res, table.X), runs_used=runs_used,
        bootstrap=dump.get("bootstrap"), truncated=bool(res.bootstrap is not None and res.bootstrap.truncated),
        selection=selection, selected=selected, outliers=outliers,
        outlier_refit=outlier_refit, validation=_validation(res, table, sel, sel_table), notes=table.notes + notes + _notes(inp, res))


def _covariance(res: FitResult) -> list[list[float]] | None:
    cov = res.bootstrap.covariance if res.bootstrap is not None else res.covariance
    if cov is None or not np.all(np.isfinite(cov)):
        return None
    return np.atleast_2d(cov).tolist()


def _notes(inp: Input, res: FitResult) -> list[str]:
    notes = [f"objective {res.objective_name}" + (f" with delta {inp.delta:g}" if res.objective_name == "huber-log" else "")
             + " summed over runs"]
    if res.bootstrap is None:
        notes.append("standard errors are asymptotic (Gauss-Newton with the residual variance); run bootstrap >= 1000 for reported intervals")
    else:
        notes.append("intervals are percentile bootstrap intervals, resampling scales then seeds within a scale")
        if res.objective_name == "huber-log" and res.sigma_log > 3 * inp.delta:
            notes.append(f"the residual scale ({res.sigma_log:.2g}) is far above delta ({inp.delta:g}), so the Huber fit acts like a "
                         "median regression and its bootstrap intervals are conservative (95% intervals covered the truth in "
                         "96-99% of simulated data sets); objective ls-log gives near-nominal coverage under log-normal noise")
    return notes
