"""Hostile input, one field at a time, for every tool: each call either returns an Output that validates
with every float finite, or raises a validation/input error naming a field. Never a traceback from deep
inside a step, a hang, or a NaN. Seeded; the slow tools run from cheap versions of their examples."""
from __future__ import annotations

import math
import random
import signal
import warnings

import pytest
from pydantic import ValidationError

from scaling_design.errors import InputError, describe_error
from scaling_design.laws.results import LawInputError
from scaling_design.tools import TOOLS

CALL_LIMIT_S = 20
# The Monte Carlo and bootstrap tools, made cheap: the property is about input handling, not precision.
CHEAP = {
    "sample_size_estimation": {"n_sims": 20, "time_limit_s": 5},
    "budget_constrained_design": {"monte_carlo_sims": 10, "time_limit_s": 5},
    "scaling_design": {"n_sims": 20, "time_limit_s": 5},
    "fit_scaling_law": {"bootstrap": 0, "time_limit_s": 5},
}
HOSTILE = [None, "", "no-such-value", True, 0, -1, 1e-300, float("nan"), float("inf"), float("-inf"), 10**9,
           1e60, 1e308, -1e60, 2**63, [], {}, [float("nan")], [-1.0], [1e60], ["x"], [None]]


class _Overtime(Exception):
    pass


def _non_finite(value, path=""):
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _non_finite(item, f"{path}[{i}]")


def _on_alarm(signum, frame):
    raise _Overtime()


def check_call(name: str, arguments: dict) -> None:
    """The property: a finite, valid Output, or an input error whose message names a field."""
    spec = TOOLS[name]
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CALL_LIMIT_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # an overflow or 0/0 in a step is a bug, not a result
            out = spec.call(arguments)
    except (ValidationError, InputError, LawInputError) as exc:
        message = describe_error(exc)
        named = getattr(exc, "field", None) or any(f in message for f in spec.input_model.model_fields)
        assert named, f"{name}: error names no field: {message}"
        return
    except _Overtime:
        pytest.fail(f"{name}: call ran past {CALL_LIMIT_S} s with {arguments!r:.300}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    dump = out.model_dump()
    spec.output_model.model_validate(dump)
    bad = list(_non_finite(dump))
    assert not bad, f"{name}: non-finite numbers in the output at {bad[:5]}"


def _base(name: str) -> dict:
    return {**TOOLS[name].example, **CHEAP.get(name, {})}


# Cases that broke a tool once, kept so they stay fixed.
REGRESSIONS = [
    ("factor_identification", {"budget_gpu_hours": 1e308}),
    ("factor_identification", {"budget_flops": 1e308}),
    ("level_specification", {"budget_gpu_hours": 1e308}),
    ("level_specification", {"fixed_tokens": 1e308}),
    ("level_specification", {"factors": [{"name": "parameters", "minimum": 1e-300, "maximum": 1e9}]}),
    ("level_specification", {"factors": [{"name": "parameters", "minimum": 1e7, "maximum": 1e308}]}),
    ("budget_constrained_design", {"budget": float("inf")}),
    ("budget_constrained_design", {"n_min": 1e-300}),
    ("budget_constrained_design", {"tokens_per_param_max": 1e308}),
    ("budget_constrained_design", {"noise_sigma": 1e-300}),
    ("budget_constrained_design", {"candidates": [{"N": 1e-300, "D": 4e8}, {"N": 5e7, "D": 1e9}, {"N": 1e8, "D": 2e9}]}),
    ("budget_constrained_design", {"candidates": [{"N": float("inf"), "D": 4e8}, {"N": 5e7, "D": 1e9}]}),
    ("budget_constrained_design", {"completed_runs": [{"N": 1e-300, "D": 4e8, "loss": 3.5}] + [
        {"N": n, "D": 20 * n, "loss": 3.2 - 0.1 * i} for i, n in enumerate((5e7, 1e8, 2e8, 5e8, 1e9, 2e9, 4e9))]}),
    ("budget_constrained_design", {"prior_params": {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 1e9, "beta": 0.37}}),
    ("budget_constrained_design", {"prior_params": {"E": 1.82, "A": 1e60, "B": 2085.0, "alpha": 0.35, "beta": 0.37}}),
    # A prior with A = 1 sent the unbounded polish of a simulated refit to overflowing parameters.
    ("budget_constrained_design", {"prior_params": {"E": 1.82, "A": 1.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}}),
    ("sample_size_estimation", {"scale_min": 1e-300}),
    ("sample_size_estimation", {"scale_max": float("inf")}),
    ("sample_size_estimation", {"noise_ref_loss": float("inf")}),
    ("sample_size_estimation", {"delta": 1e-300}),
    ("sample_size_estimation", {"target_compute": float("inf")}),
]
# The classical power analysis, from scratch rather than from the fit_precision example.
CLASSICAL = [
    {"design_type": "two_sample", "power": 0.8, "effect_size": float("inf")},
    {"design_type": "two_sample", "power": 0.8, "effect_size": 1e-300},
    {"design_type": "two_sample", "power": 0.8, "effect_size": 1e308},
    {"design_type": "anova", "power": 0.8, "effect_size": 100},  # statsmodels raised a TypeError from fdtri
    {"design_type": "two_sample", "runs_per_group": 2, "power": 0.999999},  # NaN run count -> int() crashed
    {"design_type": "two_sample", "runs_per_group": 2, "effect_size": 100},
    {"design_type": "two_sample", "power": 0.8, "min_difference": 1e300, "sd": 1e-300},
]


@pytest.mark.parametrize("name, change", REGRESSIONS, ids=[f"{n}-{next(iter(c))}" for n, c in REGRESSIONS])
def test_inputs_that_once_broke_a_tool_now_give_a_finite_answer_or_a_named_error(name, change):
    check_call(name, {**_base(name), **change})


def test_a_huge_budget_is_refused_with_the_cap_named():
    with pytest.raises(ValidationError, match="budget_gpu_hours"):
        TOOLS["factor_identification"].call({**_base("factor_identification"), "budget_gpu_hours": 1e308})
    with pytest.raises(ValidationError, match=r"maximum.*1e\+30"):
        TOOLS["level_specification"].call(
            {**_base("level_specification"), "factors": [{"name": "parameters", "minimum": 1e7, "maximum": 1e308}]})


@pytest.mark.parametrize("arguments", CLASSICAL, ids=[str(i) for i in range(len(CLASSICAL))])
def test_extreme_power_analyses_give_an_answer_or_a_named_error(arguments):
    check_call("sample_size_estimation", arguments)


def test_a_power_analysis_statsmodels_cannot_solve_names_the_effect():
    with pytest.raises(InputError, match="effect_size.*too extreme"):
        TOOLS["sample_size_estimation"].call({"design_type": "anova", "power": 0.8, "effect_size": 100})
