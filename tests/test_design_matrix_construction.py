"""design_matrix_construction: classical designs against pyDOE3, aliasing, scaling grids, seeds, cost, exports."""
from __future__ import annotations

import csv
import io

import numpy as np
import pyDOE3
import pytest
from pydantic import ValidationError

from scaling_design import knowledge, report
from scaling_design.errors import InputError
from scaling_design.laws.allocation import compute_optimal
from scaling_design.sops.design_matrix_construction import EXAMPLE, MAX_RUNS, Input, run

TWO_LEVEL = {"A": [1.0, 2.0], "B": [10.0, 20.0], "C": [0.1, 0.2], "D": [5.0, 6.0]}
THREE = {"lr": [1e-4, 1e-3, 1e-2], "wd": [0.0, 0.05, 0.1], "warmup": [100.0, 500.0, 1000.0]}


def _coded(out, levels):
    """The run table back in -1/+1 coding (base design points only, sorted)."""
    rows = [r for r in out.runs]
    return sorted(tuple(-1 if r[k] == lv[0] else 1 for k, lv in levels.items()) for r in rows)


def test_half_fraction_with_d_equal_abc_has_resolution_iv_and_the_textbook_aliases():
    out = run(Input(design="fractional_factorial", factors=TWO_LEVEL, generators="D = ABC"))
    p = out.properties
    assert p.defining_relation == ["I = ABCD"]
    assert p.resolution == 4
    assert set(p.alias_pattern) == {"A = BCD", "B = ACD", "C = ABD", "D = ABC", "AB = CD", "AC = BD", "AD = BC"}
    assert _coded(out, TWO_LEVEL) == sorted(map(tuple, pyDOE3.fracfact("a b c abc").astype(int).tolist()))
    assert p.orthogonal and p.balanced
    assert p.error_df == 8 - 5  # main effects model: intercept + 4


def test_a_target_resolution_finds_the_smallest_fraction_even_where_pydoe3_gives_up():
    with pytest.raises(ValueError):
        pyDOE3.fracfact_by_res(4, 4)   # pyDOE3's own search misses the 2^(4-1) IV design
    out = run(Input(design="fractional_factorial", factors=TWO_LEVEL, resolution=4))
    assert out.n_runs == 8 and out.properties.resolution == 4
    seven = {k: [0.0, 1.0] for k in "PQRSTUV"}
    out = run(Input(design="fractional_factorial", factors=seven, resolution=3))
    assert out.n_runs == len(pyDOE3.fracfact_by_res(7, 3)) and out.properties.resolution == 3


def test_full_factorial_matches_pydoe3_and_counts_error_degrees_of_freedom():
    out = run(Input(design="full_factorial", factors=THREE, replicates=2, n_blocks=2))
    idx = pyDOE3.fullfact([3, 3, 3]).astype(int)
    expected = sorted(tuple(THREE[k][i] for k, i in zip(THREE, row)) for row in idx)
    first_replicate = sorted(tuple(r[k] for k in THREE) for r in out.runs if r["replicate"] == 1)
    assert first_replicate == expected
    p = out.properties
    assert p.orthogonal and p.balanced
    assert p.model_terms == 1 + 3 * 2 and p.error_df == 54 - 7 and p.pure_error_df == 27
    assert {r["block"] for r in out.runs if r["replicate"] == 1} == {1}
    assert {r["block"] for r in out.runs if r["replicate"] == 2} == {2}


def test_plackett_burman_for_seven_factors_is_pydoe3s_eight_run_design():
    factors = {k: [0.0, 1.0] for k in "PQRSTUV"}
    out = run(Input(design="plackett_burman", factors=factors))
    assert _coded(out, factors) == sorted(map(tuple, pyDOE3.pbdesign(7).astype(int).tolist()))
    assert out.properties.resolution == 3 and out.properties.orthogonal


def test_central_composite_and_box_behnken_are_pydoe3s_coded_designs_mapped_to_the_levels():
    factors = {"x1": [0.0, 10.0], "x2": [100.0, 200.0]}
    out = run(Input(design="central_composite", factors=factors, center_points=3))
    coded = pyDOE3.ccdesign(2, center=(3, 3), alpha="orthogonal", face="circumscribed")
    expected = sorted(zip(5 + 5 * coded[:, 0], 150 + 50 * coded[:, 1]))
    got = sorted((r["x1"], r["x2"]) for r in out.runs)
    np.testing.assert_allclose(got, expected)
    assert out.properties.center_points == 6 and out.properties.model_terms == 6
    out = run(Input(design="box_behnken", factors={"a": [1.0, 3.0], "b": [1.0, 3.0], "c": [1.0, 3.0]},
                    center_points=2))
    assert out.n_runs == len(pyDOE3.bbdesign(3, center=2)) and out.properties.center_points == 2


