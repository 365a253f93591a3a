"""Refits of many data sets on one design (Monte Carlo studies, bootstrap resamples).

What does not change between the data sets is made once: the start grid and the basis at
every grid point, cut to the GRID_KEEP starts that rank best on reference losses (the truth's
for a simulation, the full data's for a bootstrap). Each data set is polished from warm starts
(the truth, or the full-data optimum); the global search stays: the kept grid starts are
projected on the new losses and polished too when one beats the warm optimum (so the result
is never worse than any of them) or the warm polish did not converge. How many starts ran is
returned with each refit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..forms import LawForm, as_design, get_form
from ..objectives import DEFAULT_DELTA, check_objective
from .fitter import AGREE_RTOL
from .polish import STOPPED, Polisher
from .starts import StartGrid

__all__ = ["Refit", "Refitter", "GRID_KEEP"]

# Grid starts kept for the refits when reference losses are given (the truth's, or the full data's).
# Measured on the joint law's 169-point grid: the best start of each of 200 simulated data sets of
# a 30-run design ranked at most 6th on the truth's losses, and of 200 bootstrap resamples of
# Hoffmann's 240 runs at most 11th on the full data's; projecting all 169 costs about a polish.
GRID_KEEP = 16

_QUIET = dict(over="ignore", divide="ignore", invalid="ignore", under="ignore")


@dataclass(frozen=True)
class Refit:
    values: np.ndarray     # public parameters (NaN when no start gave a finite objective)
    converged: bool
    objective: float
    n_starts: int          # polishes run: warm starts plus the grid starts that beat them
    stopped: bool = False  # the deadline stopped a polish: the refit is unfinished


class Refitter:
    """The fitter prepared for one design: refit(y, warm) for each new set of losses."""

    def __init__(self, form: LawForm | str, X, *, objective: str = "huber-log", delta: float = DEFAULT_DELTA,
                 grid_starts: int = 1, reference=None, weights=None):
        self.form = get_form(form) if isinstance(form, str) else form
        self.X = as_design(self.form, X)
        self.objective, self.delta = check_objective(objective, delta), delta
        grid = StartGrid(self.form, self.X)
        self.n_grid = len(grid)
        if reference is not None:  # keep the starts that rank best on losses like the ones to come
            reference = np.asarray(reference, float)
            pol = Polisher(self.form, self.X, reference, weights, self.objective, delta)
            best = grid.best(GRID_KEEP, reference, weights, self.objective, pol)
            grid = best if len(best) else grid  # no start fits the reference: keep them all
        self.grid = grid
        self.grid_starts = grid_starts

    def refit(self, y, warm: list, *, weights=None, rows: np.ndarray | None = None,
              deadline: float | None = None) -> Refit:
        """Fit losses y (at the design's runs, or at runs `rows` of it) from the warm starts
        (public parameter arrays) and the grid starts that beat them; stopped past the deadline."""
        X, grid = (self.X, self.grid) if rows is None else (self.X[rows], self.grid.resampled(rows))
        y = np.asarray(y, float)
        if not (np.all(np.isfinite(y)) and np.all(y > 0)):
            return Refit(np.full(self.form.n_params, np.nan), False, float("nan"), 0)
        pol = Polisher(self.form, X, y, weights, self.objective, self.delta)
        with np.errstate(**_QUIET):
            sols = [pol.polish(pol.to_z(self.form.internal(np.asarray(s, float))), deadline=deadline) for s in warm]
            values = [pol.value(s.x) for s in sols]
            if not any(s.status == STOPPED for s in sols):
                sols, values = self._grid_polish(pol, grid, y, weights, sols, values, deadline)
        if any(s.status == STOPPED for s in sols):
            return Refit(np.full(self.form.n_params, np.nan), False, float("nan"), len(sols), stopped=True)
        finite = np.isfinite(values)
        if not finite.any():
            return Refit(np.full(self.form.n_params, np.nan), False, float("nan"), len(sols))
        best = int(np.nanargmin(values))
        ok, _ = pol.converged(sols[best])
        return Refit(self.form.public(pol.from_z(sols[best].x)), ok, float(values[best]), len(sols))

    def _grid_polish(self, pol: Polisher, grid: StartGrid, y, weights, sols: list, values: list, deadline):
        """Polish the best grid starts that beat the warm optimum (on the runs the grid uses),
        or the best `grid_starts` when no warm start converged."""
        g_values, g_internal, _ = grid.project(y, weights, self.objective, pol)
        order = [i for i in np.argsort(g_values) if np.isfinite(g_values[i])][:self.grid_starts]
        best = int(np.nanargmin(values)) if np.isfinite(values).any() else None
        warm_ok = best is not None and pol.converged(sols[best])[0]
        bar = pol.value_on(sols[best].x, grid.rows) if warm_ok else np.inf
        for i in order:
            if warm_ok and not g_values[i] < bar * (1 - AGREE_RTOL):
                break
            sols.append(pol.polish(pol.to_z(g_internal[i]), deadline=deadline))
            values.append(pol.value(sols[-1].x))
        return sols, np.array(values, float)
