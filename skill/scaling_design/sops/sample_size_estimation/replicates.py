"""Replicates per cell of a benchmark grid, from the replicate spread.

Each cell of an inference grid is measured r times; its summary (the median, or the mean) has
a t interval whose relative half-width is t(1 - alpha/2, r - 1) x k x cv / sqrt(r), with cv the
run-to-run coefficient of variation of the cell's metric and k = 1 for the mean, sqrt(pi/2) for
the median of normal data. Given r it reports the precision r buys; given none, the smallest r
whose half-width is within target_relative_error.
"""
from __future__ import annotations

import math

from scipy.special import stdtrit  # the t quantile; scipy.stats costs 0.5 s to import

from ... import knowledge
from ..design_matrix_construction import NamedValue as DefaultUsed, StepWarning
from .classical import _margin, _with_margin
from .models import MAX_REPLICATES, NOISE_MULTIPLIERS, Input, Output, PrecisionSensitivityRow, SampleSizeResult

__all__ = ["_replicate_precision", "half_width"]


def half_width(replicates: int, cv: float, alpha: float, sd_factor: float) -> float:
    """Relative half-width of the (1 - alpha) t interval of a cell's summary over `replicates` runs."""
    return float(stdtrit(replicates - 1, 1.0 - alpha / 2.0)) * sd_factor * cv / math.sqrt(replicates)


def _cap(inp: Input) -> int:
    """max_replicates when given; otherwise the cap (its default of 5 is the fit-precision curve's)."""
    return inp.max_replicates if "max_replicates" in inp.model_fields_set else MAX_REPLICATES


def _needed(cv: float, inp: Input, sd_factor: float) -> int | None:
    for r in range(2, _cap(inp) + 1):
        if half_width(r, cv, inp.alpha, sd_factor) <= inp.target_relative_error:
            return r
    return None


def _sensitivity(inp: Input, cv: float, chosen: int, sd_factor: float, margin: float) -> list[PrecisionSensitivityRow]:
    rows = []
    for m in NOISE_MULTIPLIERS:
        r = _needed(cv * m, inp, sd_factor)
        rows.append(PrecisionSensitivityRow(
            noise_multiplier=m, noise=cv * m, replicates=r,
            runs=None if r is None else _with_margin(r * inp.n_cells, margin),
            error_at_chosen=half_width(chosen, cv * m, inp.alpha, sd_factor),
            meets_target_at_chosen=half_width(chosen, cv * m, inp.alpha, sd_factor) <= inp.target_relative_error,
            method="closed form (t interval)"))
    return rows


def _replicate_precision(inp: Input) -> Output:
    table = knowledge.load("statistics")["replicate_precision"]
    defaults: list[DefaultUsed] = []
    warnings: list[StepWarning] = []
    cv = inp.cv
    if cv is None:
        cv = float(table["cv"])
        defaults.append(DefaultUsed(name="cv", value=cv, source=table["source"]))
    sd_factor = float(table["median_sd_factor"]) if inp.statistic == "median" else 1.0
    margin = _margin(inp, knowledge.load("statistics"), defaults)
    if inp.runs_per_group is not None:
        solved_for, r = "precision", inp.runs_per_group
    else:
        solved_for, r = "replicates", _needed(cv, inp, sd_factor)
    met = r is not None and half_width(r, cv, inp.alpha, sd_factor) <= inp.target_relative_error
    if r is None:
        r = _cap(inp)
        warnings.append(StepWarning(code="target_not_met", severity="warning", message=(
            f"no replicate count up to max_replicates = {r} gives a {1 - inp.alpha:.0%} half-width "
            f"within {inp.target_relative_error:.1%} at cv = {cv:g}: raise max_replicates (cap {MAX_REPLICATES}) "
            "or accept a wider interval")))
    elif not met:
        warnings.append(StepWarning(code="target_not_met", severity="info", message=(
            f"{r} replicates per cell give +-{half_width(r, cv, inp.alpha, sd_factor):.1%} "
            f"({1 - inp.alpha:.0%} interval), wider than the {inp.target_relative_error:.1%} asked; "
            f"{_needed(cv, inp, sd_factor) or 'more than ' + str(_cap(inp))} would meet it")))
    width = half_width(r, cv, inp.alpha, sd_factor)
    total = r * inp.n_cells
    result = SampleSizeResult(min_per_group=r, total_runs=total, with_safety_margin=_with_margin(total, margin),
                              per_group_exact=float(r), power=None, effect_size=None, target_met=met)
    return Output(
        design_type="replicate_precision", solved_for=solved_for,
        missing=[] if inp.runs_per_group is not None else ["runs_per_group"],
        parameters={"cv": cv, "statistic": inp.statistic, "sd_factor": sd_factor, "alpha": inp.alpha,
                    "level": 1 - inp.alpha, "n_cells": inp.n_cells, "target_relative_error": inp.target_relative_error,
                    "relative_half_width": width, "failed_run_margin": margin},
        result=result, sensitivity=[], fit_precision=None,
        precision_sensitivity=_sensitivity(inp, cv, r, sd_factor, margin),
        assumptions=[f"replicates of a cell are independent (a fresh server start or a cache reset between them) with "
                     f"run-to-run coefficient of variation {cv:g}",
                     f"the {inp.statistic} of each cell is summarised with a t interval"
                     + (" (the median's sd is sqrt(pi/2) = 1.25 times the mean's for normal data)"
                        if inp.statistic == "median" else "")],
        recommendations=[f"{r} replicates per cell x {inp.n_cells} cells = {total} benchmarks "
                         f"({result.with_safety_margin} with the failed-run margin) give each cell's {inp.statistic} "
                         f"+-{width:.1%} at {1 - inp.alpha:.0%}",
                         "measure cv on a pilot cell first (its replicates' sd / mean) and call again with it"],
        defaults_used=defaults, warnings=warnings, alpha_adjusted=None)