def test_latin_hypercube_puts_one_point_in_every_stratum_and_is_seeded():
    out = run(Input(design="latin_hypercube", factors={"a": [0.0, 1.0], "b": [0.0, 1.0]}, samples=8, seed=3))
    for k in ("a", "b"):
        strata = np.floor(np.array([r[k] for r in out.runs]) * 8).astype(int)
        assert sorted(strata) == list(range(8))
    again = run(Input(design="latin_hypercube", factors={"a": [0.0, 1.0], "b": [0.0, 1.0]}, samples=8, seed=3))
    assert again.csv == out.csv


def test_taguchi_picks_the_smallest_array_and_stays_orthogonal():
    out = run(Input(design="taguchi", factors=THREE))
    assert out.n_runs == 9 and out.properties.orthogonal and out.properties.balanced
    assert any(d.name == "taguchi_array" and d.value == "L9(3^4)" for d in out.defaults_used)


def test_isoflop_grid_centres_sizes_on_the_epoch_optimum_with_d_from_c_over_6n():
    out = run(Input(**EXAMPLE))
    epoch = knowledge.published_law("epoch")["params"]
    for b in out.isoflop:
        n_opt = float(compute_optimal(epoch, b.compute)["N_opt"])
        assert b.n_opt_prior == pytest.approx(n_opt, rel=1e-12)
        assert np.sqrt(b.n_values[0] * b.n_values[-1]) == pytest.approx(n_opt, rel=1e-9)
        assert b.n_values[-1] / b.n_values[0] == pytest.approx(4.0**2, rel=1e-9)
    for r in out.runs:
        assert r["D"] == pytest.approx(r["C"] / (6 * r["N"]), rel=1e-12)
    assert len({round(r["tokens_per_param"], 6) for r in out.runs}) > 3


def test_isoflop_with_tokens_per_param_ratios_hits_each_ratio_exactly():
    out = run(Input(design="isoflop", compute_budgets=[1e19], tokens_per_param=[5, 10, 20, 40, 80, 160]))
    np.testing.assert_allclose(sorted(r["D"] / r["N"] for r in out.runs), [5, 10, 20, 40, 80, 160], rtol=1e-12)


def test_replicates_get_distinct_seeds_and_the_order_is_a_seeded_permutation():
    inp = dict(design="n_by_d_grid", factors={"N": [1e7, 3e7, 1e8], "D": [1e9, 3e9]}, replicates=3)
    a, b, c = run(Input(**inp, seed=1)), run(Input(**inp, seed=1)), run(Input(**inp, seed=2))
    assert a.seeds_distinct and len({r["seed"] for r in a.runs}) == 18
    assert a.runs == b.runs
    assert [r["point"] for r in a.runs] != [r["point"] for r in c.runs]
    assert sorted(r["run_order"] for r in a.runs) == list(range(1, 19))
    counts = np.bincount([r["point"] for r in a.runs])[1:]
    assert set(counts) == {3}


def test_costs_are_6nd_and_gpu_hours_use_the_stated_peak_and_mfu():
    out = run(Input(design="n_by_d_grid", factors={"N": [1e8], "D": [2e9, 4e9]}, hardware="A100", mfu=0.5))
    peak = knowledge.hardware_peak("A100")
    for r in out.runs:
        assert r["C"] == 6 * r["N"] * r["D"]
        assert r["gpu_hours"] == pytest.approx(r["C"] / (peak * 0.5 * 3600), rel=1e-12)
    assert out.cost.total_flops == pytest.approx(6e8 * 6e9)
    assert out.cost.peak_flops == peak and out.cost.mfu == 0.5


def test_counted_flops_per_token_replace_6n_when_asked():
    out = run(Input(design="one_axis_sweep", factors={"N": [1e8, 2e8]}, fixed={"D": 1e9}, flops_counting="counted",
                    flops_per_token=[7e8, 1.3e9]))
    assert sorted(r["C"] for r in out.runs) == [7e8 * 1e9, 1.3e9 * 1e9]


def test_level_specification_output_feeds_the_design_directly():
    from scaling_design.sops import level_specification as ls
    levels = ls.run(ls.Input(**ls.EXAMPLE)).model_dump(mode="json")
    out = run(Input(design="one_axis_sweep", factors=levels, fixed={"D": 2e10}))
    expected = levels["factors"][0]["levels"]
    assert sorted(r["N"] for r in out.runs) == sorted(expected)
    out = run(Input(design="one_axis_sweep", factors=levels["factors"], fixed={"D": 2e10}, flops_counting="counted"))
    shapes = levels["factors"][0]["shapes"]
    assert sorted(r["C"] for r in out.runs) == pytest.approx(sorted(s["flops_per_token_deepseek"] * 2e10
                                                                    for s in shapes))


