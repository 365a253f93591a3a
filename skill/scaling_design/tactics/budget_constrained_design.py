"""budget_constrained_design: which runs to do under a budget, and what precision they buy.

The budget (FLOPs, GPU-hours or runs) is checked against the seed's Budget Gate, and the
seed's "max runs = budget / cost per run" picks a classical design family. For a scaling
study the runs are chosen from a candidate pool to minimise the variance of what the
study is for (loss at a target scale, N_opt at a target compute, or the exponents), per
unit cost: a locally optimal design from the law's Jacobian at prior parameters and a
noise model (laws.optimal_design). The predicted precision is checked by Monte Carlo with
the real fitter, and the chosen design is compared with naive designs of the same cost.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import knowledge
from .design_stress import StressCheck, regime_warnings, stress_check, stress_warnings
from .sequential_design import MIN_RUNS_TO_REFIT, disagreement, refit_completed, selected_family
from ..errors import InputError
from ..laws import get_form
from ..laws.allocation import compute_optimal
from ..laws.cost import flops_from_gpu_hours, gpu_hours
from ..laws.optimal_design import (cheapest_first, greedy_select, information_matrix, response_rows,
                                   target_gradient, target_variance, thinned_grid)
from ..laws.simulate import NoiseModel, monte_carlo
from ..sops.design_matrix_construction import NamedValue, StepWarning, distinct_seeds, to_csv

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE"]

_CAPS = knowledge.load("designs")["caps"]
MAX_CANDIDATES = int(_CAPS["max_candidates"])
MAX_SIMULATIONS = int(_CAPS["max_simulations"])
STRESS_SHARE = 0.4          # of time_limit_s left to the stress check when it runs
STRESS_SIMS = 20            # simulated studies per truth and design in the stress check
FAR_EXTRAPOLATION = 1e4     # target beyond this multiple of the largest candidate N or D: warn
MAX_REPEATS = 10            # bound of `max_repeats`
MAX_RUN_COST = 1e35         # bound of a candidate's cost_flops: above 6 N D at the largest N and D accepted
JOINT = ("E", "A", "B", "alpha", "beta")
# Bounds on a given prior: wider than any published joint law (Hoffmann A = 406, B = 411, exponents near 0.3),
# narrow enough that the prior's losses over the pool stay finite floats.
PRIOR_BOUNDS = {"E": 100.0, "A": 1e6, "B": 1e6, "alpha": 5.0, "beta": 5.0}


class CandidateRun(BaseModel):
    model_config = ConfigDict(extra="ignore")
    N: float = Field(ge=1, le=1e15, allow_inf_nan=False, description="Parameters of the run (1-1e15).")
    D: float = Field(ge=1, le=1e17, allow_inf_nan=False, description="Training tokens of the run (1-1e17).")
    cost_flops: float | None = Field(default=None, description="The run's cost in FLOPs (default 6ND); 1 to 1e35.")

    @model_validator(mode="before")
    @classmethod
    def _cost_from_c(cls, value: Any) -> Any:
        """design_matrix_construction's rows carry the run's training FLOPs as C: use it as the cost."""
        if isinstance(value, dict) and value.get("cost_flops") is None and value.get("C") is not None:
            return dict(value, cost_flops=value["C"])
        return value


class CompletedRun(BaseModel):
    model_config = ConfigDict(extra="ignore")
    N: float = Field(ge=1, le=1e15, allow_inf_nan=False, description="Parameters of the run (1-1e15).")
    D: float = Field(ge=1, le=1e17, allow_inf_nan=False, description="Training tokens of the run (1-1e17).")
    loss: float = Field(gt=0, le=100, allow_inf_nan=False, description="Final held-out loss measured (nats/token, "
                                                                       "at most 100).")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget: float = Field(gt=0, le=1e30, allow_inf_nan=False,
                          description="The budget for the new runs, in `budget_unit` (at most 1e30).")
    budget_unit: Literal["flops", "gpu_hours", "runs"] = Field(
        default="flops", description="Unit of `budget`: training FLOPs, GPU-hours (converted with `hardware` peak and "
                                     "`mfu`), or a number of runs.")
    scaling_type: Literal["data", "model", "compute_optimal", "inference"] = Field(
        default="compute_optimal", description="Budget Gate row the verdict uses (the seed's table).")
    target: Literal["loss", "n_opt", "exponents"] = Field(
        default="loss", description="What the study is for: loss at (`target_N`, `target_D`) (or at the prior optimum "
                                    "of `target_compute`), N_opt at `target_compute`, or the exponents alpha and beta.")
    target_N: float | None = Field(default=None, ge=1e4, le=1e15, description="Target parameters (1e4-1e15).")
    target_D: float | None = Field(default=None, ge=1e6, le=1e17, description="Target training tokens (1e6-1e17).")
    target_compute: float | None = Field(default=None, ge=1e12, le=1e30, description="Target compute C in FLOPs "
                                                                                      "(1e12-1e30).")
    candidates: list[CandidateRun] = Field(
        default_factory=list, description="The candidate pool as {N, D, cost_flops?}; e.g. the runs of "
        "design_matrix_construction. Default: a geometric grid from n_min..n_max x tokens per parameter.")
    n_min: float = Field(default=2e7, ge=1e4, le=1e15, description="Default pool: smallest model (parameters, "
                                                                    "1e4-1e15).")
    n_max: float = Field(default=1e9, gt=0, le=1e15, description="Default pool: largest model (parameters).")
    n_count: int = Field(default=12, ge=2, le=500, description="Default pool: model sizes, geometric.")
    tokens_per_param_min: float = Field(default=2.0, ge=0.01, le=1e5, description="Default pool: smallest D/N "
                                                                                   "(0.01-1e5).")
    tokens_per_param_max: float = Field(default=200.0, ge=0.01, le=1e5, description="Default pool: largest D/N "
                                                                                    "(0.01-1e5).")
    tokens_per_param_count: int = Field(default=10, ge=1, le=500, description="Default pool: D/N values, geometric.")
    prior_law: str = Field(default="epoch", description="Published joint law used as the prior (key of the "
                                                         "published-law table).")
    prior_params: dict[str, float] | None = Field(default=None, description="Joint-law parameters E, A, B, alpha, "
                                                  "beta overriding `prior_law` (e.g. a fit).")
    noise_kind: Literal["log-constant", "absolute", "loss-dependent"] = Field(
        default="log-constant", description="Run-to-run noise model on the final loss.")
    noise_sigma: float | None = Field(default=None, ge=1e-6, le=1.0, description="Noise scale (1e-6-1): sd of log "
                                      "loss for log-constant (default 0.0075), nats otherwise.")
    max_repeats: int = Field(default=1, ge=1, le=MAX_REPEATS, description="Most runs (seeds) per candidate setting.")
    hedge: bool = Field(default=True, description=(
        "For a loss target under the joint law: average the design criterion over the joint law and two neighbouring "
        "families (data exponent drifting with N) and spend 25% of the budget on space-filling runs first, so the "
        "design does not bet everything on its prior family. False gives the locally optimal design."))
    completed_runs: list[CompletedRun] = Field(
        default_factory=list, description="Sequential mode: runs already done with their losses; the budget buys the "
                                          "next runs. With >= 8 of them the prior is refitted first.")
    refit_prior: bool = Field(default=True, description="Sequential mode: design at the fit of the completed runs.")
    compare_naive: bool = Field(default=True, description="Compare with an evenly thinned grid and cheapest-first.")
    monte_carlo_sims: int = Field(default=200, ge=0, description=f"Simulated studies per design (0 switches the "
                                  f"check off; cap {MAX_SIMULATIONS}).")
    time_limit_s: float = Field(default=60.0, gt=0, le=600, description="Time bound of the whole Monte Carlo check.")
    hardware: str = Field(default="H100", description="Accelerator for GPU-hours (A100, H100, H200, V100, TPUv4, "
                                                      "MI300X).")
    mfu: float | None = Field(default=None, gt=0, le=1, description="Model FLOPs utilisation (default 0.40).")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Seed of the Monte Carlo check and the run seeds.")

    @field_validator("monte_carlo_sims")
    @classmethod
    def _sims_cap(cls, value: int) -> int:
        if value > MAX_SIMULATIONS:
            raise ValueError(f"`monte_carlo_sims` must be <= {MAX_SIMULATIONS} (the cap on simulations); got {value}")
        return value

    @field_validator("candidates")
    @classmethod
    def _candidates_cap(cls, value: list[CandidateRun]) -> list[CandidateRun]:
        if len(value) > MAX_CANDIDATES:
            raise ValueError(f"`candidates` must hold <= {MAX_CANDIDATES} runs (the cap on candidates); got {len(value)}")
        bad = [c.cost_flops for c in value if c.cost_flops is not None and not 1.0 <= c.cost_flops <= MAX_RUN_COST]
        if bad:  # NaN fails the test too; a cost below 1 FLOP made budget / cost overflow
            raise ValueError(f"`candidates` costs must be in [1, {MAX_RUN_COST:g}] FLOPs; got cost_flops={bad[0]!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Input":
        if not self.candidates:
            if self.n_min >= self.n_max:
                raise ValueError(f"`n_min` must be < `n_max`; got {self.n_min:g} >= {self.n_max:g}")
            if self.tokens_per_param_min > self.tokens_per_param_max:
                raise ValueError(f"`tokens_per_param_min` must be <= `tokens_per_param_max`; got "
                                 f"{self.tokens_per_param_min:g} > {self.tokens_per_param_max:g}")
            if self.n_count * self.tokens_per_param_count > MAX_CANDIDATES:
                raise ValueError(f"`n_count` x `tokens_per_param_count` must be <= {MAX_CANDIDATES} (the cap on "
                                 f"candidates); got {self.n_count * self.tokens_per_param_count}")
        if self.target == "loss" and self.target_compute is None and self.target_N is None and self.target_D is None:
            raise ValueError("target 'loss' needs `target_N` and `target_D` (one of them may be left out when the pool "
                             "holds the other fixed), or `target_compute` (the loss at the prior compute-optimal "
                             "point); got none")
        if self.target == "n_opt" and self.target_compute is None:
            raise ValueError("target 'n_opt' needs `target_compute` (FLOPs); got none")
        return self


class BudgetSummary(BaseModel):
    given: float = Field(description="The budget as given.")
    unit: str = Field(description="Its unit.")
    flops: float | None = Field(description="The budget in FLOPs (None for a budget in runs).")
    gpu_hours: float | None = Field(description="The budget in GPU-hours at `hardware` and `mfu`.")
    hardware: str = Field(description="Accelerator assumed.")
    peak_flops: float = Field(description="Its dense BF16 peak FLOP/s.")
    mfu: float = Field(description="Model FLOPs utilisation assumed.")


class Verdict(BaseModel):
    status: Literal["pass", "below_gate", "unaffordable"] = Field(description="pass: the budget buys a design that "
        "meets the Budget Gate; below_gate: it buys runs but fewer than the gate's minimum; unaffordable: not one run.")
    message: str = Field(description="What the verdict means for the study.")
    gate: dict[str, Any] = Field(description="The Budget Gate row used (scale points, replicates, min runs, source).")
    affordable_runs: int = Field(description="Most runs the budget buys (cheapest first, each candidate setting "
                                             "up to max_repeats times, as the selection allows).")
    min_runs_needed: int = Field(description="The gate's minimum runs (lower end).")
    cost_of_minimum_flops: float | None = Field(description="FLOPs of the cheapest gate-minimum set of candidates.")
    cost_of_minimum_gpu_hours: float | None = Field(description="The same in GPU-hours.")
    what_it_would_take: str | None = Field(description="The budget a minimally valid design needs, when short.")


class ClassicalChoice(BaseModel):
    max_runs: int = Field(description="The seed's max runs = budget / cost per run (median candidate cost).")
    cost_per_run_flops: float | None = Field(description="The cost per run used (median candidate), FLOPs.")
    design: str = Field(description="Design family the seed's table gives for that many runs.")
    tool_designs: list[str] = Field(description="The matching design_matrix_construction designs.")
    rationale: str = Field(description="Why.")
    source: str = Field(description="Where the table comes from.")


class DesignComparison(BaseModel):
    name: str = Field(description="selected, thinned_grid or cheapest_first.")
    n_runs: int = Field(description="Runs in the design (new runs only).")
    cost_flops: float = Field(description="Their total FLOPs.")
    fraction_of_budget: float = Field(description="Cost / budget (runs for a budget in runs).")
    distinct_N: int = Field(description="Distinct model sizes.")
    max_N: float | None = Field(description="Largest model size.")
    predicted_sd: float | None = Field(description="Predicted sd of the target from the information matrix (log units "
                                                   "for loss and N_opt, i.e. relative; combined sd for exponents); "
                                                   "None if the design cannot identify it.")
    mc_median_abs_error: float | None = Field(description="Monte Carlo median |error| of the target (same units).")
    mc_p90_abs_error: float | None = Field(description="Monte Carlo 90th percentile |error|.")
    mc_sd: float | None = Field(description="Monte Carlo sd of the estimated target.")
    mc_converged_fraction: float | None = Field(description="Share of simulated refits that converged.")
    mc_sims: int = Field(description="Simulated studies done for this design.")


class MonteCarloSummary(BaseModel):
    n_requested: int = Field(description="Simulations asked per design.")
    truncated: bool = Field(description="Some design hit the time bound before all simulations.")
    elapsed_s: float = Field(description="Seconds spent in the check.")
    seed: int = Field(description="Seed used.")
    objective: str = Field(description="Fit objective of the refits (the real fitter).")
    note: str = Field(description="What was simulated.")


class Output(BaseModel):
    truncated: bool = Field(False, description="The time bound (time_limit_s) cut the Monte Carlo check short: "
                                               "fewer simulations than asked (see monte_carlo).")
    verdict: Verdict = Field(description="The Budget Gate verdict.")
    budget: BudgetSummary = Field(description="The budget in FLOPs and GPU-hours.")
    classical_choice: ClassicalChoice = Field(description="The seed's design family for the affordable runs.")
    target: dict[str, Any] = Field(description="The target quantity, where it is evaluated and its prior value.")
    prior: dict[str, Any] = Field(description="The law parameters the design is optimal at, and their source.")
    noise: dict[str, Any] = Field(description="The noise model.")
    n_candidates: int = Field(description="Candidate runs considered.")
    selection_rule: str = Field(description="Which greedy pass won, and whether exchanges improved it.")
    selection_elapsed_s: float = Field(description="Seconds the selection took (Monte Carlo apart).")
    identifiable: bool = Field(description="The chosen runs (with any completed ones) identify every law parameter.")
    runs: list[dict[str, Any]] = Field(description="The chosen runs: run_id, N, D, C, tokens_per_param, seed, "
                                                   "gpu_hours, sorted by cost.")
    csv: str = Field(description="The chosen runs as CSV text (design.csv).")
    results_template_csv: str = Field(description="The chosen runs with an empty `loss` column "
                                                  "(results-template.csv) for fit_scaling_law.")
    total_cost_flops: float = Field(description="FLOPs of the chosen runs.")
    total_gpu_hours: float = Field(description="GPU-hours of the chosen runs.")
    predicted_sd: float | None = Field(description="Predicted sd of the target with the chosen runs.")
    predicted_sd_per_target: dict[str, float | None] = Field(description="Predicted sd of each target component.")
    comparisons: list[DesignComparison] = Field(description="Chosen vs naive designs of the same budget.")
    monte_carlo: MonteCarloSummary | None = Field(description="The Monte Carlo check (None when switched off).")
    stress_check: StressCheck | None = Field(None, description=(
        "For a loss target under the joint law: the selected runs and random picks of the same cost, simulated from "
        "laws other than the prior (joint_nbeta, Farseer) and fitted with the joint law; None when the Monte Carlo "
        "check is off or the target is not a loss."))
    next_step: str = Field(description="What to do next.")
    defaults_used: list[NamedValue] = Field(description="Defaults chosen, with sources.")
    warnings: list[StepWarning] = Field(description="Non-fatal findings, with codes.")


# ---------------------------------------------------------------------------------------------

def _prior(inp: Input, defaults: list[NamedValue]) -> tuple[dict[str, float], str]:
    if inp.prior_params is not None:
        missing = [k for k in JOINT if k not in inp.prior_params]
        if missing:
            raise InputError("prior_params", f"prior_params must hold {list(JOINT)}; missing {missing}")
        bad = {k: inp.prior_params[k] for k in JOINT if not (np.isfinite(inp.prior_params[k]) and
                                                               0 < inp.prior_params[k] <= PRIOR_BOUNDS[k])}
        if bad:
            raise InputError("prior_params", f"prior_params must be finite, > 0 and at most {PRIOR_BOUNDS}; got {bad}")
        return {k: float(inp.prior_params[k]) for k in JOINT}, "prior_params (given)"
    try:
        law = knowledge.published_law(inp.prior_law)
    except KeyError as exc:
        raise InputError("prior_law", str(exc).strip('"')) from None
    if law.get("form") != "chinchilla":
        raise InputError("prior_law", f"prior_law must be a joint law (form 'chinchilla'); got {inp.prior_law!r}")
    if inp.prior_law == "epoch":
        defaults.append(NamedValue(name="prior_law", value="epoch", source=law["source"]))
    return {k: float(law["params"][k]) for k in JOINT}, law["source"]


def _noise(inp: Input, defaults: list[NamedValue]) -> NoiseModel:
    if inp.noise_sigma is not None:
        return NoiseModel(kind=inp.noise_kind, sigma=inp.noise_sigma)
    d = knowledge.defaults()["noise"]
    sigma = float(d["log_residual_sd_epoch"]) if inp.noise_kind == "log-constant" else float(d["seed_sd_nats"])
    defaults.append(NamedValue(name="noise_sigma", value=sigma, source=d["source"]))
    return NoiseModel(kind=inp.noise_kind, sigma=sigma)


def _pool(inp: Input, defaults: list[NamedValue]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates X (n, 2), their FLOPs, and grid level indices (for the thinned-grid comparison)."""
    if inp.candidates:
        X = np.array([[c.N, c.D] for c in inp.candidates], float)
        flops = np.array([c.cost_flops if c.cost_flops is not None else 6.0 * c.N * c.D for c in inp.candidates])
        order = np.lexsort((X[:, 1], X[:, 0]))  # the "grid" order for even thinning: by N, then D
        levels = np.empty((len(X), 1), int)
        levels[order, 0] = np.arange(len(X))
        return X, flops, levels
    Ns = np.geomspace(inp.n_min, inp.n_max, inp.n_count)
    ratios = np.geomspace(inp.tokens_per_param_min, inp.tokens_per_param_max, inp.tokens_per_param_count)
    defaults.append(NamedValue(name="candidates", value=f"{inp.n_count} sizes {inp.n_min:g}-{inp.n_max:g} x "
                               f"{inp.tokens_per_param_count} tokens/param {inp.tokens_per_param_min:g}-"
                               f"{inp.tokens_per_param_max:g}, geometric",
                               source="SCALING_NOTES, Levels: geometric spacing; vary D/N to separate alpha from beta"))
    X = np.array([(n, r * n) for n in Ns for r in ratios])
    levels = np.array([(i, j) for i in range(len(Ns)) for j in range(len(ratios))])
    return X, 6.0 * X[:, 0] * X[:, 1], levels


