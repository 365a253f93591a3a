"""study_kind='general': an ablation (three dropout rates on a classifier, five seeds each) gets its
metric, test, correction and sample size; the scaling strategy still refuses it and names those tools."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from scaling_design.errors import InputError
from scaling_design.sops import metric_specification as ms
from scaling_design.tactics import statistical_method_selection as sm
from scaling_design.tools import get_tool

ABLATION = "Does the dropout rate (0.0, 0.1, 0.3) change the test accuracy of a ResNet-18 on CIFAR-10?"


def test_metric_specification_answers_an_ablation_with_test_correction_and_seeds():
    out = ms.run(ms.Input(study_kind="general", n_conditions=3, replicates=5, primary_metric="accuracy",
                          minimum_effect_size=0.01, evaluation_data="CIFAR-10 test split"))
    sig = out.significance
    assert out.study_kind == "general" and out.scaling_type is None
    assert out.primary_metric.name == "accuracy" and out.continuous_proxies == []  # no power-law warning here
    assert sig.replicates == 5 and sig.comparison_test.startswith("one-way ANOVA")
    assert "Dunnett" in sig.comparison_test and sig.multiple_comparison_correction == "Dunnett's family-wise correction"
    assert sig.n_comparisons == 2 and sig.alpha_per_comparison == pytest.approx(0.025)
    assert sig.minimum_effect_size == 0.01 and "Cohen's f" in sig.effect_size_type and sig.sidedness == "two-sided"
    assert "CIFAR-10 test split" in out.evaluation_data and "5 seeds" in out.aggregation
    assert out.reporting.central_tendency.startswith("mean") and out.reporting.decimals >= 2
    assert out.diagnostic_metrics and "statistical_method_selection" in out.next_step


def test_all_pairs_of_three_conditions_are_three_comparisons_under_tukey():
    out = ms.run(ms.Input(study_kind="general", n_conditions=3, comparisons="all_pairs"))
    assert out.significance.n_comparisons == 3 and "Tukey" in out.significance.comparison_test
    assert out.significance.replicates == 5 and any(d.name == "replicates" for d in out.defaults_used)
    assert [w.code for w in out.warnings] == ["no_minimum_effect"]


def test_two_conditions_are_a_welch_t_test_without_correction():
    sig = ms.run(ms.Input(study_kind="general", n_conditions=2)).significance
    assert sig.comparison_test.startswith("Welch t-test") and sig.multiple_comparison_correction is None


def test_each_study_kind_names_its_missing_field():
    with pytest.raises(ValidationError, match="`n_conditions` is required when study_kind is general"):
        ms.Input(study_kind="general")
    with pytest.raises(ValidationError, match="`scaling_type` is required when study_kind is scaling"):
        ms.Input()


def test_a_scaling_metric_specification_fills_the_upstream_fields_too():
    out = ms.run(ms.Input(**ms.EXAMPLE))
    assert out.study_kind == "scaling" and out.aggregation and out.evaluation_data
    assert out.significance.effect_size_type and out.reporting.uncertainty and out.reporting.decimals == 4


def test_statistical_method_selection_answers_the_ablation_and_flags_its_low_power():
    out = sm.run(sm.Input(study_kind="general", n_groups=3, runs_per_group=5, n_comparisons=2, effect_size=0.4))
    assert out.task == "compare_conditions" and out.study_kind == "general"
    assert out.primary.name.startswith("Kruskal-Wallis") and out.multiplicity.id == "holm"
    assert out.power_check["design_type"] == "anova" and out.power_check["power"] < 0.8
    assert out.power_check_failed and "underpowered" in [w.code for w in out.warnings]


def test_a_large_effect_with_five_seeds_passes_the_power_check():
    out = sm.run(sm.Input(study_kind="general", n_groups=3, runs_per_group=5, normality="yes", effect_size=1.0))
    assert out.primary.name == "one-way ANOVA, then Tukey HSD"
    assert out.power_check["power"] > 0.8 and not out.power_check_failed


def test_ordinal_outcomes_take_the_rank_based_branch():
    out = sm.run(sm.Input(study_kind="general", n_groups=2, runs_per_group=10, normality="yes", outcome_type="ordinal"))
    assert out.primary.id == "mann_whitney" and out.outcome_type == "ordinal"


def test_a_general_study_is_not_given_a_scaling_fit():
    with pytest.raises(ValidationError, match="`task` must be compare_conditions when study_kind is general"):
        sm.Input(study_kind="general", task="fit_scaling_law")


def test_the_scaling_strategy_refuses_an_ablation_and_points_at_the_general_tools():
    with pytest.raises(InputError, match="metric_specification and statistical_method_selection with "
                                         "study_kind='general'"):
        get_tool("scaling_design").call({"question": ABLATION, "budget_gpu_hours": 100, "hardware": "A100"})


def test_sample_size_estimation_corrects_alpha_for_the_number_of_comparisons():
    from scaling_design.sops import sample_size_estimation as sse

    one = sse.run(sse.Input(design_type="two_sample", effect_size=0.5, power=0.8))
    two = sse.run(sse.Input(design_type="two_sample", effect_size=0.5, power=0.8, n_comparisons=2))
    assert one.result.min_per_group == 64 and one.alpha_adjusted == 0.05  # 63.77 per group (statsmodels reference)
    assert two.alpha_adjusted == pytest.approx(0.025) and two.result.min_per_group == 78
    low = sse.run(sse.Input(design_type="two_sample", effect_size=0.5, power=0.6))
    assert "target_power_below_0.8" in [w.code for w in low.warnings]
