"""Figures a researcher would rather look at than read: planned runs, fitted laws, residuals.

Each function takes a dumped Output (or the model) and a folder, writes PNGs and
returns their paths. matplotlib is imported inside the functions (the server and
the CLI start without it) and figures are drawn on the Agg canvas directly, with
no pyplot global state, so concurrent calls do not share figures.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_plan", "plot_fit", "band_points", "planned_runs", "PARAMETER_COLUMNS", "TOKEN_COLUMNS", "COMPUTE_COLUMNS"]

PARAMETER_COLUMNS = ("N", "parameters", "params", "n_params", "active_parameters")
TOKEN_COLUMNS = ("D", "tokens", "n_tokens", "training_tokens")
COMPUTE_COLUMNS = ("C", "compute", "flops", "training_flops", "compute_budget")
DPI = 120


def _dump(output: Any) -> dict[str, Any]:
    return output.model_dump(mode="json") if hasattr(output, "model_dump") else dict(output)


def _figure(width: float = 6.4, height: float = 4.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


# ---------------------------------------------------------------- the plan

def _number(text: str) -> float | None:
    if text in ("True", "False"):  # a verdict column such as memory_ok
        return float(text == "True")
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def planned_runs(design_csv: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """The numeric columns of a design CSV (header row, one row per run)."""
    rows = list(csv.DictReader(io.StringIO(design_csv)))
    if not rows:
        return [], {}
    columns: dict[str, np.ndarray] = {}
    for name in rows[0]:
        values = [_number(r.get(name, "")) for r in rows]
        if all(v is not None for v in values):
            columns[name] = np.array(values, dtype=float)
    return list(rows[0]), columns


def _pick(columns: dict[str, np.ndarray], names: tuple[str, ...]) -> tuple[str, np.ndarray] | None:
    lowered = {k.lower(): k for k in columns}
    for name in names:
        key = lowered.get(name.lower())
        if key is not None and np.all(columns[key] > 0):
            return key, columns[key]
    return None


def _iso_flop_levels(c_values: np.ndarray) -> np.ndarray:
    distinct = np.unique(np.round(np.log10(c_values), 2))
    if 1 <= len(distinct) <= 12:
        return 10.0 ** distinct
    lo, hi = math.floor(np.log10(c_values.min())), math.ceil(np.log10(c_values.max()))
    return 10.0 ** np.arange(lo, hi + 1)


def _plot_nd_plane(ax, n: np.ndarray, d: np.ndarray, c: np.ndarray | None,
                   held_out: np.ndarray | None = None) -> None:
    compute = c if c is not None else 6.0 * n * d
    levels = _iso_flop_levels(compute)
    n_lo, n_hi = n.min() / 2, n.max() * 2
    d_lo, d_hi = d.min() / 3, d.max() * 3
    grid = np.geomspace(n_lo, n_hi, 200)
    for level in levels:
        ax.plot(grid, level / (6.0 * grid), color="0.75", lw=0.9, zorder=1)
        # label where the line enters the plot from the top (or at its left end)
        x = float(np.clip(level / (6.0 * d_hi * 0.8), n_lo, n_hi))
        y = level / (6.0 * x)
        if d_lo <= y <= d_hi:
            ax.annotate(f"{level:.2g}", (x, y), fontsize=7, color="0.4", ha="left", va="bottom")
    ax.plot(grid, 20.0 * grid, color="tab:green", ls="--", lw=1.0, label="20 tokens/param", zorder=2)
    held = held_out if held_out is not None else np.zeros(len(n), dtype=bool)
    unique, counts = np.unique(np.stack([n[~held], d[~held]], axis=1), axis=0, return_counts=True)
    equal = len(set(counts.tolist())) == 1
    label = f"fitted runs (x{counts[0]} seeds each)" if equal else "fitted runs (size and label = seeds)"
    points = ax.scatter(unique[:, 0], unique[:, 1], s=25 if equal else 25 + 20 * (counts - 1),
                        c=np.log10(6 * unique[:, 0] * unique[:, 1]), cmap="viridis", edgecolor="k", linewidth=0.5,
                        zorder=3, label=label)
    ax.figure.colorbar(points, ax=ax, label="log10 training FLOPs of a run")
    if not equal:
        for (x, y), k in zip(unique, counts):
            ax.annotate(f"x{k}", (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7, zorder=4)
    if held.any():
        ax.scatter(n[held], d[held], marker="*", s=140, color="tab:red", edgecolor="k", linewidth=0.5, zorder=4,
                   label="validation run (held out of the fit)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(n_lo, n_hi)
    ax.set_ylim(d_lo, d_hi)
    ax.set_xlabel("parameters N")
    ax.set_ylabel("training tokens D")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Planned runs; grey lines: iso-FLOP C = 6ND, labelled in FLOPs", fontsize=10)


def _plot_inference(ax, columns: dict[str, np.ndarray]) -> None:
    """Benchmark cells: batch size x sequence length, coloured by the benchmark GPU-time of a cell."""
    b, s = columns["batch_size"], columns["seq_len"]
    cells, first, counts = np.unique(np.stack([b, s], axis=1), axis=0, return_index=True, return_counts=True)
    cost = columns.get("gpu_hours")
    colour = None if cost is None else np.array([cost[(b == x) & (s == y)].sum() for x, y in cells])
    points = ax.scatter(cells[:, 0], cells[:, 1], s=60, c=colour, cmap="viridis", edgecolor="k", linewidth=0.5,
                        marker="s")
    if colour is not None:
        ax.figure.colorbar(points, ax=ax, label="benchmark GPU-hours per cell (all repeats)")
    if "memory_ok" in columns:
        over = columns["memory_ok"] == 0
        if over.any():
            ax.scatter(b[over], s[over], marker="x", s=80, color="tab:red", label="does not fit in memory", zorder=4)
            # below the axes: inside, it would hide the largest cells, the ones most likely not to fit
            ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, -0.12), frameon=False)
    for axis, values, setter in ((ax.xaxis, b, ax.set_xscale), (ax.yaxis, s, ax.set_yscale)):
        setter("log", base=2)
        axis.set_ticks(sorted(set(values.tolist())), [f"{v:g}" for v in sorted(set(values.tolist()))])
        axis.set_minor_locator(_null_locator())
    ax.set_xlabel("batch size (requests)")
    ax.set_ylabel("sequence length (tokens)")
    repeats = sorted(set(counts.tolist()))
    ax.set_title(f"Benchmark cells, {'/'.join(map(str, repeats))} repeats each: throughput and latency per cell",
                 fontsize=9)


def _null_locator():
    from matplotlib.ticker import NullLocator

    return NullLocator()


def _plot_two_factors(ax, names: list[str], columns: dict[str, np.ndarray]) -> None:
    x, y = columns[names[0]], columns[names[1]]
    unique, counts = np.unique(np.stack([x, y], axis=1), axis=0, return_counts=True)
    ax.scatter(unique[:, 0], unique[:, 1], s=25 + 20 * (counts - 1), edgecolor="k", linewidth=0.5)
    for axis, values, setter in ((0, x, ax.set_xscale), (1, y, ax.set_yscale)):
        if np.all(values > 0) and values.max() / values.min() >= 10:
            setter("log")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Planned runs (size = replicates)", fontsize=10)


def _plot_one_factor(ax, name: str, values: np.ndarray) -> None:
    unique, counts = np.unique(values, return_counts=True)
    ax.bar(range(len(unique)), counts, color="tab:blue")
    ax.set_xticks(range(len(unique)), [f"{v:.3g}" for v in unique], rotation=45, fontsize=8)
    ax.set_xlabel(name)
    ax.set_ylabel("runs")
    ax.set_title("Planned runs per level", fontsize=10)


_NON_FACTOR_COLUMNS = {"run_id", "run", "id", "replicate", "seed", "order", "run_order", "block", "gpu_hours",
                       "cost_gpu_hours", "flops", "cost_flops", "loss", "budget_index", "level_index"}


def plot_plan(plan_output: Any, out_dir: Path) -> list[Path]:
    """The final plan's runs (its design_csv): in the (N, D) plane with iso-FLOP lines when the design has N and D (or C),
    otherwise the first two numeric factors, otherwise runs per level. Returns the PNG paths."""
    plan = _dump(plan_output)
    text = plan.get("design_csv") or (plan.get("design_matrix_construction") or {}).get("csv") or ""
    header, columns = planned_runs(text)
    if not columns:
        return []
    fig = _figure()
    ax = fig.add_subplot()
    n, d, c = _pick(columns, PARAMETER_COLUMNS), _pick(columns, TOKEN_COLUMNS), _pick(columns, COMPUTE_COLUMNS)
    if n is not None and d is None and c is not None:
        d = (c[0], c[1] / (6.0 * n[1]))
    roles = [r.get("role", "") for r in csv.DictReader(io.StringIO(text))]
    if plan.get("scaling_type") == "inference" and {"batch_size", "seq_len"} <= set(columns):
        _plot_inference(ax, columns)
    elif n is not None and d is not None:
        _plot_nd_plane(ax, n[1], d[1], c[1] if c is not None else None, np.array([r == "validation" for r in roles]))
    else:
        factors = [h for h in header if h in columns and h.lower() not in _NON_FACTOR_COLUMNS
                   and len(np.unique(columns[h])) > 1]
        if len(factors) >= 2:
            _plot_two_factors(ax, factors[:2], columns)
        elif factors:
            _plot_one_factor(ax, factors[0], columns[factors[0]])
        else:
            return []
    return [_save(fig, Path(out_dir) / "design.png")]


# ---------------------------------------------------------------- a fitted law

def _plain_ticks(axis) -> None:
    """Losses span less than a decade: label them 2.5, 3, not 2.5x10^0."""
    from matplotlib.ticker import FormatStrFormatter

    axis.set_major_formatter(FormatStrFormatter("%.3g"))
    axis.set_minor_formatter(FormatStrFormatter("%.3g"))


def _law_curve(fit: dict[str, Any], X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Predicted loss at X and, when the output carries an asymptotic parameter covariance, a 95% band.

    The band is the delta method in log space, the same construction the fitter uses for
    its asymptotic intervals: var(log L) = g' Cov g with g = dL/dtheta / L.
    """
    from .laws.forms import get_form

    form = get_form(fit["form"])
    values = form.as_array(fit["params"])
    pred = form.predict(values, X)
    # Only an asymptotic covariance is linearised: with a bootstrap the percentile intervals at the
    # curve's points are the band (the joint law is far from linear in A, B over the replicates' spread).
    cov = fit.get("covariance") if fit.get("se_source") == "asymptotic" else None
    if cov is None:
        return pred, None, None
    g = form.jacobian(values, X) / pred[:, None]
    sd = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", g, np.asarray(cov, float), g), 0, None))
    return pred, pred * np.exp(-1.96 * sd), pred * np.exp(1.96 * sd)