@dataclass(frozen=True)
class _Law:
    """The law the design is optimal for: the joint law, or a one-axis saturating law when the pool
    varies only N (D fixed) or only D (N fixed), as model- and data-scaling studies do."""

    form: Any
    params: dict[str, float]
    source: str
    axis: str | None = None        # None: joint in (N, D); "N" or "D": the varied axis
    fixed: float | None = None     # the value of the other axis

    def X(self, XND: np.ndarray) -> np.ndarray:
        XND = np.asarray(XND, float).reshape(-1, 2)
        return XND if self.axis is None else XND[:, [0 if self.axis == "N" else 1]]


def _one_axis(joint: dict[str, float], axis: str, fixed: float) -> dict[str, float]:
    """Epoch-style joint law with one resource held fixed: L(x) = E' + A' x^-alpha'."""
    if axis == "N":
        return {"E": joint["E"] + joint["B"] * fixed ** -joint["beta"], "A": joint["A"], "alpha": joint["alpha"]}
    return {"E": joint["E"] + joint["A"] * fixed ** -joint["alpha"], "A": joint["B"], "alpha": joint["beta"]}


def _choose_law(inp: Input, joint: dict[str, float], source: str, X: np.ndarray, done_X: np.ndarray) -> _Law:
    allX = np.vstack([X, done_X])
    varies = [len(np.unique(allX[:, j])) > 1 for j in (0, 1)]
    if varies[0] == varies[1] or inp.target == "n_opt":
        if inp.target == "n_opt" and not all(varies):
            raise InputError("candidates", "target 'n_opt' needs candidates that vary both N and D (a joint law); "
                                           "this pool holds one of them fixed")
        return _Law(get_form("chinchilla"), joint, source)
    axis, other = ("N", 1) if varies[0] else ("D", 0)
    fixed = float(allX[0, other])
    asked = inp.target_D if axis == "N" else inp.target_N
    if inp.target == "loss" and asked is not None and not np.isclose(asked, fixed, rtol=1e-9):
        return _Law(get_form("chinchilla"), joint, source)  # the target leaves the pool's line: keep the joint law
    held = f"{'D' if axis == 'N' else 'N'} = {fixed:.4g}"
    return _Law(get_form("saturating"), _one_axis(joint, axis, fixed), f"{source}, with {held} held fixed",
                axis, fixed)


