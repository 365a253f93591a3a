"""sample_size_estimation: statsmodels power analysis and the Monte Carlo fit-precision curve."""
import math

import numpy as np
import pytest
from pydantic import ValidationError
from statsmodels.stats.power import FTestAnovaPower, TTestIndPower, TTestPower

from scaling_design.errors import InputError
from scaling_design.laws import precision
from scaling_design.laws.allocation import compute_optimal
from scaling_design.sops import sample_size_estimation as sse


def run(**fields):
    return sse.run(sse.Input(**fields))


# -- classical power analysis ------------------------------------------------------------------
def test_two_sample_reference_case_needs_64_runs_per_group_as_statsmodels_says():
    out = run(effect_size=0.5, alpha=0.05, power=0.8)
    assert out.solved_for == "runs_per_group"
    assert out.result.per_group_exact == pytest.approx(63.76561058891169, rel=1e-9)
    assert out.result.min_per_group == 64
    assert out.result.total_runs == 128
    assert out.result.with_safety_margin == math.ceil(128 * 1.15)
    assert out.result.power >= 0.8


def test_paired_and_anova_match_statsmodels_solve_power():
    paired = run(design_type="paired", effect_size=0.5, power=0.8)
    assert paired.result.per_group_exact == pytest.approx(TTestPower().solve_power(0.5, alpha=0.05, power=0.8), rel=1e-9)
    assert paired.result.min_per_group == 34
    anova = run(design_type="anova", effect_size=0.25, k_groups=4, power=0.9)
    total = FTestAnovaPower().solve_power(effect_size=0.25, alpha=0.05, power=0.9, k_groups=4)
    assert anova.result.min_per_group == math.ceil(total / 4)
    assert anova.result.total_runs == 4 * math.ceil(total / 4)


def test_regression_with_f2_of_0_15_and_one_predictor_needs_55_runs_as_gpower_reports():
    out = run(design_type="regression", effect_size=0.15, n_predictors=1, power=0.8)
    assert out.result.min_per_group == 55


def test_the_missing_quantity_is_solved_for_and_named():
    power = run(effect_size=0.5, runs_per_group=20)
    assert power.solved_for == "power" and power.missing == ["power"]
    assert power.result.power == pytest.approx(TTestIndPower().power(0.5, nobs1=20, alpha=0.05), rel=1e-9)
    assert any(w.code == "underpowered" for w in power.warnings)
    effect = run(runs_per_group=64, power=0.8)
    assert effect.solved_for == "effect_size" and effect.missing == ["effect_size"]
    assert TTestIndPower().power(effect.result.effect_size, nobs1=64, alpha=0.05) == pytest.approx(0.8, abs=1e-6)


def test_a_minimum_difference_and_sd_give_the_standardised_effect():
    out = run(design_type="paired", min_difference=0.004, sd=0.002)
    assert out.result.effect_size == pytest.approx(2.0)
    anova = run(design_type="anova", min_difference=0.01, sd=0.01, k_groups=3)
    assert anova.result.effect_size == pytest.approx(math.sqrt(1 / 6))  # Cohen's minimum-variability pattern


def test_the_failed_run_margin_is_applied_and_its_default_reported():
    out = run(effect_size=0.5, power=0.8, failed_run_margin=0.2)
    assert out.result.with_safety_margin == math.ceil(128 * 1.2)
    default = run(effect_size=0.5)
    assert {d.name for d in default.defaults_used} >= {"power", "failed_run_margin"}


def test_sensitivity_table_needs_more_runs_for_smaller_effects_and_higher_power():
    rows = run(effect_size=0.5).sensitivity
    at = {(round(r.effect_size, 6), r.power): r.per_group for r in rows}
    assert at[(0.375, 0.8)] > at[(0.5, 0.8)] > at[(0.625, 0.8)]
    assert at[(0.5, 0.9)] > at[(0.5, 0.8)]


def test_power_outside_zero_one_is_refused_naming_power():
    with pytest.raises(ValidationError, match="power"):
        sse.Input(effect_size=0.5, power=1.2)
    with pytest.raises(ValidationError, match="power"):
        sse.Input(effect_size=0.5, power=0.0)


def test_a_zero_effect_size_is_refused_naming_effect_size():
    with pytest.raises(ValidationError, match="effect_size"):
        sse.Input(effect_size=0.0)


def test_giving_effect_runs_and_power_together_asks_to_leave_one_empty():
    with pytest.raises(InputError, match="leave exactly one empty"):
        run(effect_size=0.5, runs_per_group=20, power=0.8)
    with pytest.raises(InputError, match="effect_size"):
        run(power=0.8)


# -- fit precision ----------------------------------------------------------------------------------
KAPLAN_POWER = {"A": 8.8e13**0.076, "alpha": 0.076}


