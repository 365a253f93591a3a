"""factor_identification for general studies: an ablation, hyperparameter or architecture comparison.

The factors are the ones the question names (axes), typed (continuous, ordinal, categorical); the
responses are the metrics named, or the primary metric metric_specification will fix; every other
setting of the recipe is held fixed with the seed, hardware and software; two or more factors get
their interactions noted, which a factorial design estimates. No scaling rule, range or counting
convention applies.
"""
from __future__ import annotations

import itertools

from ... import knowledge
from ..factor_roles import add_standard_controls, resolve_roles, response_traits
from .inference import resolve_axis
from .models import Axis, Control, DefaultUsed, Finding, Input, Interaction, Output, Response

__all__ = ["run_general"]

_DESIGN_SOURCE = ("Montgomery 2017, 'Design and Analysis of Experiments', ch. 5 (factorial designs estimate "
                  "interactions; one-factor-at-a-time designs cannot)")
_PRACTICE = "experiment-design practice"


def _axis(name: str, factor_type: str, table: dict) -> Axis:
    key = resolve_axis(name, table["axes"])
    row = table["axes"].get(key) if key is not None else None
    unit = row["unit"] if row else "unspecified"
    definition = row["definition"] if row else "a factor of the comparison, as the question names it"
    return Axis(name=name, symbol=name, kind=factor_type if factor_type != "continuous" else "continuous",
                unit=unit, definition=definition, counting="n/a", why="named by the question as compared",
                minimum=None, maximum=None, factor_type=factor_type,
                range_source="none: give levels (a range, or labels) to level_specification with study_kind "
                             "'general'", source="user")


def _responses(inp: Input, defaults: list[DefaultUsed]) -> list[Response]:
    names = list(inp.responses)
    if not names:
        names = ["primary_metric"]
        defaults.append(DefaultUsed(name="responses", value=names, source=(
            "the question names no response: metric_specification with study_kind 'general' fixes the primary "
            "metric")))
    out = []
    for name in names:
        kind, direction = response_traits(name)
        out.append(Response(name=name, unit="unspecified", definition="the metric the comparison is judged on",
                            type=kind, direction=direction, why="the hypothesis is about it", source="user"))
    return out


def _recipe_control() -> Control:
    return Control(name="training_recipe", treatment="hold_fixed",
                   value_or_rule="every setting not compared (data, schedule, steps, architecture) at one value",
                   why="a second setting that moves with the factor confounds its effect",
                   source=f"{_PRACTICE}; {_DESIGN_SOURCE}")


def _interactions(axes: list[str]) -> list[Interaction]:
    return [Interaction(factors=[a, b], description=f"the effect of {a} may depend on {b}",
                        justification="settings of one recipe rarely act independently",
                        implication="cross the two in a factorial design so the interaction is estimated",
                        source=_DESIGN_SOURCE)
            for a, b in itertools.combinations(axes, 2)]


def _hypothesis(question: str, axes: list[str], response: str) -> str:
    over = " and ".join(axes)
    return (f"H1: {response} differs between the levels of {over}; H0: no difference beyond seed-to-seed noise. "
            f"(Question: {question.strip()})")


def run_general(inp: Input, budget: float | None, defaults: list[DefaultUsed]) -> Output:
    table = knowledge.load("factors")
    warnings: list[Finding] = []
    axes = [_axis(n, inp.factor_types.get(n, "continuous"), table) for n in inp.axes]
    responses = _responses(inp, defaults)
    controls = resolve_roles(axes, add_standard_controls([_recipe_control()], Control), warnings, Finding)
    return Output(
        scaling_type="custom", study_kind="general", scaling_type_inferred=False, scaling_type_evidence=[],
        study_summary="A comparison of conditions: the effect of the named factors on the response, with seeds as "
                      "replicates.",
        hypothesis=_hypothesis(inp.question, inp.axes, responses[0].name),
        prior_work=[w.strip()[:300] for w in inp.prior_work], system=inp.system,
        independent_variables=axes, dependent_variables=responses, control_variables=controls,
        potential_interactions=_interactions(inp.axes), counting_conventions=[], budget_flops=budget,
        largest_compute_optimal_parameters=None, defaults_used=defaults, warnings=warnings,
        next_step="Call level_specification with study_kind 'general' (each factor a range, or labels with its "
                  "factor_type), then metric_specification and statistical_method_selection with study_kind "
                  "'general', sample_size_estimation for the seeds, and design_matrix_construction with a "
                  "classical design.")