def _target(inp: Input, law: _Law) -> tuple[dict[str, Any], Callable, list[str], np.ndarray]:
    """Target description, function of public values -> (q,), component names, and the target point (N, D)."""
    form, params = law.form, law.params
    if inp.target == "exponents":
        names = ["alpha", "beta"] if law.axis is None else ["alpha"]
        where = [form.param_names.index(n) for n in names]
        info = {"quantity": "exponents", **{n: params[n] for n in names},
                "units": "absolute error of the exponents (combined as the root sum of squares)"}
        if law.axis is not None:
            info["law"] = f"one-axis law in {law.axis}: alpha is the {law.axis} exponent"
        return info, (lambda v: np.asarray(v, float)[where]), names, np.empty((0, 2))
    if inp.target == "n_opt":
        C = inp.target_compute
        opt = compute_optimal(params, C)
        return ({"quantity": "N_opt", "compute": C, "prior_value": float(opt["N_opt"]),
                 "prior_D_opt": float(opt["D_opt"]), "units": "sd of log N_opt (relative error)"},
                lambda v: np.log(compute_optimal(v, C)["N_opt"]).reshape(1), ["log_N_opt"],
                np.array([[float(opt["N_opt"]), float(opt["D_opt"])]]))
    if inp.target_N is None and inp.target_D is None:
        opt = compute_optimal(_joint_of(inp, law), inp.target_compute)
        N, D, where = float(opt["N_opt"]), float(opt["D_opt"]), f"prior compute-optimal point of C={inp.target_compute:g}"
    else:
        N, D, where = inp.target_N, inp.target_D, "given"
        if N is None or D is None:
            if law.axis is None:
                missing = "target_N" if N is None else "target_D"
                raise InputError(missing, f"{missing} must be given: the candidate pool varies both N and D")
            N = N if N is not None else law.fixed
            D = D if D is not None else law.fixed
            where = "given, the other axis at the pool's fixed value"
    Xt = np.array([[N, D]])
    Xf = law.X(Xt)
    return ({"quantity": "loss", "N": N, "D": D, "where": where, "prior_value": float(form.predict(params, Xf)[0]),
             "units": "sd of log loss (relative error)"},
            lambda v: np.log(form.predict(v, Xf)), ["log_loss"], Xt)