def test_monte_carlo_precision_of_the_slope_tracks_the_closed_form():
    out = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, points=6, scale_min=1e7,
              scale_max=1e9, objective="ls-log", n_sims=400, max_replicates=2, target_relative_error=1e-6,
              stop_when_reached=False, seed=3)
    curve = out.fit_precision.curve
    assert [c.runs for c in curve] == [6, 12]
    for c in curve:
        expected = precision.abs_error_quantile(precision.slope_se_log_spaced(0.0075, 6, 2.0, c.replicates), 0.9) / 0.076
        assert c.closed_form_error == pytest.approx(expected, rel=1e-9)
        assert c.error_percentile == pytest.approx(expected, rel=0.15)
    assert not out.result.target_met and any(w.code == "target_not_reached" for w in out.warnings)


def test_loss_at_an_extrapolated_target_tracks_the_closed_form_prediction_variance():
    out = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, points=6, scale_min=1e7,
              scale_max=1e9, quantity="loss_at_target", target_point=[1e11], objective="ls-log", n_sims=400,
              max_replicates=1, target_relative_error=1e-6, seed=4)
    point = out.fit_precision.curve[0]
    log_x = np.log(np.geomspace(1e7, 1e9, 6))
    sd = np.sqrt(precision.prediction_variance(0.0075, log_x, np.log(1e11)))
    assert point.closed_form_error == pytest.approx(np.expm1(precision.abs_error_quantile(sd, 0.9)), rel=1e-9)
    assert point.error_percentile == pytest.approx(point.closed_form_error, rel=0.15)


def test_a_kaplan_prior_is_converted_for_the_pure_power_law():
    out = run(design_type="fit_precision", prior_law="kaplan_n", form="power", n_sims=20, max_replicates=1,
              target_relative_error=0.5)
    assert out.fit_precision.prior == pytest.approx({"A": 8.8e13**0.076, "alpha": 0.076})
    with pytest.raises(InputError, match="form"):
        run(design_type="fit_precision", prior_law="epoch", form="power")


def test_the_first_design_meeting_the_target_is_returned_with_the_curve():
    out = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, points=6, objective="ls-log",
              n_sims=200, max_replicates=6, target_relative_error=0.03, seed=0)
    fp = out.fit_precision
    assert fp.needed is not None and fp.needed == fp.curve[-1]
    assert all(not c.meets_target for c in fp.curve[:-1])
    assert out.result.min_per_group == fp.needed.replicates and out.result.total_runs == 6 * fp.needed.replicates


def test_scanning_points_adds_scale_points_to_the_built_design():
    out = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, scan="points", max_points=6,
              objective="ls-log", n_sims=50, target_relative_error=1e-6, stop_when_reached=False)
    assert [c.points for c in out.fit_precision.curve] == [3, 4, 5, 6]
    assert out.solved_for == "points"


def test_n_opt_precision_uses_the_joint_law_frontier_at_the_target_compute():
    out = run(design_type="fit_precision", prior_law="epoch", quantity="n_opt", target_compute=1e23, n_sims=30,
              max_replicates=1, target_relative_error=0.5)
    fp = out.fit_precision
    assert len(fp.design) == 30
    assert fp.true_value == pytest.approx(float(compute_optimal(fp.prior, 1e23)["N_opt"]), rel=1e-12)
    assert np.isfinite(fp.curve[0].error_percentile)


def test_progress_is_reported_and_the_result_is_reproducible():
    calls = []
    fields = dict(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, n_sims=40, max_replicates=2,
                  target_relative_error=1e-6, stop_when_reached=False, seed=5)
    first = sse.run(sse.Input(**fields), progress=lambda done, total, msg: calls.append((done, total)))
    assert calls and calls[-1] == (80, 80) and all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    second = sse.run(sse.Input(**fields))
    assert first.fit_precision.curve == second.fit_precision.curve


def test_a_design_with_fewer_runs_than_parameters_is_refused_naming_design_points():
    with pytest.raises(InputError, match="design_points"):
        run(design_type="fit_precision", prior_law="epoch", design_points=[[1e8, 2e9], [1e9, 2e10], [1e7, 2e8]])


def test_requests_beyond_the_simulation_cap_are_refused_at_once():
    with pytest.raises(InputError, match="n_sims"):
        run(design_type="fit_precision", prior_law="epoch", n_sims=5000, max_replicates=5)
    with pytest.raises(ValidationError, match="n_sims"):
        sse.Input(design_type="fit_precision", n_sims=50000)


def test_n_opt_needs_the_joint_law():
    with pytest.raises(InputError, match="quantity"):
        run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, quantity="n_opt")


