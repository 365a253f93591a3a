"""factor_identification answers an ablation with study_kind general; a scaling question still gets the scaling rules."""
import pytest
from pydantic import ValidationError

from scaling_design.errors import InputError
from scaling_design.sops import factor_identification as fi
from scaling_design.sops import level_specification as ls

QUESTION = "Does dropout of 0.1, 0.3 or 0.5 change the test accuracy of a ResNet-18 on CIFAR-10?"


def _ablation(**extra):
    return fi.run(fi.Input(question=QUESTION, study_kind="general", axes=["dropout"], responses=["accuracy"], **extra))


def test_an_ablation_question_gets_its_factor_response_controls_and_hypothesis():
    out = _ablation()
    assert out.study_kind == "general" and out.scaling_type == "custom"
    assert [(a.name, a.factor_type) for a in out.independent_variables] == [("dropout", "continuous")]
    assert [(r.name, r.direction) for r in out.dependent_variables] == [("accuracy", "higher_is_better")]
    assert {"seed", "hardware", "software", "training_recipe"} <= {c.name for c in out.control_variables}
    assert out.hypothesis.startswith("H1: accuracy differs between the levels of dropout; H0:")
    assert out.counting_conventions == [] and out.largest_compute_optimal_parameters is None
    assert "study_kind 'general'" in out.next_step


def test_the_same_question_without_study_kind_is_refused_with_the_way_to_ask_it():
    with pytest.raises(InputError, match="study_kind='general'"):
        fi.run(fi.Input(question=QUESTION))


def test_typed_factors_get_their_interactions_and_feed_level_specification():
    out = fi.run(fi.Input(
        question=QUESTION, study_kind="general", axes=["dropout", "optimizer"],
        factor_types={"optimizer": "categorical"}))
    assert [a.factor_type for a in out.independent_variables] == ["continuous", "categorical"]
    assert [i.factors for i in out.potential_interactions] == [["dropout", "optimizer"]]
    assert out.dependent_variables[0].name == "primary_metric"
    assert any(d.name == "responses" for d in out.defaults_used)
    levels = ls.run(ls.Input(study_kind="general", factors=[
        {"name": "dropout", "minimum": 0.1, "maximum": 0.5, "spacing": "linear"},
        {"name": "optimizer", "factor_type": out.independent_variables[1].factor_type, "labels": ["adamw", "sgd"]}]))
    assert levels.total_combinations == 6


def test_a_factor_cannot_also_be_a_control():
    out = fi.run(fi.Input(question=QUESTION, study_kind="general", axes=["seed"]))
    assert "seed" not in {c.name for c in out.control_variables}
    assert "variable_in_two_roles" in {w.code for w in out.warnings}


def test_general_inputs_are_checked_by_name():
    with pytest.raises(ValidationError, match="`axes` is required when study_kind is .general.: name the factors compared"):
        fi.Input(question=QUESTION, study_kind="general")
    with pytest.raises(ValidationError, match="`factor_types` keys must be names in `axes`"):
        fi.Input(question=QUESTION, study_kind="general", axes=["dropout"], factor_types={"lr": "continuous"})
    with pytest.raises(ValidationError, match="`scaling_type` must be empty or 'custom'"):
        fi.Input(question=QUESTION, study_kind="general", axes=["dropout"], scaling_type="model")
    with pytest.raises(ValidationError, match="`responses` is for study_kind 'general'"):
        fi.Input(question="How does loss scale with model size?", responses=["loss"])
