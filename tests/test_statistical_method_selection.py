"""statistical_method_selection: the decision table, fit_config for fit_scaling_law, the arms test."""
import numpy as np
import pytest
from pydantic import ValidationError

from scaling_design import knowledge
from scaling_design.analysis import fit_scaling_law
from scaling_design.errors import InputError
from scaling_design.sops import sample_size_estimation as sse
from scaling_design.tactics import statistical_method_selection as sms


def choose(**fields):
    return sms.run(sms.Input(**fields))


def compare(**fields):
    return choose(task="compare_conditions", **fields)


@pytest.mark.parametrize("fields, expected", [
    (dict(n_groups=2, paired=True, normality="yes"), "paired_t"),
    (dict(n_groups=2, normality="yes"), "welch_t"),
    (dict(n_groups=2, paired=True, normality="no", runs_per_group=20), "wilcoxon"),
    (dict(n_groups=2, normality="no", runs_per_group=20), "mann_whitney"),
    (dict(n_groups=2, runs_per_group=40), "welch_t"),
    (dict(n_groups=2, runs_per_group=5), "permutation"),
    (dict(n_groups=3, normality="yes"), "anova_tukey"),
    (dict(n_groups=3, normality="no"), "kruskal_dunn"),
    (dict(n_groups=4, paired=True, normality="yes"), "rm_anova"),
    (dict(n_groups=4, paired=True, normality="unknown", runs_per_group=8), "friedman_nemenyi"),
    (dict(n_groups=1, normality="yes"), "one_sample_t"),
    (dict(n_groups=2, equivalence_question=True), "bayesian"),
])
def test_the_decision_table_picks_the_test_the_data_call_for(fields, expected):
    out = compare(**fields)
    assert out.primary.id == expected
    assert out.primary.reason and out.primary.source and out.decision_path
    assert out.interval.id == "bootstrap_ci"


def test_every_row_of_the_decision_table_has_a_reason_a_call_and_a_source():
    rows = knowledge.load("statistics")["tests"]
    assert {"paired_t", "welch_t", "anova_tukey", "wilcoxon", "mann_whitney", "kruskal_dunn", "friedman_nemenyi",
            "bayesian", "permutation", "bootstrap_ci", "holm"} <= {r["id"] for r in rows}
    for row in rows:
        assert row["reason"] and row["call"] and row["source"], row["id"]


def test_several_groups_get_a_post_hoc_test_and_several_hypotheses_get_holm():
    out = compare(n_groups=3, normality="yes", n_comparisons=3)
    assert out.post_hoc is not None and "Tukey" in out.post_hoc.name
    assert out.multiplicity is not None and out.multiplicity.id == "holm"
    assert compare(n_groups=2, normality="yes").multiplicity is None


def test_an_effect_size_gets_a_power_check_from_sample_size_estimation():
    out = compare(n_groups=2, paired=True, normality="yes", runs_per_group=10, effect_size=0.8)
    direct = sse.run(sse.Input(design_type="paired", effect_size=0.8, runs_per_group=10))
    assert out.power_check["design_type"] == "paired"
    assert out.power_check["power"] == pytest.approx(direct.result.power, rel=1e-12)


@pytest.mark.parametrize("fields, form", [
    (dict(scaling_axes="params_and_tokens"), "chinchilla"),
    (dict(scaling_axes="params_and_tokens", data_repeated=True), "data_constrained"),
    (dict(saturation="no"), "power"),
    (dict(saturation="yes"), "saturating"),
    (dict(saturation="unknown", n_scales=4), "power"),
    (dict(bend=True, n_scales=10, n_runs=20), "broken"),
])
def test_the_law_form_follows_the_description_of_the_scaling_data(fields, form):
    assert choose(task="fit_scaling_law", **fields).fit_config.form == form


def test_a_suspected_break_with_few_scales_falls_back_to_the_saturating_law_with_a_warning():
    out = choose(task="fit_scaling_law", bend=True, n_scales=5)
    assert out.fit_config.form == "saturating"
    assert any(w.code == "too_few_scales_for_break" for w in out.warnings)


def test_too_few_runs_step_the_form_down_and_fewer_than_its_parameters_are_refused():
    assert choose(task="fit_scaling_law", saturation="yes", n_runs=3).fit_config.form == "power"
    with pytest.raises(InputError, match="n_runs"):
        choose(task="fit_scaling_law", scaling_axes="params_and_tokens", n_runs=4)


