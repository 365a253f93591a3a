"""The run table built, exported and warned about."""
from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from ... import knowledge
from ...errors import InputError
from ...limits import check, check_cap, product_capped
from .classical import MAX_LHS_PAIRWISE, PAIRWISE_CRITERIA, _classical, _coded_to_value
from .grids import _costs, _expand, _factor, _scaling
from .models import (
    CLASSICAL, CostSummary, Input, IsoflopBudget, LAW_PARAMS, MAX_RUNS, NamedValue, Output, StepWarning)
from .properties import _properties, row_types


# ---------------------------------------------------------------------------------------------
# export

def to_csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c])
                         for c in columns])
    return buf.getvalue()


def _base_runs(inp: Input) -> tuple[int | None, str]:
    """Design points before replicates, in exact integers capped just past MAX_RUNS (None when only
    the built design knows), and the field that sets them."""
    sizes = [len(f.levels) for f in inp.factors]
    k = len(sizes)
    if inp.design == "full_factorial":
        return (product_capped(sizes, MAX_RUNS) if sizes else 0), "factors"
    if inp.design == "n_by_d_grid":
        n = len(_factor(inp, "N").levels) if _factor(inp, "N") else 0
        d = len(_factor(inp, "D").levels) if _factor(inp, "D") else len(inp.tokens_per_param)
        return n * d, "factors"
    if inp.design == "inference_grid":
        axes = [len(f.levels) for f in inp.factors if f.name in ("batch_size", "seq_len", "N")]
        return (product_capped(axes, MAX_RUNS) if axes else 0), "factors"
    if inp.design == "isoflop":
        return len(inp.compute_budgets) * (len(inp.tokens_per_param) or inp.models_per_budget or 7), "compute_budgets"
    if inp.design == "central_composite":  # 2^k corners, 2k axial points, centre points in both blocks
        return 2 ** k + 2 * k + 2 * inp.center_points, "factors"
    if inp.design == "box_behnken":
        return 2 * k * (k - 1) + inp.center_points, "factors"
    if inp.design == "latin_hypercube":
        return (inp.samples or 10 * k), "samples" if inp.samples else "factors"
    return None, "factors"


def _check_estimate(inp: Input) -> None:
    base, field = _base_runs(inp)
    if base is None:
        return
    what = f"the {inp.design} design's points"
    check_cap(field, base, MAX_RUNS, what, "use fewer levels or factors", "max_runs")
    check_cap("replicates", base * inp.replicates, MAX_RUNS, f"{base:,} points x {inp.replicates} replicates",
              "use fewer replicates, levels or factors", "max_runs")
    if inp.design == "latin_hypercube" and inp.lhs_criterion in PAIRWISE_CRITERIA:
        check_cap("samples", base, MAX_LHS_PAIRWISE, f"a {inp.lhs_criterion} Latin hypercube's samples",
                  "its criterion compares every pair of points; use fewer samples or lhs_criterion 'center'")


def _check_cap(n: int, field: str = "replicates") -> None:
    check_cap(field, n, MAX_RUNS, "the design's runs", "use fewer levels, factors or replicates", "max_runs")


