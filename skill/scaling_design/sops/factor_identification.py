"""Factor identification: which axes a scaling study varies, what it measures, what it holds
fixed, what it re-tunes with scale, and how it counts parameters and FLOPs.

Deterministic expert rules over the table ``knowledge/factors.toml``. The scaling type is
taken from the input or inferred from keywords of the question (the output says which
words decided it).
"""
from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import knowledge
from ..errors import InputError
from .factor_roles import add_standard_controls, resolve_roles, response_traits, restate_hypothesis
from ..laws.cost import flops_from_gpu_hours

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "SCALING_TYPES", "DefaultUsed",
           "Finding", "infer_scaling_type", "resolve_axis"]

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
        None, description="One of data, model, compute_optimal, inference, custom. Absent: inferred from keywords of "
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
    hardware: str = Field("H100", description="Accelerator for the GPU-hour conversion (A100, H100, H200, V100, TPUv4, "
                                             "MI300X).")
    mfu: float | None = Field(None, gt=0, le=1, allow_inf_nan=False,
                              description="Model FLOPs utilisation in (0, 1]. Absent: the knowledge default (0.40).")
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
        if self.scaling_type == "custom" and not self.axes:
            raise ValueError("`axes` must name at least one axis when scaling_type is 'custom'; got []")
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
    scaling_type: str = Field(description="data, model, compute_optimal, inference or custom.")
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


DESCRIPTION = """
First step of a scaling study. Give the research question (and, if known, the scaling type,
architecture family, axes already chosen and the budget). Returns the scaling axes to vary
(independent_variables, each with definition, unit, counting convention, why and a suggested
minimum/maximum range), the responses to measure (dependent_variables), what to hold fixed and
what to re-tune with scale with the rule (control_variables: schedule length = run length, warmup,
batch size, learning rate or muP), expected interactions with justification, the parameter and
FLOP counting conventions, and warnings (e.g. parameter counting not stated). The scaling type is
inferred from keywords of the question when absent, and the output says so. Next: call
level_specification with these axes (factors = the independent_variables' name/minimum/maximum/unit),
then metric_specification.
"""

EXAMPLE = {
    "question": "How does validation loss scale with model size when every model sees the same 20B tokens?",
    "system": "decoder_only_transformer",
    "budget_gpu_hours": 5000,
    "hardware": "H100",
}


def _word_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")


def infer_scaling_type(question: str) -> tuple[str, list[str]]:
    """Scaling type from keywords of the question, and the phrases that decided it.

    Held-fixed phrases ("the same 20B tokens", "a 1B model") are matched first; then keywords,
    longest first, each matched phrase blanked so 'tokens per parameter' counts once.
    Raises InputError naming scaling_type when no keyword is found.
    """
    rules = knowledge.load("factors")["inference_rules"]
    text = " " + question.lower() + " "
    held: dict[str, list[str]] = {}
    for stype, patterns in rules["held_fixed"].items():
        for pattern in patterns:
            for match in re.finditer(pattern, text):
                held.setdefault(stype, []).append(match.group(0).strip())
            text = re.sub(pattern, " ", text)
    phrases = sorted(((p, t) for t, ps in rules["keywords"].items() for p in ps), key=lambda pt: -len(pt[0]))
    hits: dict[str, list[str]] = {t: [] for t in rules["keywords"]}
    for phrase, stype in phrases:
        pattern = _word_pattern(phrase)
        if pattern.search(text):
            hits[stype].append(phrase)
            text = pattern.sub(" ", text)
    found = {t: h for t, h in hits.items() if h}
    for stype, phrases_held in held.items():  # a held-fixed phrase is evidence for its type
        found.setdefault(stype, [])
        found[stype] = phrases_held + found[stype]
    if not found:
        raise InputError("scaling_type", "scaling_type could not be inferred: the question names no resource axis "
                         "(model size, tokens, compute budget, latency...); pass scaling_type as one of "
                         f"{list(SCALING_TYPES)}; a comparison of conditions that is not a scaling study (an "
                         "ablation, hyperparameter or architecture choice) is answered by metric_specification and "
                         "statistical_method_selection with study_kind='general'")
    if set(found) <= {"model", "data"} and len(held) == 1:
        winner = next(iter(held))
        return winner, found[winner]
    if set(found) == {"model", "data"}:
        return rules["both_model_and_data"], found["model"] + found["data"]
    best = max(len(h) for h in found.values())
    winner = next(t for t in rules["priority"] if len(found.get(t, ())) == best)
    return winner, found[winner]


