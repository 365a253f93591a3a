"""Level specification: the scale points of each factor, made feasible, and checked.

Levels are spaced (geometric by default) between each factor's minimum and maximum, then
made realisable: a parameter target becomes a transformer shape whose counted parameters
land within the tolerance of the target, a token target becomes whole optimizer steps of
one batch, a batch size becomes a power of two. Checks with verdicts say whether the points
can support a power-law fit (decades, count, smallest scale), suggest a larger held-out point,
and whether the plan fits the budget.
"""
from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import knowledge
from ..errors import InputError
from ..laws.cost import flops_from_gpu_hours, gpu_hours
from ..laws.counting import (TransformerShape, count_params, flops_per_token_6n,
                             flops_per_token_deepseek)
from .factor_identification import MAX_BUDGET_GPU_HOURS, DefaultUsed, Finding, check_scaling_type, resolve_axis

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "FactorRange", "ModelShape", "search_shape",
           "input_from_factors"]

Spacing = Literal["geometric", "linear", "log_uniform", "custom"]
MAX_LEVELS = 20
_VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2}


# Bounds on any level, count or budget: wide enough for every real factor (learning rates near 1e-6, budgets near
# 1e27 FLOPs), narrow enough that ratios and costs derived from them stay finite floats.
MIN_MAGNITUDE, MAX_MAGNITUDE = 1e-30, 1e30


def _finite_positive(value: float | None, field: str) -> float | None:
    if value is not None and not (math.isfinite(value) and MIN_MAGNITUDE <= value <= MAX_MAGNITUDE):
        raise ValueError(f"`{field}` must be a finite number in [{MIN_MAGNITUDE:g}, {MAX_MAGNITUDE:g}]; got {value!r}")
    return value