def _joint_of(inp: Input, law: _Law) -> dict[str, float]:
    if law.axis is None:
        return law.params
    raise InputError("target_compute", "a loss target at `target_compute` needs a pool that varies N and D; give "
                                       "`target_N` or `target_D` on the pool's axis instead")


def _gate(inp: Input, flops: np.ndarray, budget_cost: float, unit_costs: np.ndarray, peak: float,
          mfu: float) -> Verdict:
    gate = knowledge.budget_gate(inp.scaling_type)
    lo = lambda v: int(v[0] if isinstance(v, list) else v)  # noqa: E731
    min_runs = lo(gate["min_runs"])
    # runs, not settings: each candidate may be run up to max_repeats times, as the selection allows
    reps = inp.max_repeats
    affordable = int(cheapest_first(np.repeat(unit_costs, reps), budget_cost).size)
    pool_runs = len(flops) * reps
    cheapest = np.sort(np.repeat(flops, reps))[:min_runs]
    need_flops = float(cheapest.sum()) if pool_runs >= min_runs else None
    need_hours = float(gpu_hours(need_flops, peak, mfu)) if need_flops is not None else None
    unit = inp.budget_unit
    take = None
    if need_flops is not None:
        take = (f"{min_runs} runs: at least {need_flops:.4g} FLOPs ({need_hours:.4g} GPU-hours on {inp.hardware} at "
                f"MFU {mfu:g}) for the cheapest {min_runs} candidates" if unit != "runs" else f"{min_runs} runs")
    else:
        more = " or raise max_repeats" if reps < MAX_REPEATS else ""
        take = (f"{min_runs} runs, but the pool holds only {pool_runs} ({len(flops)} candidate settings x {reps} "
                f"repeat{'s' if reps > 1 else ''}): widen the candidate pool{more}")
    if affordable == 0:
        status, msg = "unaffordable", (f"the budget buys no run: the cheapest candidate costs "
                                       f"{unit_costs.min():.4g} {unit} against a budget of {inp.budget:.4g} {unit}")
    elif affordable < min_runs:
        way_out = ("widen the candidate pool" + (" or raise max_repeats" if reps < MAX_REPEATS else "")
                   if affordable == pool_runs else "raise the budget or shrink the candidate sizes")
        status, msg = "below_gate", (f"the budget buys at most {affordable} runs; the Budget Gate for "
                                     f"{inp.scaling_type.replace('_', '-')} studies asks at least {min_runs}: the fit "
                                     f"will be fragile; {way_out}")
    else:
        status, msg, take = "pass", f"the budget buys up to {affordable} runs, meeting the gate's {min_runs}", None
    return Verdict(status=status, message=msg, gate=gate, affordable_runs=affordable, min_runs_needed=min_runs,
                   cost_of_minimum_flops=need_flops, cost_of_minimum_gpu_hours=need_hours, what_it_would_take=take)


