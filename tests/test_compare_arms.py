"""compare_arms on saturating losses: the curvature check picks the law, the omnibus test guards
the verdict, and the arms are compared at a target scale as well as by exponent."""
import numpy as np
import pytest

from scaling_design.laws.compare import compare_arms
from scaling_design.laws.results import LawInputError
from scaling_design.tactics import statistical_method_selection as sms

SIGMA = 0.0075                                     # Epoch's rms log residual of the joint law (Besiroglu et al. 2024)
X = np.repeat(np.geomspace(1e7, 1e10, 8), 2)      # 8 model sizes over 3 decades, 2 seeds each
E, A = 1.69, 406.4                                 # Hoffmann et al. 2022's floor and parameter-term amplitude


def _arm(rng, alpha, amp=A, floor=E, x=X):
    return (floor + amp * x**-alpha) * np.exp(rng.normal(0.0, SIGMA, x.size))


def test_default_form_orders_saturating_arms_by_exponent_in_at_least_9_of_10_data_sets():
    right = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        res = compare_arms("auto", X, _arm(rng, 0.30), X, _arm(rng, 0.34))
        assert res.form == "saturating" and res.form_choice == "curvature"
        right += res.exponents_b["alpha"] > res.exponents_a["alpha"]
    assert right >= 9


def test_the_power_form_on_the_same_data_orders_them_wrongly_and_warns_of_the_curvature():
    rng = np.random.default_rng(0)
    res = compare_arms("power", X, _arm(rng, 0.30), X, _arm(rng, 0.34))
    assert res.exponents_b["alpha"] < res.exponents_a["alpha"] < 0.2      # the local slope, several times too small
    assert "loglog_curvature" in {d.code for d in res.diagnostics}


@pytest.mark.slow
def test_identical_saturating_arms_are_flagged_different_in_at_most_2_of_20_data_sets():
    flagged = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        res = compare_arms("auto", X, _arm(rng, 0.30), X, _arm(rng, 0.30))
        flagged += res.verdict != "no_difference_detected"
    assert flagged <= 2


def test_pure_power_law_arms_keep_the_power_form():
    chosen = []
    for seed in range(5):
        rng = np.random.default_rng(200 + seed)
        res = compare_arms("auto", X, _arm(rng, 0.30, amp=40.0, floor=0.0), X, _arm(rng, 0.32, amp=40.0, floor=0.0))
        chosen.append(res.form)
    assert chosen.count("power") >= 4


def test_at_the_target_the_arms_are_compared_by_predicted_loss_with_an_interval_that_covers_the_truth():
    # B has the larger exponent but 3.5x the amplitude: worse at small scale, better far out
    # (the curves cross at 3.5^(1/0.06) ~ 1.2e9).
    target = 1e12
    true_ratio = (E + 3.5 * A * target**-0.36) / (E + A * target**-0.30)
    covered = 0
    for seed in range(8):
        rng = np.random.default_rng(300 + seed)
        res = compare_arms("auto", X, _arm(rng, 0.30), X, _arm(rng, 0.36, amp=3.5 * A), target_scale=target)
        t = res.at_target
        covered += t.ratio_interval.contains(true_ratio)
        assert t.decades_beyond_data == pytest.approx(2.0)
        assert t.crossover_scale is not None and 1e8 < t.crossover_scale < 1e11
    assert covered >= 6


def test_a_target_where_the_larger_exponent_is_still_worse_is_said_so():
    rng = np.random.default_rng(5)
    res = compare_arms("auto", X, _arm(rng, 0.30), X, _arm(rng, 0.36, amp=6 * A), target_scale=1e8)
    assert res.faster_by_exponent == "arm_b" and res.at_target.better == "arm_a"
    assert "exponent_and_target_disagree" in {d.code for d in res.diagnostics}


def test_a_bad_target_scale_is_refused_naming_the_field():
    rng = np.random.default_rng(0)
    with pytest.raises(LawInputError, match="target_scale"):
        compare_arms("auto", X, _arm(rng, 0.30), X, _arm(rng, 0.34), target_scale=[1e9, 1e10])


def test_the_tactic_defaults_to_auto_and_reports_the_target_comparison():
    rng = np.random.default_rng(1)
    out = sms.run(sms.Input(task="compare_arms", arm_a_scales=X.tolist(), arm_a_losses=_arm(rng, 0.30).tolist(),
                            arm_b_scales=X.tolist(), arm_b_losses=_arm(rng, 0.34).tolist(), arms_target_scale=1e11))
    assert out.arms.form == "saturating" and out.arms.form_choice == "curvature"
    assert out.arms.exponent_b > out.arms.exponent_a and out.arms.better_at_target == "arm_b"
    assert out.fit_config.form == "saturating"
    from scaling_design import report
    text = report.render_step("statistical_method_selection", out)
    assert "At the target scale" in text and "curvature" in text