class FactorRange(BaseModel):
    """One factor to level: a range (minimum, maximum) or explicit custom levels."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80,
                      description="Factor name: parameters, tokens, compute, batch_size, prompt_length, ... (the "
                                  "names factor_identification returns; aliases N, D, C accepted). Decides how levels "
                                  "are made feasible.")
    minimum: float | None = Field(None, description="Smallest level, > 0, in `unit` (parameters, tokens, FLOPs...).")
    maximum: float | None = Field(None, description="Largest level, > minimum, in `unit`.")
    unit: str = Field("", max_length=40, description="Unit of the factor (for the record).")
    num_levels: int | None = Field(None, ge=2, le=MAX_LEVELS,
                                   description="Levels for this factor; overrides the top-level num_levels.")
    spacing: Spacing | None = Field(None, description="Spacing for this factor; overrides the top-level spacing.")
    custom_levels: list[float] | None = Field(
        None, min_length=2, max_length=MAX_LEVELS,
        description="Explicit levels (> 0, distinct) for spacing 'custom'; minimum/maximum are then optional.")

    @field_validator("minimum", "maximum")
    @classmethod
    def _positive(cls, value: float | None, info) -> float | None:
        return _finite_positive(value, info.field_name)

    @field_validator("custom_levels")
    @classmethod
    def _custom(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        for v in value:
            _finite_positive(v, "custom_levels")
        if len(set(value)) != len(value):
            raise ValueError(f"`custom_levels` must be distinct; got {value}")
        return sorted(value)

    @model_validator(mode="after")
    def _range(self) -> "FactorRange":
        if self.spacing == "custom" and self.custom_levels is None:
            raise ValueError(f"`custom_levels` must be given when spacing is 'custom' (factor {self.name!r})")
        if self.custom_levels is not None:
            return self
        if self.minimum is None or self.maximum is None:
            raise ValueError(f"`minimum` and `maximum` must be given for factor {self.name!r} (or custom_levels); "
                             f"got minimum={self.minimum}, maximum={self.maximum}")
        if self.minimum >= self.maximum:
            raise ValueError(f"`minimum` must be < `maximum` for factor {self.name!r}; got {self.minimum:g} >= "
                             f"{self.maximum:g}: call level_specification with maximum > minimum")
        return self


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scaling_type: str = Field(description="One of data, model, compute_optimal, inference, custom; sets the default "
                                          "number of levels (Budget Gate) and the checks.")
    factors: list[FactorRange] = Field(
        min_length=1, max_length=4,
        description="Factors to level, each {name, minimum, maximum, unit, num_levels?, spacing?, custom_levels?}; "
                    "the independent_variables of factor_identification fit as they are (see input_from_factors).")
    num_levels: int | None = Field(None, ge=2, le=MAX_LEVELS,
                                   description="Levels per factor. Absent: 6 (the skill's preferred count) clipped to "
                                               "the Budget Gate range of the scaling type.")
    spacing: Spacing = Field("geometric", description="geometric (default: equal ratios), linear, log_uniform "
                                                      "(endpoints kept, interior points stratified at random in log "
                                                      "space with `seed`), or custom (each factor's custom_levels).")
    seed: int = Field(0, ge=0, description="Seed for log_uniform spacing.")
    parameter_counting: Literal["non_embedding", "total"] = Field(
        "non_embedding", description="Which count a parameter level targets: non_embedding (Kaplan) or total "
                                     "(Hoffmann, embeddings included). Both are reported.")
    vocab_size: int | None = Field(None, ge=2, le=2_000_000,
                                   description="Vocabulary size for embedding counts. Absent: 50257 (GPT-2).")
    seq_len: int | None = Field(None, ge=16, le=1_048_576,
                                description="Training sequence length in tokens (token rounding and FLOPs). Absent: "
                                            "2048.")
    gated_mlp: bool = Field(False, description="Gated MLP (SwiGLU, three matrices, d_ff = 8/3 d rounded up to 256) "
                                               "instead of d_ff = 4 d.")
    head_dim: Literal[64, 128] | None = Field(None, description="Attention head width; d_model is a multiple of it and "
                                                                "heads = d_model / head_dim. Absent: 64.")
    tied_embeddings: bool | None = Field(None, description="Input and output embeddings shared. Absent: true.")
    aspect_ratio_min: float | None = Field(None, gt=0, allow_inf_nan=False,
                                           description="Smallest d_model/n_layer allowed. Absent: 32.")
    aspect_ratio_max: float | None = Field(None, gt=0, allow_inf_nan=False,
                                           description="Largest d_model/n_layer allowed. Absent: 256.")
    tolerance: float = Field(0.05, gt=0, le=0.25, allow_inf_nan=False,
                             description="Largest relative gap between a shape's counted parameters and its target.")
    batch_size: int | None = Field(None, ge=1, le=1 << 20,
                                   description="Sequences per optimizer step, a power of two; token levels are whole "
                                               "steps of batch_size x seq_len. Absent: 256.")
    fixed_tokens: float | None = Field(None, description="Model scaling: tokens every model trains on (cost).")
    tokens_per_parameter: float | None = Field(
        None, description="Model scaling: tokens per parameter when fixed_tokens is absent (cost). Absent: 20.")
    fixed_parameters: float | None = Field(None, description="Data scaling: parameters of the one model (cost).")
    replicates: int | None = Field(None, ge=1, le=20,
                                   description="Seeds per point. Absent: the Budget Gate's lower count.")
    budget_flops: float | None = Field(None, description="Training FLOPs available for the whole plan.")
    budget_gpu_hours: float | None = Field(None, le=MAX_BUDGET_GPU_HOURS,
                                          description="GPU-hours available, at most 1e12 (used when budget_flops is "
                                                      "absent).")
    hardware: str = Field("H100", description="Accelerator for GPU-hour figures (A100, H100, H200, V100, TPUv4, "
                                             "MI300X).")
    mfu: float | None = Field(None, gt=0, le=1, allow_inf_nan=False,
                              description="Model FLOPs utilisation. Absent: the knowledge default (0.40).")

    @field_validator("scaling_type")
    @classmethod
    def _scaling_type(cls, value: str) -> str:
        return check_scaling_type(value)

    @field_validator("fixed_tokens", "tokens_per_parameter", "fixed_parameters", "budget_flops", "budget_gpu_hours")
    @classmethod
    def _positive(cls, value: float | None, info) -> float | None:
        return _finite_positive(value, info.field_name)

    @field_validator("batch_size")
    @classmethod
    def _power_of_two(cls, value: int | None) -> int | None:
        if value is not None and value & (value - 1):
            raise ValueError(f"`batch_size` must be a power of two; got {value} (nearest: "
                             f"{2 ** round(math.log2(value))})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Input":
        if self.aspect_ratio_min and self.aspect_ratio_max and self.aspect_ratio_min >= self.aspect_ratio_max:
            raise ValueError(f"`aspect_ratio_min` must be < `aspect_ratio_max`; got {self.aspect_ratio_min:g} >= "
                             f"{self.aspect_ratio_max:g}")
        if self.spacing == "custom":
            missing = [f.name for f in self.factors if f.custom_levels is None]
            if missing:
                raise ValueError(f"`factors[].custom_levels` must be given for every factor when spacing is 'custom'; "
                                 f"missing for {missing}")
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError(f"`factors` names must be distinct; got {names}")
        return self


class ModelShape(BaseModel):
    """A decoder-only transformer shape realising one parameter level."""

    target_params: float = Field(description="Target parameter count (in the chosen counting).")
    n_layer: int = Field(description="Number of layers.")
    d_model: int = Field(description="Residual width.")
    n_heads: int = Field(description="Attention heads = d_model / head_dim.")
    head_dim: int = Field(description="Width of one head.")
    d_ff: int = Field(description="MLP hidden width.")
    gated_mlp: bool = Field(description="Gated (SwiGLU) MLP.")
    aspect_ratio: float = Field(description="d_model / n_layer.")
    non_embedding_params: int = Field(description="Parameters of the blocks and final norm.")
    total_params: int = Field(description="All parameters for the given vocabulary and tying.")
    embedding_share: float = Field(description="Share of embedding parameters in the total.")
    counted_params: int = Field(description="Parameters in the chosen counting (the level used in the fit).")
    relative_error: float = Field(description="(counted - target) / target.")
    within_tolerance: bool = Field(description="|relative_error| <= tolerance.")
    aspect_in_band: bool = Field(description="Aspect ratio inside the allowed band.")
    flops_per_token_6n: float = Field(description="6 N training FLOPs per token, N non-embedding.")
    flops_per_token_deepseek: float = Field(description="DeepSeek M = 72 L d^2 + 12 L d l_seq per token.")


class FactorLevels(BaseModel):
    name: str = Field(description="Factor name.")
    kind: str = Field(description="parameters, tokens, compute, batch_size, integer or continuous.")
    unit: str = Field(description="Unit.")
    num_levels: int = Field(description="Number of levels.")
    levels: list[float] = Field(description="Feasible levels, ascending (realised parameter counts, whole-step token "
                                            "counts, powers of two...). Use these in the design.")
    target_levels: list[float] = Field(description="Ideal levels before making them feasible.")
    spacing: str = Field(description="Spacing used.")
    ratio: float | None = Field(description="Ratio between consecutive target levels (geometric spacing).")
    decades_covered: float = Field(description="log10(max level / min level).")
    justification: str = Field(description="Why these levels.")
    source: str = Field(description="Where the rules come from.")
    shapes: list[ModelShape] = Field(description="Transformer shape per level (parameters factors only).")
    steps: list[int] = Field(description="Optimizer steps per level (tokens factors only).")
    held_out_level: float = Field(description="A larger point to run and hold out to validate the extrapolation.")
    held_out_shape: ModelShape | None = Field(description="Shape of the held-out point (parameters factors only).")


class Check(BaseModel):
    check: str = Field(description="Stable check name.")
    factor: str | None = Field(description="Factor concerned (None: the whole plan).")
    verdict: Literal["pass", "warn", "fail"] = Field(description="pass, warn or fail.")
    detail: str = Field(description="What was measured against what.")
    source: str = Field(description="Where the rule comes from.")


class Output(BaseModel):
    scaling_type: str = Field(description="Scaling type.")
    factors: list[FactorLevels] = Field(description="Levels per factor.")
    total_combinations: int = Field(description="Points of the full grid over all factors (product of level counts).")
    replicates: int = Field(description="Seeds per point.")
    total_runs: int = Field(description="total_combinations x replicates.")
    tokens_per_parameter_range: list[float] | None = Field(
        description="Smallest and largest D/N implied by the plan (training studies with parameters).")
    estimated_cost_flops: float | None = Field(description="Training FLOPs of all runs (6 N D; N in the chosen "
                                                           "counting), None when the plan does not fix N and D.")
    estimated_gpu_hours: float | None = Field(description="estimated_cost_flops at the hardware peak and MFU.")
    held_out_cost_flops: float | None = Field(description="FLOPs of one run at the held-out point.")
    budget_flops: float | None = Field(description="Budget in FLOPs (given or from GPU-hours).")
    budget_compatible: bool | None = Field(description="estimated_cost_flops <= budget_flops; None when either is "
                                                       "unknown.")
    feasibility_check: list[Check] = Field(description="Checks with verdicts.")
    verdict: Literal["pass", "warn", "fail"] = Field(description="Worst verdict of the checks.")
    defaults_used: list[DefaultUsed] = Field(description="Defaults chosen, with sources.")
    warnings: list[Finding] = Field(description="Non-fatal findings.")
    next_step: str = Field(description="What to call next.")


DESCRIPTION = """
Second step of a scaling study: turns each factor's range into concrete scale points. Give the
scaling type and factors [{name, minimum, maximum, unit}] (factor_identification's
independent_variables fit directly); optionally num_levels (default from the Budget Gate),
spacing (geometric default, linear, log_uniform, custom), vocabulary, sequence length, batch and
budget. Returns per factor the levels in the seed's fields (num_levels, levels, spacing,
justification, source) made feasible: for parameters, a transformer shape per level (n_layer,
d_model, heads, d_ff, aspect ratio in band) whose counted parameters are within 5% of the target,
with both non-embedding and total counts; tokens as whole optimizer steps; batch sizes as powers of
two. Also a larger held-out point per factor, total_combinations, cost, budget_compatible, and
feasibility_check verdicts (decades covered, at least 4 points, smallest scale above the power-law
threshold, tokens-per-parameter varied in compute-optimal studies). Next: metric_specification, then
design_matrix_construction with these levels.
"""

EXAMPLE = {
    "scaling_type": "model",
    "factors": [{"name": "parameters", "minimum": 1e7, "maximum": 1e9, "unit": "parameters"}],
    "num_levels": 6,
    "vocab_size": 50257,
    "fixed_tokens": 2e10,
    "budget_gpu_hours": 5000,
    "hardware": "H100",
}


# --------------------------------------------------------------------------------------------
# Spacing

def _spaced(minimum: float, maximum: float, k: int, spacing: str, seed: int) -> np.ndarray:
    if spacing == "geometric":
        return np.geomspace(minimum, maximum, k)
    if spacing == "linear":
        return np.linspace(minimum, maximum, k)
    # log_uniform: keep both ends, one stratified random draw per interior stratum of log space.
    lo, hi = math.log(minimum), math.log(maximum)
    if k == 2:
        return np.array([minimum, maximum])
    from scipy.stats import qmc  # lazily: scipy.stats is slow to import and most calls never need it

    sample = qmc.LatinHypercube(d=1, rng=np.random.default_rng(seed)).random(k - 2)[:, 0]
    interior = np.exp(lo + np.sort(sample) * (hi - lo))
    return np.concatenate([[minimum], interior, [maximum]])


def _held_out(targets: np.ndarray, spacing: str) -> float:
    """One step beyond the largest level in the spacing's own terms."""
    if spacing == "linear":
        return float(targets[-1] + (targets[-1] - targets[-2]))
    return float(targets[-1] * (targets[-1] / targets[-2]) if spacing == "custom"
                 else targets[-1] * (targets[-1] / targets[0]) ** (1.0 / (len(targets) - 1)))