def resolve_axis(name: str, axes_table: dict) -> str | None:
    """Catalogue key for an axis name or alias (case-insensitive), or None."""
    key = name.strip().lower().replace("-", "_")
    for axis, row in axes_table.items():
        if key == axis or key in (a.lower() for a in row["aliases"]) or key.replace("_", " ") in row["aliases"]:
            return axis
    return None


def _parameter_counting(inp: Input, stype: str, table: dict, defaults: list[DefaultUsed],
                        warnings: list[Finding], axes: list[str]) -> Convention:
    choice = inp.parameter_counting
    if choice is None:
        choice = "active" if inp.system == "moe_transformer" else "non_embedding"
        row = table["counting"]["parameters"][choice]
        defaults.append(DefaultUsed(name="parameter_counting", value=choice, source=row["source"]))
        if stype in ("model", "compute_optimal") or "parameters" in axes:
            warnings.append(Finding(
                code="parameter_counting_unspecified", severity="warning",
                message=f"The question does not say how parameters are counted; using {choice} and logging both "
                        "non-embedding and total counts. The choice moves the fitted allocation exponent at small "
                        "scale (Kaplan 0.73 vs Chinchilla 0.50, Pearce & Song 2024): pass parameter_counting to "
                        "fix it, and use total to compare with Hoffmann/Epoch laws."))
    elif choice == "active" and inp.system != "moe_transformer":
        warnings.append(Finding(code="active_counting_dense_model", severity="warning",
                                message="parameter_counting 'active' applies to MoE models; for a dense model it "
                                        "equals non_embedding."))
    row = table["counting"]["parameters"][choice]
    return Convention(quantity="parameters", choice=choice, definition=row["definition"], why=row["why"],
                      source=row["source"])


def _flops_convention(inp: Input, table: dict, defaults: list[DefaultUsed]) -> Convention:
    choice = inp.flops_convention
    if choice is None:
        choice = "6ND"
        defaults.append(DefaultUsed(name="flops_convention", value=choice,
                                    source=table["counting"]["flops"][choice]["source"]))
    row = table["counting"]["flops"][choice]
    return Convention(quantity="flops", choice=choice, definition=row["definition"], why=row["why"],
                      source=row["source"])


def _axes_for(inp: Input, stype: str, table: dict, warnings: list[Finding]) -> list[str]:
    """Catalogue keys (or raw custom names) of the independent variables."""
    if not inp.axes:
        names = list(table["scaling_types"][stype]["independent"])
        if inp.system == "moe_transformer" and "parameters" in names:
            names[names.index("parameters")] = "active_parameters"
            names.append("num_experts")
        return names
    resolved = []
    for raw in inp.axes:
        key = resolve_axis(raw, table["axes"])
        if key is None:
            warnings.append(Finding(
                code="custom_axis", severity="warning",
                message=f"Axis {raw!r} is not in the knowledge table; it is kept as a custom axis without unit or "
                        f"counting rule. Known axes: {sorted(table['axes'])}."))
            key = raw
        if key not in resolved:
            resolved.append(key)
    return resolved


