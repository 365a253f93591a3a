"""factor_identification: scaling type inference, axes, controls, conventions, budget."""
from __future__ import annotations

import math
import statistics
import time

import pytest
from pydantic import ValidationError

from scaling_design import knowledge, report
from scaling_design.errors import InputError
from scaling_design.sops import factor_identification as fi


def run(**kwargs) -> fi.Output:
    return fi.run(fi.Input(**kwargs))


@pytest.mark.parametrize("question, expected", [
    ("How does validation loss scale with model size when every model sees the same 20B tokens?", "model"),
    ("How should I split a 1e21 FLOP budget between model size and data?", "compute_optimal"),
    ("How does TTFT grow with batch size on one H100?", "inference"),
    ("Does loss keep falling with more training tokens for a 1B model?", "data"),
    ("How does loss scale with parameters and tokens?", "compute_optimal"),
    ("How does loss fall with dataset size for a fixed model?", "data"),
    ("How does validation loss scale with model size at 20B tokens?", "model"),
    ("How does loss improve with more training tokens at 1.3B parameters?", "data"),
    ("How does loss scale from 1B to 100B tokens?", "data"),
])
def test_scaling_type_is_inferred_from_the_words_of_the_question(question, expected):
    out = run(question=question)
    assert out.scaling_type == expected
    assert out.scaling_type_inferred
    assert out.scaling_type_evidence, "the output must say which words decided the type"
    assert all(w.lower() in question.lower() for w in out.scaling_type_evidence)
    assert any(d.name == "scaling_type" and d.value == expected for d in out.defaults_used)


def test_tokens_per_parameter_counts_as_compute_optimal_evidence_and_not_as_model_size():
    stype, evidence = fi.infer_scaling_type("What tokens per parameter minimise loss?")
    assert (stype, evidence) == ("compute_optimal", ["tokens per parameter"])


def test_a_given_scaling_type_is_not_reported_as_inferred():
    out = run(question="How does loss scale with model size?", scaling_type="data")
    assert out.scaling_type == "data" and not out.scaling_type_inferred and out.scaling_type_evidence == []
    assert [a.name for a in out.independent_variables] == ["tokens"]


def test_a_question_without_resource_words_is_refused_naming_scaling_type():
    with pytest.raises(InputError, match="scaling_type") as info:
        run(question="Is our new optimizer any good?")
    assert info.value.field == "scaling_type"


