"""Hostile input, one field at a time, for every tool: each call either returns an Output that validates
with every float finite, or raises a validation/input error naming a field. Never a traceback from deep
inside a step, a hang, or a NaN. Seeded; the slow tools run from cheap versions of their examples."""
from __future__ import annotations

import math
import random
import signal
import time
import warnings

import pytest
from mcp import Client
from pydantic import ValidationError

from scaling_design.errors import InputError, describe_error
from scaling_design.laws.results import LawInputError
from scaling_design.server import build_server
from scaling_design.tools import TOOLS

CALL_LIMIT_S = 20
# The Monte Carlo and bootstrap tools, made cheap: the property is about input handling, not precision.
CHEAP = {
    "sample_size_estimation": {"n_sims": 20, "max_replicates": 1, "points": 4, "time_limit_s": 1},
    "budget_constrained_design": {"monte_carlo_sims": 10, "time_limit_s": 1},
    "scaling_design": {"n_sims": 20, "time_limit_s": 1},
    "fit_scaling_law": {"bootstrap": 0, "time_limit_s": 1},
    "isoflop_analysis": {"bootstrap": 50, "joint_bootstrap": 0},
    "downstream_prediction": {"bootstrap": 20},
}
HOSTILE = [None, "", "no-such-value", True, 0, -1, 1e-300, float("nan"), float("inf"), float("-inf"), 10**9,
           1e60, 1e308, -1e60, 2**63, [], {}, [float("nan")], [-1.0], [1e60], ["x"], [None], "x" * 10_000]
# The Monte Carlo tools take about a second per accepted call: they get a seeded sample of the values per field.
SAMPLED_PER_FIELD = {"sample_size_estimation": 4, "budget_constrained_design": 4, "scaling_design": 2,
                     "fit_scaling_law": 6, "isoflop_analysis": 8, "downstream_prediction": 8}


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
        locs = [str(e["loc"][0]) for e in exc.errors() if e.get("loc")] if isinstance(exc, ValidationError) else []
        named = getattr(exc, "field", None) or any(f in message for f in [*spec.input_model.model_fields, *locs])
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
    ("budget_constrained_design", {"candidates": [{"N": 1e9, "D": 1e10, "cost_flops": 1e-300}] * 4}),  # inf runs
    ("budget_constrained_design", {"completed_runs": [{"N": 1e-300, "D": 4e8, "loss": 3.5}] + [
        {"N": n, "D": 20 * n, "loss": 3.2 - 0.1 * i} for i, n in enumerate((5e7, 1e8, 2e8, 5e8, 1e9, 2e9, 4e9))]}),
    ("budget_constrained_design", {"prior_params": {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 1e9, "beta": 0.37}}),
    ("budget_constrained_design", {"prior_params": {"E": 1.82, "A": 1e60, "B": 2085.0, "alpha": 0.35, "beta": 0.37}}),
    # A prior with A = 1 sent the unbounded polish of a simulated refit to overflowing parameters.
    ("budget_constrained_design", {"prior_params": {"E": 1.82, "A": 1.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}}),
    ("design_matrix_construction", {"design": "full_factorial", "factors": [
        {"name": "N", "levels": [float("nan")]}, {"name": "D", "levels": [1e9, 1e10]}]}),
    ("design_matrix_construction", {"design": "full_factorial", "factors": [
        {"name": "N", "levels": ["x"]}, {"name": "D", "levels": [1e9, 1e10]}]}),
    ("design_matrix_construction", {"design": "full_factorial", "factors": [
        {"name": "N", "levels": [1e308, 1e9]}, {"name": "D", "levels": [1e9, 1e10]}]}),
    ("sample_size_estimation", {"design_points": [[1e7], [1e308]]}),
    ("sample_size_estimation", {"design_points": [[1e7], [1e-300], [1e9]]}),
    ("sample_size_estimation", {"design_points": [[1e7], [1e7], [1e7]]}),  # one point three times: 1/0
    ("sample_size_estimation", {"form": "chinchilla", "prior_law": "epoch", "quantity": "n_opt",
                                "tokens_per_param": [1e308]}),
    ("sample_size_estimation", {"noise_kind": "loss-dependent", "noise_power": 5, "noise_ref_loss": 1e-300}),
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


