"""Variable-projection starts: for each grid point of the nonlinear parameters, the exact
non-negative amplitudes.

The basis at a grid point depends on the design (the runs' inputs) only, not on the losses,
so a design that is refitted many times (Monte Carlo, bootstrap) evaluates it once. Large
designs are projected on an evenly spread subset of their runs: the grid only ranks starts,
and the polish that follows uses every run.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from ..forms import LawForm
from ..objectives import is_log, rho

__all__ = ["StartGrid", "GRID_RUNS"]

GRID_RUNS = 4096         # runs the grid is projected on; a larger design uses an evenly spread subset
KEEP_FLOATS = 2**22      # bases kept for reuse up to 32 MB; beyond, evaluated in chunks as needed
CHUNK_FLOATS = 2**21     # bases evaluated at once (16 MB) when they are not kept
WELL_POSED = 1e14        # largest condition number of the normal equations solved directly
SUBSET_AMPLITUDES = 4    # up to this many amplitudes, non-negative least squares by enumerating subsets

_QUIET = dict(over="ignore", divide="ignore", invalid="ignore", under="ignore")


class StartGrid:
    """The start grid of a form on a design, with the basis at every grid point.

    rows: the runs the grid is projected on (None: every run)."""

    def __init__(self, form: LawForm, X: np.ndarray, grid: np.ndarray | None = None):
        self.form, self.design = form, X
        self.rows = None if X.shape[0] <= GRID_RUNS else np.unique(np.linspace(0, X.shape[0] - 1, GRID_RUNS).round().astype(int))
        self.X = X if self.rows is None else X[self.rows]
        with np.errstate(**_QUIET):
            self.grid = form.start_grid(X) if grid is None else grid
        self._kept = self._bases(self.grid) if self._floats(len(self.grid)) <= KEEP_FLOATS else None

    def __len__(self) -> int:
        return len(self.grid)

    def _floats(self, n_grid: int) -> int:
        return n_grid * self.X.shape[0] * max(len(self.form.amplitudes), 1)

    def _bases(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(**_QUIET):
            phis = self.form.bases(grid, self.X)[0]                                          # (G, n, k)
            offsets = np.zeros((len(grid), self.X.shape[0])) if self.form.offset is None else \
                np.stack([self.form.offset_values(theta, self.X) for theta in grid])          # (G, n)
        return phis, offsets

    def _chunks(self):
        if self._kept is not None:
            yield (self.grid, *self._kept)
            return
        step = max(1, CHUNK_FLOATS // self._floats(1))
        for i in range(0, len(self.grid), step):
            yield (self.grid[i:i + step], *self._bases(self.grid[i:i + step]))

    def resampled(self, idx: np.ndarray) -> "StartGrid":
        """The same grid on runs `idx` of the design (a bootstrap resample), reusing the kept bases
        when the grid uses every run."""
        if self.rows is not None or self._kept is None:
            return StartGrid(self.form, self.design[idx], self.grid)
        out = StartGrid.__new__(StartGrid)
        out.form, out.grid, out.rows = self.form, self.grid, None
        out.design = out.X = self.design[idx]
        out._kept = (self._kept[0][:, idx], self._kept[1][:, idx])
        return out

    def project(self, y: np.ndarray, w: np.ndarray | None, objective: str, polisher) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(objective value, internal parameter vector, grid row) of every grid start with a finite fit, for losses y.

        Weighted least squares on the loss (minus the form's offset), with relative-error
        weights for log objectives (a first-order match to log residuals); the objective is
        the polisher's, on the runs the grid uses."""
        if self.rows is not None:
            y, w = y[self.rows], None if w is None else w[self.rows]
        row_w = np.ones_like(y) if w is None else np.sqrt(w)
        if is_log(objective):
            row_w = row_w / y
        values, starts, index, first = [], [], [], 0
        with np.errstate(**_QUIET):
            for grid, phis, offsets in self._chunks():
                preds, internal, found = _project(grid, phis, offsets, y, row_w)
                values.append(polisher.values_of_predictions(preds, rows=self.rows))
                starts.append(internal)
                index.append(found + first)
                first += len(grid)
        return np.concatenate(values), np.concatenate(starts), np.concatenate(index)

    def project_many(self, Y: np.ndarray, objective: str, delta: float, W: np.ndarray | None = None) -> np.ndarray | None:
        """The objective of every grid start for each row of losses Y (S, n), with per-run weights W (S, n):
        (S, G), inf where a start has no finite fit; None when the bases are not kept (a large design:
        project one by one)."""
        if self._kept is None:
            return None
        phis, offsets = self._kept
        W = np.ones_like(Y) if W is None else W
        Y, W = (Y, W) if self.rows is None else (Y[:, self.rows], W[:, self.rows])
        S, (G, n, k) = len(Y), phis.shape
        row_w = np.sqrt(W) / Y if is_log(objective) else np.sqrt(W)
        values = np.full(S * G, np.inf)
        with np.errstate(**_QUIET):
            b = ((Y[:, None, :] - offsets[None]) * row_w[:, None, :]).reshape(S * G, n)
            if k == 0:
                preds = np.broadcast_to(offsets[None], (S, G, n)).reshape(S * G, n)
                finite = np.all(np.isfinite(preds), axis=1)
            else:
                A = (phis[None] * row_w[:, None, :, None]).reshape(S * G, n, k)
                finite = np.all(np.isfinite(A), axis=(1, 2)) & np.all(np.isfinite(b), axis=1)
                amps = np.zeros((S * G, k))
                amps[finite] = _amplitudes(A[finite], b[finite])
                finite &= np.any(amps > 0, axis=1)
                preds = (np.tile(phis, (S, 1, 1, 1)).reshape(S * G, n, k) @ amps[..., None])[..., 0] \
                    + np.tile(offsets, (S, 1))
            target = np.repeat(np.log(Y) if is_log(objective) else Y, G, axis=0)
            r = (np.log(np.maximum(preds, 1e-300)) if is_log(objective) else preds) - target
            values[finite] = np.sum(np.repeat(W, G, axis=0)[finite] * rho(r[finite], objective, delta), axis=1)
        values[~np.isfinite(values)] = np.inf
        return values.reshape(S, G)

    def best(self, k: int, y: np.ndarray, w: np.ndarray | None, objective: str, polisher) -> "StartGrid":
        """The grid cut to its k best starts for losses y (the starts a refit of nearby losses needs)."""
        values, _, index = self.project(y, w, objective, polisher)
        order = index[np.argsort(values, kind="stable")][:k]
        out = StartGrid.__new__(StartGrid)
        out.form, out.design, out.rows, out.X, out.grid = self.form, self.design, self.rows, self.X, self.grid[order]
        out._kept = None if self._kept is None else (self._kept[0][order], self._kept[1][order])
        return out


