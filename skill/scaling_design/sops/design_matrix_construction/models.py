"""design_matrix_construction's Input and Output models, design names and caps."""
from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...laws.cost import MIN_MFU
from ... import knowledge


def _pydoe3():
    """pyDOE3, imported on first use: it loads scipy.stats (0.5 s), which the server's start-up must not pay."""
    import pyDOE3

    return pyDOE3


CLASSICAL = ("full_factorial", "fractional_factorial", "plackett_burman", "central_composite",
             "box_behnken", "latin_hypercube", "taguchi")
SCALING = ("one_axis_sweep", "n_by_d_grid", "isoflop", "inference_grid")
DESIGNS = CLASSICAL + SCALING
_CAPS = knowledge.load("designs")["caps"]
MAX_RUNS = int(_CAPS["max_runs"])
MAX_REPLICATES = int(_CAPS["max_replicates"])
MAX_ALIAS_FACTORS = int(_CAPS["max_factors_alias"])
LAW_PARAMS = {"one_axis_sweep": 3, "n_by_d_grid": 5, "isoflop": 5}  # saturating law; joint law
RESULT_COLUMNS_DEFAULT = ["loss"]

Level = float | str
MAX_LEVEL = 1e30            # bound on a numeric level: costs derived from it stay finite floats
COUNTED = ("N", "D", "C")   # factors that are priced, so must be positive numbers


class FactorLevels(BaseModel):
    """One factor and its levels (values in the factor's own units)."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(description="Factor name, e.g. 'N' (parameters), 'D' (tokens), 'lr', 'batch_size'.",
                      min_length=1, max_length=64)
    levels: list[Level] = Field(description="The factor's levels: numbers in the factor's units, or labels "
                                "for a categorical factor.", min_length=1, max_length=1000)
    log_scale: bool | None = Field(default=None, description="Interpolate between levels in log space (centre "
                                   "points, response-surface and Latin-hypercube values). Default: true for "
                                   "positive numeric levels spanning a factor of 10 or more.")
    flops_per_token: list[float] | None = Field(
        default=None, description="Counted training FLOPs per token for each level of N (level_specification's "
                                  "shapes carry DeepSeek's M); used when `flops_counting` is 'counted'.")

    @field_validator("levels")
    @classmethod
    def _finite_levels(cls, value: list[Level]) -> list[Level]:
        bad = [v for v in value if isinstance(v, float) and not (np.isfinite(v) and abs(v) <= MAX_LEVEL)]
        if bad:
            raise ValueError(f"`levels` must be finite numbers of magnitude <= {MAX_LEVEL:g}, or labels; got {bad[0]!r}")
        return value

    @model_validator(mode="after")
    def _counts_are_positive_numbers(self) -> "FactorLevels":
        # N, D and C are priced (6ND FLOPs, GPU-hours): a label or a zero there has no cost
        if self.name in COUNTED and not (self.numeric and all(v > 0 for v in self.levels)):
            raise ValueError(f"`levels` of factor {self.name!r} must be numbers > 0 (it is priced); got "
                             f"{self.levels[:5]!r}")
        return self

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.levels)


KIND_TO_NAME = {"parameters": "N", "tokens": "D", "compute": "C", "batch_size": "batch_size"}


def _as_factors(value: Any) -> Any:
    """Accept a list of {name, levels}, a mapping name -> list of values, or level_specification's output
    (its whole Output, or its `factors` list): factors of kind parameters/tokens/compute become N/D/C, and
    the shapes' counted FLOPs per token come along."""
    if value is None:
        return []
    if isinstance(value, dict):
        if isinstance(value.get("factors"), list):
            return _as_factors(value["factors"])  # level_specification's whole output
        if "levels" in value and isinstance(value["levels"], (list, dict)) and "name" not in value:
            return _as_factors(value["levels"])
        return [_one_factor(name, spec) for name, spec in value.items()]
    if isinstance(value, list):
        return [item if not isinstance(item, dict) else _one_factor(item.get("name"), item) for item in value]
    return value


