"""metric_specification: primary and secondary metrics, proxies, protocol, significance, reporting."""
from __future__ import annotations

import statistics
import time

import pytest
from pydantic import ValidationError

from scaling_design import knowledge, report
from scaling_design.sops import metric_specification as ms


def run(**kwargs) -> ms.Output:
    return ms.run(ms.Input(**kwargs))


def names(metrics) -> list[str]:
    return [m.name for m in metrics]


def test_training_studies_fit_held_out_cross_entropy_measured_at_the_end_of_the_schedule():
    out = run(scaling_type="model")
    p = out.primary_metric
    assert p.name == "held_out_cross_entropy" and p.unit == "nats/token" and p.direction == "lower_is_better"
    assert "end of the learning-rate schedule" in p.when
    assert any("held-out evaluation set" in step and "every run" in step for step in out.measurement_protocol)
    assert {"seed_sd", "training_flops", "gpu_hours", "peak_memory"} <= set(names(out.secondary_metrics))
    assert any(d.name == "primary_metric" for d in out.defaults_used)
    assert out.warnings == []


def test_different_tokenizers_switch_the_primary_metric_to_bits_per_byte():
    out = run(scaling_type="data", tokenizers_differ=True)
    assert out.primary_metric.name == "bits_per_byte" and out.primary_metric.unit == "bits/byte"
    assert any("bits per byte" in step for step in out.measurement_protocol)
    chosen = run(scaling_type="data", tokenizers_differ=True, primary_metric="validation loss")
    assert "per_token_loss_across_tokenizers" in [w.code for w in chosen.warnings]


@pytest.mark.parametrize("metric, proxy", [("MMLU accuracy", "brier_score"), ("pass@1", "token_edit_distance"),
                                           ("exact match", "correct_answer_log_likelihood")])
def test_a_downstream_accuracy_primary_metric_gets_the_continuity_warning_and_continuous_proxies(metric, proxy):
    out = run(scaling_type="model", primary_metric=metric)
    assert not out.primary_metric.continuous
    warning = next(w for w in out.warnings if w.code == "discontinuous_metric")
    assert "Schaeffer" in warning.message
    assert proxy in names(out.continuous_proxies)
    assert "correct_answer_log_likelihood" in names(out.continuous_proxies)
    # The continuous loss stays in the plan as a secondary metric.
    assert "held_out_cross_entropy" in names(out.secondary_metrics)


def test_downstream_tasks_are_added_as_secondary_metrics_with_the_warning():
    out = run(scaling_type="compute_optimal", downstream_tasks=["HellaSwag accuracy", "answer log-likelihood"])
    assert out.primary_metric.name == "held_out_cross_entropy"
    assert {"HellaSwag accuracy", "answer log-likelihood"} <= set(names(out.secondary_metrics))
    assert [w.code for w in out.warnings] == ["discontinuous_metric"]
    assert "brier_score" in names(out.continuous_proxies)


def test_a_continuous_primary_metric_gets_no_continuity_warning():
    out = run(scaling_type="model", primary_metric="Brier score")
    assert out.primary_metric.continuous and out.continuous_proxies == []
    assert "discontinuous_metric" not in [w.code for w in out.warnings]


def test_inference_studies_measure_throughput_latency_percentiles_and_cost_after_warm_up():
    out = run(scaling_type="inference", price_per_gpu_hour=2.5, num_gpus=2)
    assert out.primary_metric.name == "throughput" and out.primary_metric.unit == "tokens/s"
    assert {"ttft", "tpot", "e2e_latency", "cost_per_token"} <= set(names(out.secondary_metrics))
    assert out.significance.replicates == knowledge.budget_gate("inference")["replicates"] == 5
    assert "warm-up" in out.significance.approach.lower()
    protocol = " ".join(out.measurement_protocol)
    assert "warm-up" in protocol and "p99" in protocol and "2.5 USD/GPU-hour x 2 GPU(s)" in protocol
    assert "no_gpu_price" not in [w.code for w in out.warnings]
    assert "no_gpu_price" in [w.code for w in run(scaling_type="inference").warnings]


def test_training_significance_is_a_bootstrap_over_runs_with_seed_noise_referenced():
    out = run(scaling_type="data", confidence_level=0.9)
    s = out.significance
    assert "bootstrap" in s.approach.lower() and s.bootstrap_replicates >= 1000
    assert s.confidence_level == 0.9 and s.replicates == 3
    assert str(knowledge.defaults()["noise"]["seed_sd_nats"]) in s.noise_reference
    assert s.comparison_test is None


def test_comparing_systems_adds_a_comparison_test_suited_to_the_study():
    training = run(scaling_type="model", compare_systems=True).significance.comparison_test
    serving = run(scaling_type="inference", compare_systems=True).significance.comparison_test
    assert "Welch" in training and "Mann-Whitney" in serving


def test_efficiency_metrics_can_be_left_out():
    out = run(scaling_type="model", track_efficiency=False)
    assert not {"training_flops", "gpu_hours", "peak_memory"} & set(names(out.secondary_metrics))


def test_an_unknown_primary_metric_is_kept_with_a_warning():
    out = run(scaling_type="custom", primary_metric="widget score")
    assert out.primary_metric.name == "widget score" and out.primary_metric.source == "user"
    assert "unknown_metric" in [w.code for w in out.warnings]


@pytest.mark.parametrize("kwargs, field", [
    ({"scaling_type": "galactic"}, "scaling_type"),
    ({"scaling_type": "model", "task_domain": "poetry"}, "task_domain"),
    ({"scaling_type": "model", "primary_metric": "  "}, "primary_metric"),
    ({"scaling_type": "model", "confidence_level": 1.5}, "confidence_level"),
    ({"scaling_type": "model", "replicates": 0}, "replicates"),
    ({"scaling_type": "inference", "price_per_gpu_hour": float("nan")}, "price_per_gpu_hour"),
    ({"scaling_type": "model", "metric": "loss"}, "metric"),
])
def test_bad_input_is_refused_with_the_field_named(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        ms.Input(**kwargs)


def test_the_example_runs_and_renders_a_metrics_section():
    text = report.render_step("metric_specification", ms.run(ms.Input(**ms.EXAMPLE)))
    assert text.startswith("## Metrics") and "discontinuous_metric" in text


def test_a_call_answers_in_milliseconds():
    inp = ms.Input(**ms.EXAMPLE)
    ms.run(inp)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        ms.run(inp)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"metric_specification median {median * 1e3:.2f} ms")
    assert median < 0.5


def test_the_seed_variance_protocol_never_asks_for_a_single_seed():
    one = run(scaling_type="compute_optimal", replicates=1)
    assert one.significance.replicates == 1
    assert one.significance.seed_variance_protocol.startswith("train 2 seeds")
    assert "one seed gives no spread" in one.significance.seed_variance_protocol
    three = run(scaling_type="data", replicates=3)
    assert three.significance.seed_variance_protocol.startswith("train 3 seeds")