def test_fit_config_holds_exactly_what_fit_scaling_law_accepts_and_it_fits():
    out = choose(task="fit_scaling_law", saturation="no", n_runs=12, replicates=2, bootstrap=0, seed=3)
    config = out.fit_config.model_dump()
    assert set(config) == {"form", "objective", "delta", "bootstrap", "seed", "level"}
    assert config["objective"] == "huber-log" and config["delta"] == 1e-3 and config["seed"] == 3
    rng = np.random.default_rng(0)
    x = np.repeat(np.geomspace(1e7, 1e9, 6), 2)
    loss = 11.3 * x**-0.076 * np.exp(rng.normal(0, 0.0075, x.size))
    inp = fit_scaling_law.Input(**config, runs=[{"x": float(a), "loss": float(b)} for a, b in zip(x, loss)])
    fitted = fit_scaling_law.run(inp)
    assert fitted.model_dump()["params"]["alpha"] == pytest.approx(0.076, abs=0.01)
    default = choose(task="fit_scaling_law").fit_config
    assert default.bootstrap == 1000 and fit_scaling_law.Input(**default.model_dump(), runs=inp.runs).bootstrap == 1000


def test_replicated_scales_get_a_bootstrap_clustered_by_scale_and_forms_are_chosen_on_the_held_out_largest_scale():
    out = choose(task="fit_scaling_law", replicates=3, n_scales=6, n_runs=18)
    assert out.interval.id == "cluster_bootstrap"
    assert "largest scale" in out.model_selection.procedure
    assert set(out.model_selection.candidates) == {"saturating", "power"}


def test_no_outliers_expected_chooses_least_squares_on_log_loss():
    assert choose(task="fit_scaling_law", outliers_expected=False).fit_config.objective == "ls-log"


def _arms(rng, alpha_b, amp_b):
    x = np.repeat(np.geomspace(1e7, 1e9, 6), 2)
    a = 40.0 * x**-0.30 * np.exp(rng.normal(0, 0.0075, x.size))
    b = amp_b * x**-alpha_b * np.exp(rng.normal(0, 0.0075, x.size))
    return dict(task="compare_arms", arm_a_scales=x.tolist(), arm_a_losses=a.tolist(), arm_b_scales=x.tolist(), arm_b_losses=b.tolist())


def test_compare_arms_reports_an_exponent_difference_with_its_interval():
    out = choose(**_arms(np.random.default_rng(11), 0.35, 40.0 * 1e8**0.05))
    assert out.arms.verdict == "exponent_differs" and out.arms.slope_p_value < 1e-6
    assert out.arms.difference_low < 0.05 < out.arms.difference_high
    assert out.fit_config.objective == "ls-log"


def test_compare_arms_calls_a_pure_intercept_shift_an_intercept_difference():
    out = choose(**_arms(np.random.default_rng(12), 0.30, 44.0))
    assert out.arms.verdict == "intercept_only"
    assert out.arms.slope_p_value > 0.05
    assert out.arms.intercept_effect == pytest.approx(0.10, abs=0.01)


def test_bad_descriptions_are_refused_naming_the_field():
    with pytest.raises(ValidationError, match="paired"):
        sms.Input(task="compare_conditions", n_groups=1, paired=True)
    with pytest.raises(ValidationError, match="arm_a_scales"):
        sms.Input(task="compare_arms", arm_a_scales=[1e7, 1e8], arm_a_losses=[3.0], arm_b_scales=[1e7], arm_b_losses=[3.0])
    with pytest.raises(InputError, match="runs_per_group"):
        compare(n_groups=2, runs_per_group=1)
    with pytest.raises(InputError, match="arm_a"):
        choose(task="compare_arms", arm_a_scales=[1e7, 1e8], arm_a_losses=[3.0, 2.9],
               arm_b_scales=[1e7, 1e8, 1e9, 1e10], arm_b_losses=[3.0, 2.9, 2.8, 2.7])


def test_the_example_runs_and_every_task_renders_a_section():
    from scaling_design import report

    for out in (sms.run(sms.Input(**sms.EXAMPLE)), compare(n_groups=3, n_comparisons=2, effect_size=0.4, runs_per_group=6),
                choose(**_arms(np.random.default_rng(11), 0.35, 100.0))):
        text = report.render_step("statistical_method_selection", out)
        assert text.startswith("## Statistical method")
        assert out.primary.name in text