def _axis(name: str, table: dict, counting: Convention, flops: Convention) -> Axis:
    row = table["axes"].get(name)
    if row is None:
        return Axis(name=name, symbol=name, kind="continuous", unit="unspecified", definition="user-defined axis",
                    counting="n/a", why="chosen by the user", minimum=None, maximum=None,
                    range_source="none: give minimum and maximum to level_specification", source="user")
    counting_text = {"parameters": f"{counting.choice} parameters; log both non-embedding and total",
                     "compute": f"{flops.choice}"}.get(row["kind"], "n/a")
    if name == "active_parameters":
        counting_text = "active non-embedding parameters; log total parameters too"
    return Axis(name=name, symbol=row["symbol"], kind=row["kind"], unit=row["unit"], definition=row["definition"],
                counting=counting_text, why=row["why"], minimum=row["suggested_minimum"],
                maximum=row["suggested_maximum"], range_source=row["range_source"], source=row["source"])


def _budget(inp: Input, defaults: list[DefaultUsed]) -> float | None:
    if inp.budget_flops is not None:
        return inp.budget_flops
    if inp.budget_gpu_hours is None:
        return None
    peak, mfu, mfu_source = knowledge.accelerator(inp.hardware, inp.mfu)
    if mfu_source is not None:
        defaults.append(DefaultUsed(name="mfu", value=mfu, source=mfu_source))
    return float(flops_from_gpu_hours(inp.budget_gpu_hours, peak, mfu))


def _cap_ranges(axes: list[Axis], budget: float | None, stype: str, table: dict,
               warnings: list[Finding]) -> float | None:
    """Cap suggested maxima to what the whole budget can pay for.

    Parameters: the largest model the budget trains at ~20 tokens/parameter, sqrt(C / 120).
    Compute budgets: an isoFLOP budget holds several runs (the Budget Gate's smallest count per
    budget), so the largest budget is at most C / that count.
    """
    if budget is None:
        return None
    tpp = table["budget"]["chinchilla_tokens_per_parameter"]
    n_top = math.sqrt(budget / (6.0 * tpp))
    for axis in axes:
        if axis.kind == "compute" and axis.maximum is not None and stype == "compute_optimal":
            per_budget = knowledge.budget_gate("compute_optimal")["scale_points"][0]
            c_top = budget / per_budget
            if c_top < axis.maximum:
                axis.maximum = c_top
                axis.minimum = min(axis.minimum, c_top / 100.0)
                axis.range_source += f"; capped at budget / {per_budget} runs per isoFLOP budget (Budget Gate) = " \
                                     f"{c_top:.3g} FLOPs, minimum set two decades below"
            continue
        if axis.kind != "parameters" or axis.maximum is None:
            continue
        if n_top < axis.maximum:
            # Never below one decade above the minimum: the range must stay usable, and
            # level_specification's budget check then reports the overrun.
            axis.maximum = max(n_top, axis.minimum * 10.0)
            axis.range_source += f"; maximum capped at sqrt(C/(6*{tpp:g})) = {n_top:.3g}, the largest model the " \
                                 "whole budget trains at the Chinchilla ratio (kept at least one decade above the " \
                                 "minimum)"
        if n_top < axis.minimum * 10.0:
            warnings.append(Finding(
                code="budget_limits_range", severity="warning",
                message=f"The budget ({budget:.3g} FLOPs) trains at most a {n_top:.3g}-parameter model at "
                        f"{tpp:g} tokens/parameter, less than one decade above the {axis.minimum:.3g} minimum for "
                        f"{axis.name}; the suggested range keeps one decade and will exceed the budget: raise the "
                        "budget, train fewer tokens per parameter, or study data scaling instead."))
    return n_top


def _controls(stype: str, table: dict) -> list[Control]:
    out = [Control(name=name, treatment="hold_fixed", value_or_rule=row["value"], why=row["why"], source=row["source"])
           for name, row in table["controls"].items() if stype in row["applies"]]
    out += [Control(name=name, treatment="scale_with_rule", value_or_rule=row["rule"], why=row["why"],
                    source=row["source"])
            for name, row in table["retuned"].items() if stype in row["applies"]]
    return out


