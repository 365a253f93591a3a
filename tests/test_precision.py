"""Closed-form precision of log-log fits, and the two-arm slope-vs-intercept comparison."""
import numpy as np
import pytest

from scaling_design.laws import precision
from scaling_design.laws.compare import compare_arms
from scaling_design.laws.results import LawInputError
from scaling_design.laws.simulate import NoiseModel, monte_carlo

SIGMA = 0.0075  # Epoch's rms log residual of the joint law (Besiroglu et al. 2024)


def test_sxx_of_log_spaced_points_matches_the_direct_sum():
    for k, decades, reps in [(2, 1.0, 1), (6, 2.0, 1), (8, 1.5, 3)]:
        log_x = np.repeat(np.log(np.geomspace(1e7, 1e7 * 10**decades, k)), reps)
        assert precision.sxx_log_spaced(k, decades, reps) == pytest.approx(precision.sxx(log_x), rel=1e-12)


def test_slope_se_equals_the_ordinary_least_squares_standard_error_formula():
    log_x = np.log(np.geomspace(1e6, 1e9, 7))
    X = np.column_stack([np.ones_like(log_x), log_x])
    cov = SIGMA**2 * np.linalg.inv(X.T @ X)
    assert precision.slope_se(SIGMA, log_x) == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-10)


def test_prediction_variance_grows_with_extrapolation_distance_as_the_regression_formula_says():
    log_x = np.log(np.geomspace(1e7, 1e9, 6))
    X = np.column_stack([np.ones_like(log_x), log_x])
    inv = np.linalg.inv(X.T @ X)
    x0 = np.log(np.array([1e8, 1e10, 1e12]))
    expected = SIGMA**2 * np.array([[1, v] @ inv @ [1, v] for v in x0])
    got = precision.prediction_variance(SIGMA, log_x, x0)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert got[0] < got[1] < got[2]


def test_monte_carlo_spread_of_the_log_log_slope_matches_the_closed_form_within_ten_percent():
    x = np.geomspace(1e7, 1e9, 6)
    mc = monte_carlo("power", {"A": 11.3, "alpha": 0.076}, x, noise=NoiseModel("log-constant", SIGMA),
                     n_sims=600, seed=1, objective="ls-log")
    closed = precision.slope_se_log_spaced(SIGMA, 6, 2.0)
    assert np.std(mc.param("alpha"), ddof=1) == pytest.approx(closed, rel=0.10)


def test_the_ninetieth_percentile_of_a_normal_error_is_1_645_standard_errors():
    assert precision.abs_error_quantile(1.0, 0.9) == pytest.approx(1.6448536, rel=1e-6)


def test_failed_fits_count_as_misses_in_the_relative_error_percentile():
    est = np.array([1.0, 1.0, 1.0, np.nan])
    assert precision.relative_error_quantile(est, 1.0, 0.9) == np.inf
    assert precision.relative_error_quantile(est[:3], 1.0, 0.9) == 0.0


def test_points_for_slope_precision_returns_the_first_design_meeting_the_target():
    k, curve = precision.points_for_slope_precision(SIGMA, 2.0, 0.003, max_points=30)
    errors = dict(curve)
    assert errors[k] <= 0.003 < errors[k - 1]
    r, curve_r = precision.replicates_for_slope_precision(SIGMA, 4, 1.0, 0.003)
    errors_r = dict(curve_r)
    assert errors_r[r] <= 0.003 < errors_r[r - 1]


def test_bad_precision_inputs_name_the_field():
    with pytest.raises(LawInputError, match="sigma"):
        precision.slope_se(0.0, [1.0, 2.0])
    with pytest.raises(LawInputError, match="points"):
        precision.sxx_log_spaced(1, 2.0)
    with pytest.raises(LawInputError, match="percentile"):
        precision.abs_error_quantile(1.0, 1.5)


# -- arms comparison ----------------------------------------------------------------------------
X_ARMS = np.repeat(np.geomspace(1e7, 1e9, 6), 2)  # 6 scales over 2 decades, 2 seeds each


def _arm(rng, A, alpha, E=0.0, x=X_ARMS):
    return (E + A * x**-alpha) * np.exp(rng.normal(0.0, SIGMA, x.size))


def test_arms_comparison_detects_an_exponent_difference_of_0_05_with_realistic_noise():
    covered = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        res = compare_arms("power", X_ARMS, _arm(rng, 40.0, 0.30), X_ARMS, _arm(rng, 40.0 * 1e8**0.05, 0.35))
        assert res.verdict == "exponent_differs"
        assert res.slope_test.p_value < 0.001
        covered += res.difference_intervals["alpha"].contains(0.05)
    assert covered >= 8  # 95% intervals: about 9.5 of 10 cover the true difference


def test_arms_comparison_does_not_flag_a_pure_intercept_shift_as_an_exponent_difference():
    flagged = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        res = compare_arms("power", X_ARMS, _arm(rng, 40.0, 0.30), X_ARMS, _arm(rng, 44.0, 0.30))
        flagged += res.slope_test.p_value < 0.05
        assert res.intercept_test.p_value < 0.001
        assert res.intercept_effect == pytest.approx(0.10, abs=0.01)
    assert flagged <= 2  # nominal 5% of 20 seeds is 1


def test_power_law_arms_comparison_equals_statsmodels_ancova_with_an_interaction():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(7)
    ya, yb = _arm(rng, 40.0, 0.30), _arm(rng, 60.0, 0.32)
    res = compare_arms("power", X_ARMS, ya, X_ARMS, yb)
    group = np.r_[np.zeros(X_ARMS.size), np.ones(X_ARMS.size)]
    lx = np.log(np.r_[X_ARMS, X_ARMS])
    design = np.column_stack([np.ones_like(lx), group, lx, group * lx])
    ols = sm.OLS(np.log(np.r_[ya, yb]), design).fit()
    assert res.slope_test.p_value == pytest.approx(ols.pvalues[3], rel=1e-6)
    assert res.differences["alpha"] == pytest.approx(-ols.params[3], rel=1e-8)
    low, high = -ols.conf_int()[3][::-1]
    assert res.difference_intervals["alpha"].low == pytest.approx(low, rel=1e-6)
    assert res.difference_intervals["alpha"].high == pytest.approx(high, rel=1e-6)


def test_saturating_arms_comparison_separates_slope_from_intercept():
    x = np.repeat(np.geomspace(1e6, 1e10, 10), 2)
    rng = np.random.default_rng(3)
    slope = compare_arms("saturating", x, _arm(rng, 400.0, 0.30, 1.7, x), x, _arm(rng, 400.0 * 10**0.4, 0.35, 1.7, x))
    assert slope.verdict == "exponent_differs"
    shift = compare_arms("saturating", x, _arm(rng, 400.0, 0.30, 1.7, x), x, _arm(rng, 440.0, 0.30, 1.7, x))
    assert shift.verdict == "intercept_only"


def test_arms_with_too_few_runs_are_refused_naming_the_arm():
    x = np.array([1e7, 1e8])
    with pytest.raises(LawInputError, match="arm_a"):
        compare_arms("power", x, [3.0, 2.8], X_ARMS, np.full(X_ARMS.size, 3.0))
