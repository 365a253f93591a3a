"""Scaling grids, and every table's replicates, blocks, seeds, run order and cost."""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ... import knowledge
from ...errors import InputError
from ...laws.allocation import compute_optimal
from ...laws.cost import gpu_hours, training_flops
from .models import FactorLevels, Input, IsoflopBudget, NamedValue, StepWarning
from .latency import add_latency


# ---------------------------------------------------------------------------------------------
# scaling grids

def _factor(inp: Input, name: str) -> FactorLevels | None:
    return next((f for f in inp.factors if f.name == name), None)


def _numeric_levels(inp: Input, name: str, design: str) -> list[float]:
    f = _factor(inp, name)
    if f is None or not f.levels:
        raise InputError("factors", f"factors must give levels for {name!r} in a {design}; got factors "
                                    f"{[g.name for g in inp.factors]}")
    if not f.numeric or min(f.levels) <= 0:
        raise InputError("factors", f"factors: {name!r} levels must be positive numbers; got {f.levels!r}")
    return [float(v) for v in f.levels]


def _prior(inp: Input) -> tuple[dict[str, float], str]:
    if inp.prior_params is not None:
        missing = [k for k in ("E", "A", "B", "alpha", "beta") if k not in inp.prior_params]
        if missing:
            raise InputError("prior_params", f"prior_params must hold E, A, B, alpha, beta; missing {missing}")
        # compute_optimal_allocation's bounds: the allocation divides by the exponents and raises C to their ratio
        bounds = {"E": (0.0, 1e3), "A": (1e-30, 1e30), "B": (1e-30, 1e30), "alpha": (1e-3, 5.0), "beta": (1e-3, 5.0)}
        bad = {k: v for k, v in inp.prior_params.items()
               if k in bounds and not (np.isfinite(v) and bounds[k][0] <= v <= bounds[k][1])}
        if bad:
            raise InputError("prior_params", f"prior_params must lie in {bounds}; got {bad}")
        return dict(inp.prior_params), "prior_params (given)"
    try:
        law = knowledge.published_law(inp.prior_law)
    except KeyError as exc:
        raise InputError("prior_law", str(exc).strip('"')) from None
    if law.get("form") != "chinchilla":
        raise InputError("prior_law", f"prior_law must be a joint law (form 'chinchilla'); got {inp.prior_law!r} "
                                      f"(form {law.get('form')!r})")
    return law["params"], law["source"]


def _scaling(inp: Input, defaults: list[NamedValue], warnings: list[StepWarning], iso: list[IsoflopBudget]):
    """Return (rows as dicts of factor values, levels used, law terms)."""
    design = inp.design
    if design == "one_axis_sweep":
        varied = [f for f in inp.factors if f.name not in inp.fixed]
        if len(varied) != 1:
            if not inp.factors:
                raise InputError("factors", "a one_axis_sweep needs `factors`: the one factor it varies, with its "
                                            "levels (the others go in `fixed`); got none")
            raise InputError("factors", f"a one_axis_sweep varies exactly one factor (the others go in `fixed`); "
                                        f"got {[f.name for f in varied]}")
        f = varied[0]
        rows = [{f.name: v, **inp.fixed} for v in f.levels]
        return rows, {f.name: list(f.levels)}
    if design == "n_by_d_grid":
        N = _numeric_levels(inp, "N", design)
        if _factor(inp, "D") is not None:
            D = _numeric_levels(inp, "D", design)
            rows = [{"N": n, "D": d} for n in N for d in D]
            return rows, {"N": N, "D": D}
        if not inp.tokens_per_param:
            raise InputError("tokens_per_param", "an n_by_d_grid needs D levels in `factors` or `tokens_per_param`; "
                                                 "got neither")
        rows = [{"N": n, "D": r * n, "tokens_per_param": r} for n in N for r in inp.tokens_per_param]
        return rows, {"N": N, "tokens_per_param": list(inp.tokens_per_param)}
    if design == "isoflop":
        budgets = list(inp.compute_budgets) or (_numeric_levels(inp, "C", design) if _factor(inp, "C") else [])
        if not budgets:
            raise InputError("compute_budgets", "an isoflop grid needs `compute_budgets` (FLOPs); got none")
        if inp.flops_counting == "counted":
            warnings.append(StepWarning(code="counted_flops_ignored", severity="warning",
                                        message="isoflop grids use C = 6ND to set D = C/(6N); counted FLOPs "
                                                "per token were not used"))
        params, source = _prior(inp)
        cfg = knowledge.load("designs")["isoflop"]
        rows = []
        for C in budgets:
            opt = compute_optimal(params, C)
            n_opt, d_opt = float(opt["N_opt"]), float(opt["D_opt"])
            if inp.tokens_per_param:
                Ns = [float(np.sqrt(C / (6.0 * r))) for r in inp.tokens_per_param]
            else:
                k = inp.models_per_budget or int(cfg["models_per_budget"])
                span = inp.isoflop_span or float(cfg["span"])
                Ns = list(n_opt * span ** np.linspace(-1.0, 1.0, k))
            Ds = [C / (6.0 * n) for n in Ns]
            iso.append(IsoflopBudget(compute=C, n_opt_prior=n_opt, d_opt_prior=d_opt, n_values=Ns,
                                     tokens_per_param=[d / n for n, d in zip(Ns, Ds)]))
            rows += [{"N": n, "D": d, "C": C, "tokens_per_param": d / n} for n, d in zip(Ns, Ds)]
        defaults.append(NamedValue(name="prior", value=params, source=source))
        if not inp.tokens_per_param:
            if inp.models_per_budget is None:
                defaults.append(NamedValue(name="models_per_budget", value=cfg["models_per_budget"], source=cfg["source"]))
            if inp.isoflop_span is None:
                defaults.append(NamedValue(name="isoflop_span", value=cfg["span"], source=cfg["source"]))
        return rows, {"C": budgets}
    # inference grid
    names = ("batch_size", "seq_len", "N")
    levels = {n: _numeric_levels(inp, n, design) for n in names}
    rows = [dict(zip(names, combo)) for combo in itertools.product(*(levels[n] for n in names))]
    return rows, levels


