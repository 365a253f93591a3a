"""level_specification's Input and Output models and bounds."""
from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...laws.cost import MIN_MFU
from ...errors import out_of_order
from ... import knowledge
from ..factor_identification import MAX_BUDGET_GPU_HOURS, SCALING_TYPES, DefaultUsed, Finding, check_scaling_type


Spacing = Literal["geometric", "linear", "log_uniform", "custom"]
FactorType = Literal["continuous", "ordinal", "categorical"]
StudyKind = Literal["scaling", "general"]
MAX_LEVELS = 20
MAX_FACTORS_SCALING, MAX_FACTORS_GENERAL = 4, 8
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
    factor_type: FactorType = Field(
        "continuous", description="continuous (a range to space), ordinal (ordered labels, e.g. small < medium < "
                                  "large) or categorical (unordered labels, e.g. optimizer adamw / lion); "
                                  "ordinal and categorical factors take `labels`, not a range.")
    labels: list[str] | None = Field(
        None, min_length=2, max_length=MAX_LEVELS,
        description="The levels of an ordinal (in order) or categorical factor, 2-20 distinct labels.")

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

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len({v.strip() for v in value}) != len(value):
            raise ValueError(f"`labels` must be distinct; got {value}")
        if value is not None and any(not v.strip() or len(v) > 80 for v in value):
            raise ValueError(f"`labels` must be non-empty strings of at most 80 characters; got {value}")
        return value

    @model_validator(mode="after")
    def _range(self) -> "FactorRange":
        if self.factor_type != "continuous":
            if self.labels is None:
                raise ValueError(f"`labels` must be given for the {self.factor_type} factor {self.name!r} (its "
                                 "levels, 2-20 distinct strings)")
            if self.custom_levels is not None or self.minimum is not None or self.maximum is not None:
                raise ValueError(f"the {self.factor_type} factor {self.name!r} takes `labels` only; got a range or "
                                 "custom_levels as well")
            return self
        if self.labels is not None:
            raise ValueError(f"`labels` are for ordinal or categorical factors; factor {self.name!r} has factor_type "
                             "'continuous': set factor_type or give minimum/maximum")
        if self.spacing == "custom" and self.custom_levels is None:
            raise ValueError(f"`custom_levels` must be given when spacing is 'custom' (factor {self.name!r})")
        if self.custom_levels is not None:
            return self
        if self.minimum is None or self.maximum is None:
            raise ValueError(f"`minimum` and `maximum` must be given for factor {self.name!r} (or custom_levels); "
                             f"got minimum={self.minimum}, maximum={self.maximum}")
        if self.minimum >= self.maximum:
            raise ValueError(out_of_order(self, "minimum", "maximum", scope=f" for factor {self.name!r}"))
        return self


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scaling_type: str | None = Field(None, json_schema_extra={"enum": [*SCALING_TYPES, None]}, description="One of data, model, compute_optimal, inference, custom; sets "
                                                       "the default number of levels (Budget Gate) and the checks. "
                                                       "Required for study_kind scaling; general studies are custom.")
    study_kind: StudyKind = Field(
        "scaling", description="scaling (default): scale points for a law, checked for decades and points; general: "
                               "an ablation, hyperparameter or architecture comparison (continuous, ordinal or "
                               "categorical factors, 2 levels each for screening, 3 by default otherwise).")
    screening: bool = Field(False, description="general studies: the design screens factors for an effect, so each "
                                               "continuous factor gets 2 levels (low and high; the screening rule).")
    factors: list[FactorRange] = Field(
        min_length=1, max_length=MAX_FACTORS_GENERAL,
        description="Factors to level (at most 4 in a scaling study, 8 in a general one), each {name, minimum, "
                    "maximum, unit, num_levels?, spacing?, custom_levels?} or {name, factor_type, labels}; "
                    "the independent_variables of factor_identification fit as they are (see input_from_factors).")
    num_levels: int | None = Field(None, ge=2, le=MAX_LEVELS,
                                   description="Levels per factor. Absent: 6 (the skill's preferred count) clipped to "
                                               "the Budget Gate range of the scaling type.")
    spacing: Spacing = Field("geometric", description="geometric (default: equal ratios), linear, log_uniform "
                                                      "(endpoints kept, interior points stratified at random in log "
                                                      "space with `seed`), or custom (each factor's custom_levels).")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed for log_uniform spacing.")
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
    hardware: str = Field("H100", json_schema_extra={"enum": knowledge.hardware_names()}, description="Accelerator for GPU-hour figures (A100, H100, H200, V100, TPUv4, "
                                             "MI300X).")
    mfu: float | None = Field(None, ge=MIN_MFU, le=1, allow_inf_nan=False,
                              description="Model FLOPs utilisation, 0.0001 to 1. Absent: the knowledge default (0.40).")

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
        if self.scaling_type is None:
            if self.study_kind == "scaling":
                raise ValueError("`scaling_type` must be given for a scaling study (data, model, compute_optimal, "
                                 "inference or custom); for an ablation or comparison set study_kind 'general'")
            self.scaling_type = "custom"
        if self.study_kind == "scaling" and len(self.factors) > MAX_FACTORS_SCALING:
            raise ValueError(f"`factors` must hold at most {MAX_FACTORS_SCALING} axes in a scaling study; got "
                             f"{len(self.factors)} (up to {MAX_FACTORS_GENERAL} with study_kind 'general')")
        if self.screening and self.study_kind != "general":
            raise ValueError("`screening` is for study_kind 'general'; a scaling study needs 4 or more points per "
                             "axis")
        if self.aspect_ratio_min and self.aspect_ratio_max and self.aspect_ratio_min >= self.aspect_ratio_max:
            raise ValueError(out_of_order(self, "aspect_ratio_min", "aspect_ratio_max"))
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
    kind: str = Field(description="parameters, tokens, compute, batch_size, integer, continuous, ordinal or "
                                  "categorical.")
    factor_type: FactorType = Field("continuous", description="continuous, ordinal or categorical.")
    unit: str = Field(description="Unit.")
    num_levels: int = Field(description="Number of levels.")
    levels: list[float | str] = Field(
        description="Feasible levels, ascending (realised parameter counts, whole-step token counts, powers of "
                    "two...); the labels, in order, for ordinal and categorical factors. Use these in the design.")
    target_levels: list[float | str] = Field(description="Ideal levels before making them feasible (labels as given).")
    spacing: str = Field(description="Spacing used ('labels' for ordinal and categorical factors).")
    ratio: float | None = Field(description="Ratio between consecutive target levels (geometric spacing).")
    decades_covered: float | None = Field(description="log10(max level / min level); None for labels.")
    justification: str = Field(description="Why these levels.")
    source: str = Field(description="Where the rules come from.")
    shapes: list[ModelShape] = Field(description="Transformer shape per level (parameters factors only).")
    steps: list[int] = Field(description="Optimizer steps per level (tokens factors only).")
    held_out_level: float | None = Field(description="A larger point to run and hold out to validate the extrapolation; "
                                                     "None for labels, general studies and inference grids (nothing is "
                                                     "extrapolated).")
    held_out_shape: ModelShape | None = Field(description="Shape of the held-out point (parameters factors only).")
    notes: list[str] = Field(default_factory=list, description="Per-factor notes: rounding to feasible values, the "
                                                               "two-levels-for-screening rule.")


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