def test_results_template_reads_back_into_the_fitter_once_filled():
    from scaling_design.analysis.runs_io import read_csv_text
    from scaling_design.laws import get_form
    out = run(Input(design="n_by_d_grid", factors={"N": list(np.geomspace(2e7, 1e9, 5))},
                    tokens_per_param=[5, 20, 80]))
    form = get_form("chinchilla")
    rows = list(csv.DictReader(io.StringIO(out.results_template_csv)))
    assert {"run_id", "N", "D", "C", "seed", "loss"} <= set(rows[0]) and all(r["loss"] == "" for r in rows)
    epoch = knowledge.published_law("epoch")["params"]
    for r in rows[:-3]:   # three runs not done yet
        r["loss"] = repr(float(form.predict(epoch, np.array([[float(r["N"]), float(r["D"])]]))[0]))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    table = read_csv_text(buf.getvalue(), form)
    assert table.X.shape == (12, 2) and table.n_skipped == 3
    np.testing.assert_allclose(table.X[:, 1], [float(r["D"]) for r in rows[:-3]])


def test_bad_input_is_refused_naming_the_field():
    with pytest.raises(InputError, match="fractional factorial needs at least 3 factors"):
        run(Input(design="fractional_factorial", factors={"A": [0, 1], "B": [0, 1]}))
    with pytest.raises(ValidationError, match="n_blocks"):
        Input(design="full_factorial", factors=THREE, replicates=3, n_blocks=2)
    with pytest.raises(InputError, match=f"^factors: .* over the cap of {MAX_RUNS:,} \\(max_runs\\)"):
        run(Input(design="full_factorial", factors={f"f{i}": [0, 1, 2, 3] for i in range(8)}))
    with pytest.raises(InputError, match="hardware must be one of"):
        run(Input(design="n_by_d_grid", factors={"N": [1e8], "D": [1e9]}, hardware="TPUv9"))
    with pytest.raises(InputError, match="must be numeric"):
        run(Input(design="central_composite", factors={"opt": ["adam", "sgd"], "lr": [1e-4, 1e-3]}))
    with pytest.raises(ValidationError, match="compute_budgets"):
        Input(design="isoflop", compute_budgets=[1e40])
    with pytest.raises(InputError, match="generators"):
        run(Input(design="fractional_factorial", factors=TWO_LEVEL, generators="D = A B C; nonsense"))


def test_a_grid_with_one_tokens_per_param_ratio_warns_that_alpha_and_beta_are_confounded():
    out = run(Input(design="n_by_d_grid", factors={"N": [1e7, 1e8, 1e9]}, tokens_per_param=[20]))
    assert "fixed_tokens_per_param" in {w.code for w in out.warnings}


def test_the_report_section_shows_the_aliasing_and_the_cost_convention():
    out = run(Input(design="fractional_factorial", factors=TWO_LEVEL, generators="D = ABC"))
    text = report.render_step("design_matrix_construction", out)
    assert text.startswith("## Design matrix") and "I = ABCD" in text and "AB = CD" in text
    text = report.render_step("design_matrix_construction", run(Input(**EXAMPLE)))
    assert "6ND" in text and "MFU 40%" in text


def test_an_inference_grid_crosses_batch_length_and_model_costed_in_benchmark_time():
    from scaling_design.sops.design_matrix_construction.latency import cell_latency, served_shape

    levels = {"batch_size": [1.0, 8.0, 64.0], "seq_len": [512.0, 2048.0], "N": [7e9]}
    out = run(Input(design="inference_grid", factors=levels, replicates=5, hardware="H100", mfu=0.4))
    assert len(out.runs) == 3 * 2 * 5
    assert len({r["seed"] for r in out.runs}) == len(out.runs)
    r = next(r for r in out.runs if r["batch_size"] == 64.0 and r["seq_len"] == 2048.0)
    cell = cell_latency(served_shape(7e9), 64, 2048, 256, 989e12, 0.4, 3350e9)
    # 110 requests (100 measured, 10 warm-up) in batches of 64: 2 batches of the expected latency
    assert r["gpu_hours"] == pytest.approx(2 * cell["latency"] / 3600)
    assert r["expected_tpot_s"] == pytest.approx(cell["tpot"]) and "flops" not in out.columns
    assert out.cost.total_flops is None and out.cost.total_gpu_hours == pytest.approx(
        sum(x["gpu_hours"] for x in out.runs))
    assert "inference_cost_roofline" in {w.code for w in out.warnings}
