"""isoflop_analysis: approach 2 per budget, its bias for this grid, the joint fit beside it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ...laws import allocation, isoflop
from ...laws.bootstrap import bootstrap as joint_bootstrap
from ...laws.fit import FitResult, fit
from ...laws.forms import get_form
from ..run_rows import numeric_column, roles, source_rows
from ..runs_io import ALIASES, from_rows
from . import assess
from .models import Band, BudgetFit, Diagnostic, Frontier, Input, Output

BUDGET_COLUMNS = ("budget", "compute_budget", "isoflop_budget", "budget_flops")
MAX_BOOTSTRAP_CELLS = 20_000_000   # replicates x runs of the parabola bootstrap (about 160 MB per array)
FEW_POINTS = 5   # Hoffmann et al. 2022 fit 9 budgets with many sizes each; with 3 points a parabola is often concave


@dataclass(frozen=True)
class Grid:
    """The usable budgets: their parabolas, runs and the bootstrap of their vertices."""

    parabolas: list[isoflop.Parabola]
    points: list[tuple[np.ndarray, np.ndarray]]
    losses: list[np.ndarray]
    compute: np.ndarray
    log_vertex: np.ndarray
    boot_vertex: np.ndarray | None      # (B, k) wild-bootstrap vertices, rows with a concave replicate dropped
    boot_curv: np.ndarray | None


def _band(values: np.ndarray, level: float) -> Band | None:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    tail = (1 - level) / 2
    lo, hi = np.quantile(values, [tail, 1 - tail])
    return Band(low=float(lo), high=float(hi), level=level)


def _read(inp: Input):
    rows, source, quote = source_rows([r.model_dump(exclude_none=True) for r in inp.runs] if inp.runs else None,
                                      inp.csv_text, inp.csv_path)
    table = from_rows(rows, get_form("chinchilla"), source, quote=quote)
    budget = numeric_column(rows, BUDGET_COLUMNS, "budget", quote)
    loss = numeric_column(rows, ALIASES["loss"], "loss", quote)
    val_rows = np.flatnonzero((roles(rows) == "validation") & np.isfinite(loss))
    fit_budget = None if budget is None else budget[table.rows]
    val_budget = None if budget is None else budget[val_rows]
    return table, fit_budget, val_budget


def _groups(X: np.ndarray, budget: np.ndarray | None, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Budget label per run and each label's compute."""
    C = 6 * X[:, 0] * X[:, 1]
    if budget is not None and np.all(np.isfinite(budget)):
        values, labels = np.unique(budget, return_inverse=True)
        return labels.ravel(), values
    labels = isoflop.group_budgets(C, tol)
    return labels, np.array([np.exp(np.mean(np.log(C[labels == g]))) for g in range(labels.max() + 1)])


def _parabolas(X, y, labels, budgets, warnings: list[Diagnostic]):
    kept = []
    for g, C in enumerate(budgets):
        m = labels == g
        if len(np.unique(X[m, 0])) < isoflop.MIN_POINTS:
            warnings.append(Diagnostic(code="budget_too_few_sizes", severity="warning",
                                       message=f"the budget at C = {C:.3g} has {len(np.unique(X[m, 0]))} distinct model sizes; "
                                               f"a parabola needs {isoflop.MIN_POINTS}: excluded"))
            continue
        p = isoflop.fit_parabola(np.log(X[m, 0]), y[m], C)
        if p.n < FEW_POINTS:
            warnings.append(Diagnostic(code="few_points_per_budget", severity="info",
                                       message=f"the budget at C = {C:.3g} has {p.n} runs; use {FEW_POINTS} or more per budget"))
        if not p.convex:
            warnings.append(Diagnostic(code="concave_profile", severity="warning",
                                       message=f"the parabola at C = {C:.3g} opens downwards (no minimum): excluded from the power laws"))
        elif not p.inside:
            warnings.append(Diagnostic(code="vertex_outside_grid", severity="warning",
                                       message=f"the vertex at C = {C:.3g} lies outside the sizes run there: an extrapolated "
                                               "minimum; widen the grid towards it"))
        kept.append((p, (X[m, 0], X[m, 1]), y[m]))
    return kept


def _grid(kept, inp: Input, rng) -> Grid:
    n_runs = sum(k[0].n for k in kept)
    if inp.bootstrap * n_runs > MAX_BOOTSTRAP_CELLS:
        raise InputError("bootstrap", f"bootstrap x runs must be at most {MAX_BOOTSTRAP_CELLS:,} (the cap on the arrays the "
                                      f"parabola bootstrap holds); got {inp.bootstrap} x {n_runs}: lower bootstrap")
    usable = [k for k in kept if k[0].convex]
    if len(usable) < 2:
        raise InputError("runs", f"approach 2 needs at least 2 budgets with a convex parabola (>= {isoflop.MIN_POINTS} "
                                 f"model sizes each); got {len(usable)}: add budgets or sizes per budget")
    pars = [k[0] for k in usable]
    boot_v = boot_c = None
    if inp.bootstrap:
        boot_v, boot_c = isoflop.bootstrap_vertices(pars, [k[2] for k in usable], inp.bootstrap, rng)
        ok = np.all(np.isfinite(boot_v), axis=1)
        boot_v, boot_c = boot_v[ok], boot_c[ok]
    return Grid(pars, [k[1] for k in usable], [k[2] for k in usable], np.array([p.compute for p in pars]),
                np.array([p.log_vertex for p in pars]), boot_v, boot_c)