def _classical(inp: Input, budget_cost: float, unit_costs: np.ndarray, flops: np.ndarray) -> ClassicalChoice:
    table = knowledge.load("designs")["choice_by_runs"]
    per_run = float(np.median(unit_costs))
    max_runs = int(np.floor(budget_cost / per_run * (1 + 1e-12)))
    row = next(r for r in table["rows"] if r["min_runs"] <= max_runs < r["max_runs"])
    return ClassicalChoice(max_runs=max_runs, cost_per_run_flops=float(np.median(flops)), design=row["design"],
                           tool_designs=row["tool_designs"], rationale=row["rationale"], source=table["source"])


def _mc_errors(form, truth, X, target_fn, inp: Input, noise: NoiseModel, time_s: float, seed: int,
               progress) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray]:
    """Refit simulated studies; return |target error| per sim, converged flags, truncation, estimates."""
    res = monte_carlo(form, truth, X, noise=noise, n_sims=inp.monte_carlo_sims, seed=seed, time_limit_s=time_s,
                      progress=progress)
    t0 = np.atleast_1d(target_fn(form.as_array(truth)))
    est = np.array([_safe_target(target_fn, v, t0.shape) for v in res.values]).reshape(-1, t0.size)
    err = np.sqrt(np.sum((est - t0) ** 2, axis=1))
    return err, res.converged, res.truncated, est


