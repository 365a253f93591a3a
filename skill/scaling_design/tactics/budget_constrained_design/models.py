"""budget_constrained_design's input and output models, and the caps they enforce."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...laws.cost import MIN_MFU
from ...errors import out_of_order
from ... import knowledge
from ..design_stress import StressCheck
from .plan_rules import CutStep
from ...sops.design_matrix_construction import NamedValue, StepWarning


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
    budget_unit: Literal["flops", "gpu_hours", "runs", "usd", "wall_clock_hours"] = Field(
        default="flops", description="Unit of `budget`: training FLOPs, GPU-hours (converted with `hardware` peak and "
                                     "`mfu`), a number of runs, money (usd, at `usd_per_gpu_hour`) or wall-clock hours "
                                     "(on `n_gpus` GPUs in parallel).")
    usd_per_gpu_hour: float | None = Field(default=None, ge=0.01, le=1e5, allow_inf_nan=False, description=(
        "Price of one GPU-hour of `hardware` in US dollars; needed for budget_unit usd (prices vary by provider and "
        "contract, so there is no default)."))
    n_gpus: int | None = Field(default=None, ge=1, le=1_000_000, description=(
        "GPUs working in parallel; needed for budget_unit wall_clock_hours (budget x n_gpus GPU-hours)."))
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
    hardware: str = Field(default="H100", json_schema_extra={"enum": knowledge.hardware_names()}, description="Accelerator for GPU-hours (A100, H100, H200, V100, TPUv4, "
                                                      "MI300X).")
    mfu: float | None = Field(default=None, ge=MIN_MFU, le=1, allow_inf_nan=False,
                               description="Model FLOPs utilisation, 0.0001 to 1 (default 0.40).")
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
        if self.budget_unit == "usd" and self.usd_per_gpu_hour is None:
            raise ValueError("budget_unit 'usd' needs `usd_per_gpu_hour` (the price of one GPU-hour); got none")
        if self.budget_unit == "wall_clock_hours" and self.n_gpus is None:
            raise ValueError("budget_unit 'wall_clock_hours' needs `n_gpus` (GPUs running in parallel); got none")
        if not self.candidates:
            if self.n_min >= self.n_max:
                raise ValueError(out_of_order(self, "n_min", "n_max"))
            if self.tokens_per_param_min > self.tokens_per_param_max:
                raise ValueError(out_of_order(self, "tokens_per_param_min", "tokens_per_param_max", strict=False))
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
    usd: float | None = Field(None, description="The budget in money at `usd_per_gpu_hour` (when given).")
    wall_clock_hours: float | None = Field(None, description="Hours on `n_gpus` GPUs in parallel (when given).")
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
    cut_order: list[CutStep] = Field(default_factory=list, description=(
        "If the budget shrinks, cut the chosen runs in this order: each step drops the run whose loss raises the "
        "target's predicted variance least per unit of cost saved, with the predicted sd after the cut."))
    stopping_rules: list[str] = Field(default_factory=list, description="When to stop buying runs, and when to stop "
                                                                        "and re-plan.")
    stress_check: StressCheck | None = Field(None, description=(
        "For a loss target under the joint law: the selected runs and random picks of the same cost, simulated from "
        "laws other than the prior (joint_nbeta, Farseer) and fitted with the joint law; None when the Monte Carlo "
        "check is off or the target is not a loss."))
    next_step: str = Field(description="What to do next.")
    defaults_used: list[NamedValue] = Field(description="Defaults chosen, with sources.")
    warnings: list[StepWarning] = Field(description="Non-fatal findings, with codes.")
