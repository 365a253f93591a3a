"""level_specification for general studies: ordinal and categorical factors, the screening rule."""
import pytest
from pydantic import ValidationError

from scaling_design.report import render_step
from scaling_design.sops import level_specification as ls

ABLATION = [{"name": "dropout", "minimum": 0.1, "maximum": 0.3, "spacing": "linear"},
            {"name": "optimizer", "factor_type": "categorical", "labels": ["adamw", "lion", "sgd"]},
            {"name": "width", "factor_type": "ordinal", "labels": ["narrow", "wide"]}]


def test_label_factors_keep_their_labels_in_order_and_are_not_extrapolated():
    out = ls.run(ls.Input(study_kind="general", factors=ABLATION))
    opt, width = out.factors[1], out.factors[2]
    assert opt.factor_type == "categorical" and opt.levels == ["adamw", "lion", "sgd"] and opt.spacing == "labels"
    assert width.factor_type == "ordinal" and width.levels == ["narrow", "wide"]
    assert all(f.held_out_level is None for f in out.factors)
    assert out.total_combinations == 3 * 3 * 2
    assert "held_out_point" not in {c.check for c in out.feasibility_check}


def test_a_general_comparison_gives_continuous_factors_three_levels_and_no_scaling_checks():
    out = ls.run(ls.Input(study_kind="general", factors=ABLATION[:1]))
    assert out.factors[0].levels == pytest.approx([0.1, 0.2, 0.3])
    assert {c.check for c in out.feasibility_check} == {"levels_per_factor"}
    assert next(d for d in out.defaults_used if d.name == "num_levels").value == 3


def test_screening_gives_two_levels_and_flags_a_factor_with_more():
    out = ls.run(ls.Input(study_kind="general", screening=True, factors=ABLATION))
    dropout = out.factors[0]
    assert dropout.levels == pytest.approx([0.1, 0.3]) and "screen" in dropout.notes[0]
    verdicts = {c.factor: c.verdict for c in out.feasibility_check if c.check == "screening_levels"}
    assert verdicts == {"dropout": "pass", "optimizer": "warn", "width": "pass"}
    assert out.verdict == "warn"


def test_labels_go_with_ordinal_and_categorical_factors_only():
    with pytest.raises(ValidationError, match="`labels` must be given for the categorical factor 'optimizer'"):
        ls.Input(study_kind="general", factors=[{"name": "optimizer", "factor_type": "categorical"}])
    with pytest.raises(ValidationError, match="`labels` are for ordinal or categorical factors"):
        ls.Input(study_kind="general", factors=[{"name": "x", "minimum": 1, "maximum": 2, "labels": ["a", "b"]}])
    with pytest.raises(ValidationError, match="`labels` must be distinct"):
        ls.Input(study_kind="general", factors=[{"name": "o", "factor_type": "ordinal", "labels": ["a", "a"]}])
    with pytest.raises(ValidationError, match="`scaling_type` must be given for a scaling study"):
        ls.Input(factors=ABLATION[:1])
    with pytest.raises(ValidationError, match="`screening` is for study_kind 'general'"):
        ls.Input(scaling_type="model", screening=True,
                 factors=[{"name": "parameters", "minimum": 1e7, "maximum": 1e9}])


def test_the_level_report_shows_labels_and_no_held_out_point_for_a_general_study():
    text = render_step("level_specification", ls.run(ls.Input(study_kind="general", factors=ABLATION)))
    assert "Levels (categorical): adamw, lion, sgd." in text
    assert "Held-out point" not in text and "1 replicate =" in text
