"""The scaling_design strategy: the steps in order, each fed by the ones before; the checks and the verdict."""
from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from scaling_design import knowledge
from scaling_design.errors import InputError
from scaling_design.sops import design_matrix_construction as dmc
from scaling_design.strategy import EXAMPLE, STEP_ORDER, Input, Output, _check_factors, _check_levels, _prior_at, run
from scaling_design.tools import TOOLS

MODEL = {**EXAMPLE, "n_sims": 40}


@pytest.fixture(scope="module")
def model_plan():
    updates = []
    plan = run(Input(**MODEL), progress=lambda done, total, message: updates.append((done, total, message)))
    return plan, updates


def test_every_step_output_sits_under_its_tool_name(model_plan):
    plan, _ = model_plan
    for name in STEP_ORDER:
        assert isinstance(getattr(plan, name), TOOLS[name].output_model), name


def test_each_step_is_fed_by_the_ones_before(model_plan):
    plan, _ = model_plan
    fi, ls, dm, ss, bc = (plan.factor_identification, plan.level_specification, plan.design_matrix_construction,
                          plan.sample_size_estimation, plan.budget_constrained_design)
    # levels come from the factor's range; the run table uses exactly those levels at the fixed token count
    assert [f.name for f in ls.factors] == [a.name for a in fi.independent_variables] == ["parameters"]
    levels = sorted(ls.factors[0].levels)
    assert sorted({r["N"] for r in dm.runs}) == pytest.approx(levels, rel=1e-12)
    assert {r["D"] for r in dm.runs} == {MODEL["fixed_tokens"]}
    # the Monte Carlo simulates that design and asks for precision at the target model
    assert [p[0] for p in ss.fit_precision.design] == pytest.approx(levels, rel=1e-12)
    assert ss.fit_precision.quantity.startswith("loss")
    # the budget tactic chooses among the design's settings, for the loss at the target, with the study's budget
    assert bc.target["N"] == MODEL["target_parameters"] and bc.target["D"] == MODEL["fixed_tokens"]
    # ... less the validation run, which is bought first and held out of the fit
    held = sum(r["C"] for r in plan.run_table.runs if r["role"] == "validation")
    assert held > 0 and bc.budget.flops == pytest.approx(fi.budget_flops - held, rel=1e-12)
    assert {(r["N"], r["D"]) for r in bc.runs} <= {(r["N"], r["D"]) for r in dm.runs}
    # the final table's fit runs are the settings the tactic chose, one row per chosen run
    fit = sorted((r["N"], r["D"]) for r in plan.run_table.runs if r["role"] == "fit")
    assert fit == sorted((r["N"], r["D"]) for r in bc.runs) and plan.final_plan_from == "budget_constrained_design"
    assert plan.design_csv == plan.run_table.csv()


def test_a_plan_within_budget_and_gate_is_ready(model_plan):
    plan, _ = model_plan
    gate = knowledge.budget_gate("model")
    assert plan.verdict == "ready", plan.reasons
    assert all(c.passed for c in plan.checks)
    assert gate["scale_points"][0] <= plan.summary.scale_points <= gate["scale_points"][1]
    assert plan.summary.replicates >= gate["replicates"][0]
    assert plan.summary.n_runs >= gate["min_runs"][0]
    assert plan.summary.total_flops <= plan.summary.budget_flops


def test_the_report_has_the_verdict_and_a_section_per_step(model_plan):
    plan, _ = model_plan
    report = plan.report_markdown
    assert report.startswith("# Scaling-law experiment plan") and "**Verdict: ready**" in report
    assert sum(line.startswith("## ") for line in report.splitlines()) >= len(STEP_ORDER) + 3


def test_progress_runs_through_the_six_steps_in_order(model_plan):
    _, updates = model_plan
    done = [u[0] for u in updates]
    assert all(total == len(STEP_ORDER) for _, total, _ in updates)
    assert done == sorted(done) and done[0] == 0 and done[-1] == len(STEP_ORDER)
    firsts = [m for d, _, m in updates if d == int(d) and ":" not in m]
    assert firsts[:len(STEP_ORDER)] == list(STEP_ORDER)


def test_the_same_input_gives_the_same_plan(model_plan):
    plan, _ = model_plan
    again = run(Input(**MODEL))
    assert again.design_csv == plan.design_csv
    assert again.verdict == plan.verdict and again.checks == plan.checks
    assert again.sample_size_estimation.fit_precision.curve[0].error_percentile == \
        plan.sample_size_estimation.fit_precision.curve[0].error_percentile


def test_a_budget_too_small_for_the_gate_is_a_major_issue():
    plan = run(Input(**{**MODEL, "budget_gpu_hours": 5}))
    assert plan.verdict == "major-issues"
    assert plan.summary.total_flops <= plan.summary.budget_flops  # the tactic never overspends ...
    assert plan.reasons[0].startswith("scale_points: 2 distinct scale points")  # ... so too few points remain