def _safe_target(target_fn, values: np.ndarray, shape) -> np.ndarray:
    """The target at one refit; NaN when the refit has no such value (e.g. a non-positive exponent for N_opt)."""
    if not np.all(np.isfinite(values)):
        return np.full(shape, np.nan)
    try:
        with np.errstate(all="ignore"):
            return np.atleast_1d(target_fn(values)).astype(float)
    except ValueError:
        return np.full(shape, np.nan)


def _comparison(name, idx, X, flops, budget_flops, unit_costs, budget_cost, rows, G, done_M, mc) -> DesignComparison:
    counts = np.bincount(idx, minlength=len(X)) if len(idx) else np.zeros(len(X), int)
    var, _ = target_variance(done_M + information_matrix(rows, counts), G)
    total = float(np.sum(var))
    err, conv, est = mc if mc is not None else (None, None, None)
    ok = err[np.isfinite(err)] if err is not None else None
    return DesignComparison(
        name=name, n_runs=int(len(idx)), cost_flops=float(flops[idx].sum()),
        fraction_of_budget=float(unit_costs[idx].sum() / budget_cost),
        distinct_N=int(np.unique(X[idx, 0]).size), max_N=float(X[idx, 0].max()) if len(idx) else None,
        predicted_sd=float(np.sqrt(total)) if np.isfinite(total) else None,
        mc_median_abs_error=float(np.median(ok)) if ok is not None and ok.size else None,
        mc_p90_abs_error=float(np.quantile(ok, 0.9)) if ok is not None and ok.size else None,
        mc_sd=float(np.sqrt(np.sum(np.nanvar(est, axis=0)))) if est is not None and ok.size > 1 else None,
        mc_converged_fraction=float(np.mean(conv)) if conv is not None and len(conv) else None,
        mc_sims=int(len(err)) if err is not None else 0)


