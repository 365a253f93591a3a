"""statistical_method_selection's input and output models."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...sops.sample_size_estimation import DefaultUsed, StepWarning
from ..arms_comparison import ArmsResult


Tristate = Literal["yes", "no", "unknown"]


class Input(BaseModel):
    """A description of the data and the question; the data themselves only for compare_arms."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["compare_conditions", "fit_scaling_law", "compare_arms"] = Field(
        "fit_scaling_law", description=(
            "compare_conditions: a classical comparison of a metric between conditions; fit_scaling_law: how to fit "
            "a law to scaling runs (returns fit_config); compare_arms: does the exponent or only the intercept differ "
            "between two arms (e.g. architectures)."))
    study_kind: Literal["scaling", "general"] = Field(
        "scaling", description="scaling (default): any task; general: an ablation, hyperparameter or architecture "
                               "comparison between conditions, answered as compare_conditions (the default task then).")
    # -- compare_conditions ----------------------------------------------------------------
    outcome_type: Literal["continuous", "proportion", "ordinal"] = Field(
        "continuous", description="The per-run outcome: continuous (loss), proportion (accuracy of a run) or ordinal "
                                  "(ranks, ratings: rank-based tests).")
    n_groups: int = Field(2, ge=1, le=1000, description="Conditions compared (1 = against a reference value).")
    paired: bool = Field(False, description="The same units (seeds, data order, eval items) are measured under every condition.")
    normality: Tristate = Field("unknown", description="Is the metric (paired: the differences) roughly normal? yes, no or unknown.")
    runs_per_group: int | None = Field(None, ge=1, le=100000, description="Runs (or paired units) per condition; decides small-sample choices.")
    n_comparisons: int = Field(1, ge=1, le=100000, description="Hypotheses tested in the same study (for the multiplicity correction).")
    equivalence_question: bool = Field(False, description="The question is whether a difference is practically relevant (or absent), not only whether it exists.")
    effect_size: float | None = Field(None, gt=0, description="Optional standardised effect (Cohen's d; f for 3+ groups) to check the power of the planned runs.")
    # -- fit_scaling_law -----------------------------------------------------------------------
    scaling_axes: Literal["single", "params_and_tokens"] = Field(
        "single", description="single: loss against one scale (N, D or C); params_and_tokens: loss against N and D jointly.")
    data_repeated: bool = Field(False, description="params_and_tokens: some runs repeat data (epochs over a limited set of unique tokens).")
    saturation: Tristate = Field("unknown", description="Do losses approach a floor (irreducible loss) within the range? yes, no or unknown.")
    bend: bool = Field(False, description="The log-log curve visibly changes slope (a break) within the range.")
    n_runs: int | None = Field(None, ge=1, le=1000000, description="Runs available or planned (all scales and seeds).")
    runs: list[dict[str, float]] | None = Field(None, max_length=100000, description=(
        "fit_scaling_law task: finished runs ({N, D, loss} or {x, loss}); given them, the form and objective are chosen "
        "by rolling extrapolation (hold out the two largest scales in turn) and returned in `selection`."))
    n_scales: int | None = Field(None, ge=1, le=100000, description="Distinct scales (points along the axis, or (N, D) pairs).")
    replicates: int = Field(1, ge=1, le=1000, description="Seeds per scale.")
    outliers_expected: bool = Field(True, description="Some runs may be off the trend (instabilities, a bad node, a mis-set hyperparameter).")
    bootstrap: int | None = Field(None, ge=0, le=10000, description="Bootstrap replicates for fit_config; default 1000 (at least 1,000 for reported intervals).")
    level: float = Field(0.95, gt=0.5, lt=1, description="Confidence level of the intervals.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the bootstrap, passed on in fit_config.")
    # -- compare_arms -----------------------------------------------------------------------------
    arms_form: Literal["auto", "power", "saturating"] = Field("auto", description=(
        "Law fitted to each arm: auto (default) tests the log-log curvature and takes saturating (E + A x^-alpha) when "
        "the curves bend, power (a log-log straight line) otherwise; a power law on saturating losses reports the "
        "local slope, not the exponent, and can order the arms wrongly."))
    arms_target_scale: float | None = Field(None, gt=0, le=1e30, description=(
        "Scale (same unit as the arm scales) where the arms' predicted losses are compared, with intervals; "
        "default the largest scale run. Set it to the scale you will train."))
    arm_a_scales: list[float] | None = Field(None, description="Arm A: scale of every run (parameters, tokens or FLOPs).")
    arm_a_losses: list[float] | None = Field(None, description="Arm A: final loss of every run, same order.")
    arm_b_scales: list[float] | None = Field(None, description="Arm B: scale of every run.")
    arm_b_losses: list[float] | None = Field(None, description="Arm B: final loss of every run, same order.")
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the tests.")

    @model_validator(mode="after")
    def _check(self) -> "Input":
        if self.study_kind == "general" and self.task != "compare_conditions":
            if "task" in self.model_fields_set:
                raise ValueError(f"`task` must be compare_conditions when study_kind is general; got {self.task!r} "
                                 "(fit_scaling_law and compare_arms are for scaling studies)")
            self.task = "compare_conditions"
        if self.paired and self.n_groups < 2:
            raise ValueError(f"`paired` needs n_groups >= 2 (conditions measured on the same units); got n_groups = {self.n_groups}")
        arms = [self.arm_a_scales, self.arm_a_losses, self.arm_b_scales, self.arm_b_losses]
        if any(a is not None for a in arms) and not all(a is not None for a in arms):
            raise ValueError("give all four of arm_a_scales, arm_a_losses, arm_b_scales, arm_b_losses, or none")
        for s, l, name in ((self.arm_a_scales, self.arm_a_losses, "arm_a"), (self.arm_b_scales, self.arm_b_losses, "arm_b")):
            if s is not None and len(s) != len(l):
                raise ValueError(f"`{name}_scales` and `{name}_losses` must have the same length; got {len(s)} and {len(l)}")
        return self


