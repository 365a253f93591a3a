"""isoflop_analysis: approach 2's parabolas, their bias for the grid run, the joint fit beside them.

Synthetic grids come from a known joint law: centred on the law's optimum, off-centre by a constant
0.4 decades, drifting (centred on a prior law with the wrong exponent), with equal and unequal
exponents; noiseless and with 0.5% loss noise."""
import csv
import io

import numpy as np
import pytest

from scaling_design.analysis import isoflop_analysis as tool
from scaling_design.cli import main
from scaling_design.errors import InputError
from scaling_design.laws import allocation, isoflop

from conftest import CHINCHILLA_CSV

EQUAL = {"E": 1.8, "A": 480.0, "B": 2085.0, "alpha": 0.35, "beta": 0.35}
UNEQUAL = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}   # Hoffmann et al. 2022's approach-3 fit
BUDGETS = np.geomspace(1e18, 3e20, 6)
TARGET = 1e22


def _grid(law, kind, noise=0.0, seed=0, half=0.8, k=9, budgets=BUDGETS):
    rng = np.random.default_rng(seed)
    rows = []
    for C in budgets:
        centre = np.log10(allocation.compute_optimal(law, C)["N_opt"])
        if kind == "off_centre":
            centre += 0.4
        elif kind == "drifting":  # centred on a prior whose exponent is 0.6, exact at the smallest budget
            centre = np.log10(allocation.compute_optimal(law, budgets[0])["N_opt"]) + 0.6 * np.log10(C / budgets[0])
        N = 10 ** (centre + np.linspace(-half, half, k))
        L = allocation.joint_loss(law, N, C / (6 * N)) * (1 + noise * rng.standard_normal(k))
        rows += [{"N": float(n), "C": float(C), "loss": float(l)} for n, l in zip(N, L)]
    return rows


def _run(rows, **kw):
    args = {"runs": rows, "target_compute": TARGET, "bootstrap": 0, "joint_bootstrap": 0, **kw}
    return tool.run(tool.Input(**args))


def _frontier(out, method):
    return next(f for f in out.frontiers if f.method == method)


GRIDS = [(EQUAL, "centred", 1.0), (EQUAL, "off_centre", 0.8), (EQUAL, "drifting", 0.8),
         (UNEQUAL, "centred", 0.8), (UNEQUAL, "off_centre", 1.0), (UNEQUAL, "drifting", 1.0)]


@pytest.mark.parametrize("law,kind,half", GRIDS)
def test_without_noise_the_bias_estimate_matches_the_measured_approach2_error(law, kind, half):
    out = _run(_grid(law, kind, half=half))
    exact = allocation.compute_optimal(law, np.array([b.compute for b in out.budgets]))["N_opt"]
    measured = np.array([b.N_opt for b in out.budgets]) / exact - 1
    estimated = np.array([b.approach2_bias for b in out.budgets])
    assert np.all(np.abs(estimated - measured) <= np.maximum(0.25 * np.abs(measured), 0.005))
    at_target = _frontier(out, "approach2").N_opt / allocation.compute_optimal(law, TARGET)["N_opt"] - 1
    assert abs(out.approach2_bias_at_target - at_target) <= max(0.25 * abs(at_target), 0.005)


def test_the_bias_is_real_where_the_exponents_differ_and_the_correction_removes_it():
    out = _run(_grid(UNEQUAL, "centred", half=1.0))
    truth = allocation.compute_optimal(UNEQUAL, TARGET)["N_opt"]
    assert _frontier(out, "approach2").N_opt / truth - 1 > 0.03   # the parabola's vertex sits above the optimum
    assert _frontier(out, "approach2_bias_corrected").N_opt / truth == pytest.approx(1, abs=1e-3)
    assert out.agreement.verdict in ("bias_explains_gap", "agree")
    assert out.agreement.bias_explains == pytest.approx(1, abs=0.05)


def test_a_centred_grid_of_a_symmetric_law_has_no_bias():
    out = _run(_grid(EQUAL, "centred"))
    assert all(abs(b.approach2_bias) < 1e-9 for b in out.budgets)


@pytest.mark.parametrize("law,kind", [(EQUAL, "centred"), (EQUAL, "off_centre"), (UNEQUAL, "centred")])
def test_with_noise_the_allocation_exponents_fall_inside_their_intervals(law, kind):
    out = _run(_grid(law, kind, noise=0.005, seed=1), bootstrap=2000, joint_bootstrap=100, seed=1)
    truth = allocation.allocation_exponents(law)
    for f in out.frontiers:
        assert f.exponent_a_interval.low <= truth["a"] <= f.exponent_a_interval.high, f.method
        assert f.exponent_b_interval.low <= truth["b"] <= f.exponent_b_interval.high, f.method


@pytest.mark.slow
def test_approach2_exponent_intervals_cover_the_truth_in_most_noisy_grids():
    for law, kind in [(EQUAL, "centred"), (EQUAL, "off_centre"), (UNEQUAL, "drifting")]:
        a = allocation.allocation_exponents(law)["a"]
        hits = []
        for seed in range(20):
            f = _frontier(_run(_grid(law, kind, noise=0.005, seed=seed), bootstrap=1000, seed=seed), "approach2")
            hits.append(f.exponent_a_interval.low <= a <= f.exponent_a_interval.high)
        assert np.mean(hits) >= 0.85, (kind, np.mean(hits))


