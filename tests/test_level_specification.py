"""level_specification: spacing, feasible shapes and steps, checks with verdicts, budget, glue."""
from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pytest
from pydantic import ValidationError

from scaling_design import knowledge, report
from scaling_design.laws.counting import TransformerShape, count_params
from scaling_design.sops import factor_identification as fi
from scaling_design.sops import level_specification as ls


def run(**kwargs) -> ls.Output:
    return ls.run(ls.Input(**kwargs))


def params(minimum: float, maximum: float, **extra) -> list[dict]:
    return [{"name": "parameters", "minimum": minimum, "maximum": maximum, **extra}]


def check(out: ls.Output, name: str, factor: str | None = None) -> ls.Check:
    return next(c for c in out.feasibility_check if c.check == name and (factor is None or c.factor == factor))


def test_model_scaling_from_1e7_to_1e9_in_6_levels_gives_geometric_targets_and_shapes_within_5_percent_in_band():
    out = run(scaling_type="model", factors=params(1e7, 1e9), num_levels=6, vocab_size=50257)
    f = out.factors[0]
    assert f.num_levels == 6 and f.spacing == "geometric"
    np.testing.assert_allclose(f.target_levels, np.geomspace(1e7, 1e9, 6), rtol=1e-12)
    assert f.ratio == pytest.approx(100 ** (1 / 5), rel=1e-12)
    for s, target, level in zip(f.shapes, f.target_levels, f.levels):
        # Recount the shape independently of the search.
        count = count_params(TransformerShape(n_layer=s.n_layer, d_model=s.d_model, n_heads=s.n_heads, d_ff=s.d_ff,
                                              vocab_size=50257))
        assert s.non_embedding_params == count.non_embedding and s.total_params == count.total
        assert level == s.counted_params == count.non_embedding
        assert abs(count.non_embedding - target) / target <= 0.05
        assert 32 <= s.d_model / s.n_layer <= 256
        assert s.n_heads * s.head_dim == s.d_model and s.head_dim == 64
        assert s.d_ff == 4 * s.d_model and s.n_layer >= 2
        assert s.total_params - s.non_embedding_params == 50257 * s.d_model  # tied embeddings
    assert check(out, "shape_feasible").verdict == "pass"
    assert check(out, "decades_covered").verdict == "pass"


def test_gated_shapes_with_128_wide_heads_use_an_8_3_mlp_rounded_to_256_and_hit_their_targets():
    out = run(scaling_type="model", factors=params(1e8, 1e11), num_levels=5, gated_mlp=True, head_dim=128)
    for s in out.factors[0].shapes:
        assert s.d_ff % 256 == 0 and s.d_ff >= 8 * s.d_model / 3 > s.d_ff - 256
        assert s.d_model % 128 == 0 and s.n_heads == s.d_model // 128
        assert s.within_tolerance and s.aspect_in_band


def test_total_counting_targets_parameters_including_the_untied_embeddings():
    out = run(scaling_type="model", factors=params(3e8, 3e9), num_levels=4, parameter_counting="total",
              vocab_size=32000, tied_embeddings=False)
    for s, target in zip(out.factors[0].shapes, out.factors[0].target_levels):
        assert s.total_params - s.non_embedding_params == 2 * 32000 * s.d_model
        assert s.counted_params == s.total_params
        assert abs(s.total_params - target) / target <= 0.05


def test_total_counting_of_a_ten_million_parameter_model_with_a_50k_vocabulary_fails_with_a_hint():
    out = run(scaling_type="model", factors=params(1e7, 1e9), parameter_counting="total")
    c = check(out, "shape_feasible")
    assert c.verdict == "fail" and "non_embedding" in c.detail
    assert out.verdict == "fail"


def test_a_range_of_less_than_one_decade_is_flagged():
    out = run(scaling_type="model", factors=params(1e8, 5e8))
    c = check(out, "decades_covered")
    assert c.verdict == "fail" and out.factors[0].decades_covered == pytest.approx(math.log10(5), abs=0.01)
    assert check(run(scaling_type="model", factors=params(1e8, 3e9)), "decades_covered").verdict == "warn"