def _groups_by_ratio(n: np.ndarray, d: np.ndarray, max_groups: int = 6) -> np.ndarray:
    """Group runs of a joint (N, D) fit by tokens per parameter (log-spaced bins)."""
    ratio = np.log10(d / n)
    distinct = np.unique(np.round(ratio, 1))
    if len(distinct) <= max_groups:
        return np.round(ratio, 1)
    edges = np.linspace(ratio.min(), ratio.max(), max_groups + 1)
    idx = np.clip(np.digitize(ratio, edges[1:-1]), 0, max_groups - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return np.round(centres[idx], 1)


def _law_data(fit: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray]:
    runs = fit.get("runs_used") or []
    inputs = list(fit["inputs"])
    X = np.array([[r["at"][k] for k in inputs] for r in runs], dtype=float).reshape(-1, len(inputs))
    return inputs, X, np.array([r["loss"] for r in runs], dtype=float)


def _curves(fit: dict[str, Any], n_grid: int = 60) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The curves the law figure draws: (label, mask of the runs they go through, X along the curve).

    The first input (N, or x) runs over the data and the prediction targets; a joint law is drawn
    along lines of constant tokens per parameter, other inputs at the median of their runs.
    """
    inputs, X, _ = _law_data(fit)
    targets = [t["at"][inputs[0]] for t in fit.get("predictions") or [] if inputs[0] in t["at"]]
    lo, hi = min([X[:, 0].min()] + targets) / 1.5, max([X[:, 0].max()] + targets) * 1.5
    grid = np.geomspace(lo, hi, n_grid)
    if len(inputs) == 1:
        return [("fit", np.ones(len(X), dtype=bool), grid[:, None])]
    ratio = _groups_by_ratio(X[:, 0], X[:, 1])
    curves = []
    for key in np.unique(ratio):
        mask = ratio == key
        rest = [np.full_like(grid, np.median(X[mask, j])) for j in range(2, len(inputs))]
        curves.append((f"D/N = {10.0 ** key:.3g}", mask, np.column_stack([grid, grid * 10.0 ** key] + rest)))
    return curves


def band_points(fit_output: Any) -> list[dict[str, float]]:
    """Points along the drawn curves, to ask fit_scaling_law for intervals (its `predict_at`)."""
    fit = _dump(fit_output)
    inputs = list(fit["inputs"])
    return [dict(zip(inputs, map(float, row))) for _, _, Xg in _curves(fit) for row in Xg]


def plot_fit(fit_output: Any, out_dir: Path, band: list[Any] | None = None) -> list[Path]:
    """The fitted law over its data, with its 95% band and the prediction targets; and the residuals.

    The band comes from the output's parameter covariance when it carries one, otherwise from `band`:
    fit_scaling_law's predictions at band_points(fit_output) (the same fit asked for those points)."""
    fit = _dump(fit_output)
    if not fit.get("runs_used"):
        return []
    out_dir = Path(out_dir)
    band_rows = [_dump(b) for b in band] if band else None
    return [_plot_law(fit, band_rows, out_dir / "fit.png"), _plot_residuals(fit, out_dir / "residuals.png")]


def _band_from_predictions(rows: list[dict[str, Any]], Xg: np.ndarray, inputs: list[str]):
    lookup = {tuple(round(float(r["at"][k]), 6) for k in inputs): r for r in rows}
    hits = [lookup.get(tuple(round(float(v), 6) for v in row)) for row in Xg]
    if any(h is None for h in hits):
        return None, None
    return (np.array([h["interval"]["low"] for h in hits]), np.array([h["interval"]["high"] for h in hits]))


def _plot_law(fit, band_rows, path: Path) -> Path:
    import matplotlib

    inputs, X, y = _law_data(fit)
    targets = fit.get("predictions") or []
    fig = _figure()
    ax = fig.add_subplot()
    curves = _curves(fit)
    colours = matplotlib.colormaps["viridis"](np.linspace(0.05, 0.9, len(curves)))
    banded = False
    for colour, (label, mask, Xg) in zip(colours, curves):
        pred, low, high = _law_curve(fit, Xg)
        if low is None and band_rows:
            low, high = _band_from_predictions(band_rows, Xg, inputs)
        ax.plot(Xg[:, 0], pred, color=colour, lw=1.4, label=label)
        if low is not None:
            banded = True
            ax.fill_between(Xg[:, 0], low, high, color=colour, alpha=0.2, lw=0)
        ax.scatter(X[mask, 0], y[mask], color=colour, edgecolor="k", linewidth=0.4, s=22, zorder=3)
    for t in targets:
        if inputs[0] not in t["at"]:
            continue
        x0, pi = t["at"][inputs[0]], t["prediction_interval"]
        ax.errorbar([x0], [t["loss"]], yerr=[[t["loss"] - pi["low"]], [pi["high"] - t["loss"]]], fmt="*", ms=12,
                    color="tab:red", capsize=3, zorder=4,
                    label=f"target ({t['decades_beyond_data']:.2g} decades beyond data)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_ticks(ax.yaxis)
    ax.set_xlabel({"N": "parameters N", "x": "scale x"}.get(inputs[0], inputs[0]))
    ax.set_ylabel("loss")
    band = f"; bands: {fit.get('se_source', '')} 95% intervals of the law" if banded else ""
    ax.set_title(f"{fit['form']} fit, {fit.get('n_runs', len(y))} runs{band}", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def _plot_residuals(fit, path: Path) -> Path:
    inputs, X, _ = _law_data(fit)
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    resid = np.array([r["log_residual"] for r in fit["runs_used"]], dtype=float)
    ax.axhline(0.0, color="k", lw=0.8)
    sigma = fit.get("sigma_log")
    if sigma:
        for s in (-2 * sigma, 2 * sigma):
            ax.axhline(s, color="0.6", ls="--", lw=0.8)
    ax.scatter(X[:, 0], resid, s=18, color="tab:blue", edgecolor="k", linewidth=0.3)
    ax.set_xscale("log")
    ax.set_xlabel(inputs[0])
    ax.set_ylabel("log(predicted) - log(observed)")
    title = "Residuals" + (f"; dashed: ±2 sigma_log ({sigma:.3g})" if sigma else "")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