# --------------------------------------------------------------------------------------------
# Shapes

class _ShapeRules:
    """Shape settings resolved from input and knowledge."""

    def __init__(self, inp: Input, table: dict, shape_defaults: dict):
        shape = table["shape"]
        self.counting = inp.parameter_counting
        self.vocab = inp.vocab_size if inp.vocab_size is not None else shape["vocab_size"]
        self.seq_len = inp.seq_len if inp.seq_len is not None else table["tokens"]["seq_len"]
        self.gated = inp.gated_mlp
        self.head_dim = inp.head_dim if inp.head_dim is not None else shape_defaults["head_dim"]
        self.tied = inp.tied_embeddings if inp.tied_embeddings is not None else shape["tied_embeddings"]
        band = shape_defaults["aspect_ratio_band"]
        self.band = (inp.aspect_ratio_min or band[0], inp.aspect_ratio_max or band[1])
        pref = shape["preferred_aspect_ratio"]
        self.preferred = (max(pref[0], self.band[0]), min(pref[1], self.band[1]))
        self.tol = inp.tolerance
        self.min_layers = shape_defaults["min_layers"]
        self.max_layers = shape["max_layers"]
        self.ffn_multiplier = shape_defaults["ffn_multiplier"]
        self.gated_ratio = shape["gated_ffn_ratio"]
        self.gated_multiple = shape["gated_multiple_of"]

    def d_ff(self, d_model: int) -> int:
        if self.gated:
            return int(math.ceil(self.gated_ratio * d_model / self.gated_multiple)) * self.gated_multiple
        return self.ffn_multiplier * d_model

    def embedding_per_width(self) -> int:
        return self.vocab * (1 if self.tied else 2)