def _project(grid, phis, offsets, y, row_w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions, internal vectors (amplitudes then grid values) and indices of the grid points with
    a finite, non-zero amplitude fit. Solved for all points at once by the normal equations; those whose
    solution has a negative amplitude are re-solved as non-negative least squares."""
    A = phis * row_w[None, :, None]
    b = (y[None, :] - offsets) * row_w[None, :]
    finite = np.all(np.isfinite(A), axis=(1, 2)) & np.all(np.isfinite(b), axis=1)
    index = np.flatnonzero(finite)
    if not finite.all():
        A, b, grid, phis, offsets = A[finite], b[finite], grid[finite], phis[finite], offsets[finite]
    if A.shape[2] == 0:  # no amplitudes: every finite start stands as it is
        return offsets, grid, index
    amps = _amplitudes(A, b)
    keep = np.any(amps > 0, axis=1)
    if not keep.all():
        amps, grid, phis, offsets, index = amps[keep], grid[keep], phis[keep], offsets[keep], index[keep]
    preds = (phis @ amps[..., None])[..., 0] + offsets
    return preds, np.concatenate([amps, grid], axis=1), index


def _amplitudes(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least-squares amplitudes for each of the G problems A (G, n, k), b (G, n).

    The normal equations are solved with their columns scaled to unit diagonal (which keeps the
    minimiser and its signs, and makes the condition number a test of the basis, not of its units)."""
    At = A.transpose(0, 2, 1)
    AtA, Atb = At @ A, (At @ b[..., None])[..., 0]
    diag = np.einsum("gkk->gk", AtA)
    usable = np.all(diag > 0, axis=1)
    scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    AtA = AtA * scale[:, :, None] * scale[:, None, :]
    Atb = Atb * scale
    amps = np.full(Atb.shape, -1.0)
    well_posed = usable & (np.linalg.cond(AtA) < WELL_POSED)
    amps[well_posed] = np.linalg.solve(AtA[well_posed], Atb[well_posed][..., None])[..., 0]
    negative = np.any(amps < 0, axis=1)
    small = negative & well_posed if Atb.shape[1] <= SUBSET_AMPLITUDES else np.zeros_like(negative)
    if small.any():
        amps[small] = _nnls_by_subsets(AtA[small], Atb[small])
    amps = amps * scale
    for g in np.flatnonzero(negative & ~small):
        amps[g] = nnls(A[g], b[g])[0]
    return amps


def _nnls_by_subsets(AtA: np.ndarray, Atb: np.ndarray) -> np.ndarray:
    """Non-negative least squares from the normal equations (G, k, k), (G, k), for small k: the
    minimiser is the unconstrained solution on one subset of the amplitudes (the rest zero), the
    feasible one of least objective; every subset is solved for all G problems at once."""
    G, k = Atb.shape
    best, best_value = np.zeros((G, k)), np.zeros(G)  # all amplitudes zero: objective 0 (relative to |b|^2)
    for mask in range(1, 2**k):
        s = np.array([(mask >> j) & 1 for j in range(k)], bool)
        x = np.linalg.solve(AtA[:, s][:, :, s], Atb[:, s][..., None])[..., 0]
        value = -np.sum(x * Atb[:, s], axis=1)  # x'AtA x - 2 x'Atb at the solution
        better = np.all(x >= 0, axis=1) & (value < best_value)
        candidate = np.zeros((G, k))
        candidate[:, s] = x
        best[better], best_value[better] = candidate[better], value[better]
    return best