def _line_at(log_c: np.ndarray, log_v: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Slopes and ln N at the target of each row of vertices (B, k)."""
    slope, intercept = isoflop.lines(log_c, log_v)
    return slope, intercept + slope * np.log(target)


def _frontier(method: str, grid: Grid, log_v: np.ndarray, boot: np.ndarray | None, target: float, level: float) -> Frontier:
    log_c = np.log(grid.compute)
    slope, at = _line_at(log_c, log_v[None, :], target)
    slope_d, at_d = _line_at(log_c, (log_c - np.log(6.0) - log_v)[None, :], target)
    iv = {}
    if boot is not None and len(boot) >= 2:
        bs, bat = _line_at(log_c, boot, target)
        bsd, batd = _line_at(log_c, log_c - np.log(6.0) - boot, target)
        iv = {"exponent_a_interval": _band(bs, level), "exponent_b_interval": _band(bsd, level),
              "N_opt_interval": _band(np.exp(bat), level), "D_opt_interval": _band(np.exp(batd), level)}
    return Frontier(method=method, exponent_a=float(slope[0]), exponent_b=float(slope_d[0]), N_opt=float(np.exp(at[0])),
                    D_opt=float(np.exp(at_d[0])), **iv)


def _joint_frontier(res: FitResult, reps: np.ndarray | None, target: float, level: float) -> Frontier:
    exps = allocation.allocation_exponents(res.params)
    opt = allocation.compute_optimal(res.params, target)
    iv = {}
    if reps is not None:
        ex, ob = allocation.allocation_exponents(reps), allocation.compute_optimal(reps, target)
        iv = {"exponent_a_interval": _band(ex["a"], level), "exponent_b_interval": _band(ex["b"], level),
              "N_opt_interval": _band(ob["N_opt"], level), "D_opt_interval": _band(ob["D_opt"], level)}
    return Frontier(method="joint", exponent_a=float(exps["a"]), exponent_b=float(exps["b"]), N_opt=float(opt["N_opt"]),
                    D_opt=float(opt["D_opt"]), **iv)


def _joint(X, y, inp: Input, warnings: list[Diagnostic]) -> tuple[FitResult, np.ndarray | None]:
    res = fit("chinchilla", X, y)
    warnings.extend(Diagnostic(code=d.code, severity=d.severity, message=f"joint fit: {d.message}") for d in res.diagnostics)
    if not inp.joint_bootstrap:
        return res, None
    boot = joint_bootstrap(res, X, y, n_boot=inp.joint_bootstrap, seed=inp.seed, time_limit_s=inp.time_limit_s)
    warnings.extend(Diagnostic(code=d.code, severity=d.severity, message=f"joint bootstrap: {d.message}") for d in boot.diagnostics)
    return res, boot.values


def _bias(grid: Grid, params, target: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per replicate: ln(implied vertex / exact optimum) per budget (B, k), the bias at the target (B,), the exponent bias (B,)."""
    implied = isoflop.implied_vertices(params, grid.parabolas, grid.points)
    exact = isoflop.exact_log_optimum(params, grid.compute)
    slope, at = _line_at(np.log(grid.compute), implied, target)
    exact_t = isoflop.exact_log_optimum(params, np.array([target]))[:, 0]
    a = allocation.allocation_exponents(np.atleast_2d(_rows(params)))["a"]
    return implied - exact, at - exact_t, slope - a


def _rows(params) -> np.ndarray:
    return np.array([[params[k] for k in allocation.JOINT_ORDER]]) if isinstance(params, dict) else np.asarray(params)


def _budget_fits(grid_all, grid: Grid, res: FitResult, log_bias, bias_reps, level) -> list[BudgetFit]:
    usable = {id(p): i for i, p in enumerate(grid.parabolas)}
    out = []
    for p, (N, D), L in grid_all:
        i = usable.get(id(p))
        joint_opt = float(allocation.compute_optimal(res.params, p.compute)["N_opt"])
        if i is None:  # a concave budget: kept in the table, not in the power laws
            bias, vertex = float(isoflop.implied_vertices(res.params, [p], [(N, D)])[0, 0] - np.log(joint_opt)), None
        else:
            bias, vertex = float(log_bias[i]), float(np.exp(p.log_vertex))
        delta = p.log_vertex_interval(level)
        out.append(BudgetFit(
            compute=p.compute, n_runs=p.n, N_range=[float(N.min()), float(N.max())], convex=p.convex,
            vertex_inside_grid=p.inside, N_opt=vertex,
            N_opt_interval=_band(np.exp(grid.boot_vertex[:, i]), level) if (i is not None and grid.boot_vertex is not None) else None,
            N_opt_delta_interval=Band(low=float(np.exp(delta[0])), high=float(np.exp(delta[1])), level=level) if delta else None,
            D_opt=p.compute / (6 * vertex) if vertex else None, curvature=p.curvature,
            min_loss=p.min_loss if p.convex else None, joint_N_opt=joint_opt, approach2_bias=float(np.expm1(bias)),
            approach2_bias_interval=_band(np.expm1(bias_reps[:, i]), level) if (i is not None and bias_reps is not None) else None,
            approach2_vs_joint=vertex / joint_opt - 1 if vertex else None,
            points=[[float(a), float(b), float(c)] for a, b, c in zip(N, D, L)],
            parabola=[p.centre, *map(float, p.coef)]))
    return out


def _validation_groups(table, val_budget, inp: Input):
    if table.validation_X is None:
        return []
    labels, budgets = _groups(table.validation_X, val_budget, inp.budget_tolerance)
    return [(labels == g, C) for g, C in enumerate(budgets)]


def run(inp: Input) -> Output:
    table, fit_budget, val_budget = _read(inp)
    X, y = table.X, table.y
    warnings: list[Diagnostic] = []
    labels, budgets = _groups(X, fit_budget, inp.budget_tolerance)
    kept = _parabolas(X, y, labels, budgets, warnings)
    rng = np.random.default_rng(inp.seed)
    grid = _grid(kept, inp, rng)
    target = inp.target_compute or float(10 * grid.compute.max())
    res, reps = _joint(X, y, inp, warnings)
    log_bias, log_bias_t, exp_bias = (v[0] for v in _bias(grid, res.params, target))
    bias_reps = _bias(grid, reps, target) if reps is not None else None
    a2 = _frontier("approach2", grid, grid.log_vertex, grid.boot_vertex, target, inp.level)
    corrected = _frontier("approach2_bias_corrected", grid, grid.log_vertex - log_bias,
                          None if grid.boot_vertex is None else grid.boot_vertex - log_bias, target, inp.level)
    joint = _joint_frontier(res, reps, target, inp.level)
    frontiers = [a2, corrected, joint]
    curv_t = assess.curvature_at(grid.compute, np.array([p.curvature for p in grid.parabolas]), target)
    notes = table.notes + _notes(grid, target, inp)
    if float(np.log10(target / grid.compute.max())) > 2:
        warnings.append(Diagnostic(code="extrapolation_far", severity="warning",
                                   message=f"the target {target:.3g} FLOPs lies {np.log10(target / grid.compute.max()):.1f} decades "
                                           "beyond the largest budget; validate with a held-out larger budget"))
    return Output(
        n_runs=len(y), n_skipped=table.n_skipped, target_compute=target,
        budgets=_budget_fits(kept, grid, res, log_bias, None if bias_reps is None else bias_reps[0], inp.level),
        frontiers=frontiers, joint_params=res.params, joint_converged=res.converged,
        approach2_bias_at_target=float(np.expm1(log_bias_t)),
        approach2_bias_at_target_interval=_band(np.expm1(bias_reps[1]), inp.level) if bias_reps is not None else None,
        approach2_exponent_bias=float(exp_bias),
        agreement=assess.agreement(a2, corrected, joint, float(log_bias_t)),
        regret=assess.regrets(frontiers, res, reps, target, curv_t, inp.level),
        validation=assess.validate(table.validation_X, table.validation_y, _validation_groups(table, val_budget, inp),
                                   frontiers, res, target),
        bootstrap={"parabola_replicates": inp.bootstrap, "parabola_used": 0 if grid.boot_vertex is None else len(grid.boot_vertex),
                   "joint_replicates": inp.joint_bootstrap, "joint_used": 0 if reps is None else len(reps), "seed": inp.seed},
        warnings=warnings, notes=notes)


def _notes(grid: Grid, target: float, inp: Input) -> list[str]:
    return [
        "approach 2 (Hoffmann et al. 2022): per budget a least-squares parabola of loss in ln N, its vertex as N_opt(C), "
        "then ln N_opt and ln D_opt (D = C / 6N) fitted linearly in ln C",
        "joint fit: E + A/N^alpha + B/D^beta on every run, summed Huber on log loss (delta 1e-3), the fitter of fit_scaling_law",
        "approach-2 bias: the joint law's noise-free losses at the runs actually made, fitted with the same parabolas, "
        "against the law's exact optimum; the corrected frontier divides each vertex by its budget's bias",
        f"regret: the loss lost at the target ({target:.3g} FLOPs) by training each method's N_opt instead of the law's optimum",
        ("parabola intervals: a residual bootstrap of every budget's parabola from one pool of relative, leverage-scaled "
         f"residuals, {inp.bootstrap} replicates, carried through the power laws" if inp.bootstrap else
         "no parabola bootstrap (bootstrap=0)"),
    ]