def test_regret_is_zero_for_the_joint_laws_own_choice_and_grows_with_the_distance_from_it():
    out = _run(_grid(UNEQUAL, "centred", half=1.0), joint_bootstrap=20)
    regret = {r.method: r for r in out.regret}
    assert regret["joint"].under_joint == pytest.approx(0, abs=1e-12)
    assert regret["approach2"].under_joint > regret["approach2_bias_corrected"].under_joint >= 0
    assert regret["approach2"].under_approach2_profile == 0
    assert regret["joint"].under_joint_expected >= 0  # noiseless: every replicate is the law itself


def test_a_held_out_budget_is_predicted_by_each_method():
    rows = _grid(UNEQUAL, "centred", budgets=np.geomspace(1e18, 3e21, 7))
    for r in rows:
        r["role"] = "validation" if r["C"] > 1e21 else "fit"
    out = _run(rows)
    assert out.n_runs == 54 and len(out.validation) == 1
    v = out.validation[0]
    assert v.compute == pytest.approx(3e21)
    assert set(v.relative_error) == {"approach2", "approach2_bias_corrected", "joint"}
    # The held-out vertex is itself a parabola's, with the same bias: approach 2 predicts it exactly; the joint law
    # and the corrected approach 2 predict the optimum, which the vertex corrected for its own grid's bias recovers.
    assert v.relative_error["approach2"] == pytest.approx(0, abs=1e-9)
    assert v.relative_error["joint"] < -0.02
    assert v.relative_error_bias_corrected["joint"] == pytest.approx(0, abs=1e-9)
    assert v.relative_error_bias_corrected["approach2_bias_corrected"] == pytest.approx(0, abs=1e-9)
    assert max(abs(e) for e in v.joint_loss_errors) < 1e-6


def test_a_budget_column_groups_runs_whose_compute_scatters():
    rng = np.random.default_rng(3)
    rows = _grid(EQUAL, "centred", noise=0.002)
    for r in rows:
        r["budget"], r["C"] = r["C"], r["C"] * float(np.exp(rng.normal(0, 0.1)))
    out = _run(rows)
    assert [b.compute for b in out.budgets] == pytest.approx(list(BUDGETS))


def test_the_parabola_fits_exactly_a_quadratic_profile_and_its_vertex():
    u = np.linspace(-2, 2, 7)
    p = isoflop.fit_parabola(np.log(1e9) + u, 3 + 0.1 * (u - 0.3) ** 2, 1e20)
    assert p.log_vertex == pytest.approx(np.log(1e9) + 0.3) and p.curvature == pytest.approx(0.2)


def test_one_budget_is_refused_naming_the_runs():
    rows = [r for r in _grid(EQUAL, "centred") if r["C"] == BUDGETS[0]]
    with pytest.raises(InputError, match="runs: approach 2 needs at least 2 budgets"):
        _run(rows)


def test_a_concave_budget_is_flagged_and_left_out_of_the_power_laws():
    rows = _grid(EQUAL, "centred")
    for r in rows:
        if r["C"] == BUDGETS[-1]:
            r["loss"] = 3.0 - 1e-3 * np.log(r["N"] / 1e9) ** 2
    out = _run(rows)
    assert any(w.code == "concave_profile" for w in out.warnings)
    assert _frontier(out, "approach2").exponent_a == pytest.approx(0.5, abs=1e-6)


def test_the_example_runs_and_the_cli_writes_the_report_and_the_figure(tmp_path, capsys):
    out = tool.run(tool.Input(**tool.EXAMPLE))
    assert out.agreement.verdict == "agree"
    path = tmp_path / "grid.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["N", "C", "loss"])
        w.writeheader()
        w.writerows(tool.EXAMPLE["runs"])
    assert main(["isoflop", str(path), "--format", "text", "--bootstrap", "200", "--joint-bootstrap", "0",
                 "--plots", str(tmp_path / "figs")]) == 0
    text = capsys.readouterr().out
    assert "## IsoFLOP analysis" in text and "Regret at the target" in text
    assert (tmp_path / "figs" / "isoflop.png").stat().st_size > 10_000


def _chinchilla_budgets() -> str:
    """Hoffmann et al.'s points snapped to their nine isoFLOP budgets (within 0.1 decades), the largest held out."""
    budgets = np.array([6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21])
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["N", "C", "loss", "budget", "role"])
    for r in csv.DictReader(CHINCHILLA_CSV.open()):
        C, loss = float(r["Training FLOP"]), float(r["loss"])
        b = budgets[np.argmin(np.abs(np.log(C / budgets)))]
        if loss < 3.446 and abs(np.log10(C / b)) <= 0.1:
            w.writerow([r["Model Size"], C, loss, b, "validation" if b == 3e21 else "fit"])
    return out.getvalue()


def test_on_chinchilla_both_methods_give_about_half_and_are_scored_on_the_held_out_budget(chinchilla_240):
    out = tool.run(tool.Input(csv_text=_chinchilla_budgets(), target_compute=3e21, bootstrap=500, joint_bootstrap=0))
    assert len(out.budgets) == 8 and all(b.convex for b in out.budgets)
    for f in out.frontiers:
        assert 0.45 < f.exponent_a < 0.6, f   # Hoffmann et al. 2022, Table 2: a = 0.49 (approach 2), 0.46 (3)
    v = out.validation[0]
    assert v.observed_N_opt and set(v.relative_error) == {"approach2", "approach2_bias_corrected", "joint"}


def test_a_bootstrap_beyond_the_array_cap_is_refused_naming_bootstrap():
    with pytest.raises(InputError, match="bootstrap x runs must be at most 20,000,000"):
        _run(_grid(EQUAL, "centred", k=400), bootstrap=20_000)