# ---------------------------------------------------------------------------------------------
# replicates, blocks, seeds, order, cost

def distinct_seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    seeds: list[int] = []
    seen: set[int] = set()
    while len(seeds) < n:
        for s in rng.integers(0, 2**31 - 1, size=n - len(seeds)).tolist():
            if s not in seen:
                seen.add(s)
                seeds.append(s)
    return np.array(seeds, dtype=np.int64)


def _expand(points: list[dict[str, Any]], inp: Input) -> list[dict[str, Any]]:
    """Replicates -> blocks (whole replicates per block) -> seeded order within blocks -> seeds."""
    rng = np.random.default_rng(inp.seed)
    per_block = inp.replicates // inp.n_blocks
    rows = []
    for block in range(inp.n_blocks):
        block_rows = [dict(p, point=i + 1, replicate=block * per_block + r + 1, block=block + 1)
                      for r in range(per_block) for i, p in enumerate(points)]
        order = rng.permutation(len(block_rows)) if inp.randomize else np.arange(len(block_rows))
        rows += [block_rows[i] for i in order]
    for i, (row, s) in enumerate(zip(rows, distinct_seeds(rng, len(rows)))):
        row["run_order"] = i + 1
        row["run_id"] = f"r{i + 1:04d}"
        row["seed"] = int(s)
    return rows


def _costs(rows: list[dict[str, Any]], inp: Input, levels: dict[str, list], peak: float, mfu: float,
           warnings: list[StepWarning]) -> str | None:
    """Fill C (training FLOPs) and gpu_hours per run, or an inference cell's benchmark gpu_hours and expected
    latency; return the rule used."""
    design = inp.design
    if design == "inference_grid":
        rule = add_latency(rows, inp.hardware, peak, mfu)
        warnings.append(StepWarning(
            code="inference_cost_roofline", severity="info",
            message="benchmark time comes from a roofline model of the expected latency (Pope et al. 2023); "
                    "measured latency is higher when kernels, scheduling or communication add overhead: measure one "
                    "cell first and scale the budget by measured / expected"))
        return rule
    if all("N" in r and "D" in r for r in rows):
        fpt_by_n = None
        if inp.flops_counting == "counted":
            n_factor = _factor(inp, "N")
            n_levels = n_factor.levels if n_factor else []
            counted = list(inp.flops_per_token) or list(n_factor.flops_per_token or []) if n_factor else []
            if not n_levels or len(n_levels) != len(counted) or any(c is None or not c > 0 for c in counted):
                raise InputError("flops_per_token", f"flops_counting 'counted' needs one FLOPs-per-token value > 0 per "
                                                    f"N level ({len(n_levels)}) in `flops_per_token` or the N "
                                                    f"factor's shapes; got {counted!r}")
            fpt_by_n = dict(zip([float(n) for n in n_levels], counted))
        for r in rows:
            fpt = None if fpt_by_n is None else fpt_by_n[float(r["N"])]
            r["C"] = float(training_flops(r["N"], r["D"], fpt)) if "C" not in r or fpt is not None else r["C"]
            r["gpu_hours"] = float(gpu_hours(r["C"], peak, mfu))
        return "counted FLOPs per token x D" if fpt_by_n else "6ND (Kaplan et al. 2020)"
    if inp.cost_per_run_gpu_hours is not None:
        for r in rows:
            r["gpu_hours"] = inp.cost_per_run_gpu_hours
        return None
    warnings.append(StepWarning(code="cost_unknown", severity="info",
                                message="runs carry no cost: give factors N and D (or `fixed` values), or "
                                        "`cost_per_run_gpu_hours`"))
    return None