def run(inp: Input, progress: Callable[[float, float, str], None] | None = None) -> Output:
    warnings: list[StepWarning] = []
    defaults: list[NamedValue] = []
    peak, mfu, mfu_source = knowledge.accelerator(inp.hardware, inp.mfu)
    if mfu_source is not None:
        defaults.append(NamedValue(name="mfu", value=mfu, source=mfu_source))
    joint, source = _prior(inp, defaults)
    noise = _noise(inp, defaults)

    X, flops, levels = _pool(inp, defaults)
    if inp.budget_unit == "runs":
        unit_costs, budget_cost, budget_flops = np.ones(len(X)), float(inp.budget), None
    else:
        budget_flops = float(inp.budget if inp.budget_unit == "flops" else
                             flops_from_gpu_hours(inp.budget, peak, mfu))
        unit_costs, budget_cost = flops, budget_flops
    budget = BudgetSummary(given=inp.budget, unit=inp.budget_unit, flops=budget_flops,
                           gpu_hours=float(gpu_hours(budget_flops, peak, mfu)) if budget_flops else None,
                           hardware=inp.hardware, peak_flops=peak, mfu=mfu)

    # sequential mode: the runs already done inform the design (and the prior, once there are enough)
    done_X = np.array([[r.N, r.D] for r in inp.completed_runs], float).reshape(-1, 2)
    law = _choose_law(inp, joint, source, X, done_X)
    form, params, source = law.form, law.params, law.source
    prior_law, refit, family = law, None, None
    if len(inp.completed_runs) >= MIN_RUNS_TO_REFIT and inp.refit_prior:
        y = np.array([r.loss for r in inp.completed_runs])
        refit = refit_completed(form, law.X(done_X), y, warnings, "completed_runs")
        if refit is not None:
            params, source = refit.params, f"fit of the {len(y)} completed runs (huber-log), replacing {source}"
            law = _Law(form, params, source, law.axis, law.fixed)
            if form.name == "chinchilla" and inp.hedge:
                family = selected_family(done_X, y, warnings)
    elif inp.completed_runs and inp.refit_prior:
        warnings.append(StepWarning(code="prior_kept", severity="info",
                                    message=f"{len(inp.completed_runs)} completed runs (< {MIN_RUNS_TO_REFIT}) are too "
                                            "few to refit the law; the design stays at the prior"))
    if len(done_X) and inp.max_repeats == 1:  # a candidate already run is not a new setting
        fresh = ~np.array([np.any(np.all(np.isclose(x, done_X, rtol=1e-9), axis=1)) for x in X])
        X, flops, levels, unit_costs = X[fresh], flops[fresh], levels[fresh], unit_costs[fresh]
    if len(X) == 0:
        raise InputError("candidates", "the candidate pool is empty (every candidate was already run): give new "
                                       "`candidates` or widen n_min..n_max")

    target_info, target_fn, target_names, Xt = _target(inp, law)
    _target_warnings(Xt, X, warnings)
    if refit is not None:
        disagreement(prior_law.form, prior_law.params, refit, law.X(Xt), warnings)
    verdict = _gate(inp, flops, budget_cost, unit_costs, peak, mfu)
    classical = _classical(inp, budget_cost, unit_costs, flops)

    rows = response_rows(form, params, law.X(X), noise.sd_of_loss)
    done_M = information_matrix(response_rows(form, params, law.X(done_X), noise.sd_of_loss)) if len(done_X) else \
        np.zeros((rows.shape[1],) * 2)
    G = target_gradient(form, params, target_fn)
    t0 = time.perf_counter()
    if inp.hedge and form.name == "chinchilla" and target_info["quantity"] == "loss":
        from .hedged_selection import hedged_select
        sel = hedged_select(params, law.X(X), law.X(Xt), unit_costs, budget_cost, noise.sd_of_loss, law.X(done_X),
                            inp.max_repeats, extra=[family] if family else [])
    else:
        sel = greedy_select(rows, unit_costs, G, budget_cost, prior_information=done_M, max_repeats=inp.max_repeats)
    elapsed = time.perf_counter() - t0
    idx = np.sort(sel.indices, kind="stable")
    idx = idx[np.argsort(flops[idx], kind="stable")]
    if not sel.full_rank:
        warnings.append(StepWarning(code="design_not_identifiable", severity="warning",
                                    message=f"the chosen runs cannot identify all {form.n_params} parameters of "
                                            f"the law ({form.equation}): too few runs or distinct settings; raise "
                                            "the budget or use cheaper candidates"))

    if sel.counts.sum() == len(X) * inp.max_repeats:
        warnings.append(StepWarning(code="budget_exceeds_pool", severity="info",
                                    message=_pool_exhausted(inp.max_repeats, bool(inp.candidates))))
    designs = [("selected", idx)]
    if inp.compare_naive:
        designs += [("thinned_grid", thinned_grid(levels, unit_costs, budget_cost)),
                    ("cheapest_first", cheapest_first(unit_costs, budget_cost))]
    mc_results: dict[str, Any] = {}
    mc_summary = None
    stressed = inp.monte_carlo_sims > 0 and len(idx) > 0 and form.name == "chinchilla" and \
        target_info["quantity"] == "loss"
    mc_limit = inp.time_limit_s * (1 - STRESS_SHARE if stressed else 1.0)
    if inp.monte_carlo_sims > 0 and len(idx):
        start = time.perf_counter()
        truncated = False
        runnable = [(n, i) for n, i in designs if len(i) + len(done_X) >= form.n_params]
        for k, (name, design_idx) in enumerate(runnable):
            left = mc_limit - (time.perf_counter() - start)
            if left <= 0:
                truncated = True
                break
            Xd = law.X(np.vstack([done_X, X[design_idx]]))
            prog = None if progress is None else (lambda d, t, m, k=k, name=name: progress(
                k * inp.monte_carlo_sims + d, len(runnable) * inp.monte_carlo_sims, f"{name}: {m}"))
            err, conv, trunc, est = _mc_errors(form, params, Xd, target_fn, inp, noise, left / (len(runnable) - k),
                                               inp.seed, prog)
            truncated |= trunc
            mc_results[name] = (err, conv, est)
        mc_summary = MonteCarloSummary(
            n_requested=inp.monte_carlo_sims, truncated=truncated, elapsed_s=time.perf_counter() - start,
            seed=inp.seed, objective="huber-log (delta 1e-3), the package's fitter",
            note="each design's losses simulated from the prior law plus the noise model"
                 + (" (completed runs simulated too)" if len(done_X) else "") + ", then refitted")
        if truncated:
            warnings.append(StepWarning(code="monte_carlo_truncated", severity="warning",
                                        message=f"the Monte Carlo check hit its {inp.time_limit_s:g} s bound; fewer "
                                                "simulations than asked back the figures"))
    comparisons = [_comparison(n, i, X, flops, budget_flops, unit_costs, budget_cost, rows, G, done_M,
                               mc_results.get(n)) for n, i in designs]
    _comparison_warnings(comparisons, warnings)
    regime_warnings(X[idx], Xt, warnings)
    stress = None
    if stressed:
        stress = stress_check(params, X, Xt, unit_costs, budget_cost, designs[:1], noise,
                              min(inp.monte_carlo_sims, STRESS_SIMS), inp.time_limit_s * STRESS_SHARE, inp.seed,
                              done_X)
        stress_warnings(stress, warnings)

    run_rows = _run_rows(X, flops, idx, inp.seed, peak, mfu)
    cols = ["run_id", "N", "D", "C", "tokens_per_param", "seed", "gpu_hours"]
    var_each = sel.variances
    per_target = {n: (float(np.sqrt(v)) if np.isfinite(v) else None) for n, v in zip(target_names, var_each)}
    total_var = float(np.sum(var_each))
    return Output(
        verdict=verdict, budget=budget, classical_choice=classical, target=target_info,
        prior={"params": params, "source": source, "form": form.equation,
               "axis": law.axis or "N and D", "fixed": law.fixed}, noise={
            "kind": noise.kind, "sigma": noise.sigma, "ref_loss": noise.ref_loss, "power": noise.power},
        n_candidates=int(len(X)), selection_rule=sel.rule, selection_elapsed_s=elapsed, identifiable=sel.full_rank,
        runs=run_rows, csv=to_csv(run_rows, cols),
        results_template_csv=to_csv([dict(r, loss=None) for r in run_rows], cols + ["loss"]),
        total_cost_flops=float(flops[idx].sum()), total_gpu_hours=float(gpu_hours(flops[idx].sum(), peak, mfu)),
        predicted_sd=float(np.sqrt(total_var)) if np.isfinite(total_var) else None,
        predicted_sd_per_target=per_target, comparisons=comparisons, monte_carlo=mc_summary, stress_check=stress,
        truncated=bool(mc_summary is not None and mc_summary.truncated),
        next_step=("run the chosen runs, fill `loss` in the results template and call fit_scaling_law; to add runs "
                   "later, call budget_constrained_design again with them as `completed_runs`"),
        defaults_used=defaults, warnings=warnings)