def test_a_budget_below_the_gate_minimum_of_runs_asks_for_revision():
    plan = run(Input(**{**MODEL, "budget_gpu_hours": 30}))
    assert plan.verdict == "needs-revision"
    assert any(r.startswith("budget_gate_runs:") for r in plan.reasons)


def test_a_precision_out_of_reach_asks_for_revision_and_says_what_to_change():
    plan = run(Input(**{**MODEL, "target_relative_error": 0.001, "n_sims": 20}))
    assert plan.verdict == "needs-revision"
    reason = next(r for r in plan.reasons if r.startswith("replicates_enough"))
    assert "target_relative_error" in reason


def test_the_scaling_type_is_inferred_from_the_question_when_absent():
    plan = run(Input(question="How does the loss of our 125M model fall as we train it on more tokens of data?",
                     budget_gpu_hours=2000, fixed_parameters=1.25e8, n_sims=20))
    assert plan.scaling_type == "data" and plan.factor_identification.scaling_type_inferred
    assert {r["N"] for r in plan.design_matrix_construction.runs} == {1.25e8}


def test_an_inference_study_needs_the_model_size():
    with pytest.raises(InputError, match="fixed_parameters"):
        run(Input(question="How does throughput scale with batch size?", scaling_type="inference"))


@pytest.mark.parametrize("budget", [{"budget_gpu_hours": 5000, "fixed_tokens": 1e17},
                                    {"budget_gpu_hours": 1e-3}, {"budget_flops": 1e15}])
def test_a_budget_that_buys_no_run_is_refused_up_front_by_the_callers_fields(budget):
    """Refused before any simulation (n_sims 2000 would take seconds), by the budget field the caller sent."""
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        run(Input(question="How does loss scale with model size?", scaling_type="model", hardware="H100",
                  n_sims=2000, **budget))
    assert time.perf_counter() - start < 1.0
    field = "budget_flops" if "budget_flops" in budget else "budget_gpu_hours"
    assert err.value.field == field and str(err.value).startswith(f"{field}: ")
    assert "buys no run" in str(err.value) and "fixed_tokens" in str(err.value)


def test_an_empty_range_is_refused_naming_both_ends():
    with pytest.raises(ValidationError, match="`scale_min` must be < `scale_max`"):
        Input(question="How does loss scale with model size?", scale_min=1e9, scale_max=1e8)


def test_the_factor_check_names_an_axis_missing_from_the_run_table(model_plan):
    plan, _ = model_plan
    wrong = dmc.run(dmc.Input(design="one_axis_sweep", factors=[{"name": "D", "levels": [1e9, 2e9, 4e9, 8e9]}],
                              fixed={"N": 1e8}))
    check = _check_factors(plan.factor_identification, wrong, "model")
    assert not check.passed and check.severity == "major" and "parameters (column N)" in check.detail


def test_the_level_check_names_levels_the_run_table_dropped(model_plan):
    plan, _ = model_plan
    levels = list(plan.level_specification.factors[0].levels)
    partial = dmc.run(dmc.Input(design="one_axis_sweep", factors=[{"name": "N", "levels": levels[:-1]}],
                                fixed={"D": 2e10}))
    check = _check_levels(plan.level_specification, partial, "model")
    assert not check.passed and f"{levels[-1]:.3g}" in check.detail


def test_the_output_schema_is_the_tool_contract():
    assert TOOLS["scaling_design"].output_model is Output
    assert {"verdict", "reasons", "report_markdown", *STEP_ORDER} <= set(Output.model_fields)


def test_a_data_study_without_a_model_size_gets_the_largest_model_the_budget_can_sweep():
    plan = run(Input(question="How does loss scale with the amount of training data?", scaling_type="data",
                     budget_flops=1e20, n_sims=20))
    chosen = next(d for d in plan.defaults_used if d.name == "fixed_parameters")
    assert {r["N"] for r in plan.design_matrix_construction.runs} == {chosen.value}
    assert "fits the budget" in chosen.source
    assert plan.summary.total_flops <= 1e20 and plan.verdict == "ready", plan.reasons


def test_isoflop_scale_points_count_the_model_sizes_of_the_thinnest_budget():
    from scaling_design.strategy import _check_final_levels, _scale_points

    runs = [{"C": 1e18, "N": n, "D": 1e18 / (6 * n)} for n in (1e7, 2e7, 4e7, 8e7, 1.6e8, 3.2e8)]
    runs += [{"C": 1e19, "N": n, "D": 1e19 / (6 * n)} for n in (5e7, 1e8)]
    assert _scale_points(runs, "compute_optimal") == 2
    check = _check_final_levels(runs, "compute_optimal", (6, 10))
    assert not check.passed and check.severity == "major" and "thinnest isoFLOP budget" in check.detail