def _count(rules: _ShapeRules, n_layer: int, d_model: int):
    shape = TransformerShape(n_layer=n_layer, d_model=d_model, n_heads=d_model // rules.head_dim,
                             d_ff=rules.d_ff(d_model), vocab_size=rules.vocab, seq_len=rules.seq_len,
                             gated=rules.gated, tied_embeddings=rules.tied)
    return shape, count_params(shape)


def _shape(rules: _ShapeRules, n_layer: int, d_model: int, target: float) -> ModelShape:
    shape, count = _count(rules, n_layer, d_model)
    counted = count.non_embedding if rules.counting == "non_embedding" else count.total
    rel = (counted - target) / target
    aspect = d_model / n_layer
    return ModelShape(
        target_params=target, n_layer=n_layer, d_model=d_model, n_heads=shape.n_heads, head_dim=rules.head_dim,
        d_ff=shape.ffn_dim, gated_mlp=rules.gated, aspect_ratio=aspect, non_embedding_params=count.non_embedding,
        total_params=count.total, embedding_share=count.embedding / count.total, counted_params=counted,
        relative_error=rel, within_tolerance=abs(rel) <= rules.tol,
        aspect_in_band=rules.band[0] <= aspect <= rules.band[1],
        flops_per_token_6n=flops_per_token_6n(count.non_embedding),
        flops_per_token_deepseek=flops_per_token_deepseek(n_layer, d_model, rules.seq_len))


def _width_guess(rules: _ShapeRules, n_layer: int, target: float) -> float:
    """Continuous d solving 12 L d^2 + (4 L + 2 [+ V]) d = target (MHA, 8 d^2 MLP, norms, embeddings if total)."""
    a = 12.0 * n_layer
    b = 4.0 * n_layer + 2.0 + (rules.embedding_per_width() if rules.counting == "total" else 0.0)
    return (-b + math.sqrt(b * b + 4.0 * a * target)) / (2.0 * a)


