"""What keeps a fit honest when its assumptions are wrong: direction, off-trend runs,
form selection by rolling extrapolation and prediction intervals that carry model error."""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from ..errors import InputError
from ..laws.fit import FitResult, fit
from ..laws.forms import LawForm, candidate_forms, get_form
from ..laws.select import DEFAULT_OBJECTIVES, Selection, select_form

__all__ = ["check_direction", "off_trend_runs", "OUTLIER_Z", "auto_forms", "averaged_prediction", "DEFAULT_OBJECTIVES",
           "selection_summary"]

OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's cut-off for the modified z-score (residual / 1.4826 MAD)


def auto_forms(inputs: tuple[str, ...], names: list[str] | None, bounds: dict | None) -> list[LawForm]:
    if names:
        forms = [get_form(n, bounds) for n in names]
        bad = [f.name for f in forms if set(f.inputs) - set(inputs)]
        if bad:
            raise InputError("candidates", f"candidates {bad} need inputs the data do not have ({list(inputs)})")
        return forms
    return candidate_forms(set(inputs))


def check_direction(X: np.ndarray, y: np.ndarray, inputs: tuple[str, ...], direction: str) -> None:
    """Refuse a higher-is-better metric passed as a loss.

    The test: the least-squares slope of log metric on the log of the main scale. A loss
    falls with scale; a clearly rising metric (slope > 0 and above twice its standard error)
    is an accuracy or a reward, and a power law in it fits exponents of zero."""
    if direction == "higher_is_better":
        return
    if not (np.all(np.isfinite(y)) and np.all(y > 0) and np.all(np.isfinite(X)) and np.all(X > 0)):
        return  # the fitter's own validation names the bad values
    j = inputs.index("N") if "N" in inputs else 0
    lx, ly = np.log(X[:, j]), np.log(y)
    if np.ptp(lx) == 0 or len(y) < 3:
        return
    A = np.column_stack([np.ones_like(lx), lx])
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    se = np.sqrt(np.sum(resid ** 2) / max(len(y) - 2, 1) / np.sum((lx - lx.mean()) ** 2))
    if coef[1] > 0 and coef[1] > 2 * se:
        raise InputError("loss", f"loss rises with {inputs[j]} (log-log slope {coef[1]:+.3g}, SE {se:.2g}): it looks like a "
                                 "metric where higher is better (accuracy, reward). A scaling law fits a quantity that falls "
                                 "with scale: pass direction='higher_is_better' to fit the error 1 - metric (metrics in (0, 1)), "
                                 "or predict accuracy from task loss with downstream_prediction")


def to_error(y: np.ndarray) -> np.ndarray:
    if np.any((y <= 0) | (y >= 1)):
        raise InputError("direction", "direction='higher_is_better' fits 1 - metric and needs every value in (0, 1) "
                                      f"(an accuracy or a rate); got values in [{y.min():.4g}, {y.max():.4g}]")
    return 1.0 - y


def off_trend_runs(res: FitResult, rows: np.ndarray, y: np.ndarray) -> list[dict]:
    """Runs whose log residual is more than OUTLIER_Z robust scales from the median residual."""
    r = res.residuals
    scale = res.sigma_log if res.sigma_log > 0 else float(np.std(r))
    if not scale > 0:
        return []
    z = (r - np.median(r)) / scale
    out = []
    for i in np.flatnonzero(np.abs(z) > OUTLIER_Z):
        out.append({"row": int(rows[i]), "robust_residual": float(z[i]), "loss": float(y[i]),
                    "predicted": float(np.exp(np.log(y[i]) + r[i]))})
    return sorted(out, key=lambda o: -abs(o["robust_residual"]))


def select(forms, X, y, weights, objectives, delta, inputs=None) -> Selection:
    try:
        return select_form(forms, X, y, weights=weights, objectives=objectives, delta=delta, inputs=inputs)
    except ValueError as exc:
        raise InputError(getattr(exc, "field", "form"), str(exc)) from None


def averaged_prediction(sel: Selection, X: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Prediction from the competitive candidates: the geometric mean of their predictions
    (equal weights; they are indistinguishable by the held-out rule), with intervals that hold
    each candidate's own interval widened by its rolling held-out error (the measured size of
    one step of extrapolation) and then take the envelope over candidates (model uncertainty).
    Returns (prediction, mean low, mean high, prediction low, prediction high)."""
    z = ndtri(0.5 + level / 2)
    logs, bands = [], {"mean": ([], []), "prediction": ([], [])}
    for c in sel.competitive:
        Xc = sel.design(c.form, X)
        p = c.fit.predict(Xc)
        logs.append(np.log(p))
        model = z * float(np.sqrt(np.mean(np.concatenate(c.fold_log_errors) ** 2)))
        for kind, (lows, highs) in bands.items():
            _, lo, hi = c.fit.predict_interval(Xc, level, kind)
            lows.append(p * np.exp(-np.hypot(np.log(p / lo), model)))
            highs.append(p * np.exp(np.hypot(np.log(hi / p), model)))
    pred = np.exp(np.mean(logs, axis=0))
    (ml, mh), (pl, ph) = bands["mean"], bands["prediction"]
    return pred, np.min(ml, 0), np.max(mh, 0), np.min(pl, 0), np.max(ph, 0)


def refit_without(res: FitResult, X, y, weights, flagged_rows: list[int], rows: np.ndarray, delta
                  ) -> tuple[FitResult, dict, np.ndarray]:
    """The fit without the flagged rows, what each parameter was with and without them, and the kept-run mask."""
    keep = ~np.isin(rows, flagged_rows)
    new = fit(res.form, X[keep], y[keep], objective=res.objective_name, delta=delta,
              weights=None if weights is None else weights[keep])
    moved = {k: {"with": float(v), "without": float(new.params[k])} for k, v in res.params.items()}
    return new, {"excluded_rows": sorted(flagged_rows), "n_runs": int(keep.sum()), "params": moved}, keep


def selection_summary(sel: Selection) -> tuple[list[dict], dict]:
    """The scored candidates (best first) and the choice, as the tool reports them."""
    competitive = {id(c) for c in sel.competitive}
    rows = [{"form": c.form.name, "objective": c.objective, "heldout_error": c.heldout_error if not c.skipped else None,
             "heldout_errors": c.heldout_errors, "competitive": id(c) in competitive, "skipped": c.skipped,
             "params": c.fit.params if c.fit is not None else None}
            for c in sorted(sel.candidates, key=lambda c: c.heldout_error)]
    chosen = {"form": sel.best.form.name, "objective": sel.best.objective, "heldout_error": sel.best.heldout_error,
              "main_scale": sel.main_scale, "fold_cuts": sel.fold_cuts, "dropped_cuts": sel.dropped_cuts,
              "tie": sel.tie, "competitive": [c.name for c in sel.competitive],
              "rule": "for each of the two largest distinct values of the main scale, fit on the runs below it and "
                      "predict the runs at or above it; score = mean over folds of the mean absolute relative error; "
                      "a fold with fewer than 3 distinct values below it identifies no candidate and is dropped"}
    return rows, chosen