def test_replicates_above_the_gate_are_explained_with_the_monte_carlo_figure_that_asked_for_them():
    from scaling_design.sops import sample_size_estimation as sse
    from scaling_design.strategy import _check_replicates

    ss_out = sse.run(sse.Input(design_type="fit_precision", form="power", prior_law="kaplan_n", n_sims=20,
                               max_replicates=3, target_relative_error=0.01, stop_when_reached=False))
    at_two = next(c for c in ss_out.fit_precision.curve if c.replicates == 2)
    runs = [{"N": 1e8, "D": 2e9}] * 3
    above = _check_replicates(runs, ("N", "D"), 3, True, ss_out, knowledge.budget_gate("compute_optimal"))
    assert above.passed and "more than the Budget Gate's 2" in above.detail
    assert f"{at_two.error_percentile:.1%} ({at_two.n_sims} simulations) against the 1.0% asked" in above.detail
    within = _check_replicates(runs, ("N", "D"), 2, True, ss_out, knowledge.budget_gate("compute_optimal"))
    assert "Budget Gate's 2" not in within.detail


def test_the_metric_protocol_states_the_replicates_of_the_final_run_table(model_plan):
    plan, _ = model_plan
    assert plan.metric_specification.significance.replicates == plan.summary.replicates


def test_the_sample_size_prior_names_the_joint_law_it_comes_from(model_plan):
    plan, _ = model_plan
    source = plan.sample_size_estimation.fit_precision.prior_source
    assert source.startswith(knowledge.published_law("epoch")["source"]) and "joint law with D =" in source
    assert "prior_params (given)" not in plan.report_markdown


def test_only_a_compute_optimal_plan_is_told_to_allocate(model_plan):
    plan, _ = model_plan
    assert plan.scaling_type == "model" and "scaling-design allocate" not in plan.report_markdown
    assert "scaling-design fit results-template.csv --form saturating" in plan.report_markdown


def test_a_prior_in_another_parameter_counting_is_called_approximate(model_plan):
    plan, _ = model_plan
    source = plan.sample_size_estimation.fit_precision.prior_source
    counting = plan.factor_identification.counting_conventions[0].choice
    assert counting == "non_embedding"
    assert "counts total parameters" in source and "approximate prior" in source
    assert _prior_at("model", {"D": 2e10}, "total")[1].endswith("D = 2e+10 tokens")


def test_an_moe_model_study_sweeps_active_parameters_and_says_which_axis_it_held():
    from scaling_design.tools import get_tool

    tool = get_tool("scaling_design")
    out = tool.call({**tool.example, "system": "moe_transformer"})
    runs = out.design_matrix_construction.runs
    assert len({r["N"] for r in runs}) >= 3 and len({r["num_experts"] for r in runs}) == 1
    held = [w for w in out.design_matrix_construction.warnings if w.code == "axes_held_fixed"]
    assert held and "num_experts" in held[0].message
    # level_specification realises active parameters with (dense-equivalent) shapes, and the run table's N are them
    active = next(f for f in out.level_specification.factors if f.name == "active_parameters")
    assert active.kind == "parameters" and len(active.shapes) == len(active.levels)
    assert {r["N"] for r in runs} <= set(active.levels)
    factors = next(c for c in out.checks if c.name == "factors_in_matrix")
    assert factors.passed and "num_experts held" in factors.detail


@pytest.mark.parametrize("extra", [{}, {"scale_max": 1e10}, {"fixed_tokens": 1e11}])
def test_an_moe_model_study_needs_no_more_than_a_dense_one(extra):
    """Without fixed_tokens it sizes the data from the largest active model, as a dense study does."""
    out = run(Input(question="How does loss scale with model size?", scaling_type="model",
                    system="moe_transformer", budget_gpu_hours=5000, n_sims=20, **extra))
    assert out.scaling_type == "model" and len({r["N"] for r in out.design_matrix_construction.runs}) >= 3


@pytest.mark.parametrize("args, field", [
    ({"scaling_type": "compute_optimal", "scale_min": 1e6, "budget_flops": 1e24}, "scale_min"),
    ({"scaling_type": "data", "scale_min": 1e20, "budget_flops": 1e30}, "scale_min"),
    ({"scaling_type": "model", "scale_min": 1e12, "fixed_tokens": 1e17}, "scale_min"),   # above the suggested top
    ({"scaling_type": "model", "scale_max": 1e13, "num_levels": 3}, "scale_max"),        # held-out point past 1e15
    ({"scaling_type": "compute_optimal", "budget_flops": 1e10}, "budget_flops"),         # no isoFLOP budget >= 1e12
    ({"scaling_type": "data", "budget_gpu_hours": 1e-6, "mfu": 1e-4}, "budget_gpu_hours"),  # affords no 1e4 model
    ({"scaling_type": "model", "budget_gpu_hours": 1e12}, "budget_gpu_hours"),           # past 1e30 FLOPs
])
def test_a_value_a_step_would_refuse_is_refused_up_front_by_the_field_the_caller_sent(args, field):
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        run(Input(question="How does loss scale?", n_sims=2000, **args))
    assert time.perf_counter() - start < 1.0  # before any simulation
    assert err.value.field == field and field in args and "refuses" not in str(err.value)
