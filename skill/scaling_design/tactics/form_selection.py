"""statistical_method_selection given finished runs: choose the form and objective by the
rolling-extrapolation rule of laws.select (the same rule as fit_scaling_law's form 'auto')."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..laws.forms import candidate_forms
from ..laws.select import select_form

__all__ = ["select_from_runs"]

_INPUTS = ("N", "D", "U", "x")


def _arrays(runs: list[dict]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    keys = set.intersection(*(set(r) for r in runs))
    if "loss" not in keys:
        raise InputError("runs", "every run needs a loss (and N and D, or x)")
    if {"N", "D"} <= keys:
        inputs = ("N", "D", "U") if "U" in keys else ("N", "D")
    elif "x" in keys:
        inputs = ("x",)
    else:
        raise InputError("runs", f"runs need N and D (joint forms) or x (one-axis forms); found {sorted(keys)}")
    try:
        X = np.array([[float(r[k]) for k in inputs] for r in runs])
        y = np.array([float(r["loss"]) for r in runs])
    except (TypeError, ValueError):
        raise InputError("runs", "run values must be numbers") from None
    if not (np.all(np.isfinite(X)) and np.all(X > 0) and np.all(np.isfinite(y)) and np.all(y > 0)):
        raise InputError("runs", "run scales and losses must be finite numbers > 0")
    return X, y, inputs


def select_from_runs(runs: list[dict]) -> dict:
    """The scored table of candidates and the choice, as plain data."""
    X, y, inputs = _arrays(runs)
    try:
        sel = select_form(candidate_forms(set(inputs)), X, y)
    except ValueError as exc:
        raise InputError("runs", str(exc)) from None
    return {
        "chosen": {"form": sel.best.form.name, "objective": sel.best.objective, "heldout_error": sel.best.heldout_error},
        "tie": sel.tie, "competitive": [c.name for c in sel.competitive], "fold_cuts": sel.fold_cuts,
        "dropped_cuts": sel.dropped_cuts,
        "candidates": [{"form": c.form.name, "objective": c.objective,
                        "heldout_error": None if c.skipped else c.heldout_error, "heldout_errors": c.heldout_errors,
                        "skipped": c.skipped} for c in sorted(sel.candidates, key=lambda c: c.heldout_error)],
    }