def _pool_exhausted(max_repeats: int, given_pool: bool) -> str:
    """What to do when the budget buys every candidate run, given the repeats already allowed."""
    bought = "every candidate" + (f" {max_repeats} times (max_repeats)" if max_repeats > 1 else "")
    widen = ("widen the pool (more or larger `candidates`)" if given_pool else
             "widen the pool (larger n_max, more tokens-per-parameter ratios)")
    if max_repeats >= MAX_REPEATS:
        return f"the budget buys {bought}: {widen}"
    more = "allow max_repeats > 1" if max_repeats == 1 else f"allow max_repeats above {max_repeats}"
    return f"the budget buys {bought}: {widen} or {more}"


def _run_rows(X, flops, idx, seed, peak, mfu) -> list[dict[str, Any]]:
    seeds = distinct_seeds(np.random.default_rng(seed), len(idx))
    return [{"run_id": f"r{k + 1:04d}", "N": float(X[i, 0]), "D": float(X[i, 1]), "C": float(flops[i]),
             "tokens_per_param": float(X[i, 1] / X[i, 0]), "seed": int(s),
             "gpu_hours": float(gpu_hours(flops[i], peak, mfu))} for k, (i, s) in enumerate(zip(idx, seeds))]


def _target_warnings(Xt: np.ndarray, X: np.ndarray, warnings: list[StepWarning]) -> None:
    if not len(Xt):
        return
    far = Xt[0] / X.max(axis=0)
    if np.any(far > FAR_EXTRAPOLATION):
        warnings.append(StepWarning(code="extrapolation_far", severity="warning",
                                    message=f"the target lies {far.max():.3g}x beyond the largest candidate (N or D); "
                                            "the prediction rests on the law holding over that range"))


def _comparison_warnings(comparisons: list[DesignComparison], warnings: list[StepWarning]) -> None:
    sel = comparisons[0]
    for other in comparisons[1:]:
        if (sel.mc_median_abs_error is not None and other.mc_median_abs_error is not None
                and other.mc_median_abs_error < sel.mc_median_abs_error):
            warnings.append(StepWarning(code="naive_design_better", severity="warning",
                                        message=f"in the Monte Carlo check the {other.name} design had a lower median "
                                                f"error ({other.mc_median_abs_error:.3g} vs "
                                                f"{sel.mc_median_abs_error:.3g}): the local linearisation misleads "
                                                "here; prefer the naive design or widen the pool"))


DESCRIPTION = """
Choose which runs to do under a budget (FLOPs, GPU-hours or a number of runs), and say what precision they buy.

Use after design_matrix_construction (pass its runs as `candidates`, or let the tool build a geometric pool of
N x tokens-per-parameter) when the full grid is too expensive. Returns the seed's Budget Gate verdict (pass,
below_gate, unaffordable, with what a minimally valid design would cost), the classical design family the
budget affords (max runs = budget / cost per run), and, for scaling studies, the runs that most reduce the
uncertainty of the target (loss at target_N/target_D, N_opt at target_compute, or the exponents) per unit cost:
a locally optimal design at the prior law (default the Epoch refit of Chinchilla; for a pool that varies only N
or only D, its one-axis form L = E' + A x^-alpha at the fixed resource) with the Epoch noise level.
Reports the predicted precision, a Monte Carlo check with the real fitter (switch off with
monte_carlo_sims: 0), and a comparison with an evenly thinned grid and cheapest-first runs of the same budget.
For a loss target the design hedges across law families (hedge) and a stress check simulates laws it did not
assume, comparing the selection with random picks of the same cost (random_design_better when they win).
Sequential mode: pass `completed_runs` (with losses) to get the next runs; the family is then chosen from them by
rolling extrapolation. Next: run them, then fit_scaling_law (form auto).
"""

EXAMPLE: dict[str, Any] = {
    "budget": 5e20,
    "budget_unit": "flops",
    "scaling_type": "compute_optimal",
    "target": "loss",
    "target_N": 7e10,
    "target_D": 1.4e12,
    "n_min": 2e7,
    "n_max": 1e9,
    "monte_carlo_sims": 50,
    "seed": 0,
}
