"""Figures of the isoFLOP and downstream analyses, drawn from their dumped outputs.

- isoflop.png: left, each budget's runs, its approach-2 parabola and the joint law's profile,
  vertices marked; right, N_opt against C for approach 2 (vertices with intervals, power law),
  its bias-corrected line and the joint law's frontier, extended to the target budget.
- downstream.png: left, step 1 (task loss against N, by tokens per parameter, and the target);
  right, step 2 (the metric against task loss, the sigmoid and the target with its interval).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .laws import allocation
from .laws.downstream import sigmoid
from .plots import _dump, _figure, _save

__all__ = ["plot_isoflop", "plot_downstream"]

METHOD_STYLE = {"approach2": ("tab:blue", "-", "approach 2"),
                "approach2_bias_corrected": ("tab:purple", ":", "approach 2, bias-corrected"),
                "joint": ("tab:red", "--", "joint law")}


def _profiles(ax, out: dict[str, Any]) -> None:
    import matplotlib

    budgets = out["budgets"]
    colours = matplotlib.colormaps["viridis"](np.linspace(0.05, 0.9, len(budgets)))
    for colour, b in zip(colours, budgets):
        pts = np.array(b["points"])
        centre, c0, c1, c2 = b["parabola"]
        grid = np.geomspace(pts[:, 0].min() / 1.3, pts[:, 0].max() * 1.3, 80)
        u = np.log(grid) - centre
        ax.scatter(pts[:, 0], pts[:, 2], color=colour, s=16, edgecolor="k", linewidth=0.3, zorder=3)
        ax.plot(grid, c0 + c1 * u + c2 * u**2, color=colour, lw=1.2, label=f"{b['compute']:.2g} FLOPs")
        ax.plot(grid, allocation.joint_loss(out["joint_params"], grid, b["compute"] / (6 * grid)), color=colour,
                lw=0.9, ls="--")
        if b["N_opt"]:
            ax.plot([b["N_opt"]], [b["min_loss"]], marker="v", color=colour, ms=7, mec="k", mew=0.4, zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("loss")
    ax.set_title("isoFLOP profiles: parabolas (solid, ▼ vertex), joint law (dashed)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")


def _frontiers(ax, out: dict[str, Any]) -> None:
    budgets = [b for b in out["budgets"] if b["N_opt"]]
    C = np.array([b["compute"] for b in budgets])
    N = np.array([b["N_opt"] for b in budgets])
    iv = [b.get("N_opt_interval") for b in budgets]
    if all(iv):
        err = np.array([[n - i["low"], i["high"] - n] for n, i in zip(N, iv)]).T
        ax.errorbar(C, N, yerr=err, fmt="o", color="tab:blue", ms=5, capsize=2, label="vertices (approach 2)", zorder=4)
    else:
        ax.plot(C, N, "o", color="tab:blue", ms=5, label="vertices (approach 2)", zorder=4)
    target = out["target_compute"]
    grid = np.geomspace(min(C.min(), target) / 1.5, max(C.max(), target) * 1.5, 60)
    for f in out["frontiers"]:
        colour, ls, label = METHOD_STYLE.get(f["method"], ("0.3", "-", f["method"]))
        ax.plot(grid, f["N_opt"] * (grid / target) ** f["exponent_a"], color=colour, ls=ls, lw=1.3,
                label=f"{label}: a = {f['exponent_a']:.3f}")
        band = f.get("N_opt_interval")
        if band:
            ax.errorbar([target], [f["N_opt"]], yerr=[[f["N_opt"] - band["low"]], [band["high"] - f["N_opt"]]], fmt="*",
                        ms=9, color=colour, capsize=3, zorder=5)
    held = [v for v in out.get("validation") or [] if v.get("observed_N_opt")]
    if held:
        ax.plot([v["compute"] for v in held], [v["observed_N_opt"] for v in held], "D", color="k", ms=6,
                label="held-out budget's vertex", zorder=6)
    ax.axvline(target, color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel("compute-optimal N")
    ax.set_title(f"N_opt(C); ★ at the target ({target:.2g} FLOPs): {out['agreement']['verdict']}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def plot_isoflop(output: Any, out_dir: Path) -> list[Path]:
    out = _dump(output)
    fig = _figure(11.5, 4.6)
    left, right = fig.subplots(1, 2)
    _profiles(left, out)
    _frontiers(right, out)
    return [_save(fig, Path(out_dir) / "isoflop.png")]


def _step1(ax, out: dict[str, Any], runs: list[dict[str, float]]) -> None:
    import matplotlib

    X = np.array([[r["N"], r["D"], r["loss"]] for r in runs])
    ratio = np.round(np.log10(X[:, 1] / X[:, 0]), 2)
    keys = np.unique(ratio)
    colours = matplotlib.colormaps["viridis"](np.linspace(0.05, 0.9, len(keys)))
    targets = out["predictions"]
    hi = max([X[:, 0].max()] + [p["at"]["N"] for p in targets]) * 1.3
    for colour, key in zip(colours, keys):
        m = ratio == key
        grid = np.geomspace(X[m, 0].min() / 1.3, hi, 60)
        ax.scatter(X[m, 0], X[m, 2], color=colour, s=18, edgecolor="k", linewidth=0.3, zorder=3)
        ax.plot(grid, allocation.joint_loss(out["step1"]["params"], grid, grid * 10**key), color=colour, lw=1.2,
                label=f"D/N = {10**key:.3g}")
    for p in targets:
        band = p.get("task_loss_interval")
        yerr = [[p["task_loss"] - band["low"]], [band["high"] - p["task_loss"]]] if band else None
        ax.errorbar([p["at"]["N"]], [p["task_loss"]], yerr=yerr, fmt="*", ms=11, color="tab:red", capsize=3, zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("task loss")
    ax.set_title("step 1: task loss = E + A/N^α + B/D^β (★ targets)", fontsize=9)
    ax.legend(fontsize=7)


def _step2(ax, out: dict[str, Any], runs: list[dict[str, float]]) -> None:
    s2 = out["step2"]
    theta = np.array([s2["params"][k] for k in ("low", "high", "k", "L0")])
    increasing = out["direction"] == "lower_is_better"
    L = np.array([r["loss"] for r in runs])
    m = np.array([r["metric"] for r in runs])
    targets = out["predictions"]
    lo = min([L.min()] + [p["task_loss"] for p in targets]) - 0.1
    grid = np.linspace(lo, L.max() + 0.1, 200)
    ax.scatter(L, 100 * m, s=18, color="tab:blue", edgecolor="k", linewidth=0.3, zorder=3, label="ladder runs")
    ax.plot(grid, 100 * sigmoid(theta, grid, increasing), color="tab:blue", lw=1.3, label="sigmoid fit")
    for p in targets:
        band = p.get("interval")
        yerr = [[100 * (p["metric"] - band["low"])], [100 * (band["high"] - p["metric"])]] if band else None
        ax.errorbar([p["task_loss"]], [100 * p["metric"]], yerr=yerr, fmt="*", ms=11, color="tab:red", capsize=3, zorder=4,
                    label=f"target ({band['level']:.0%} interval)" if band else "target")
    for v in out.get("validation") or []:
        if v["metric"] is not None:
            ax.plot([v["task_loss"]], [100 * v["metric"]], "D", color="tab:orange", ms=6, mec="k", mew=0.4, zorder=4)
    ax.set_xlabel("task loss")
    ax.set_ylabel("metric (%)")
    ax.set_title("step 2: metric as a sigmoid of task loss (◆ held out)", fontsize=9)
    ax.legend(fontsize=7)


def plot_downstream(output: Any, out_dir: Path) -> list[Path]:
    out = _dump(output)
    runs = out["runs_used"]
    fig = _figure(11.5, 4.6)
    left, right = fig.subplots(1, 2)
    _step1(left, out, runs)
    _step2(right, out, [r for r in runs if r.get("metric") is not None])
    return [_save(fig, Path(out_dir) / "downstream.png")]