def _interactions(stype: str, axes: list[str], system: str, table: dict) -> list[Interaction]:
    out = []
    varied = set(axes)
    for row in table["interactions"].values():
        if stype not in row["applies"] or row.get("system", system) != system:
            continue
        first, second = row["factors"]
        # Keep an interaction when one side is varied; settings like learning_rate are not axes.
        if first in varied or second in varied:
            out.append(Interaction(factors=row["factors"], description=row["description"],
                                   justification=row["justification"], implication=row["implication"],
                                   source=row["source"]))
    return out


def _responses(stype: str, table: dict) -> list[Response]:
    return [Response(name=name, **{k: table["responses"][name][k] for k in ("unit", "definition", "why", "source")})
            for name in table["scaling_types"][stype]["dependent"]]


def _study_warnings(stype: str, axes: list[str], inp: Input, warnings: list[Finding]) -> None:
    if stype == "compute_optimal" and set(axes) == {"parameters"}:
        warnings.append(Finding(code="single_axis_compute_optimal", severity="warning",
                                message="A compute-optimal study needs compute (or tokens) as a second axis: with "
                                        "parameters alone the allocation between N and D cannot be estimated."))
    if len(axes) > 3 and stype != "custom":
        warnings.append(Finding(code="many_axes", severity="warning",
                                message=f"{len(axes)} axes multiply the run count; a scaling study usually varies one "
                                        "or two and holds the rest fixed."))
    if inp.system == "other":
        warnings.append(Finding(code="non_transformer_system", severity="info",
                                message="Counting conventions and shape rules are written for transformers; state "
                                        "how your architecture's size and FLOPs are counted."))


def run(inp: Input) -> Output:
    table = knowledge.load("factors")
    defaults: list[DefaultUsed] = []
    warnings: list[Finding] = []
    if inp.scaling_type is None:
        stype, evidence = infer_scaling_type(inp.question)
        inferred = True
        defaults.append(DefaultUsed(name="scaling_type", value=stype,
                                    source=f"inferred from the question's words {evidence}; "
                                           f"{table['inference_rules']['source']}"))
    else:
        stype, evidence, inferred = inp.scaling_type, [], False
    axis_names = _axes_for(inp, stype, table, warnings)
    if not inp.axes:
        defaults.append(DefaultUsed(name="axes", value=axis_names, source=table["scaling_types"][stype]["source"]))
    counting = _parameter_counting(inp, stype, table, defaults, warnings, axis_names)
    flops = _flops_convention(inp, table, defaults)
    axes = [_axis(name, table, counting, flops) for name in axis_names]
    budget = _budget(inp, defaults)
    n_top = _cap_ranges(axes, budget, stype, table, warnings)
    _study_warnings(stype, axis_names, inp, warnings)
    responses = [r.model_copy(update=dict(zip(("type", "direction"), response_traits(r.name))))
                 for r in _responses(stype, table)]
    controls = resolve_roles(axes, add_standard_controls(_controls(stype, table), Control), warnings, Finding)
    return Output(
        hypothesis=restate_hypothesis(inp.question, stype, axis_names, [r.name for r in responses]),
        prior_work=[w.strip()[:300] for w in inp.prior_work],
        scaling_type=stype, scaling_type_inferred=inferred, scaling_type_evidence=evidence,
        study_summary=table["scaling_types"][stype]["summary"], system=inp.system,
        independent_variables=axes, dependent_variables=responses, control_variables=controls,
        potential_interactions=_interactions(stype, axis_names, inp.system, table),
        counting_conventions=[counting, flops], budget_flops=budget, largest_compute_optimal_parameters=n_top,
        defaults_used=defaults, warnings=warnings,
        next_step="Call level_specification with scaling_type and factors = [{name, minimum, maximum, unit} for each "
                  "independent variable] (scaling_design.sops.level_specification.input_from_factors does this), "
                  "then metric_specification.")
