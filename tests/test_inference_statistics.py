"""Inference plans are sized and modelled as benchmark grids: replicates per cell from the replicate
spread, a roofline throughput/latency model, and benchmark GPU-time from requests x expected latency."""
import json
import math
from importlib import resources

import pytest
from scipy import stats as st

from scaling_design.sops import sample_size_estimation as sse
from scaling_design.strategy import Input, run
from scaling_design.sops.design_matrix_construction.latency import cell_latency
from scaling_design.strategy.memory import served_shape

MEDIAN = math.sqrt(math.pi / 2)


def _width(r, cv, alpha=0.05, factor=MEDIAN):
    return st.t.ppf(1 - alpha / 2, r - 1) * factor * cv / math.sqrt(r)


def test_replicates_per_cell_are_the_fewest_whose_interval_meets_the_target():
    out = sse.run(sse.Input(design_type="replicate_precision", cv=0.05, n_cells=36, target_relative_error=0.05))
    r = out.result.min_per_group
    assert _width(r, 0.05) <= 0.05 < _width(r - 1, 0.05)
    assert out.result.total_runs == 36 * r and out.result.target_met
    assert out.parameters["relative_half_width"] == pytest.approx(_width(r, 0.05))


def test_given_replicates_the_step_reports_the_precision_they_buy():
    out = sse.run(sse.Input(design_type="replicate_precision", cv=0.05, n_cells=36, runs_per_group=5,
                            statistic="mean"))
    assert out.solved_for == "precision" and out.result.min_per_group == 5
    assert out.parameters["relative_half_width"] == pytest.approx(_width(5, 0.05, factor=1.0))
    assert not out.result.target_met and [w.code for w in out.warnings] == ["target_not_met"]


def test_replicate_precision_sensitivity_grows_with_the_noise():
    out = sse.run(sse.Input(design_type="replicate_precision", cv=0.04, n_cells=10, runs_per_group=5))
    rows = out.precision_sensitivity
    assert [r.noise_multiplier for r in rows] == [0.5, 1.0, 1.5, 2.0]
    needed = [r.replicates or 10 ** 6 for r in rows]
    assert needed == sorted(needed)
    assert rows[1].error_at_chosen == pytest.approx(out.parameters["relative_half_width"])
    assert rows[3].error_at_chosen == pytest.approx(2 * rows[1].error_at_chosen)


def test_fit_precision_sensitivity_agrees_with_the_curve_at_the_assumed_noise():
    out = sse.run(sse.Input(**dict(sse.EXAMPLE, n_sims=40, max_replicates=3)))
    rows, fp = out.precision_sensitivity, out.fit_precision
    assert [r.noise_multiplier for r in rows] == [0.5, 1.0, 1.5, 2.0]
    pick = fp.needed or fp.curve[-1]
    assert rows[1].error_at_chosen == pytest.approx(pick.error_percentile)
    if fp.needed is not None:
        assert rows[1].replicates == fp.needed.replicates
    needed = [r.replicates or 10 ** 6 for r in rows]
    assert needed == sorted(needed)
    assert all(r.noise == pytest.approx(r.noise_multiplier * fp.noise["sigma"]) for r in rows)


def test_the_roofline_is_memory_bound_at_batch_one_and_compute_bound_at_large_batches():
    shape = served_shape(7e9)
    one = cell_latency(shape, 1, 128, 256, 989e12, 0.4, 3350e9)
    kv_per_token = 2 * shape.n_layer * shape.d_model * 2
    # weight reads dominate: 2 bytes a parameter, and the cache of 128 prompt + 128 (average) output tokens
    assert one["tpot"] == pytest.approx((2 * shape.total_params + kv_per_token * 256) / 3350e9)
    assert one["ttft"] == pytest.approx(2 * shape.total_params * 128 / (989e12 * 0.4))
    big = cell_latency(shape, 4096, 1, 1, 989e12, 0.4, 3350e9)
    assert big["tpot"] == pytest.approx(2 * shape.total_params * 4096 / (989e12 * 0.4))


@pytest.fixture(scope="module")
def inference_plan():
    args = json.loads((resources.files("scaling_design") / "examples" / "inference-scaling.json").read_text())
    return run(Input(**args))


def test_an_inference_plan_sizes_replicates_per_cell_not_a_two_group_test(inference_plan):
    plan = inference_plan
    ss = plan.sample_size_estimation
    cells = len({(r["batch_size"], r["seq_len"]) for r in plan.run_table.runs})
    assert ss.design_type == "replicate_precision" and ss.parameters["n_cells"] == cells
    assert ss.result.total_runs == len(plan.run_table.runs) == cells * ss.result.min_per_group
    section = plan.report_markdown.split("## Sample size", 1)[1].split("\n## ", 1)[0]
    assert "replicates per cell" in section and "two sample" not in section


def test_an_inference_plan_is_costed_in_benchmark_time_from_requests_and_expected_latency(inference_plan):
    plan = inference_plan
    shape = served_shape(7e9)
    cell = next(r for r in plan.run_table.runs if r["batch_size"] == 1 and r["seq_len"] == 128)
    expected = cell_latency(shape, 1, 128, 256, 989e12, 0.4, 3350e9)
    assert cell["gpu_hours"] == pytest.approx(110 * expected["latency"] / 3600)  # 100 requests + 10 warm-up
    assert cell["expected_tpot_s"] == pytest.approx(expected["tpot"])
    assert "flops" not in plan.run_table.columns
    assert plan.estimated_gpu_hours == pytest.approx(sum(r["gpu_hours"] for r in plan.run_table.runs))
    assert next(c for c in plan.checks if c.name == "benchmark_time").passed


def test_an_inference_plan_fits_a_throughput_latency_model_and_says_how(inference_plan):
    plan = inference_plan
    assert plan.fitting_model["form"].startswith("roofline latency model")
    assert "median of its replicates" in plan.fitting_model["objective"]
    steps = plan.report_markdown.split("## Next steps", 1)[1]
    assert "throughput/latency model" in steps and "expected_tpot_s" in steps
    assert "fit_scaling_law" not in steps and "scaling-design fit" not in steps


def test_an_inference_grid_holds_no_point_out_for_an_extrapolation_it_does_not_make():
    from scaling_design.sops import level_specification as ls

    out = ls.run(ls.Input(scaling_type="inference", factors=[{"name": "batch_size", "minimum": 1, "maximum": 256}]))
    assert out.factors[0].held_out_level is None
    assert "held_out_point" not in {c.check for c in out.feasibility_check}


def test_the_inference_report_speaks_of_no_extrapolation(inference_plan):
    assert "validating the extrapolation" not in inference_plan.report_markdown