def _hostile_values(example_value) -> list:
    """HOSTILE plus values shaped like the example's: a list 10**5 long, a dict with a hostile entry."""
    values = list(HOSTILE)
    if isinstance(example_value, list) and example_value:
        values.append(example_value * (100_000 // len(example_value)))
    if isinstance(example_value, dict) and example_value:
        key = next(iter(example_value))
        values += [{**example_value, key: v} for v in (float("nan"), -1.0, 1e308, "x")]
    return values


def _perturbations(name: str):
    """(label, arguments): the example with one field replaced, removed, or one nested key replaced; plus an extra
    unknown field. The Monte Carlo tools get a seeded sample."""
    base = _base(name)
    rng = random.Random(0)
    k = SAMPLED_PER_FIELD.get(name)
    for field in TOOLS[name].input_model.model_fields:
        values = _hostile_values(base.get(field))
        for value in (rng.sample(values, k) if k else values):
            yield f"{field}={value!r:.40}", {**base, field: value}
        items = base.get(field)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            for key in items[0]:
                for value in (rng.sample(HOSTILE, k) if k else HOSTILE):
                    yield f"{field}[0].{key}={value!r:.40}", {**base, field: [{**items[0], key: value}] + items[1:]}
        if field in base:
            yield f"without {field}", {key: v for key, v in base.items() if key != field}
    yield "unknown field", {**base, "no_such_field": 1}


# Faults found in the analysis steps: (tool, sweep label, change to the cheap example, what happened). The open ones
# are strict xfails: when one is fixed its test passes unexpectedly (XPASS fails): move its row to the fixed list.
_LONG = "x" * 10_000
ANALYSIS_FAULTS_FIXED = [  # found by this sweep in fit_scaling_law and compute_optimal_allocation, since fixed
    ("fit_scaling_law", "runs[0].loss=1e-300", {"runs": "loss", "value": 1e-300},
     "exp overflow in the prediction interval: interval.high is inf"),
    ("fit_scaling_law", "runs[0].loss=9223372036854775808", {"runs": "loss", "value": 2**63},
     "0/0 in the resource effect: reducible_relative_change is NaN"),
    ("fit_scaling_law", "delta=1e-300", {"delta": 1e-300},
     "the Huber scale underflows: scipy raises 'array must not contain infs or NaNs'"),
    ("fit_scaling_law", "predict_at[0].D=1e-300", {"predict_at": [{"N": 7e10, "D": 1e-300}]},
     "decades_beyond_data overflows to inf"),
    ("fit_scaling_law", "predict_at[0].D=inf", {"predict_at": [{"N": 7e10, "D": float("inf")}]},
     "an infinite D is accepted: the prediction and its interval are inf/NaN"),
    ("fit_scaling_law", "runs[0].N=1e-300", {"runs": "N", "value": 1e-300}, "overflow in the fit's scaling"),
    ("fit_scaling_law", "runs[0].N=1e+308", {"runs": "N", "value": 1e308},
     "6 N D overflows: the default compute budgets are inf ('compute must be > 0 FLOPs; got [inf, inf, inf]')"),
    ("fit_scaling_law", "runs[0].D=1e-300", {"runs": "D", "value": 1e-300}, "overflow in the fit's scaling"),
    ("fit_scaling_law", "runs[0].D=1e+308", {"runs": "D", "value": 1e308}, "6 N D overflows"),
    ("fit_scaling_law", "runs[0].loss=1e+60", {"runs": "loss", "value": 1e60}, "0/0 in the resource effect"),
    ("fit_scaling_law", "runs[0].loss=1e+308", {"runs": "loss", "value": 1e308}, "overflow in the allocation"),
    ("fit_scaling_law", "predict_at[0].N=inf", {"predict_at": [{"N": float("inf"), "D": 1.4e12}]},
     "an infinite N is accepted: inf * 0 in the Jacobian"),
    ("fit_scaling_law", "resource_factor=inf", {"resource_factor": float("inf")},
     "an infinite resource_factor is accepted: inf * 0 in the Jacobian"),
    ("fit_scaling_law", "resource_factor=1e+308", {"resource_factor": 1e308}, "N x 1e308 overflows"),
    ("compute_optimal_allocation", f"law={_LONG!r:.40}", {"law": _LONG},
     "a law name too long for a file name: OSError from Path.is_file"),
    ("compute_optimal_allocation", "params: exponents 1e-300",
     {"compute": [1e21, 1e30], "params": {"E": 1.8, "A": 1e-300, "B": 1e-300, "alpha": 1e-300, "beta": 1e-300}},
     "0/0 in the allocation: N_opt, D_opt and the loss are NaN"),
]
KNOWN_FAULTS: list = []
_KNOWN_LABELS = {(name, label) for name, label, _, _ in KNOWN_FAULTS}


@pytest.mark.parametrize("name, change", [pytest.param(name, change, id=f"{name}-{label[:30]}")
                                          for name, label, change, _ in ANALYSIS_FAULTS_FIXED])
def test_the_analysis_faults_found_here_stay_fixed(name, change):
    check_call(name, _apply(name, change))


def _apply(name: str, change: dict) -> dict:
    base = _base(name)
    if "runs" in change and isinstance(change["runs"], str):  # one key of the first run
        return {**base, "runs": [{**base["runs"][0], change["runs"]: change["value"]}] + base["runs"][1:]}
    return {**base, **change}


@pytest.mark.parametrize("name, change", [
    pytest.param(name, change, marks=pytest.mark.xfail(strict=True, reason=reason), id=f"{name}-{label[:30]}")
    for name, label, change, reason in KNOWN_FAULTS])
def test_known_faults_give_a_finite_answer_or_a_named_error(name, change):
    check_call(name, _apply(name, change))


@pytest.mark.parametrize("name", list(TOOLS))
def test_every_field_of_every_tool_survives_hostile_values(name):
    failures = []
    for label, arguments in _perturbations(name):
        if (name, label) in _KNOWN_LABELS:
            continue
        try:
            check_call(name, arguments)
        except Exception as exc:  # collect them all: one run shows every broken field
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not failures, f"{name}: {len(failures)} hostile inputs broke the tool:\n" + "\n".join(failures)


# -- through the MCP server ---------------------------------------------------------------------
HOSTILE_CALLS = [
    ("factor_identification", {"question": "How does loss scale?", "budget_gpu_hours": 1e308}, "budget_gpu_hours"),
    ("level_specification", {**TOOLS["level_specification"].example, "num_levels": 10**9}, "num_levels"),
    ("metric_specification", {"scaling_type": "model", "task_domain": "astrology"}, "task_domain"),
    ("sample_size_estimation", {"design_type": "anova", "power": 0.8, "effect_size": 100}, "effect_size"),
    ("design_matrix_construction", {**TOOLS["design_matrix_construction"].example, "replicates": 10**9},
     "replicates"),
    ("statistical_method_selection", {"task": "fit_scaling_law", "bootstrap": 10**9}, "bootstrap"),
    ("budget_constrained_design", {"budget": float("inf")}, "budget"),
    ("scaling_design", {"question": "How does loss scale?", "n_sims": 10**9}, "n_sims"),
    ("fit_scaling_law", {"form": "chinchilla", "runs": []}, "runs"),
    ("compute_optimal_allocation", {"compute": [0.0]}, "compute"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_hostile_calls_through_the_server_are_errors_naming_the_field_and_the_server_keeps_answering(
        anyio_backend):
    async with Client(build_server(use_cache=False)) as client:
        for name, arguments, field in HOSTILE_CALLS:
            result = await client.call_tool(name, arguments)
            text = " ".join(getattr(c, "text", "") for c in result.content)
            assert result.is_error, f"{name}: {text[:300]}"
            assert field in text, f"{name}: the error does not name {field}: {text[:300]}"
            assert "Traceback" not in text
        good = await client.call_tool("compute_optimal_allocation", {"compute": [1e24]})
        also_good = await client.call_tool("factor_identification", TOOLS["factor_identification"].example)
    assert not good.is_error and not also_good.is_error


def test_the_strategy_keeps_its_time_limit_when_every_refit_is_slow():
    # Models from 1e9 parameters at a fixed 20B tokens: each simulated refit takes ~0.2 s. The Monte Carlo read the
    # clock only every 50 refits and both Monte Carlo steps had the whole limit each: 12 s for a 1 s bound.
    arguments = {**_base("scaling_design"), "scale_min": 1e9, "n_sims": 2000, "time_limit_s": 1}
    start = time.perf_counter()
    try:  # a plan cut short by the bound, or (past the bound, limits.enforced) a refusal naming time_limit_s
        out = TOOLS["scaling_design"].call(arguments)
    except InputError as exc:
        assert exc.field == "time_limit_s"
    else:
        assert out.truncated or "time_limit_reached" in {w["code"] for w in out.model_dump()["warnings"]}
    elapsed = time.perf_counter() - start
    assert elapsed < 2, f"a 1 s limit took {elapsed:.1f} s"
