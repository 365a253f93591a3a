"""budget_constrained_design in sequential mode: what the completed runs change.

With enough completed runs (MIN_RUNS_TO_REFIT) the prior law is replaced by their fit, and
the runs also choose the law family by the rolling extrapolation of form selection
(laws.select, the rule fit_scaling_law's form 'auto' uses): when a family other than the
joint law extrapolates the completed runs better, the hedge designs for it as well. When the
fit and the prior disagree at the target beyond the fit's own uncertainty, the design says so:
the prior was wrong, and what was planned under it deserves a second look.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..laws.fit import FitResult, fit as fit_law
from ..laws.forms import candidate_forms
from ..laws.results import LawInputError
from ..laws.select import MIN_DISTINCT_SCALES, select_form
from ..sops.design_matrix_construction import StepWarning

__all__ = ["MIN_RUNS_TO_REFIT", "DISAGREE_LEVEL", "Refit", "refit_completed", "selected_family", "disagreement"]

MIN_RUNS_TO_REFIT = 8       # completed runs needed before the prior is replaced by their fit
DISAGREE_LEVEL = 0.99       # the prior's target outside the fit's interval at this level: they disagree


@dataclass(frozen=True)
class Refit:
    result: FitResult
    params: dict[str, float]


def refit_completed(form, X: np.ndarray, y: np.ndarray, warnings: list[StepWarning], field: str) -> Refit | None:
    """The fit of the completed runs (huber-log), or None with a warning when it is not usable."""
    try:
        res = fit_law(form, X, y)
    except LawInputError as exc:
        raise InputError(field, f"{field} cannot be fitted: {exc}") from None
    exponents_ok = all(res.params[n] > 0 for n in ("alpha", "beta") if n in res.params)
    if res.converged and all(np.isfinite(res.values)) and exponents_ok:
        return Refit(res, res.params)
    warnings.append(StepWarning(code="refit_failed", severity="warning",
                                message="the fit of the completed runs did not converge to a usable law; the "
                                        "design stays at the prior"))
    return None


def selected_family(X: np.ndarray, y: np.ndarray, warnings: list[StepWarning]) -> tuple[str, np.ndarray] | None:
    """The family rolling extrapolation prefers for the completed joint (N, D) runs, when it is not
    the joint law: (form name, its fitted parameters). None when the joint law wins or ties, or the
    runs span too few model sizes to hold out the largest."""
    if np.unique(X[:, 0]).size <= MIN_DISTINCT_SCALES:
        return None
    try:
        sel = select_form(candidate_forms({"N", "D"}), X, y)
    except LawInputError:
        return None
    if any(c.form.name == "chinchilla" for c in sel.competitive):
        return None
    joint = min((c.heldout_error for c in sel.candidates if c.form.name == "chinchilla"), default=float("inf"))
    best = sel.best
    warnings.append(StepWarning(code="sequential_form_selected", severity="info", message=(
        f"rolling extrapolation of the completed runs prefers {best.form.name} ({best.objective}; held-out error "
        f"{best.heldout_error:.3g} vs {joint:.3g} for the joint law): the hedge designs for it as well; fit the "
        "results with form 'auto'")))
    return best.form.name, np.asarray(best.fit.values, float)


def disagreement(prior_form, prior_params: dict[str, float], refit: Refit, Xt: np.ndarray,
                 warnings: list[StepWarning]) -> None:
    """Warn when the prior's loss at the target lies outside the fit's DISAGREE_LEVEL interval."""
    if not len(Xt):
        return
    with np.errstate(all="ignore"):
        prior = prior_form.predict(prior_form.as_array(prior_params), Xt)
        pred, low, high = refit.result.predict_interval(Xt, DISAGREE_LEVEL, "mean")
    outside = (prior < low) | (prior > high)
    if np.any(outside):
        k = int(np.argmax(outside))
        warnings.append(StepWarning(code="sequential_disagrees_with_prior", severity="warning", message=(
            f"at the target the completed runs' fit predicts loss {pred[k]:.4g} ({DISAGREE_LEVEL:.0%} interval "
            f"{low[k]:.4g}-{high[k]:.4g}) and the prior {prior[k]:.4g}: the prior law was wrong here; the design now "
            "follows the fit, and earlier plans made under the prior deserve a second look")))