def run(inp: Input) -> Output:
    warnings: list[StepWarning] = []
    defaults: list[NamedValue] = []
    _check_estimate(inp)
    iso: list[IsoflopBudget] = []
    peak, mfu, mfu_source = knowledge.accelerator(inp.hardware, inp.mfu)
    if mfu_source is not None:
        defaults.append(NamedValue(name="mfu", value=mfu, source=mfu_source))

    if inp.design in CLASSICAL:
        base_values, levels, model, terms, info = _classical(inp, warnings, defaults)
        names = [f.name for f in inp.factors]
        points = [dict(zip(names, row)) for row in base_values]
        n_center = 0
        if inp.center_points and inp.design not in ("central_composite", "box_behnken"):
            non_numeric = [f.name for f in inp.factors if not f.numeric]
            if non_numeric:
                raise InputError("center_points", f"center_points need every factor numeric; {non_numeric} are "
                                                  "categorical")
            lh = {f.name: (min(levels[f.name]), max(levels[f.name])) for f in inp.factors}
            centre = {f.name: float(_coded_to_value(f, np.array(0.0), lh[f.name])) for f in inp.factors}
            points += [dict(centre) for _ in range(inp.center_points)]
            n_center = info["added_center"] = inp.center_points
            base_values = base_values + [[centre[n] for n in names] for _ in range(inp.center_points)]
            if info.get("coded") is not None:  # the factorial part keeps its own matrix for the aliasing
                info["coded_all"] = np.vstack([info["coded"], np.zeros((inp.center_points, len(names)))])
        elif inp.design in ("central_composite", "box_behnken"):
            n_center = int(np.sum(np.all(info["continuous"] == 0, axis=1)))
        for p in points:
            p.update(inp.fixed)
        law_model = None
    else:
        if inp.center_points:
            warnings.append(StepWarning(code="center_points_ignored", severity="info",
                                        message="center_points apply to classical designs; a scaling grid was built"))
        points, levels = _scaling(inp, defaults, warnings, iso)
        for p in points:
            for k, v in inp.fixed.items():
                p.setdefault(k, v)
        names = list(levels)
        base_values = [[p.get(n) for n in names] for p in points]
        info = {}
        n_center = 0
        law_model = inp.design
    _check_cap(len(points) * inp.replicates)
    check("building the design points")
    rows = _expand(points, inp)
    types = row_types(inp, info, len(points), info.get("added_center", 0))
    if types is not None:
        for r in rows:
            r["row_type"] = types[r["point"] - 1]
    rule = _costs(rows, inp, levels, peak, mfu, warnings)
    check("costing the runs")

    if law_model is not None:
        terms = LAW_PARAMS.get(law_model)
        model = {3: "saturating power law L = E + A x^-alpha", 5: "joint law L = E + A/N^alpha + B/D^beta"}.get(
            terms, "one measurement per setting (no law fitted)")
        terms = terms or 0
    props = _properties(inp, base_values, names, info, model, terms, rows, list(points[0]) if points else [],
                        n_center * inp.replicates, warnings)
    if inp.design == "isoflop":  # sizes differ per budget by construction: no factorial structure to check
        props.orthogonal, props.max_abs_correlation, props.balanced = None, None, None
    _scaling_warnings(inp, rows, points, warnings)
    check("the design's properties")

    lead = ["run_id", "run_order", "block", "replicate", "point", "seed"] + (["row_type"] if types else [])
    factor_cols = [c for c in names if c not in lead]
    extra = [c for c in ("N", "D", "C", "tokens_per_param", "flops", "gpu_hours", "expected_ttft_s",
                         "expected_tpot_s", "expected_throughput") if c not in factor_cols and any(c in r for r in rows)]
    fixed_cols = [c for c in inp.fixed if c not in factor_cols + extra]
    columns = lead + factor_cols + extra + fixed_cols
    clean = [{c: _plain(r.get(c)) for c in columns} for r in rows]
    template_cols = columns + [c for c in inp.result_columns if c not in columns]
    template_rows = [dict(r, **{c: None for c in inp.result_columns}) for r in clean]
    flops = [f for f in (r.get("C", r.get("flops")) for r in clean) if f is not None] if rule is not None else []
    hours = [r["gpu_hours"] for r in clean if r.get("gpu_hours") is not None]
    fail = knowledge.load("designs")["failed_runs"]
    return Output(
        design=inp.design, n_runs=len(clean), columns=columns, runs=clean, csv=to_csv(clean, columns),
        results_template_csv=to_csv(template_rows, template_cols), result_columns=list(inp.result_columns),
        factor_levels={k: [_plain(v) for v in vals] for k, vals in levels.items()}, properties=props,
        cost=CostSummary(flops_rule=rule, total_flops=float(np.sum(flops)) if flops else None,
                         max_run_flops=float(np.max(flops)) if flops else None,
                         total_gpu_hours=float(np.sum(hours)) if hours else None, hardware=inp.hardware,
                         peak_flops=peak, mfu=mfu, failed_run_allowance=float(fail["allowance"])),
        isoflop=iso, seeds_distinct=len({r["seed"] for r in clean}) == len(clean), seed=inp.seed,
        defaults_used=defaults, warnings=warnings)


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def _scaling_warnings(inp: Input, rows: list[dict], points: list[dict], warnings: list[StepWarning]) -> None:
    if inp.design in ("n_by_d_grid", "isoflop"):
        ratios = {round(float(np.log(p["D"] / p["N"])), 6) for p in points if "N" in p and "D" in p}
        if len(ratios) < 2:
            warnings.append(StepWarning(code="fixed_tokens_per_param", severity="warning",
                                        message="every run has the same D/N: alpha and beta cannot be separated; "
                                                "vary tokens per parameter (e.g. 5, 20, 80)"))
    if inp.design == "one_axis_sweep" and len(points) < 4:
        warnings.append(StepWarning(code="few_scale_points", severity="warning",
                                    message=f"{len(points)} scale points; a power-law fit needs at least 4 (6-8 "
                                            "preferred)"))
    if inp.design == "isoflop":
        per_budget = len(points) // max(1, len(set(p["C"] for p in points)))
        if per_budget < 6:
            warnings.append(StepWarning(code="few_points_per_isoflop", severity="warning",
                                        message=f"{per_budget} model sizes per budget; the Budget Gate asks 6-10 and "
                                                "a parabola fit needs at least 5"))