def _candidates(rules: _ShapeRules, target: float, prune: bool):
    hd = rules.head_dim
    for n_layer in range(rules.min_layers, rules.max_layers + 1):
        d_star = _width_guess(rules, n_layer, target)
        if prune and d_star / n_layer > rules.band[1] * 1.5:
            continue  # too few layers for this width: more layers lower the aspect ratio
        if prune and d_star / n_layer < rules.band[0] / 1.5:
            break
        base = max(1, int(d_star // hd))
        for multiple in range(max(1, base - 1), base + 3):
            yield n_layer, multiple * hd


def search_shape(rules: _ShapeRules, target: float) -> ModelShape:
    """The shape whose counted parameters are within tolerance of target, aspect ratio in band.

    Among feasible shapes: aspect ratio in the preferred range first, then the smallest gap to
    the target. When none is feasible, the nearest shape is returned (within_tolerance or
    aspect_in_band False) so the check can say why.
    """
    feasible, fallback = [], []
    for prune in (True, False):
        for n_layer, d_model in _candidates(rules, target, prune):
            if not prune and n_layer > 64 and n_layer % 8:
                continue  # the unpruned search only has to find the nearest shape to report
            _, count = _count(rules, n_layer, d_model)
            counted = count.non_embedding if rules.counting == "non_embedding" else count.total
            gap = abs(counted - target) / target
            aspect = d_model / n_layer
            in_band = rules.band[0] <= aspect <= rules.band[1]
            if gap <= rules.tol and in_band:
                preferred = rules.preferred[0] <= aspect <= rules.preferred[1]
                feasible.append(((not preferred, gap), n_layer, d_model))
            else:
                # Nearest infeasible: within tolerance first (then closest aspect), else smallest gap.
                fallback.append(((gap > rules.tol, abs(math.log(aspect / rules.preferred[1])) if gap <= rules.tol
                                  else gap), n_layer, d_model))
        if feasible:
            break
    _, n_layer, d_model = min(feasible or fallback)
    return _shape(rules, n_layer, d_model, target)


# --------------------------------------------------------------------------------------------
# Feasible levels per kind

def _factor_kind(name: str, axes: dict) -> str:
    key = resolve_axis(name, axes)
    return axes[key]["kind"] if key is not None else "continuous"


def _feasible(kind: str, targets: np.ndarray, rules: _ShapeRules, tokens_per_step: int):
    """(levels, shapes, steps) for one factor."""
    if kind == "parameters":
        shapes = [search_shape(rules, float(t)) for t in targets]
        return [float(s.counted_params) for s in shapes], shapes, []
    if kind == "tokens":
        steps = [max(1, int(round(float(t) / tokens_per_step))) for t in targets]
        return [float(s * tokens_per_step) for s in steps], [], steps
    if kind == "batch_size":
        return [float(2 ** max(0, round(math.log2(float(t))))) for t in targets], [], []
    if kind == "integer":
        return [float(max(1, round(float(t)))) for t in targets], [], []
    return [float(t) for t in targets], [], []


def _justification(kind: str, spacing: str, k: int, ratio: float | None, decades: float) -> str:
    if spacing == "geometric":
        base = (f"{k} geometrically spaced levels (ratio {ratio:.3g}) over {decades:.2g} decades: equal spacing in "
                "log space, where power laws are straight lines, so every point carries the same weight in the "
                "log-log fit")
    elif spacing == "linear":
        base = (f"{k} linearly spaced levels over {decades:.2g} decades, as requested: the low end is sparse on a log "
                "axis, so prefer geometric spacing for a power-law fit")
    elif spacing == "log_uniform":
        base = f"{k} levels over {decades:.2g} decades: both ends kept, interior drawn one per stratum of log space"
    else:
        base = f"{k} levels given by the user, {decades:.2g} decades"
    extra = {"parameters": "; each target realised by a transformer shape whose counted parameters are within the "
                           "tolerance, with the aspect ratio in band",
             "tokens": "; token counts rounded to whole optimizer steps of one batch",
             "batch_size": "; batch sizes rounded to powers of two",
             "integer": "; rounded to whole numbers"}.get(kind, "")
    return base + extra


# --------------------------------------------------------------------------------------------
# Checks

def _check(checks: list[Check], name: str, factor: str | None, verdict: str, detail: str, source: str) -> None:
    checks.append(Check(check=name, factor=factor, verdict=verdict, detail=detail, source=source))


def _range_checks(fl: FactorLevels, table: dict, checks: list[Check]) -> None:
    dec, pts = table["decades"], table["points"]
    # Realised levels may sit a rounding step inside the requested range: allow that slack.
    covered = fl.decades_covered + dec["rounding_slack"]
    verdict = "fail" if covered < dec["minimum"] else "warn" if covered < dec["preferred"] else "pass"
    _check(checks, "decades_covered", fl.name, verdict,
           f"{fl.decades_covered:.3g} decades (minimum {dec['minimum']:g}, preferred {dec['preferred']:g})"
           + ("; widen the range: less than one decade cannot pin an exponent" if verdict == "fail" else ""),
           dec["source"])
    distinct = len(set(fl.levels))
    verdict = "fail" if distinct < pts["minimum"] else "warn" if distinct < pts["preferred"] else "pass"
    _check(checks, "num_points", fl.name, verdict,
           f"{distinct} distinct levels (minimum {pts['minimum']}, preferred {pts['preferred']}-8)"
           + (f"; rounding merged {fl.num_levels - distinct} levels" if distinct < fl.num_levels else ""),
           pts["source"])
    thresholds = table["smallest_scale"]
    if fl.kind in thresholds:
        row = thresholds[fl.kind]
        smallest = fl.target_levels[0]
        verdict = "pass" if smallest >= row["minimum"] else "warn"
        _check(checks, "smallest_scale", fl.name, verdict,
               f"smallest level {smallest:.3g} vs threshold {row['minimum']:.3g} {fl.unit}".rstrip()
               + ("" if verdict == "pass" else "; points below it may bend off the power law: drop them from the "
                                                "fit or raise the minimum"), row["source"])


def _shape_checks(fl: FactorLevels, rules: _ShapeRules, table: dict, checks: list[Check]) -> None:
    bad = [s for s in fl.shapes if not (s.within_tolerance and s.aspect_in_band)]
    worst = max(abs(s.relative_error) for s in fl.shapes)
    if bad:
        detail = "; ".join(f"target {s.target_params:.3g}: nearest shape L={s.n_layer} d={s.d_model} counts "
                           f"{s.counted_params:.4g} ({s.relative_error:+.1%}), aspect {s.aspect_ratio:.3g}"
                           for s in bad)
        hint = (" With total counting the embedding (vocab x d_model) dominates small models: use "
                "parameter_counting 'non_embedding', a smaller vocabulary, or a larger minimum."
                if rules.counting == "total" else " Widen the aspect-ratio band or move the level.")
        _check(checks, "shape_feasible", fl.name, "fail", detail + "." + hint, table["shape"]["tolerance_source"])
    else:
        _check(checks, "shape_feasible", fl.name, "pass",
               f"every level has a shape within {rules.tol:.0%} of its target (worst {worst:.2%}) with d_model/n_layer "
               f"in [{rules.band[0]:g}, {rules.band[1]:g}]", table["shape"]["tolerance_source"])
    share = fl.shapes[0].embedding_share
    limit = table["shape"]["embedding_share_warn"]
    if share > limit:
        _check(checks, "embedding_share", fl.name, "warn",
               f"embeddings are {share:.0%} of the smallest model's total parameters: the counting convention "
               "changes the fitted exponent here; fit with both counts and report both",
               table["shape"]["embedding_share_source"])


def _tpp_check(inp: Input, out_factors: list[FactorLevels], tpp: list[float] | None, table: dict,
               checks: list[Check]) -> None:
    if inp.scaling_type != "compute_optimal":
        return
    row = table["compute_optimal"]
    if tpp is None:
        _check(checks, "tokens_per_parameter_varied", None, "warn",
               "the plan does not fix both N and D, so tokens per parameter cannot be checked; give parameters with "
               "compute or tokens", row["source"])
        return
    spread = tpp[1] / tpp[0]
    verdict = "fail" if spread <= row["tokens_per_parameter_spread_fixed"] else \
        "warn" if spread < row["tokens_per_parameter_spread_pass"] else "pass"
    _check(checks, "tokens_per_parameter_varied", None, verdict,
           f"D/N spans {tpp[0]:.3g} to {tpp[1]:.3g} ({spread:.3g}-fold; pass at >= "
           f"{row['tokens_per_parameter_spread_pass']:g})"
           + ("; a fixed ratio cannot separate the model exponent from the data exponent" if verdict == "fail"
              else ""), row["source"])


# --------------------------------------------------------------------------------------------
# Cost

def _level_map(out_factors: list[FactorLevels]) -> dict[str, list[float]]:
    return {f.kind: f.levels for f in out_factors if f.kind in ("parameters", "tokens", "compute")}


def _runs_n_d(inp: Input, levels: dict[str, list[float]], tpp_default: float) -> list[tuple[float, float]] | None:
    """(N, D) of every grid point of the training axes, or None when the plan does not fix them."""
    n_levels, d_levels, c_levels = levels.get("parameters"), levels.get("tokens"), levels.get("compute")
    if n_levels and d_levels:
        return [(n, d) for n in n_levels for d in d_levels]
    if n_levels and c_levels:
        return [(n, c / (6.0 * n)) for c in c_levels for n in n_levels]
    if n_levels:
        if inp.fixed_tokens is not None:
            return [(n, inp.fixed_tokens) for n in n_levels]
        tpp = inp.tokens_per_parameter if inp.tokens_per_parameter is not None else tpp_default
        return [(n, tpp * n) for n in n_levels]
    if d_levels and inp.fixed_parameters is not None:
        return [(inp.fixed_parameters, d) for d in d_levels]
    return None


def _budget(inp: Input, defaults: list[DefaultUsed]) -> tuple[float | None, float | None, float]:
    """(budget FLOPs, peak FLOP/s, mfu)."""
    peak, mfu, mfu_source = knowledge.accelerator(inp.hardware, inp.mfu)
    if mfu_source is not None:
        defaults.append(DefaultUsed(name="mfu", value=mfu, source=mfu_source))
    budget = inp.budget_flops
    if budget is None and inp.budget_gpu_hours is not None:
        budget = float(flops_from_gpu_hours(inp.budget_gpu_hours, peak, mfu))
    return budget, peak, mfu


# --------------------------------------------------------------------------------------------

def _default_num_levels(scaling_type: str, table: dict) -> tuple[int, str]:
    preferred = table["num_levels"]["preferred"]
    if scaling_type == "custom":
        return preferred, table["num_levels"]["source"]
    gate = knowledge.budget_gate(scaling_type)
    lo, hi = gate["scale_points"]
    return min(max(preferred, lo), hi), f"{table['num_levels']['source']} [{lo}, {hi}] ({gate['source']})"


def _resolve_defaults(inp: Input, table: dict, shape_defaults: dict, defaults: list[DefaultUsed],
                      kinds: list[str]) -> tuple[int, int]:
    """Record the defaults that apply; return (num_levels, replicates)."""
    k, k_source = (inp.num_levels, "") if inp.num_levels is not None else _default_num_levels(inp.scaling_type, table)
    if inp.num_levels is None:
        defaults.append(DefaultUsed(name="num_levels", value=k, source=k_source))
    if inp.replicates is not None:
        reps = inp.replicates
    elif inp.scaling_type == "custom":
        reps = 1
        defaults.append(DefaultUsed(name="replicates", value=reps, source="no Budget Gate row for custom studies"))
    else:
        gate = knowledge.budget_gate(inp.scaling_type)
        r = gate["replicates"]
        reps = r[0] if isinstance(r, list) else r
        defaults.append(DefaultUsed(name="replicates", value=reps, source=f"lower Budget Gate count ({gate['source']})"))
    shape, tokens = table["shape"], table["tokens"]
    if "parameters" in kinds:
        for name, given, value, source in (
                ("vocab_size", inp.vocab_size, shape["vocab_size"], shape["vocab_source"]),
                ("head_dim", inp.head_dim, shape_defaults["head_dim"], "defaults.toml [shape]"),
                ("tied_embeddings", inp.tied_embeddings, shape["tied_embeddings"], shape["tied_source"]),
                ("aspect_ratio_min", inp.aspect_ratio_min, shape_defaults["aspect_ratio_band"][0],
                 "defaults.toml [shape]: " + shape_defaults["source"]),
                ("aspect_ratio_max", inp.aspect_ratio_max, shape_defaults["aspect_ratio_band"][1],
                 "defaults.toml [shape]: " + shape_defaults["source"])):
            if given is None:
                defaults.append(DefaultUsed(name=name, value=value, source=source))
    if ("tokens" in kinds or "parameters" in kinds) and inp.seq_len is None:
        defaults.append(DefaultUsed(name="seq_len", value=tokens["seq_len"], source=tokens["batch_source"]))
    if "tokens" in kinds and inp.batch_size is None:
        defaults.append(DefaultUsed(name="batch_size", value=tokens["batch_size"], source=tokens["batch_source"]))
    return k, reps


def _level_factor(f: FactorRange, inp: Input, k_default: int, kind: str, rules: _ShapeRules, tokens_per_step: int,
                  table: dict) -> FactorLevels:
    spacing = f.spacing or ("custom" if f.custom_levels is not None else inp.spacing)
    if f.custom_levels is not None and spacing != "custom":
        spacing = "custom"
    if spacing == "custom":
        targets = np.asarray(f.custom_levels, float)
    else:
        targets = _spaced(f.minimum, f.maximum, f.num_levels or k_default, spacing, inp.seed)
    k = len(targets)
    ratio = float((targets[-1] / targets[0]) ** (1.0 / (k - 1))) if spacing == "geometric" else None
    levels, shapes, steps = _feasible(kind, targets, rules, tokens_per_step)
    held = _held_out(targets, spacing)
    held_shape = search_shape(rules, held) if kind == "parameters" else None
    if kind == "parameters":
        held = float(held_shape.counted_params)
    elif kind == "tokens":
        held = float(max(1, round(held / tokens_per_step)) * tokens_per_step)
    elif kind == "batch_size":
        held = float(2 ** round(math.log2(held)))
    elif kind == "integer":
        held = float(round(held))
    decades = math.log10(max(levels) / min(levels))
    return FactorLevels(
        name=f.name, kind=kind, unit=f.unit, num_levels=k, levels=levels, target_levels=[float(t) for t in targets],
        spacing=spacing, ratio=ratio, decades_covered=decades,
        justification=_justification(kind, spacing, k, ratio, decades),
        source=_factor_source(kind, spacing, table, rules.gated), shapes=shapes, steps=steps, held_out_level=held,
        held_out_shape=held_shape)


def _factor_source(kind: str, spacing: str, table: dict, gated: bool) -> str:
    parts = [table["num_levels"]["source"] if spacing != "custom" else "levels given by the user"]
    if kind == "parameters":
        parts += [table["shape"]["tolerance_source"], table["shape"]["preferred_source"]]
        if gated:
            parts.append(table["shape"]["gated_source"])
    elif kind == "tokens":
        parts.append(table["tokens"]["batch_source"])
    return "; ".join(parts)


def _plan_warnings(inp: Input, out_factors: list[FactorLevels], tokens_per_step: int, table: dict,
                   warnings: list[Finding]) -> None:
    for fl in out_factors:
        if fl.kind == "tokens":
            gaps = [abs(lv - t) / t for lv, t in zip(fl.levels, fl.target_levels)]
            if max(gaps) > table["tokens"]["rounding_warn"]:
                warnings.append(Finding(code="token_rounding", severity="warning",
                                        message=f"{fl.name}: rounding to whole steps of {tokens_per_step} tokens moves "
                                                f"a level by {max(gaps):.1%}; use a smaller batch for small token "
                                                "counts or accept the realised levels."))
        if len(set(fl.levels)) < fl.num_levels:
            warnings.append(Finding(code="levels_merged", severity="warning",
                                    message=f"{fl.name}: rounding to feasible values merged some levels "
                                            f"({fl.levels}); widen the range or use fewer levels."))
    if inp.scaling_type == "compute_optimal" and {"compute", "parameters"} <= {f.kind for f in out_factors}:
        warnings.append(Finding(code="isoflop_pairs", severity="info",
                                message="The full grid crosses every budget with every size; an isoFLOP design keeps "
                                        "per budget the sizes near the predicted optimum: let "
                                        "design_matrix_construction choose the pairs."))
    if inp.scaling_type == "inference" and any(f.kind in ("parameters", "tokens") for f in out_factors):
        warnings.append(Finding(code="training_axis_in_inference", severity="info",
                                message="Inference studies serve existing checkpoints: use model_size_inference "
                                        "with the sizes you have rather than designed shapes."))


def run(inp: Input) -> Output:
    table = knowledge.load("levels")
    axes = knowledge.load("factors")["axes"]
    shape_defaults = knowledge.defaults()["shape"]
    defaults: list[DefaultUsed] = []
    warnings: list[Finding] = []
    checks: list[Check] = []
    kinds = [_factor_kind(f.name, axes) for f in inp.factors]
    for f, kind in zip(inp.factors, kinds):
        if resolve_axis(f.name, axes) is None:
            warnings.append(Finding(code="unknown_factor", severity="info",
                                    message=f"{f.name!r} is not a known axis: levels are spaced without rounding. "
                                            f"Known axes: {sorted(axes)}."))
    k_default, reps = _resolve_defaults(inp, table, shape_defaults, defaults, kinds)
    rules = _ShapeRules(inp, table, shape_defaults)
    batch = inp.batch_size if inp.batch_size is not None else table["tokens"]["batch_size"]
    tokens_per_step = batch * rules.seq_len
    out_factors = [_level_factor(f, inp, k_default, kind, rules, tokens_per_step, table)
                   for f, kind in zip(inp.factors, kinds)]
    for fl in out_factors:
        _range_checks(fl, table, checks)
        if fl.kind == "parameters":
            _shape_checks(fl, rules, table, checks)

    tpp_default = table["tokens"]["tokens_per_parameter"]
    has_n = any(f.kind == "parameters" for f in out_factors)
    if has_n and inp.fixed_tokens is None and inp.tokens_per_parameter is None and \
            not any(f.kind in ("tokens", "compute") for f in out_factors):
        defaults.append(DefaultUsed(name="tokens_per_parameter", value=tpp_default,
                                    source=table["tokens"]["tokens_per_parameter_source"]))
    pairs = _runs_n_d(inp, _level_map(out_factors), tpp_default)
    tpp = [min(d / n for n, d in pairs), max(d / n for n, d in pairs)] if pairs and has_n else None
    _tpp_check(inp, out_factors, tpp, table, checks)
    _plan_warnings(inp, out_factors, tokens_per_step, table, warnings)

    budget, peak, mfu = _budget(inp, defaults)
    total = int(np.prod([f.num_levels for f in out_factors]))
    cost = None if pairs is None else float(sum(6.0 * n * d for n, d in pairs)) * reps
    if pairs is None and any(f.kind == "compute" for f in out_factors):
        # Compute budgets alone: each budget is spent once per combination of the other factors.
        c_levels = next(f.levels for f in out_factors if f.kind == "compute")
        cost = float(sum(c_levels)) * (total // len(c_levels)) * reps
    hours = None if cost is None else float(gpu_hours(cost, peak, mfu))
    held_cost = _held_out_cost(inp, out_factors, tpp_default)
    compatible = None if cost is None or budget is None else cost <= budget
    _budget_checks(cost, budget, held_cost, compatible, checks)
    verdict = max((c.verdict for c in checks), key=_VERDICT_RANK.__getitem__, default="pass")
    return Output(
        scaling_type=inp.scaling_type, factors=out_factors, total_combinations=total, replicates=reps,
        total_runs=total * reps, tokens_per_parameter_range=tpp, estimated_cost_flops=cost, estimated_gpu_hours=hours,
        held_out_cost_flops=held_cost, budget_flops=budget, budget_compatible=compatible, feasibility_check=checks,
        verdict=verdict, defaults_used=defaults, warnings=warnings,
        next_step="Call metric_specification, then design_matrix_construction with these levels (use `levels`, not "
                  "`target_levels`); run the held-out point separately and keep it out of the fit.")


def _held_out_cost(inp: Input, out_factors: list[FactorLevels], tpp_default: float) -> float | None:
    """FLOPs of one run at the held-out point of the main training axis."""
    by_kind = {f.kind: f for f in out_factors}
    if "compute" in by_kind:
        return by_kind["compute"].held_out_level
    if "parameters" in by_kind:
        n = by_kind["parameters"].held_out_level
        if "tokens" in by_kind:
            return 6.0 * n * by_kind["tokens"].levels[-1]
        d = inp.fixed_tokens if inp.fixed_tokens is not None else \
            (inp.tokens_per_parameter if inp.tokens_per_parameter is not None else tpp_default) * n
        return 6.0 * n * d
    if "tokens" in by_kind and inp.fixed_parameters is not None:
        return 6.0 * inp.fixed_parameters * by_kind["tokens"].held_out_level
    return None


def _budget_checks(cost: float | None, budget: float | None, held_cost: float | None, compatible: bool | None,
                   checks: list[Check]) -> None:
    held_source = knowledge.load("levels")["held_out"]["source"]
    if compatible is not None:
        _check(checks, "budget", None, "pass" if compatible else "fail",
               f"plan costs {cost:.3g} FLOPs against a budget of {budget:.3g} ({cost / budget:.1%})"
               + ("" if compatible else ": fewer levels, a lower maximum, or budget_constrained_design to choose "
                                        "runs"), "C = 6 N D (Kaplan et al. 2020)")
    if held_cost is None:
        _check(checks, "held_out_point", None, "warn",
               "held-out point suggested per factor, but its cost is unknown (give fixed_tokens, fixed_parameters or "
               "a budget axis)", held_source)
    elif budget is None or cost is None:
        _check(checks, "held_out_point", None, "pass",
               f"run the held_out_level of each factor once more and keep it out of the fit (one run costs "
               f"{held_cost:.3g} FLOPs)", held_source)
    else:
        fits = cost + held_cost <= budget
        _check(checks, "held_out_point", None, "pass" if fits else "warn",
               f"held-out run costs {held_cost:.3g} FLOPs; plan plus held-out point "
               f"{'fits' if fits else 'exceeds'} the budget"
               + ("" if fits else ": hold out the largest planned level instead and fit on the rest"), held_source)


def input_from_factors(fi_output: Any, **overrides: Any) -> Input:
    """Input for this step from factor_identification's Output (model or dumped dict).

    Takes scaling_type, the independent variables' name/minimum/maximum/unit, the parameter
    counting (active -> non_embedding) and the budget; `overrides` set or replace any Input field
    (e.g. num_levels=8, fixed_tokens=2e10, vocab_size=32000).
    """
    fi = fi_output.model_dump() if isinstance(fi_output, BaseModel) else dict(fi_output)
    factors = []
    for var in fi["independent_variables"]:
        if var.get("minimum") is None or var.get("maximum") is None:
            raise InputError("factors", f"factor {var['name']!r} has no range; give it minimum and maximum "
                                        "(overrides: factors=[...])")
        factors.append({"name": var["name"], "minimum": var["minimum"], "maximum": var["maximum"],
                        "unit": var.get("unit", "")})
    args: dict[str, Any] = {"scaling_type": fi["scaling_type"], "factors": factors}
    counting = next((c["choice"] for c in fi.get("counting_conventions", []) if c["quantity"] == "parameters"), None)
    if counting in ("non_embedding", "total"):
        args["parameter_counting"] = counting
    if fi.get("budget_flops") is not None:
        args["budget_flops"] = fi["budget_flops"]
    args.update(overrides)
    return Input.model_validate(args)
