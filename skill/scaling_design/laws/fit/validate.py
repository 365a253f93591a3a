"""Checks on the data, made once before any computation."""
from __future__ import annotations

import numpy as np

from ..forms import LawForm
from ..results import LawInputError

__all__ = ["validate_data", "VALUE_RANGE"]

VALUE_RANGE = (1e-30, 1e30)  # scales and losses outside it overflow products like 6ND or powers like N^-alpha


def validate_data(form: LawForm, X, y, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check the data once, up front; raise LawInputError naming the field."""
    try:
        X = np.asarray(X, float)
        y = np.asarray(y, float)
    except (TypeError, ValueError) as exc:
        raise LawInputError("data", f"values must be numbers; {exc}") from None
    if X.ndim == 1 and len(form.inputs) == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != len(form.inputs):
        raise LawInputError("X", f"form {form.name!r} needs columns {list(form.inputs)}; got an array of shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise LawInputError("loss", f"must be one value per run ({X.shape[0]} runs); got shape {y.shape}")
    columns = dict(zip(form.inputs, X.T)) | {"loss": y}
    for name, col in columns.items():
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            raise LawInputError(name, f"{name} has {bad.size} non-finite values (NaN or inf) at rows {bad[:5].tolist()}; remove or fix those runs")
        bad = np.flatnonzero(col <= 0)
        if bad.size:
            raise LawInputError(name, f"{name} must be > 0 (power laws work in log space); got {float(col[bad[0]])!r} at rows {bad[:5].tolist()}")
        bad = np.flatnonzero((col < VALUE_RANGE[0]) | (col > VALUE_RANGE[1]))
        if bad.size:
            raise LawInputError(name, f"{name} must lie in [{VALUE_RANGE[0]:g}, {VALUE_RANGE[1]:g}] (the range the fitter "
                                      f"represents without overflow); got {float(col[bad[0]])!r} at rows {bad[:5].tolist()}")
    if X.shape[0] < form.n_params:
        raise LawInputError("runs", f"form {form.name!r} has {form.n_params} parameters {list(form.param_names)} and needs at least that many runs; got {X.shape[0]}")
    for name, col in zip(form.inputs, X.T):
        if name == "U":
            continue
        if np.unique(col).size < 2:
            raise LawInputError(name, f"{name} has a single distinct scale ({col[0]:.4g}); a law in {name} needs runs at 2 or more scales, ideally 4-8 spanning 1-2 decades")
    w = None
    if weights is not None:
        w = np.asarray(weights, float)
        if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
            raise LawInputError("weights", f"weights must be one finite value >= 0 per run (not all zero); got shape {w.shape}")
    return X, y, w