@pytest.mark.parametrize("kwargs, field", [
    ({"question": "How does loss scale?", "scaling_type": "quantum"}, "scaling_type"),
    ({"question": "How does loss scale?", "scaling_type": "custom"}, "axes"),
    ({"question": "x"}, "question"),
    ({"question": "How does loss scale with data?", "budget_flops": -1.0}, "budget_flops"),
    ({"question": "How does loss scale with data?", "budget_gpu_hours": float("nan")}, "budget_gpu_hours"),
    ({"question": "How does loss scale with data?", "system": "rnn"}, "system"),
    ({"question": "How does loss scale with data?", "colour": "red"}, "colour"),
])
def test_bad_input_is_refused_with_the_field_named(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        fi.Input(**kwargs)


def test_unknown_hardware_is_refused_naming_hardware():
    with pytest.raises(InputError, match="hardware"):
        run(question="How does loss scale with data?", budget_gpu_hours=10.0, hardware="abacus")


def test_a_model_size_study_that_does_not_say_how_parameters_are_counted_is_warned():
    out = run(question="How does loss scale with model size?", scaling_type="model")
    codes = [w.code for w in out.warnings]
    assert "parameter_counting_unspecified" in codes
    counting = next(c for c in out.counting_conventions if c.quantity == "parameters")
    assert counting.choice == "non_embedding" and "Pearce & Song" in counting.source
    stated = run(question="How does loss scale with model size?", scaling_type="model", parameter_counting="total")
    assert "parameter_counting_unspecified" not in [w.code for w in stated.warnings]
    assert next(c for c in stated.counting_conventions if c.quantity == "parameters").choice == "total"


def test_training_studies_hold_data_and_eval_fixed_and_set_schedule_batch_and_learning_rate_by_rule():
    out = run(question="How does loss scale with model size at fixed data?")
    fixed = {c.name for c in out.control_variables if c.treatment == "hold_fixed"}
    ruled = {c.name: c for c in out.control_variables if c.treatment == "scale_with_rule"}
    assert {"data_distribution", "evaluation_set", "tokens_fixed", "architecture_recipe"} <= fixed
    assert {"schedule_length", "warmup", "batch_size", "learning_rate"} <= set(ruled)
    assert "25%" in ruled["schedule_length"].value_or_rule
    assert "muP" in ruled["learning_rate"].value_or_rule
    assert all(c.source for c in out.control_variables)


def test_inference_studies_fix_the_serving_stack_and_do_not_retune_training_settings():
    out = run(question="How do latency and throughput change with batch size?")
    assert out.scaling_type == "inference"
    names = {c.name for c in out.control_variables}
    assert {"serving_stack", "served_model", "inference_warmup"} <= names
    assert "learning_rate" not in names
    assert [a.name for a in out.independent_variables] == ["batch_size", "prompt_length"]
    assert {r.name for r in out.dependent_variables} == {"throughput", "latency", "cost_per_token"}
    assert any(i.factors == ["batch_size", "prompt_length"] for i in out.potential_interactions)


def test_compute_optimal_studies_vary_compute_and_parameters_and_expect_their_interaction():
    out = run(question="Chinchilla-style allocation study", scaling_type="compute_optimal")
    assert [a.name for a in out.independent_variables] == ["compute", "parameters"]
    pairs = [tuple(i.factors) for i in out.potential_interactions]
    assert ("compute", "parameters") in pairs and ("parameters", "tokens") in pairs
    assert all(i.justification and i.source for i in out.potential_interactions)


def test_gpu_hours_are_converted_with_the_hardware_peak_and_default_mfu():
    out = run(question="How does loss scale with model size?", budget_gpu_hours=1000.0, hardware="A100")
    mfu = knowledge.defaults()["mfu"]["default"]
    expected = 1000.0 * knowledge.hardware_peak("A100") * mfu * 3600.0
    assert out.budget_flops == pytest.approx(expected, rel=1e-12)
    assert out.largest_compute_optimal_parameters == pytest.approx(math.sqrt(expected / 120.0), rel=1e-12)
    assert any(d.name == "mfu" and d.value == mfu for d in out.defaults_used)


def test_a_budget_caps_the_suggested_parameter_range_at_the_largest_model_it_trains():
    budget = 120.0 * (5e8) ** 2  # trains a 5e8-parameter model at 20 tokens per parameter
    out = run(question="How does loss scale with model size?", scaling_type="model", budget_flops=budget)
    axis = out.independent_variables[0]
    assert axis.maximum == pytest.approx(5e8, rel=1e-12)
    assert "budget_limits_range" not in [w.code for w in out.warnings]


def test_a_budget_too_small_for_one_decade_warns_and_keeps_a_usable_range():
    budget = 120.0 * (5e7) ** 2
    out = run(question="How does loss scale with model size?", scaling_type="model", budget_flops=budget)
    axis = out.independent_variables[0]
    assert axis.maximum == pytest.approx(10 * axis.minimum)
    assert "budget_limits_range" in [w.code for w in out.warnings]


def test_moe_systems_count_active_parameters_and_add_the_expert_axis():
    out = run(question="How does loss scale with model size?", scaling_type="model", system="moe_transformer")
    assert [a.name for a in out.independent_variables] == ["active_parameters", "num_experts"]
    assert next(c for c in out.counting_conventions if c.quantity == "parameters").choice == "active"
    assert any(i.factors == ["active_parameters", "num_experts"] for i in out.potential_interactions)


def test_aliases_resolve_to_known_axes_and_unknown_axes_are_kept_with_a_warning():
    out = run(question="custom study", scaling_type="custom", axes=["N", "D", "dropout"])
    assert [a.name for a in out.independent_variables] == ["parameters", "tokens", "dropout"]
    custom = out.independent_variables[2]
    assert custom.minimum is None and custom.unit == "unspecified"
    assert [w.code for w in out.warnings].count("custom_axis") == 1


def test_the_example_runs_and_renders_a_factors_section():
    out = fi.run(fi.Input(**fi.EXAMPLE))
    assert out.scaling_type == "model"
    text = report.render_step("factor_identification", out)
    assert text.startswith("## Factors")
    assert "parameter_counting_unspecified" in text and "schedule length" in text


def test_a_call_answers_in_milliseconds():
    inp = fi.Input(**fi.EXAMPLE)
    fi.run(inp)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        fi.run(inp)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"factor_identification median {median * 1e3:.2f} ms")
    assert median < 0.5
