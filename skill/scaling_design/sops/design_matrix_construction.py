"""design_matrix_construction: the run table.

Classical multi-factor designs come from pyDOE3 (full factorial, two-level fractional by
generators or target resolution, Plackett-Burman, central composite, Box-Behnken, Latin
hypercube, Taguchi arrays) and are checked for orthogonality, balance, resolution and
aliasing. Scaling grids (one-axis sweeps, N x D grids, isoFLOP grids around a prior
optimum, inference grids) are built here. Every table gets replicates with distinct
recorded seeds, blocks, a seeded random run order and the cost of each run.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import string
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import knowledge
from ..errors import InputError
from ..laws.allocation import compute_optimal
from ..laws.cost import gpu_hours, training_flops


def _pydoe3():
    """pyDOE3, imported on first use: it loads scipy.stats (0.5 s), which the server's start-up must not pay."""
    import pyDOE3

    return pyDOE3


__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "FactorLevels", "DESIGNS", "distinct_seeds", "to_csv",
           "NamedValue", "StepWarning"]

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
    tokens_per_param: list[float] = Field(
        default_factory=list, max_length=50,
        description="Tokens per parameter D/N. n_by_d_grid: used instead of D levels (D = r N). isoflop: the model "
                    "sizes of each budget are N = sqrt(C / (6 r)), instead of sizes around the prior optimum.")
    compute_budgets: list[float] = Field(default_factory=list, max_length=50,
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
    hardware: str = Field(default="H100", description="Accelerator whose dense BF16 peak converts FLOPs to GPU-hours "
                                                      "(A100, H100, H200, V100, TPUv4, MI300X).")
    mfu: float | None = Field(default=None, gt=0.0, le=1.0,
                              description="Model FLOPs utilisation assumed for GPU-hours (default 0.40).")
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
        if self.replicates % self.n_blocks:
            raise ValueError(f"`n_blocks` must divide `replicates` (blocks hold whole replicates); got "
                             f"n_blocks={self.n_blocks}, replicates={self.replicates}")
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError(f"`factors` names must be distinct; got {names}")
        return self


class NamedValue(BaseModel):
    name: str = Field(description="Default's name.")
    value: Any = Field(description="The value used.")
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


class CostSummary(BaseModel):
    flops_rule: str | None = Field(description="How FLOPs per run were counted (6ND, counted FLOPs per token, 2N per "
                                               "inference token), or None when the runs carry no FLOP count.")
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


# ---------------------------------------------------------------------------------------------
# classical designs (pyDOE3) -> coded matrix and level values

def _log_scale(f: FactorLevels) -> bool:
    if f.log_scale is not None:
        return f.log_scale and f.numeric and min(f.levels) > 0
    return f.numeric and min(f.levels) > 0 and max(f.levels) / min(f.levels) >= 10


def _two_levels(f: FactorLevels, warnings: list[StepWarning]) -> list[Level]:
    if len(f.levels) == 2:
        return list(f.levels)
    if len(f.levels) < 2:
        raise InputError("factors", f"factors: {f.name!r} needs 2 levels for a two-level design; got {f.levels!r}")
    if not f.numeric:
        raise InputError("factors", f"factors: {f.name!r} has {len(f.levels)} categorical levels; a two-level design "
                                    f"needs exactly 2 (or use full_factorial or taguchi)")
    low, high = min(f.levels), max(f.levels)
    warnings.append(StepWarning(code="levels_reduced_to_extremes", severity="info",
                                message=f"{f.name}: a two-level design uses the lowest and highest of "
                                        f"{len(f.levels)} levels ({low!r}, {high!r})"))
    return [low, high]


def _coded_to_value(f: FactorLevels, coded: np.ndarray, low_high: tuple[float, float] | None = None) -> np.ndarray:
    """Map coded values (-1 low, +1 high, 0 centre, beyond for axial points) to the factor's units."""
    low, high = low_high or (min(f.levels), max(f.levels))
    if _log_scale(f):
        mid, half = (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / 2
        return np.exp(mid + coded * half)
    mid, half = (low + high) / 2, (high - low) / 2
    return mid + coded * half


def _parse_generators(text: str, k_names: list[str]) -> str:
    """Turn 'D = ABC; E = AB' into pyDOE3's 'a b c abc ab'; pass pyDOE3 strings through (lower-cased)."""
    if "=" not in text:
        return " ".join(text.lower().split())
    letters = string.ascii_lowercase
    relations = [r for r in re.split(r"[;,]", text) if r.strip()]
    generated = {}
    for rel in relations:
        left, right = (s.strip().lower() for s in rel.split("=", 1))
        if len(left) != 1 or not right.isalpha():
            raise InputError("generators", f"generators: each relation must read like 'D = ABC'; got {rel.strip()!r}")
        generated[left] = right
    k = len(k_names)
    base = [c for c in letters[:k] if c not in generated]
    return " ".join(generated.get(c, c) for c in letters[:k]) if base else ""


def _fractional(k: int, inp: Input, defaults: list[NamedValue]) -> np.ndarray:
    if inp.generators:
        gen = _parse_generators(inp.generators, [str(i) for i in range(k)])
        if len(gen.split()) != k:
            raise InputError("generators", f"generators must define {k} columns (one per factor); got "
                                           f"{len(gen.split())} from {inp.generators!r}")
        try:
            return _pydoe3().fracfact(gen)
        except ValueError as exc:
            raise InputError("generators", f"generators: {exc}; got {inp.generators!r}") from None
    resolution = inp.resolution or 4
    if inp.resolution is None:
        defaults.append(NamedValue(name="resolution", value=4, source="main effects clear of two-factor interactions "
                                                                      "(designs.toml, resolution)"))
    return _fraction_by_resolution(k, resolution)


def _fraction_by_resolution(k: int, resolution: int) -> np.ndarray:
    """Fewest runs with at least the asked resolution: pyDOE3's fracfact_by_res, else its generator search."""
    try:
        return _pydoe3().fracfact_by_res(k, resolution)
    except ValueError:
        pass  # pyDOE3 misses some fractions (e.g. 2^(4-1) IV, generator abc); search generators instead
    for n_erased in range(k - 1, 0, -1) if k <= 10 else ():  # the generator search is exhaustive: keep it small
        if 2 ** (k - n_erased) <= k:
            continue
        try:
            gen, _, _ = _pydoe3().fracfact_opt(k, n_erased, max_attempts=5000)
        except ValueError:
            continue
        if gen is None:
            continue
        design = _pydoe3().fracfact(gen)
        if _resolution(design)[0] >= resolution:
            return design
    if k <= 15:
        return _pydoe3().ff2n(k)
    raise InputError("resolution", f"resolution {resolution} for {k} factors is not reachable with at most 2^15 runs")


def _words_of_identity(coded: np.ndarray, max_factors: int = MAX_ALIAS_FACTORS) -> list[tuple[int, ...]] | None:
    k = coded.shape[1]
    if k > max_factors:
        return None
    words = []
    for size in range(1, k + 1):
        for combo in itertools.combinations(range(k), size):
            col = np.prod(coded[:, combo], axis=1)
            if np.all(col == col[0]):
                words.append(combo)
    return words


def _resolution(coded: np.ndarray) -> tuple[int | None, list[tuple[int, ...]] | None]:
    words = _words_of_identity(coded)
    if words is None:
        return None, None
    return (min(len(w) for w in words) if words else None), words


def _alias_pattern(coded: np.ndarray) -> list[str]:
    """pyDOE3's alias map, upper-cased; chains holding a main effect or two-factor interaction first."""
    alias_map, _ = _pydoe3().fracfact_aliasing(coded)
    chains = []
    for chain in alias_map:
        terms = [t.strip() for t in chain.split("=")]
        if len(terms) < 2:
            continue
        chains.append(" = ".join(t.upper() for t in terms))
    low_order = [c for c in chains if len(c.split(" = ")[0]) <= 2]
    return low_order + [c for c in chains if c not in low_order]


def _taguchi(factors: list[FactorLevels], name: str | None, defaults: list[NamedValue]) -> np.ndarray:
    need = [len(f.levels) for f in factors]
    arrays = _pydoe3().list_orthogonal_arrays()
    if name is not None and name not in arrays:
        raise InputError("taguchi_array", f"taguchi_array must be one of {arrays}; got {name!r}")
    candidates = [name] if name else sorted(arrays, key=lambda a: int(a[1:a.index("(")]))
    for oa in candidates:
        columns = _oa_columns(oa)
        assignment = _assign_columns(need, columns)
        if assignment is None:
            continue
        if name is None:
            defaults.append(NamedValue(name="taguchi_array", value=oa, source="smallest pyDOE3 orthogonal array "
                                                                               "that holds every factor's levels"))
        table = _pydoe3().get_orthogonal_array(oa)
        return table[:, assignment]
    raise InputError("taguchi_array", f"no orthogonal array in {arrays if name is None else [name]} holds factors "
                                      f"with {need} levels; use full_factorial or fewer levels")


def _oa_columns(oa: str) -> list[int]:
    spec = oa[oa.index("(") + 1:-1]
    cols = []
    for part in spec.split():
        levels, count = part.split("^")
        cols += [int(levels)] * int(count)
    return cols


def _assign_columns(need: list[int], columns: list[int]) -> list[int] | None:
    free = list(range(len(columns)))
    chosen = []
    for n in need:
        match = next((c for c in free if columns[c] == n), None)
        if match is None:
            return None
        chosen.append(match)
        free.remove(match)
    return chosen


def _classical(inp: Input, warnings: list[StepWarning], defaults: list[NamedValue]):
    """Return (values per factor (n, k) object array, coded (n, k) float, levels used, model, terms, info)."""
    factors = inp.factors
    k = len(factors)
    if k == 0:
        raise InputError("factors", f"factors must list at least one factor for design {inp.design!r}; got none "
                                    "(call level_specification first, or pass {name: [levels]})")
    info: dict[str, Any] = {"two_level": False}
    design = inp.design
    if design in ("central_composite", "box_behnken", "latin_hypercube"):
        non_numeric = [f.name for f in factors if not f.numeric or len(f.levels) < 2]
        if non_numeric:
            raise InputError("factors", f"factors {non_numeric} must be numeric with at least 2 levels (low, high) "
                                        f"for {design}")
    if design == "full_factorial":
        idx = _pydoe3().fullfact([len(f.levels) for f in factors]).astype(int)
        values = [[factors[j].levels[i] for j, i in enumerate(row)] for row in idx]
        return _pack(values, idx, factors, "main effects", 1 + sum(len(f.levels) - 1 for f in factors), info)
    if design in ("fractional_factorial", "plackett_burman"):
        two = [_two_levels(f, warnings) for f in factors]
        if design == "fractional_factorial":
            if k < 3:
                raise InputError("factors", f"a fractional factorial needs at least 3 factors; got {k} (use full_factorial)")
            coded = _fractional(k, inp, defaults)
        else:
            if k < 2:
                raise InputError("factors", f"Plackett-Burman needs at least 2 factors; got {k}")
            coded = _pydoe3().pbdesign(k)
        info["two_level"] = True
        values = [[two[j][0] if c < 0 else two[j][1] for j, c in enumerate(row)] for row in coded]
        levels_used = {f.name: two[j] for j, f in enumerate(factors)}
        return _pack(values, (coded > 0).astype(int), factors, "main effects", 1 + k, info, coded, levels_used)
    if design == "central_composite":
        if k < 2:
            raise InputError("factors", f"a central composite design needs at least 2 numeric factors; got {k}")
        alpha = "orthogonal" if inp.ccd_alpha == "orthogonal" else "rotatable"
        coded = _pydoe3().ccdesign(k, center=(inp.center_points, inp.center_points), alpha=alpha, face=inp.ccd_face)
        return _continuous(coded, factors, "full quadratic", 1 + 2 * k + k * (k - 1) // 2, info)
    if design == "box_behnken":
        if k < 3:
            raise InputError("factors", f"a Box-Behnken design needs at least 3 numeric factors; got {k}")
        coded = _pydoe3().bbdesign(k, center=inp.center_points if inp.center_points else None)
        return _continuous(coded, factors, "full quadratic", 1 + 2 * k + k * (k - 1) // 2, info)
    if design == "latin_hypercube":
        samples = inp.samples or 10 * k
        if inp.samples is None:
            defaults.append(NamedValue(name="samples", value=samples, source="10 points per factor (Loeppky, Sacks "
                                                                             "and Welch 2009 rule of thumb)"))
        unit = _pydoe3().lhs(k, samples=samples, criterion=inp.lhs_criterion, seed=inp.seed)
        return _continuous(2 * unit - 1, factors, "linear", 1 + k, info)
    idx = _taguchi(factors, inp.taguchi_array, defaults).astype(int)
    values = [[factors[j].levels[i] for j, i in enumerate(row)] for row in idx]
    return _pack(values, idx, factors, "main effects", 1 + sum(len(f.levels) - 1 for f in factors), info)


def _pack(values, index, factors, model, terms, info, coded=None, levels_used=None):
    info["index"] = np.asarray(index)
    info["coded"] = coded
    levels = levels_used or {f.name: list(f.levels) for f in factors}
    return values, levels, model, terms, info


def _continuous(coded, factors, model, terms, info):
    values = np.column_stack([_coded_to_value(f, coded[:, j]) for j, f in enumerate(factors)])
    info["continuous"] = coded
    levels = {f.name: sorted(set(values[:, j].tolist())) for j, f in enumerate(factors)}
    return values.tolist(), levels, model, terms, info


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
        bad = {k: v for k, v in inp.prior_params.items() if not (np.isfinite(v) and v > 0)}
        if bad:
            raise InputError("prior_params", f"prior_params must all be finite and > 0; got {bad}")
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
    """Fill C (training FLOPs) or flops (inference) and gpu_hours per run; return the rule used."""
    design = inp.design
    if design == "inference_grid":
        fwd = knowledge.load("designs")["inference"]["forward_flops_per_param_token"]
        for r in rows:
            r["flops"] = fwd * r["N"] * r["batch_size"] * r["seq_len"]
            r["gpu_hours"] = float(gpu_hours(r["flops"], peak, mfu))
        warnings.append(StepWarning(
            code="inference_cost_lower_bound", severity="info",
            message="inference cost counts one forward pass over batch_size x seq_len tokens at the assumed MFU: a "
                    "compute-bound lower bound. Token-by-token decoding is limited by memory bandwidth, so measured "
                    "GPU time is higher; budget the warm-up passes and repeats on top."))
        return f"{fwd}N FLOPs per token x batch_size x seq_len (one forward pass; Kaplan et al. 2020)"
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


# ---------------------------------------------------------------------------------------------
# properties

def _main_effect_columns(table: np.ndarray, numeric_coded: dict[int, np.ndarray]) -> list[tuple[int, np.ndarray]]:
    """Centred contrast columns per factor: the coded value for continuous factors, level indicators otherwise."""
    cols = []
    for j in range(table.shape[1]):
        if j in numeric_coded:
            cols.append((j, numeric_coded[j] - numeric_coded[j].mean()))
            continue
        labels = [repr(v) for v in table[:, j]]
        uniq = sorted(set(labels))
        for u in uniq[1:]:
            ind = np.array([1.0 if x == u else 0.0 for x in labels])
            cols.append((j, ind - ind.mean()))
    return cols


def _orthogonality(cols: list[tuple[int, np.ndarray]]) -> tuple[bool | None, float | None]:
    """Max |correlation| between main-effect columns of different factors.

    For a multi-level factor, orthogonality means its indicator space is uncorrelated with every other
    factor's; pairwise correlation of centred indicators is zero exactly when the two-way counts are
    proportional, which is the usual definition (proportional frequencies)."""
    worst = 0.0
    found = False
    for (a, x), (b, y) in itertools.combinations(cols, 2):
        if a == b:
            continue
        nx, ny = np.linalg.norm(x), np.linalg.norm(y)
        if nx == 0 or ny == 0:
            continue
        found = True
        worst = max(worst, abs(float(x @ y) / (nx * ny)))
    if not found:
        return None, None
    return worst < 1e-9, worst


def _balanced(table: np.ndarray) -> bool:
    for j in range(table.shape[1]):
        _, counts = np.unique([repr(v) for v in table[:, j]], return_counts=True)
        if counts.min() != counts.max():
            return False
    return True


def _properties(inp: Input, base_values: list[list], names: list[str], info: dict, model: str, terms: int,
                rows: list[dict], point_keys: list[str], n_center: int,
                warnings: list[StepWarning]) -> DesignProperties:
    table = np.array(base_values, dtype=object)
    coded = info.get("coded")
    letters = string.ascii_uppercase[: len(names)] if coded is not None and len(names) <= 26 else ""
    resolution, defining, aliases, note = None, [], [], None
    numeric_coded = {}
    if info.get("continuous") is not None:
        numeric_coded = {j: info["continuous"][:, j] for j in range(len(names))}
    elif coded is not None:
        coded_all = info.get("coded_all", coded)
        numeric_coded = {j: coded_all[:, j].astype(float) for j in range(len(names))}
    cols = _main_effect_columns(table, numeric_coded)
    orthogonal, worst = _orthogonality(cols)
    if coded is not None and letters:
        resolution, words = _resolution(coded)
        if words is None:
            note = f"aliasing not computed for more than {MAX_ALIAS_FACTORS} factors"
        else:
            defining = ["I = " + "".join(letters[i] for i in w) for w in words]
            fraction = coded.shape[0] < 2 ** coded.shape[1]
            if fraction:
                aliases = _alias_pattern(coded)
            if fraction and not words:
                note = ("no complete aliasing: a non-regular fraction (Plackett-Burman) has partial aliasing; main "
                        "effects are partially aliased with two-factor interactions (resolution III-like)")
    meaning = None
    if resolution is not None:
        table_res = knowledge.load("designs")["resolution"]
        meaning = table_res.get(str(min(resolution, 5)))
        if resolution >= 5:
            meaning = table_res["5"] if resolution == 5 else f"{resolution}: main effects and two-factor " \
                                                              f"interactions are clear of each other"
    n = len(rows)
    counts: dict[tuple, int] = {}
    for r in rows:
        key = tuple(repr(r.get(c)) for c in point_keys)
        counts[key] = counts.get(key, 0) + 1
    pure = sum(c - 1 for c in counts.values())
    error_df = n - terms
    if error_df < 0:
        warnings.append(StepWarning(code="model_not_estimable", severity="warning",
                                    message=f"{n} runs cannot estimate the {model} model ({terms} terms): add runs "
                                            "or replicates"))
    elif error_df == 0:
        warnings.append(StepWarning(code="no_error_df", severity="warning",
                                    message=f"the {model} model ({terms} terms) is saturated by {n} runs: no degrees "
                                            "of freedom are left for error; add replicates or centre points"))
    return DesignProperties(
        orthogonal=orthogonal, max_abs_correlation=worst,
        balanced=_balanced(table[: len(table) - info.get("added_center", 0)]) if names else None,
        resolution=resolution, resolution_meaning=meaning, defining_relation=defining, alias_pattern=aliases,
        letters={name: letters[i] for i, name in enumerate(names)} if letters else {},
        aliasing_note=note, model=model, model_terms=terms, error_df=error_df, pure_error_df=pure,
        center_points=n_center, distinct_points=len(counts))


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


def _estimate_runs(inp: Input) -> int | None:
    """Rows before building, to refuse tables beyond the cap at once (None when unknown until built)."""
    sizes = [len(f.levels) for f in inp.factors]
    if inp.design == "full_factorial":
        base = int(np.prod(sizes)) if sizes else 0
    elif inp.design == "n_by_d_grid":
        n = len(_factor(inp, "N").levels) if _factor(inp, "N") else 0
        d = len(_factor(inp, "D").levels) if _factor(inp, "D") else len(inp.tokens_per_param)
        base = n * d
    elif inp.design == "inference_grid":
        base = int(np.prod([len(f.levels) for f in inp.factors if f.name in ("batch_size", "seq_len", "N")] or [0]))
    elif inp.design == "isoflop":
        base = len(inp.compute_budgets) * (len(inp.tokens_per_param) or inp.models_per_budget or 7)
    else:
        return None
    return base * inp.replicates


def _check_cap(n: int, field: str = "replicates") -> None:
    if n > MAX_RUNS:
        raise InputError(field, f"the design would have {n} runs; the cap is {MAX_RUNS} runs (max_runs): use fewer "
                                "levels, factors or replicates")


def run(inp: Input) -> Output:
    warnings: list[StepWarning] = []
    defaults: list[NamedValue] = []
    estimate = _estimate_runs(inp)
    if estimate is not None:
        _check_cap(estimate)
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
    rows = _expand(points, inp)
    rule = _costs(rows, inp, levels, peak, mfu, warnings)

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

    lead = ["run_id", "run_order", "block", "replicate", "point", "seed"]
    factor_cols = [c for c in names if c not in lead]
    extra = [c for c in ("N", "D", "C", "tokens_per_param", "flops", "gpu_hours") if c not in factor_cols
             and any(c in r for r in rows)]
    fixed_cols = [c for c in inp.fixed if c not in factor_cols + extra]
    columns = lead + factor_cols + extra + fixed_cols
    clean = [{c: _plain(r.get(c)) for c in columns} for r in rows]
    template_cols = columns + [c for c in inp.result_columns if c not in columns]
    template_rows = [dict(r, **{c: None for c in inp.result_columns}) for r in clean]
    flops = [r.get("C", r.get("flops")) for r in clean] if rule is not None else []
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


DESCRIPTION = """
Build the run table of an experiment: which runs to do, with seeds, order, blocks and cost.

Use after level_specification (pass its `levels` as `factors`, or a mapping name -> list of values). Scaling
studies: `one_axis_sweep` (one factor varied, `fixed` holds the rest), `n_by_d_grid` (N levels x D levels
or x `tokens_per_param`), `isoflop` (`compute_budgets` x model sizes around the prior compute-optimal N,
D = C/(6N)), `inference_grid` (batch_size x seq_len x N). Classical multi-factor designs through pyDOE3:
full_factorial, fractional_factorial (`generators` like 'D = ABC' or a target `resolution`),
plackett_burman, central_composite, box_behnken, latin_hypercube, taguchi, with orthogonality, balance,
resolution, alias pattern, centre points and error degrees of freedom checked.

Returns the run table (`runs` as JSON records and `csv`), a `results_template_csv` with an empty `loss`
column that fit_scaling_law reads back once filled, per-run FLOPs (6ND or counted FLOPs per token) and
GPU-hours (hardware peak x MFU, both stated), totals, and warnings. Next: sample_size_estimation for
replicates, or budget_constrained_design to choose the runs worth doing under a budget.
"""

EXAMPLE: dict[str, Any] = {
    "design": "isoflop",
    "compute_budgets": [1e18, 3e18, 1e19],
    "models_per_budget": 7,
    "replicates": 1,
    "hardware": "H100",
    "seed": 0,
}