def test_fewer_than_four_points_fail_and_four_or_five_warn():
    assert check(run(scaling_type="model", factors=params(1e7, 1e9), num_levels=3), "num_points").verdict == "fail"
    assert check(run(scaling_type="model", factors=params(1e7, 1e9), num_levels=4), "num_points").verdict == "warn"


def test_a_smallest_model_below_ten_million_parameters_is_warned_with_its_source():
    out = run(scaling_type="model", factors=params(1e6, 1e8))
    c = check(out, "smallest_scale")
    assert c.verdict == "warn" and c.source == knowledge.load("levels")["smallest_scale"]["parameters"]["source"]


def test_token_levels_are_whole_steps_of_the_batch():
    out = run(scaling_type="data", factors=[{"name": "tokens", "minimum": 1e8, "maximum": 1e10}], batch_size=128,
              seq_len=1024)
    f = out.factors[0]
    per_step = 128 * 1024
    assert all(level % per_step == 0 for level in f.levels)
    assert [level // per_step for level in f.levels] == f.steps
    assert all(abs(level - t) <= per_step / 2 for level, t in zip(f.levels, f.target_levels))
    assert f.held_out_level % per_step == 0


def test_batch_size_levels_are_powers_of_two():
    out = run(scaling_type="inference", factors=[{"name": "batch_size", "minimum": 1, "maximum": 256}])
    assert all(math.log2(b).is_integer() for b in out.factors[0].levels)
    assert out.factors[0].levels[0] == 1 and out.factors[0].levels[-1] == 256


def test_the_held_out_level_is_one_geometric_step_beyond_the_largest():
    out = run(scaling_type="model", factors=params(1e7, 1e9), num_levels=5)
    f = out.factors[0]
    target = 1e9 * 10 ** 0.5
    assert abs(f.held_out_level - target) / target <= 0.05
    assert f.held_out_shape is not None and f.held_out_shape.within_tolerance


def test_a_compute_optimal_plan_with_a_fixed_tokens_per_parameter_ratio_fails_the_ratio_check():
    fixed = run(scaling_type="compute_optimal", factors=params(2e7, 2e9), tokens_per_parameter=20.0)
    c = check(fixed, "tokens_per_parameter_varied")
    assert c.verdict == "fail" and fixed.tokens_per_parameter_range == [pytest.approx(20.0)] * 2
    isoflop = run(scaling_type="compute_optimal", factors=[{"name": "compute", "minimum": 1e18, "maximum": 1e20},
                                                           *params(2e7, 2e9)])
    assert check(isoflop, "tokens_per_parameter_varied").verdict == "pass"
    assert isoflop.total_combinations == 36


def test_cost_is_six_n_d_summed_over_runs_and_compared_with_the_budget():
    out = run(scaling_type="model", factors=params(1e7, 1e9), num_levels=4, fixed_tokens=1e10, replicates=3,
              budget_flops=1e19)
    n = np.array(out.factors[0].levels)
    assert out.estimated_cost_flops == pytest.approx(3 * float(np.sum(6 * n * 1e10)), rel=1e-12)
    assert out.total_runs == 12 and out.budget_compatible is False
    assert check(out, "budget").verdict == "fail"
    rich = run(scaling_type="model", factors=params(1e7, 1e9), num_levels=4, fixed_tokens=1e10, budget_flops=1e22)
    assert rich.budget_compatible is True and check(rich, "held_out_point").verdict == "pass"


@pytest.mark.parametrize("scaling_type, replicates", [("data", 3), ("model", 2), ("compute_optimal", 1),
                                                       ("inference", 5)])
def test_level_count_and_replicates_default_to_the_budget_gate(scaling_type, replicates):
    gate = knowledge.budget_gate(scaling_type)
    out = run(scaling_type=scaling_type, factors=[{"name": "custom_axis", "minimum": 1.0, "maximum": 100.0}])
    lo, hi = gate["scale_points"]
    assert lo <= out.factors[0].num_levels <= hi
    assert out.replicates == replicates
    used = {d.name: d for d in out.defaults_used}
    assert "Budget Gate" in used["num_levels"].source and "Budget Gate" in used["replicates"].source


def test_linear_log_uniform_and_custom_spacings():
    lin = run(scaling_type="custom", factors=[{"name": "x", "minimum": 1.0, "maximum": 11.0}], spacing="linear",
              num_levels=6).factors[0]
    np.testing.assert_allclose(np.diff(lin.levels), 2.0)
    a = run(scaling_type="custom", factors=[{"name": "x", "minimum": 1.0, "maximum": 1e4}], spacing="log_uniform",
            seed=1).factors[0]
    b = run(scaling_type="custom", factors=[{"name": "x", "minimum": 1.0, "maximum": 1e4}], spacing="log_uniform",
            seed=1).factors[0]
    c = run(scaling_type="custom", factors=[{"name": "x", "minimum": 1.0, "maximum": 1e4}], spacing="log_uniform",
            seed=2).factors[0]
    assert a.levels == b.levels != c.levels
    assert a.levels[0] == 1.0 and a.levels[-1] == 1e4 and a.levels == sorted(a.levels)
    # One interior point per stratum of log space.
    strata = np.floor(np.log10(a.levels[1:-1]) / 4 * 4).astype(int)
    assert list(strata) == [0, 1, 2, 3]
    custom = run(scaling_type="custom", factors=[{"name": "x", "custom_levels": [30.0, 1.0, 1000.0, 10.0]}])
    assert custom.factors[0].levels == [1.0, 10.0, 30.0, 1000.0] and custom.factors[0].spacing == "custom"


@pytest.mark.parametrize("kwargs, field", [
    ({"factors": params(1e9, 1e7)}, "minimum"),
    ({"factors": params(1e9, 1e9)}, "minimum"),
    ({"factors": params(1e7, 1e9), "num_levels": 1}, "num_levels"),
    ({"factors": params(1e7, 1e9, num_levels=1)}, "num_levels"),
    ({"factors": params(1e7, 1e9), "spacing": "quadratic"}, "spacing"),
    ({"factors": params(-1e7, 1e9)}, "minimum"),
    ({"factors": params(1e7, float("nan"))}, "maximum"),
    ({"factors": params(1e7, float("inf"))}, "maximum"),
    ({"factors": params(1e7, 1e9), "scaling_type": "astrology"}, "scaling_type"),
    ({"factors": params(1e7, 1e9), "spacing": "custom"}, "custom_levels"),
    ({"factors": [{"name": "x", "custom_levels": [1.0, 1.0]}]}, "custom_levels"),
    ({"factors": params(1e7, 1e9), "batch_size": 300}, "batch_size"),
    ({"factors": params(1e7, 1e9), "fixed_tokens": -5.0}, "fixed_tokens"),
    ({"factors": []}, "factors"),
    ({"factors": [{"name": "parameters"}]}, "maximum"),
])
def test_bad_input_is_refused_with_the_field_named(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        ls.Input(**{"scaling_type": "model", **kwargs})


def test_factor_identification_output_feeds_level_specification_through_input_from_factors():
    fo = fi.run(fi.Input(question="How does loss scale with model size at fixed data?", parameter_counting="total",
                         budget_flops=1e22))
    inp = ls.input_from_factors(fo, fixed_tokens=2e10, vocab_size=32000)
    assert inp.scaling_type == fo.scaling_type == "model"
    assert inp.parameter_counting == "total" and inp.budget_flops == 1e22
    assert [(f.name, f.minimum, f.maximum) for f in inp.factors] == \
        [(v.name, v.minimum, v.maximum) for v in fo.independent_variables]
    out = ls.run(inp)
    assert out.factors[0].name == "parameters" and out.budget_compatible is True
    # The dumped dict works the same as the model.
    assert ls.input_from_factors(fo.model_dump(mode="json"), fixed_tokens=2e10, vocab_size=32000) == inp


def test_input_from_factors_refuses_an_axis_without_a_range_naming_factors():
    fo = fi.run(fi.Input(question="custom", scaling_type="custom", axes=["dropout"]))
    with pytest.raises(Exception, match="factors"):
        ls.input_from_factors(fo)


def test_the_example_runs_and_renders_a_levels_section():
    out = ls.run(ls.Input(**ls.EXAMPLE))
    text = report.render_step("level_specification", out)
    assert text.startswith("## Levels") and "| target | n_layer |" in text


def test_a_call_answers_in_milliseconds():
    inp = ls.Input(**ls.EXAMPLE)
    ls.run(inp)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        ls.run(inp)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"level_specification median {median * 1e3:.2f} ms")
    assert median < 0.5