class Method(BaseModel):
    id: str = Field(description="Row of the decision table (knowledge/statistics.toml) or procedure id.")
    name: str = Field(description="The test or procedure.")
    call: str = Field(description="The library call that does it.")
    reason: str = Field(description="Why it fits this data.")
    source: str = Field(description="Reference.")


class FitConfig(BaseModel):
    form: str = Field(description="Law form for fit_scaling_law.")
    objective: str = Field(description="Fitting objective.")
    delta: float = Field(description="Huber delta on log residuals.")
    bootstrap: int = Field(description="Bootstrap replicates (clustered by scale when seeds repeat).")
    seed: int = Field(description="Seed of the bootstrap.")
    level: float = Field(description="Confidence level of the intervals.")


class ModelSelection(BaseModel):
    procedure: str = Field(description="How to choose between candidate forms.")
    candidates: list[str] = Field(description="Forms to compare.")
    criterion: str = Field(description="What decides.")
    secondary: str = Field(description="A secondary signal.")


class Output(BaseModel):
    task: str = Field(description="The task answered.")
    primary: Method = Field(description="The recommended test or procedure.")
    post_hoc: Method | None = Field(description="Follow-up test after an omnibus test, if any.")
    multiplicity: Method | None = Field(description="Correction for several hypotheses, if needed.")
    interval: Method = Field(description="How to put an interval on the effect or the parameters.")
    alternatives: list[Method] = Field(description="Other valid choices and when to prefer them.")
    decision_path: list[str] = Field(description="Each branch taken through the decision table, with its reason.")
    fit_config: FitConfig | None = Field(description="Ready configuration for fit_scaling_law (fit_scaling_law and compare_arms tasks).")
    model_selection: ModelSelection | None = Field(description="How to choose between law forms.")
    arms: ArmsResult | None = Field(description="The two-arm comparison, when arm data were given.")
    power_check: dict[str, Any] | None = Field(description="Power of the planned runs (via sample_size_estimation), when effect_size was given.")
    assumptions: list[str] = Field(description="What the choice assumes.")
    defaults_used: list[DefaultUsed] = Field(description="Defaults filled in, with sources.")
    warnings: list[StepWarning] = Field(description="Non-fatal findings with codes.")
    study_kind: str = Field("scaling", description="scaling or general, as asked.")
    outcome_type: str = Field("continuous", description="The per-run outcome type the choice assumed.")
    power_check_failed: bool = Field(False, description="True when the power check found power below 0.8 for the planned runs.")
    selection: dict[str, Any] | None = Field(None, description=(
        "Given runs: every form x objective scored by rolling extrapolation (heldout_error, heldout_errors), the choice and ties."))


# ---------------------------------------------------------------------------------------------