def _one_factor(name: Any, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        return {"name": name, "levels": spec}
    values = next((spec[k] for k in ("levels", "values", "points", "custom_levels") if spec.get(k) is not None), None)
    kind = spec.get("kind")
    out = {"name": KIND_TO_NAME.get(kind, spec.get("name") or name), "levels": values}
    if spec.get("log_scale") is not None:
        out["log_scale"] = spec["log_scale"]
    shapes = spec.get("shapes") or []
    if kind == "parameters" and shapes and values is not None and len(shapes) == len(values):
        out["flops_per_token"] = [s.get("flops_per_token_deepseek") for s in shapes]
    return out


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study_kind: Literal["scaling", "general"] = Field(
        "scaling", description="scaling (default): any design; general: an ablation, hyperparameter or architecture "
                               "comparison, built with a classical design (no scaling grid).")
    design: Literal[DESIGNS] = Field(  # type: ignore[valid-type]
        default="n_by_d_grid",
        description="Which table to build. Classical: full_factorial, fractional_factorial (two-level; "
                    "`generators` or `resolution`), plackett_burman, central_composite, box_behnken, "
                    "latin_hypercube, taguchi. Scaling: one_axis_sweep (one factor varied, `fixed` holds the "
                    "rest), n_by_d_grid (N x D, or N x `tokens_per_param`), isoflop (`compute_budgets` x model "
                    "sizes around the prior optimum, D = C/(6N)), inference_grid (batch_size x seq_len x N).")
    factors: list[FactorLevels] = Field(
        default_factory=list,
        description="Factors and their levels: a list of {name, levels}, or a mapping name -> list of values, or "
                    "level_specification's output (its `levels`). Scaling grids use the names N (parameters), D "
                    "(tokens), x (a single generic axis), batch_size, seq_len.", max_length=30)
    fixed: dict[str, float] = Field(default_factory=dict,
                                    description="Values held constant in every run, e.g. {'D': 2e10} for a model-size "
                                                "sweep at fixed tokens. Units as the factor's.")
    tokens_per_param: list[Annotated[float, Field(ge=1e-3, le=1e6)]] = Field(
        default_factory=list, max_length=50,
        description="Tokens per parameter D/N. n_by_d_grid: used instead of D levels (D = r N). isoflop: the model "
                    "sizes of each budget are N = sqrt(C / (6 r)), instead of sizes around the prior optimum.")
    compute_budgets: list[Annotated[float, Field(ge=1e12, le=1e30)]] = Field(default_factory=list, max_length=50,
                                         description="isoflop: training compute budgets C in FLOPs (1e12-1e30).")
    models_per_budget: int | None = Field(default=None, ge=3, le=50,
                                          description="isoflop: model sizes per budget (default 7; the seed's gate "
                                                      "asks 6-10).")
    isoflop_span: float | None = Field(default=None, gt=1.0, le=100.0,
                                       description="isoflop: the sizes run from N_opt(C)/span to span x N_opt(C), "
                                                   "geometrically (default 4).")
    prior_law: str = Field(default="epoch", description="isoflop: published joint law whose optimum centres the "
                                                         "sizes (key of the published-law table).")
    prior_params: dict[str, float] | None = Field(default=None, description="isoflop: joint-law parameters E, A, B, "
                                                  "alpha, beta overriding `prior_law` (e.g. a fitted law).")
    generators: str | None = Field(default=None, max_length=200,
                                   description="fractional_factorial: generator string in pyDOE3's notation "
                                               "('a b c abc') or as 'D = ABC' relations separated by ';' or ','.")
    resolution: int | None = Field(default=None, ge=3, le=8,
                                   description="fractional_factorial: smallest design with at least this resolution.")
    center_points: int = Field(default=0, ge=0, le=50,
                               description="Centre points added per replicate (two-level and response-surface "
                                           "designs; every factor must be numeric).")
    ccd_alpha: Literal["orthogonal", "rotatable"] = Field(default="orthogonal",
                                                          description="central_composite: axial distance rule.")
    ccd_face: Literal["circumscribed", "inscribed", "faced"] = Field(
        default="circumscribed", description="central_composite: where the axial points sit.")
    samples: int | None = Field(default=None, ge=2, le=MAX_RUNS,
                                description="latin_hypercube: number of points (default 10 x factors).")
    lhs_criterion: Literal["maximin", "center", "centermaximin", "correlation"] | None = Field(
        default="maximin", description="latin_hypercube: pyDOE3 space-filling criterion.")
    taguchi_array: str | None = Field(default=None, description="taguchi: orthogonal array name, e.g. 'L9(3^4)'; "
                                                                "default the smallest that fits the factors.")
    replicates: int = Field(default=1, ge=1, le=MAX_REPLICATES,
                            description=f"Runs of each design point, each with its own seed (cap {MAX_REPLICATES}).")
    n_blocks: int = Field(default=1, ge=1, le=MAX_REPLICATES,
                          description="Blocks (e.g. clusters or weeks); each block holds whole replicates, so "
                                      "`n_blocks` must divide `replicates`.")
    randomize: bool = Field(default=True, description="Randomise the run order within each block (seeded).")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Seed for run order and the recorded run seeds.")
    flops_counting: Literal["6N", "counted"] = Field(
        default="6N", description="Training FLOPs per run: 6ND (Kaplan et al. 2020), or counted FLOPs per token x D "
                                  "from `flops_per_token` or the N factor's shapes (DeepSeek-AI 2024; 6N is off by up "
                                  "to 50% for small models).")
    flops_per_token: list[float] = Field(
        default_factory=list, max_length=1000,
        description="Counted training FLOPs per token for each N level (same order as N's levels), e.g. from "
                    "DeepSeek's 72 n_layer d^2 + 12 n_layer d l_seq x 3; default 6N.")
    hardware: str = Field(default="H100", json_schema_extra={"enum": knowledge.hardware_names()}, description="Accelerator whose dense BF16 peak converts FLOPs to GPU-hours "
                                                      "(A100, H100, H200, V100, TPUv4, MI300X).")
    mfu: float | None = Field(default=None, ge=MIN_MFU, le=1.0, allow_inf_nan=False,
                              description="Model FLOPs utilisation assumed for GPU-hours, 0.0001 to 1 (default 0.40).")
    cost_per_run_gpu_hours: float | None = Field(default=None, gt=0.0,
                                                 description="Cost of one run in GPU-hours, for designs whose "
                                                             "factors do not include N and D.")
    result_columns: list[str] = Field(default_factory=lambda: list(RESULT_COLUMNS_DEFAULT), min_length=1,
                                      max_length=20, description="Empty result columns of the results template "
                                                                 "(default ['loss'], which fit_scaling_law reads).")

    @field_validator("factors", mode="before")
    @classmethod
    def _factors(cls, value: Any) -> Any:
        return _as_factors(value)

    @field_validator("compute_budgets")
    @classmethod
    def _budgets(cls, value: list[float]) -> list[float]:
        bad = [c for c in value if not 1e12 <= c <= 1e30]
        if bad:
            raise ValueError(f"`compute_budgets` must lie in [1e12, 1e30] FLOPs; got {bad[0]!r}")
        return value

    @field_validator("tokens_per_param", "flops_per_token")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(not (np.isfinite(v) and v > 0) for v in value):
            raise ValueError(f"every value must be a finite number > 0; got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Input":
        if self.study_kind == "general" and self.design not in CLASSICAL:
            if "design" in self.model_fields_set:
                raise ValueError(f"`design` must be a classical design when study_kind is general ({list(CLASSICAL)}); "
                                 f"got {self.design!r} (a scaling grid is for scaling studies)")
            self.design = "full_factorial"
        if self.replicates % self.n_blocks:
            raise ValueError(f"`n_blocks` must divide `replicates` (blocks hold whole replicates); got "
                             f"n_blocks={self.n_blocks}, replicates={self.replicates}")
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError(f"`factors` names must be distinct; got {names}")
        return self


_Scalar = float | int | str | bool | None  # every list item typed: a schema with no keyword accepts anything


class NamedValue(BaseModel):
    name: str = Field(description="Default's name.")
    value: float | int | str | bool | list[_Scalar | dict | list[_Scalar]] | dict | None = Field(
        description="The value used.")
    source: str = Field(description="Where the default comes from.")


class StepWarning(BaseModel):
    code: str = Field(description="Stable warning code.")
    severity: Literal["info", "warning", "error"] = Field(description="How much it matters.")
    message: str = Field(description="What was found and what to do.")


class DesignProperties(BaseModel):
    orthogonal: bool | None = Field(description="Main-effect columns of different factors are uncorrelated "
                                                "(None when not defined, e.g. single-factor sweeps).")
    max_abs_correlation: float | None = Field(description="Largest |correlation| between main-effect columns of "
                                                          "different factors.")
    balanced: bool | None = Field(description="Every level of every factor appears equally often (added centre "
                                              "points aside).")
    resolution: int | None = Field(description="Resolution of a two-level fraction: length of the shortest word of "
                                               "the defining relation (None if not a regular fraction).")
    resolution_meaning: str | None = Field(description="What the resolution allows one to estimate.")
    defining_relation: list[str] = Field(description="Words equal to the identity, e.g. ['I = ABCD'].")
    alias_pattern: list[str] = Field(description="Alias chains among effects (main effects and two-factor "
                                                 "interactions shown first), letters as in `letters`.")
    letters: dict[str, str] = Field(description="Letter used in the alias pattern for each factor.")
    aliasing_note: str | None = Field(description="Notes on aliasing (e.g. partial aliasing in Plackett-Burman).")
    model: str = Field(description="The model the error degrees of freedom refer to.")
    model_terms: int = Field(description="Number of parameters of that model.")
    error_df: int = Field(description="Runs minus model terms: residual degrees of freedom.")
    pure_error_df: int = Field(description="Degrees of freedom from repeated points (replicates, centre points).")
    center_points: int = Field(description="Centre-point runs in the table.")
    distinct_points: int = Field(description="Distinct factor settings in the table.")
    row_types: dict[str, int] = Field(default_factory=dict, description="Rows by type: factorial, axial, edge "
                                                                        "(Box-Behnken), center.")
    rotatable: bool | None = Field(None, description="Prediction variance depends only on the distance from the "
                                                     "centre (central composite designs; None for other designs).")
    replicates_per_condition: int | None = Field(None, description="Fewest runs at any distinct factor setting.")
    min_center_points: int | None = Field(None, description="Recommended minimum centre points for a response-"
                                                            "surface design (None for other designs).")


class CostSummary(BaseModel):
    flops_rule: str | None = Field(description="How the cost per run was counted (6ND, counted FLOPs per token; for "
                                               "an inference grid the roofline benchmark time), or None when the "
                                               "runs carry no cost.")
    total_flops: float | None = Field(description="Sum of the runs' FLOPs.")
    max_run_flops: float | None = Field(description="FLOPs of the most expensive run.")
    total_gpu_hours: float | None = Field(description="Sum of the runs' GPU-hours.")
    hardware: str = Field(description="Accelerator assumed for GPU-hours.")
    peak_flops: float = Field(description="Its dense BF16 peak FLOP/s.")
    mfu: float = Field(description="Model FLOPs utilisation assumed.")
    failed_run_allowance: float = Field(description="Fraction to add for failed runs when budgeting.")


class IsoflopBudget(BaseModel):
    compute: float = Field(description="Budget C in FLOPs.")
    n_opt_prior: float = Field(description="Prior compute-optimal N at C (parameters).")
    d_opt_prior: float = Field(description="Prior compute-optimal D at C (tokens).")
    n_values: list[float] = Field(description="Model sizes run at this budget.")
    tokens_per_param: list[float] = Field(description="D/N of those runs.")


class Output(BaseModel):
    design: str = Field(description="The design built.")
    n_runs: int = Field(description="Rows of the run table (all replicates and centre points).")
    columns: list[str] = Field(description="Columns of the run table, in order.")
    runs: list[dict[str, Any]] = Field(description="The run table (JSON records) in run order.")
    csv: str = Field(description="The run table as CSV text (design.csv).")
    results_template_csv: str = Field(description="The run table with empty result columns (results-template.csv); "
                                                  "fill in `loss` and pass it to fit_scaling_law.")
    result_columns: list[str] = Field(description="The empty result columns of the template.")
    factor_levels: dict[str, list[Level]] = Field(description="The levels used for each factor.")
    properties: DesignProperties = Field(description="Orthogonality, balance, aliasing, degrees of freedom.")
    cost: CostSummary = Field(description="Per-run cost convention and totals.")
    isoflop: list[IsoflopBudget] = Field(default_factory=list, description="isoflop: the prior optimum per budget.")
    seeds_distinct: bool = Field(description="Every run has its own recorded seed.")
    seed: int = Field(description="Seed used for run order and run seeds.")
    defaults_used: list[NamedValue] = Field(description="Defaults the step chose, with their sources.")
    warnings: list[StepWarning] = Field(description="Non-fatal findings, with codes.")
