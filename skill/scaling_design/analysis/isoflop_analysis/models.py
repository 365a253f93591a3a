"""isoflop_analysis: the Input and Output models."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...laws.bootstrap import MAX_BOOTSTRAP

MAX_PARABOLA_BOOTSTRAP = 20_000


class IsoRun(BaseModel):
    """One run of an isoFLOP grid."""

    model_config = ConfigDict(extra="allow")
    N: float | None = Field(None, ge=1e-30, le=1e30, description="Parameters.")
    D: float | None = Field(None, ge=1e-30, le=1e30, description="Training tokens (or give C).")
    C: float | None = Field(None, ge=1e-30, le=1e35, description="Training FLOPs; D = C / (6N) when D is absent.")
    loss: float | None = Field(None, description="Final held-out loss (nats/token); empty = not run yet (skipped).")
    budget: float | None = Field(None, gt=0, description="The isoFLOP budget the run belongs to (FLOPs); default: grouped by C.")
    role: str | None = Field(None, description="fit (default) or validation (held out, scored after the fits).")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runs: list[IsoRun] | None = Field(None, description="The grid's runs as rows; or give csv_path or csv_text.")
    csv_path: str | None = Field(None, description="Path to a CSV with columns N, D (or C), loss, and optionally budget, role.")
    csv_text: str | None = Field(None, description="CSV content, same columns as csv_path.")
    budget_tolerance: float = Field(0.05, gt=0, le=0.5, description=(
        "Without a budget column, runs whose log10 C lie within this many decades of the previous one form one "
        "budget (0.05 decades = 12%)."))
    target_compute: float | None = Field(None, gt=0, le=1e35, description=(
        "Budget (FLOPs) at which both methods' N_opt and D_opt are compared and their regret computed "
        "(default: 10x the largest budget)."))
    bootstrap: int = Field(2000, ge=0, le=MAX_PARABOLA_BOOTSTRAP, description=(
        "Wild-bootstrap replicates of the per-budget parabolas, carried into the power laws (0 = none)."))
    joint_bootstrap: int = Field(200, ge=0, le=MAX_BOOTSTRAP, description=(
        "Bootstrap replicates of the joint-law fit (resampling runs), for its intervals, the bias interval and "
        "the expected regret (0 = none; use >= 1000 to report)."))
    level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of the intervals.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of both bootstraps.")
    time_limit_s: float = Field(120.0, gt=0, le=3600, description="Time bound on the joint-law bootstrap (seconds).")

    @model_validator(mode="after")
    def _one_source(self):
        given = [n for n in ("runs", "csv_path", "csv_text") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of runs, csv_path or csv_text; got {given or 'none'}")
        if self.bootstrap == 1 or self.joint_bootstrap == 1:
            raise ValueError("bootstrap and joint_bootstrap must be 0 (off) or >= 2 replicates; got 1")
        return self


class Band(BaseModel):
    low: float
    high: float
    level: float


class Diagnostic(BaseModel):
    code: str
    severity: str
    message: str


class BudgetFit(BaseModel):
    compute: float = Field(description="The budget (FLOPs): the geometric mean of its runs' 6ND, or the budget column.")
    n_runs: int
    N_range: list[float] = Field(description="Smallest and largest N run at this budget.")
    convex: bool = Field(description="Whether the parabola opens upwards (a minimum exists).")
    vertex_inside_grid: bool
    N_opt: float | None = Field(None, description="Approach 2: the parabola's vertex.")
    N_opt_interval: Band | None = Field(None, description="Wild-bootstrap percentile interval of the vertex.")
    N_opt_delta_interval: Band | None = Field(None, description="Delta-method interval from the OLS covariance.")
    D_opt: float | None = Field(None, description="C / (6 N_opt).")
    curvature: float = Field(description="d^2 loss / d(ln N)^2 of the parabola: the loss lost 1 e-fold off the optimum is half of it.")
    min_loss: float | None = Field(None, description="The parabola's minimum loss.")
    joint_N_opt: float = Field(description="The joint law's exact optimum at this budget.")
    approach2_bias: float = Field(description=(
        "The relative error the parabola makes on this grid if the fitted joint law is the truth: "
        "vertex of the law's noise-free losses at these runs / the law's exact optimum - 1."))
    approach2_bias_interval: Band | None = None
    approach2_vs_joint: float | None = Field(None, description="N_opt (approach 2) / joint_N_opt - 1.")
    points: list[list[float]] = Field(description="The budget's runs as [N, D, loss].")
    parabola: list[float] = Field(description="[centre, c0, c1, c2]: loss = c0 + c1 u + c2 u^2 with u = ln N - centre.")


class Frontier(BaseModel):
    method: str = Field(description="approach2, approach2_bias_corrected or joint.")
    exponent_a: float = Field(description="N_opt ~ C^a.")
    exponent_a_interval: Band | None = None
    exponent_b: float = Field(description="D_opt ~ C^b.")
    exponent_b_interval: Band | None = None
    N_opt: float = Field(description="N_opt at the target budget.")
    N_opt_interval: Band | None = None
    D_opt: float
    D_opt_interval: Band | None = None


class Regret(BaseModel):
    method: str
    N: float = Field(description="Parameters this method recommends at the target budget.")
    under_joint: float = Field(description="Loss lost at the target under the fitted joint law (nats/token).")
    under_joint_expected: float | None = Field(None, description="Mean loss lost over the joint-law bootstrap replicates.")
    under_joint_interval: Band | None = None
    under_approach2_profile: float | None = Field(None, description=(
        "Loss lost under approach 2's own profile at the target: half its curvature (extrapolated as a power law in C) "
        "times the squared ln-distance from approach 2's N_opt."))


class Agreement(BaseModel):
    N_opt_ratio: float = Field(description="Approach-2 N_opt / joint N_opt at the target.")
    N_opt_ratio_bias_corrected: float = Field(description="Bias-corrected approach-2 N_opt / joint N_opt at the target.")
    exponent_difference: float = Field(description="a (approach 2) - a (joint).")
    intervals_overlap: bool | None = Field(None, description="Whether the two N_opt intervals at the target overlap.")
    bias_explains: float | None = Field(None, description=(
        "Share of the log N_opt gap at the target that the approach-2 bias estimate accounts for (1 = all of it); "
        "None when the two differ by less than 2%."))
    verdict: str
    statement: str


class Validation(BaseModel):
    compute: float
    n_runs: int
    observed_N_opt: float | None = Field(None, description=(
        "The held-out budget's own parabola vertex: itself an approach-2 estimate, with the same kind of bias."))
    observed_N_opt_bias_corrected: float | None = Field(None, description=(
        "That vertex divided by its own grid's approach-2 bias under the fitted joint law."))
    predicted: dict[str, float] = Field(default_factory=dict, description="N_opt predicted by each method at this budget.")
    relative_error: dict[str, float] = Field(default_factory=dict, description="predicted / observed vertex - 1 per method.")
    relative_error_bias_corrected: dict[str, float] = Field(default_factory=dict, description=(
        "predicted / bias-corrected observed vertex - 1 per method."))
    joint_loss_errors: list[float] = Field(default_factory=list, description="Relative loss errors of the joint law on the held-out runs.")


class Output(BaseModel):
    n_runs: int
    n_skipped: int
    target_compute: float
    budgets: list[BudgetFit]
    frontiers: list[Frontier] = Field(description="Approach 2, approach 2 corrected for its estimated bias, and the joint fit.")
    joint_params: dict[str, float]
    joint_converged: bool
    approach2_bias_at_target: float = Field(description="Estimated relative error of approach 2's N_opt at the target budget.")
    approach2_bias_at_target_interval: Band | None = None
    approach2_exponent_bias: float = Field(description="Estimated error of approach 2's exponent a on this grid.")
    agreement: Agreement
    regret: list[Regret]
    validation: list[Validation]
    bootstrap: dict = Field(description="Replicates asked for and used in each bootstrap, and the seed.")
    warnings: list[Diagnostic]
    notes: list[str]
