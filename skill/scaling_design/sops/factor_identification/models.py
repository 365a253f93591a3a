"""factor_identification's Input and Output models, bounds and the scaling-type validator."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...laws.cost import MIN_MFU
from ... import knowledge


SCALING_TYPES = ("data", "model", "compute_optimal", "inference", "custom")
# Caps on budgets: far beyond any training run (the largest are near 1e26-1e27 FLOPs), low enough that every
# cost derived from them stays a finite float.
MAX_BUDGET_FLOPS = 1e30
MAX_BUDGET_GPU_HOURS = 1e12
SYSTEMS = ("decoder_only_transformer", "moe_transformer", "encoder_decoder_transformer", "other")


class DefaultUsed(BaseModel):
    """A value the step chose because the input left it open."""

    name: str = Field(description="Input or setting the default fills.")
    value: str | float | int | bool | list[float] | list[str] = Field(description="The value used.")
    source: str = Field(description="Where the default comes from (paper, knowledge table, rule).")


class Finding(BaseModel):
    """A non-fatal finding with a stable code."""

    code: str = Field(description="Stable identifier, e.g. parameter_counting_unspecified.")
    severity: Literal["info", "warning", "error"] = Field(description="info, warning or error.")
    message: str = Field(description="What was found and what to do about it.")


def check_scaling_type(value: str | None, field: str = "scaling_type") -> str | None:
    """Shared validator: one of SCALING_TYPES (case-insensitive, '-' or ' ' read as '_')."""
    if value is None:
        return None
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in SCALING_TYPES:
        raise ValueError(f"`{field}` must be one of {list(SCALING_TYPES)}; got {value!r}")
    return key


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=3, max_length=4000,
        description="The research question or hypothesis, in plain words, e.g. 'How does validation loss scale "
                    "with model size at a fixed 20B-token budget?'. Used to infer the scaling type when "
                    "scaling_type is absent.")
    scaling_type: str | None = Field(
        None, json_schema_extra={"enum": [*SCALING_TYPES, None]}, description="One of data, model, compute_optimal, inference, custom. Absent: inferred from keywords of "
                          "the question (the output says which words decided it).")
    system: Literal[SYSTEMS] = Field(
        "decoder_only_transformer",
        description="Architecture family: decoder_only_transformer, moe_transformer, encoder_decoder_transformer "
                    "or other. Decides the counting conventions and the MoE-specific axes.")
    axes: list[str] = Field(
        default_factory=list, max_length=8,
        description="Axes already chosen, by name (parameters, tokens, compute, tokens_per_parameter, "
                    "unique_tokens, active_parameters, num_experts, batch_size, prompt_length, output_length, "
                    "model_size_inference, training_steps, or an alias such as N, D, C). Empty: the defaults of the "
                    "scaling type. Names not in the table become custom axes with a warning.")
    parameter_counting: Literal["non_embedding", "total", "active"] | None = Field(
        None, description="How parameters are counted: non_embedding (Kaplan), total (Hoffmann) or active (MoE). "
                          "Absent: non_embedding for dense models, active for MoE, and a warning for model-size "
                          "studies.")
    flops_convention: Literal["6ND", "deepseek_M"] | None = Field(
        None, description="Training-FLOPs convention: 6ND (Kaplan, Hoffmann) or deepseek_M (M = 72 n_layer d^2 + "
                          "12 n_layer d l_seq per token). Absent: 6ND.")
    budget_flops: float | None = Field(
        None, gt=0, le=MAX_BUDGET_FLOPS, allow_inf_nan=False,
        description="Total training compute available for the study, in FLOPs (at most 1e30).")
    budget_gpu_hours: float | None = Field(
        None, gt=0, le=MAX_BUDGET_GPU_HOURS, allow_inf_nan=False,
        description="Total GPU-hours available (at most 1e12); converted to FLOPs with `hardware` peak and `mfu`. "
                    "Ignored when budget_flops is given.")
    hardware: str = Field("H100", json_schema_extra={"enum": knowledge.hardware_names()}, description="Accelerator for the GPU-hour conversion (A100, H100, H200, V100, TPUv4, "
                                             "MI300X).")
    mfu: float | None = Field(None, ge=MIN_MFU, le=1, allow_inf_nan=False,
                              description="Model FLOPs utilisation, 0.0001 to 1. Absent: the knowledge default (0.40).")
    study_kind: Literal["scaling", "general"] = Field(
        "scaling", description="scaling (default): a scaling-law study, its type given or inferred; general: an "
                               "ablation, hyperparameter or architecture comparison of the factors named in `axes` "
                               "(with factor_types and responses), answered without scaling rules.")
    factor_types: dict[str, Literal["continuous", "ordinal", "categorical"]] = Field(
        default_factory=dict, description="general studies: factor type per axis name (absent: continuous), e.g. "
                                          "{'optimizer': 'categorical'}.")
    responses: list[str] = Field(
        default_factory=list, max_length=8,
        description="general studies: the dependent variables measured (e.g. ['accuracy']). Absent: the primary "
                    "metric, which metric_specification fixes.")
    prior_work: list[str] = Field(default_factory=list, max_length=20,
                                  description="Prior results to build on (e.g. 'Hoffmann 2022: alpha ~0.34'), each "
                                              "at most 300 characters; echoed in the output.")

    @field_validator("scaling_type")
    @classmethod
    def _scaling_type(cls, value: str | None) -> str | None:
        return check_scaling_type(value)

    @field_validator("axes")
    @classmethod
    def _axes(cls, value: list[str]) -> list[str]:
        cleaned = [a.strip() for a in value]
        if any(not a for a in cleaned):
            raise ValueError("`axes` entries must be non-empty names")
        return cleaned

    @model_validator(mode="after")
    def _custom_needs_axes(self) -> "Input":
        if self.study_kind == "general":
            return self._general()
        sent = [f"`{name}`" for name in ("factor_types", "responses") if getattr(self, name)]
        if sent:
            raise ValueError(f"{' and '.join(sent)} {'is' if len(sent) == 1 else 'are'} for study_kind 'general'; a "
                             "scaling study's factors and responses come from its scaling type")
        if self.scaling_type == "custom" and not self.axes:
            raise ValueError("`axes` is required when scaling_type is 'custom': name at least one axis; got none")
        return self


    def _general(self) -> "Input":
        if not self.axes:
            raise ValueError("`axes` is required when study_kind is 'general': name the factors compared (e.g. "
                             "['dropout'] or ['optimizer', 'learning_rate']); got none")
        if self.scaling_type not in (None, "custom"):
            raise ValueError(f"`scaling_type` must be empty or 'custom' when study_kind is 'general'; got "
                             f"{self.scaling_type!r}")
        unknown = sorted(set(self.factor_types) - set(self.axes))
        if unknown:
            raise ValueError(f"`factor_types` keys must be names in `axes` {self.axes}; got {unknown}")
        return self


class Axis(BaseModel):
    """One independent variable (scaling axis) with its range suggestion."""

    name: str = Field(description="Axis name (the key level_specification understands).")
    symbol: str = Field(description="Usual symbol, e.g. N, D, C.")
    kind: str = Field(description="How levels are made feasible: parameters, tokens, compute, batch_size, integer, "
                                  "continuous.")
    unit: str = Field(description="Unit of the axis.")
    definition: str = Field(description="What is counted.")
    counting: str = Field(description="Counting convention that applies to this axis (or 'n/a').")
    why: str = Field(description="Why this axis is varied.")
    minimum: float | None = Field(description="Suggested smallest level (a starting range for level_specification).")
    maximum: float | None = Field(description="Suggested largest level.")
    range_source: str = Field(description="Where the suggested range comes from.")
    source: str = Field(description="Literature for the axis.")
    factor_type: Literal["continuous", "ordinal", "categorical"] = Field("continuous", description="Factor type.")


class Response(BaseModel):
    name: str = Field(description="Response (dependent variable) name.")
    unit: str = Field(description="Unit.")
    definition: str = Field(description="What is measured (metric_specification gives the protocol).")
    type: str = Field("continuous", description="Variable type of the response.")
    direction: str = Field("lower_is_better", description="lower_is_better, higher_is_better or recorded (a cost).")
    why: str = Field(description="Why it is measured.")
    source: str = Field(description="Literature.")


class Control(BaseModel):
    name: str = Field(description="Setting name.")
    treatment: Literal["hold_fixed", "scale_with_rule"] = Field(
        description="hold_fixed: one value for every run; scale_with_rule: set per scale by the rule.")
    value_or_rule: str = Field(description="The value to hold, or the rule that sets it per scale.")
    why: str = Field(description="What goes wrong otherwise.")
    source: str = Field(description="Literature or rule.")


class Interaction(BaseModel):
    factors: list[str] = Field(description="The two factors (or factor and setting) that interact.")
    description: str = Field(description="The interaction.")
    justification: str = Field(description="Why it is expected.")
    implication: str = Field(description="What the design must do about it.")
    source: str = Field(description="Literature.")


class Convention(BaseModel):
    quantity: Literal["parameters", "flops"] = Field(description="What is counted.")
    choice: str = Field(description="The convention chosen.")
    definition: str = Field(description="What it counts.")
    why: str = Field(description="Why this choice, and what to log besides.")
    source: str = Field(description="Literature.")


class Output(BaseModel):
    scaling_type: str = Field(description="data, model, compute_optimal, inference or custom (general studies).")
    study_kind: str = Field("scaling", description="scaling or general (an ablation or comparison).")
    scaling_type_inferred: bool = Field(description="True when the type was inferred from the question.")
    scaling_type_evidence: list[str] = Field(description="Words of the question that decided the inferred type "
                                                         "(empty when given).")
    study_summary: str = Field(description="One line: what this kind of study does.")
    hypothesis: str = Field("", description="The question restated as a testable hypothesis with its null.")
    prior_work: list[str] = Field(default_factory=list, description="Prior results the study builds on (as given).")
    system: str = Field(description="Architecture family.")
    independent_variables: list[Axis] = Field(description="Scaling axes to vary, with definition, unit, counting, "
                                                          "why, and a suggested range.")
    dependent_variables: list[Response] = Field(description="Responses to measure.")
    control_variables: list[Control] = Field(description="Settings held fixed (with the value) or set per scale (with "
                                                         "the rule).")
    potential_interactions: list[Interaction] = Field(description="Interactions to expect, with justification.")
    counting_conventions: list[Convention] = Field(description="Parameter and FLOP counting conventions used.")
    budget_flops: float | None = Field(description="Budget in FLOPs (given or converted from GPU-hours).")
    largest_compute_optimal_parameters: float | None = Field(
        description="Parameters of the largest model the whole budget trains at ~20 tokens per parameter, "
                    "sqrt(C / 120): an upper bound for the parameters axis.")
    defaults_used: list[DefaultUsed] = Field(description="Defaults chosen, with sources.")
    warnings: list[Finding] = Field(description="Non-fatal findings.")
    next_step: str = Field(description="What to call next.")
