"""The figure of a compute_optimal_allocation result: one panel per budget row kind.

- plain: N_opt and D_opt against compute (with intervals when the law carried replicates);
- inference-aware: lifetime FLOPs along the loss contour of each budget, relative to the
  compute-optimal model's, with both optima marked (Sardana et al. 2024, their figure 1);
- data-constrained: loss along the isoFLOP line with the unique-token limit and without it,
  with both optima marked (Muennighoff et al. 2023).
Curves are recomputed from the output's law parameters by laws.allocation: a view of the result.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .laws import allocation
from .laws.allocation.data_constrained import DATA_ORDER
from .plots import _dump, _figure, _save

__all__ = ["plot_allocation"]


def _frontier(ax, out: dict[str, Any]) -> None:
    rows = out["allocations"]
    C = np.array([r["compute"] for r in rows])
    for key, label, colour in (("N_opt", "N_opt (parameters)", "tab:blue"), ("D_opt", "D_opt (tokens)", "tab:orange")):
        y = np.array([r[key] for r in rows])
        ax.plot(C, y, "o-", color=colour, label=label)
        iv = [(r.get("intervals") or {}).get(key) for r in rows]
        if all(iv):
            ax.fill_between(C, [b["low"] for b in iv], [b["high"] for b in iv], color=colour, alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel("compute-optimal N and D")
    ax.set_title("compute-optimal allocation")
    ax.legend()


def _inference(ax, out: dict[str, Any]) -> None:
    p = {k: out["params"][k] for k in allocation.JOINT_ORDER}
    E, A, B, alpha, beta = (p[k] for k in allocation.JOINT_ORDER)
    lowest = 1.0
    for i, row in enumerate(out["allocations"]):
        inf = row["inference_aware"]
        target, T = inf["target_loss"], inf["inference_tokens"]
        n_min = (A / (target - E)) ** (1 / alpha)
        N = np.geomspace(max(n_min * 1.02, inf["N_opt"] / 4), row["N_opt"] * 3, 300)
        D = (B / (target - E - A * N ** -alpha)) ** (1 / beta)
        total = 6 * N * D + 2 * N * T
        ref = inf["total_flops_chinchilla"]
        lowest = min(lowest, inf["total_flops"] / ref)
        line, = ax.plot(N, total / ref, label=f"C = {row['compute']:.2g}, loss {target:.3f}")
        ax.plot([row["N_opt"]], [1.0], "s", color=line.get_color(), mfc="none")
        ax.plot([inf["N_opt"]], [inf["total_flops"] / ref], "o", color=line.get_color())
        ax.annotate(f"{inf['tokens_per_param']:.0f} tok/param", (inf["N_opt"], inf["total_flops"] / ref),
                    textcoords="offset points", xytext=(4, -12), fontsize=8)
        if i == 0:
            ax.plot([], [], "ks", mfc="none", label="compute-optimal (Chinchilla)")
            ax.plot([], [], "ko", label="inference-aware optimum")
    ax.set_xscale("log")
    ax.set_ylim(lowest - 0.05 * (1.6 - lowest), 1.6)   # the contour's cost explodes near its smallest N
    ax.axhline(1.0, color="0.7", lw=0.8)
    ax.set_xlabel("parameters N (on the loss contour)")
    ax.set_ylabel("lifetime FLOPs / compute-optimal model's")
    ax.set_title(f"training + inference FLOPs, {out['allocations'][0]['inference_aware']['inference_tokens']:.2g} inference tokens")
    ax.legend(fontsize=8, loc="upper center")


def _data_constrained(ax, out: dict[str, Any]) -> None:
    params = out["params"]
    for i, row in enumerate(out["allocations"]):
        dc = row["data_constrained"]
        vec = tuple(float({**params, "R_D": dc["R_D"], "R_N": dc["R_N"]}[k]) for k in DATA_ORDER)
        rule = dc["u_n_tokens_per_param"]
        x = row["compute"] / 6
        N = np.geomspace(min(dc["N_opt"], row["N_opt"]) / 6, max(dc["N_opt"], row["N_opt"]) * 6, 300)
        loss = allocation.data_constrained_loss(vec, N, x / N, dc["unique_tokens"], rule)
        fresh = allocation.joint_loss({k: params[k] for k in allocation.JOINT_ORDER}, N, x / N)
        line, = ax.plot(N, loss, label=f"C = {row['compute']:.2g}, U = {dc['unique_tokens']:.2g}")
        ax.plot(N, fresh, "--", color=line.get_color(), alpha=0.6)
        ax.plot([dc["N_opt"]], [dc["loss"]], "o", color=line.get_color())
        ax.annotate(f"{dc['epochs']:.1f} epochs", (dc["N_opt"], dc["loss"]), textcoords="offset points",
                    xytext=(4, 6), fontsize=8)
        ax.plot([row["N_opt"]], [dc["loss_chinchilla_constrained"]], "s", color=line.get_color(), mfc="none")
        if i == 0:
            ax.plot([], [], "k--", alpha=0.6, label="every token fresh")
            ax.plot([], [], "ko", label="data-constrained optimum")
            ax.plot([], [], "ks", mfc="none", label="Chinchilla allocation, repeats counted")
    ax.set_xscale("log")
    ax.set_xlabel("parameters N (on the isoFLOP line, D = C / 6N)")
    ax.set_ylabel("predicted loss")
    ax.set_title("loss with limited unique tokens")
    ax.legend(fontsize=8)


def plot_allocation(allocation_output: Any, out_dir: Path) -> list[Path]:
    """allocation.png: the frontier, or the inference-aware or data-constrained panel when asked for."""
    out = _dump(allocation_output)
    rows = out["allocations"]
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    if rows and rows[0].get("inference_aware"):
        _inference(ax, out)
    elif rows and rows[0].get("data_constrained"):
        _data_constrained(ax, out)
    else:
        _frontier(ax, out)
    return [_save(fig, Path(out_dir) / "allocation.png")]