def test_the_example_runs_and_renders_a_section():
    from scaling_design import report

    out = sse.run(sse.Input(**sse.EXAMPLE))
    assert out.fit_precision is not None and out.fit_precision.curve
    text = report.render_step("sample_size_estimation", out)
    assert text.startswith("## Sample size")
    assert "closed form" in text
    classical = report.render_step("sample_size_estimation", run(effect_size=0.5))
    assert "| 64 |" in classical


def _table_widths(text: str) -> list[list[int]]:
    """Cell counts of the lines of each markdown table in `text`, table by table."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line.strip().strip("|").count("|") + 1)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_the_rendered_tables_have_as_many_columns_in_every_row_as_in_the_header():
    from scaling_design import report

    out = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, points=6, scale_min=1e7,
              scale_max=1e9, quantity="loss_at_target", target_point=[7e9], n_sims=20, max_replicates=2,
              target_relative_error=1e-6, stop_when_reached=False, seed=4)
    text = report.render_step("sample_size_estimation", out)
    for rendered in (text, report.render_step("sample_size_estimation", run(effect_size=0.5))):
        tables = _table_widths(rendered)
        assert tables and all(len(t) >= 3 and len(set(t)) == 1 for t in tables), tables
    # the target reads as a point with its input name, not a list
    assert out.fit_precision.quantity == "loss at x = 7e+09"
    assert "[7" not in text and "loss at x = 7e+09" in text


def test_a_step_whose_percentile_cannot_be_told_from_the_target_gets_more_simulations():
    # target = the closed-form 90% error: 40 simulations cannot say on which side the design falls
    log_x = np.log(np.geomspace(1e7, 1e9, 6))
    closed = precision.abs_error_quantile(precision.slope_se(0.0075, log_x), 0.9) / 0.076
    out = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, points=6, scale_min=1e7,
              scale_max=1e9, objective="ls-log", n_sims=40, max_replicates=1, target_relative_error=closed, seed=5)
    point = out.fit_precision.curve[0]
    assert point.n_sims > 40 and point.n_sims % 40 == 0
    assert point.error_percentile == pytest.approx(closed, rel=0.1)
    assert {w.code for w in out.warnings} & {"step_refined", "step_undecided"}
    # a target far from the estimate is decided by the first batch
    clear = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, points=6, scale_min=1e7,
                scale_max=1e9, objective="ls-log", n_sims=40, max_replicates=1, target_relative_error=3 * closed, seed=5)
    assert clear.fit_precision.curve[0].n_sims == 40 and clear.result.target_met


def test_the_undecided_rule_is_the_order_statistic_interval_of_the_percentile():
    truth = 1.0
    errors = np.linspace(0.01, 1.0, 100)  # |relative error| 1%..100%: the 90th percentile is 0.90
    est = truth * (1.0 + errors)
    # the ~95% interval of the 90th of 100 order statistics runs from 0.84 to 0.96
    assert sse._undecided(est, truth, 0.9, 0.88) and sse._undecided(est, truth, 0.9, 0.94)
    assert not sse._undecided(est, truth, 0.9, 0.80) and not sse._undecided(est, truth, 0.9, 0.97)


def test_a_step_the_time_bound_leaves_without_simulations_ends_the_curve_with_finite_numbers(monkeypatch):
    """A step that got no simulation has no figure: the curve stops before it (it once reported NaN medians)."""
    from scaling_design.laws import simulate

    real, calls = simulate.monte_carlo, []

    def starved_after_first(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            kwargs["time_limit_s"] = 1e-12
        return real(*args, **kwargs)

    monkeypatch.setattr(simulate, "monte_carlo", starved_after_first)
    out = run(design_type="fit_precision", form="power", prior_params=KAPLAN_POWER, points=6, scale_min=1e7,
              scale_max=1e9, objective="ls-log", n_sims=40, max_replicates=3, target_relative_error=1e-6,
              stop_when_reached=False, seed=3)
    curve = out.fit_precision.curve
    assert len(curve) >= 1 and all(c.n_sims > 0 for c in curve)
    assert all(math.isfinite(v) for c in curve for v in (c.error_percentile, c.median_error, c.converged_fraction))
    assert all(math.isfinite(r.error_at_chosen) for r in out.precision_sensitivity)
    assert any(w.code == "simulation_truncated" and "left no simulation" in w.message for w in out.warnings)


@pytest.mark.parametrize("points, says", [([[1e8, 2e9], [3e8]], "same length"), ([], "at least one run"),
                                          ([[1e8], [-3.0]], "finite numbers > 0")])
def test_ragged_empty_or_non_positive_design_points_are_refused_naming_the_field(points, says):
    from pydantic import ValidationError

    from scaling_design.tools import get_tool

    tool = get_tool("sample_size_estimation")
    with pytest.raises(ValidationError) as err:
        tool.call({**tool.example, "design_points": points})
    assert "design_points" in str(err.value) and says in str(err.value)
