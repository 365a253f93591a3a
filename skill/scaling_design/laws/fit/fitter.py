"""fit(): the variable-projection grid ranks starts, the best are polished on the true objective."""
from __future__ import annotations

import numpy as np

from ..forms import LawForm, get_form
from ..objectives import DEFAULT_DELTA, check_objective, is_log, rho
from ..results import LawInputError
from .assemble import assemble
from .lm import polish_many
from .polish import Polisher
from .result import FitResult, OptimizerReport
from .starts import StartGrid
from .validate import validate_data

__all__ = ["fit", "objective_value", "TOP_STARTS", "FIRST_STARTS", "AGREE_RTOL", "agreeing"]

TOP_STARTS = 4          # variable-projection starts that may get a full polish
# Polished first; the others only while fewer than two polished starts agree. On Hoffmann's 240
# runs the best two agree, and two polishes reach the optimum of four (objective equal to 1e-15).
FIRST_STARTS = 2
AGREE_RTOL = 1e-6       # starts "agree" when their objectives match to this relative tolerance

_QUIET = dict(over="ignore", divide="ignore", invalid="ignore", under="ignore")


def agreeing(values: np.ndarray) -> int:
    """How many polished starts reached the best objective (to AGREE_RTOL)."""
    values = np.asarray(values, float)
    best = np.nanmin(values)
    return int(np.sum(values <= best * (1 + AGREE_RTOL) + 1e-15))


def _seed_starts(form: LawForm, X, y, w, objective, delta) -> list[np.ndarray]:
    """Starts from the fit of a simpler form the family contains (e.g. Farseer from the joint law):
    the global search of the simpler form is cheap and lands in the right basin."""
    if form.seed_from is None:
        return []
    name, mapping = form.seed_from
    try:
        seed = fit(name, X, y, objective=objective, delta=delta, weights=w, top_starts=2)
    except (LawInputError, ValueError):
        return []
    start = np.asarray(mapping(seed.values), float)
    return [start] if np.all(np.isfinite(start)) else []


def _polish_starts(polisher: Polisher, grid_z: list, extra_z: list, first: int) -> tuple[list, np.ndarray]:
    """Polish the extra starts and the first grid starts, then further grid starts while fewer
    than two polished starts agree on the best objective."""
    sols = polish_many(polisher, extra_z + grid_z[:first])  # together; scipy for any that fails the checks
    values = [polisher.value(s.x) for s in sols]
    for z in grid_z[first:]:
        if len(values) >= 2 and agreeing(values) >= 2:
            break
        sols.append(polisher.polish(z))
        values.append(polisher.value(sols[-1].x))
    return sols, np.array(values)


def fit(form: LawForm | str, X, y, *, objective: str = "huber-log", delta: float = DEFAULT_DELTA,
        weights=None, starts: list | None = None, top_starts: int = TOP_STARTS, seed: bool = True) -> FitResult:
    """Fit a law to runs X (n, len(form.inputs)) with losses y.

    starts: optional extra starting points (public parameter arrays), always polished beside
    the best variable-projection starts (at most `top_starts` of them). seed=False skips the
    start from the form's seed form (its own fit), for a caller that passes that start itself.
    """
    form = get_form(form) if isinstance(form, str) else form
    objective = check_objective(objective, delta)
    X, y, w = validate_data(form, X, y, weights)
    polisher = Polisher(form, X, y, w, objective, delta)
    extra = [np.asarray(s, float) for s in (starts or [])] + (_seed_starts(form, X, y, w, objective, delta) if seed else [])
    grid = StartGrid(form, X)
    values, internal, _ = grid.project(y, w, objective, polisher)
    order = [i for i in np.argsort(values) if np.isfinite(values[i])][:top_starts]
    with np.errstate(**_QUIET):
        grid_z = [polisher.to_z(internal[i]) for i in order]
        extra_z = [polisher.to_z(form.internal(e)) for e in extra]
    if not grid_z and not extra_z:
        raise LawInputError("data", f"no start of form {form.name!r} gave a finite objective; check the data's units")
    with np.errstate(**_QUIET):
        sols, objectives = _polish_starts(polisher, grid_z, extra_z, min(FIRST_STARTS, top_starts))
    best = int(np.nanargmin(objectives))
    sol = sols[best]
    ok, gnorm = polisher.converged(sol)
    report = OptimizerReport(len(grid), len(sols), agreeing(objectives), gnorm, int(sol.status), str(sol.message),
                             int(sum(s.nfev for s in sols)), tuple(float(values[i]) for i in order))
    return assemble(form, X, y, polisher, sol.x, float(objectives[best]), ok, report)


def objective_value(form: LawForm | str, params, X, y, *, objective="huber-log", delta=DEFAULT_DELTA, weights=None) -> float:
    """The objective at given public parameters (to compare fitters on equal terms)."""
    form = get_form(form) if isinstance(form, str) else form
    objective = check_objective(objective, delta)
    X, y, w = validate_data(form, X, y, weights)
    pred = form.predict(params, X)
    r = (np.log(pred) - np.log(y)) if is_log(objective) else pred - y
    per = rho(r, objective, delta)
    return float(np.sum(per if w is None else w * per))
