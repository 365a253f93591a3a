"""Model-robust fits: form selection by rolling extrapolation, off-trend runs, direction, custom forms."""
import csv
import io
from pathlib import Path

import numpy as np
import pytest

from scaling_design.analysis import fit_scaling_law as tool
from scaling_design.errors import InputError
from scaling_design.laws.fit import fit
from scaling_design.laws.forms import get_form
from scaling_design.laws.forms.refined import farseer_from_paper
from scaling_design.laws.select import select_form

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OLMO, CHIN = DATA / "olmo_ladder_final.csv", DATA / "chinchilla_svg_extracted.csv"


@pytest.mark.skipif(not OLMO.is_file(), reason="the OLMo ladder reference file is absent (../shared/data)")
def test_auto_on_olmo_predicts_3b_and_covers():
    rows = list(csv.DictReader(OLMO.open()))
    train = [r for r in rows if r["size"] != "3B"]
    test = [r for r in rows if r["size"] == "3B" and r["rerun"] == "0"]
    out = tool.run(tool.Input(form="auto", runs=[{"N": float(r["N"]), "D": float(r["D"]), "loss": float(r["loss"])} for r in train],
                              predict_at=[{"N": float(r["N"]), "D": float(r["D"])} for r in test], level=0.9))
    truth = np.array([float(r["loss"]) for r in test])
    pred = np.array([p.loss for p in out.predictions])
    mare = np.mean(np.abs(pred / truth - 1))
    assert mare < 0.0080  # measured 0.74% (the goal 0.70% is not reached by the fixed rule; see the README)
    covered = sum(p.prediction_interval.low <= t <= p.prediction_interval.high for p, t in zip(out.predictions, truth))
    assert covered >= 4
    assert {"form", "objective", "heldout_error", "heldout_errors"} <= set(out.selection[0])
    # the fold at 758M leaves two model sizes below it: no candidate is identified there, so it is dropped
    assert out.selected["dropped_cuts"] == [pytest.approx(758220288.0)] and len(out.selection[0]["heldout_errors"]) == 1


@pytest.mark.skipif(not CHIN.is_file(), reason="the Chinchilla reference file is absent (../shared/data)")
def test_raw_chinchilla_outliers_flagged_and_excluded():
    text = CHIN.read_text()
    loss = np.array([float(r["loss"]) for r in csv.DictReader(io.StringIO(text))])
    out = tool.run(tool.Input(csv_text=text))
    flagged = {o["row"] for o in out.outliers}
    assert set(np.argsort(loss)[-5:].tolist()) <= flagged and len(flagged) <= 10
    assert any(w.code == "off_trend_run" for w in out.warnings)
    excl = tool.run(tool.Input(csv_text=text, outliers="exclude"))
    assert abs(excl.params["alpha"] - 0.3473) < 0.015 and abs(excl.params["beta"] - 0.3672) < 0.021
    assert excl.outlier_refit["excluded_rows"] == sorted(flagged)


def test_accuracy_as_loss_is_refused_naming_the_field():
    runs = [{"x": x, "loss": 0.05 * np.log10(x) - 0.1} for x in (1e6, 1e7, 1e8, 1e9, 1e10)]
    with pytest.raises(InputError) as err:
        tool.run(tool.Input(form="saturating", runs=runs))
    assert err.value.field == "loss" and "higher_is_better" in str(err.value)
    out = tool.run(tool.Input(form="saturating", runs=runs, direction="higher_is_better"))
    assert out.params["alpha"] > 0.01


def test_custom_expression_matches_builtin_joint_fit():
    rng = np.random.default_rng(3)
    N = np.repeat(np.geomspace(5e7, 3e9, 5), 3)
    X = np.column_stack([N, N * np.tile([5, 20, 80], 5)])
    truth = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
    y = get_form("chinchilla").predict(truth, X) * np.exp(rng.normal(0, 0.002, len(N)))
    custom = fit(get_form("E + A*N^-alpha + B*D**-beta", {"alpha": (0, 5), "beta": (0, 5)}), X, y)
    builtin = fit("chinchilla", X, y)
    for k in truth:
        assert custom.params[k] == pytest.approx(builtin.params[k], rel=1e-5)


@pytest.mark.parametrize("bad", ["__import__('os').system('x')", "N.real", "lambda: 1", "A*[1][0]", "open('f')"])
def test_custom_expression_refuses_anything_but_arithmetic(bad):
    with pytest.raises(ValueError):
        get_form(bad)


@pytest.mark.parametrize("name", ["farseer", "joint_nbeta"])
def test_refined_forms_jacobian_is_exact(name):
    form = get_form(name)
    v = {"farseer": farseer_from_paper(1.7, 1.2, 0.3, -0.35, 0.4, -0.3, -0.15, -0.3, np.log(0.3)),
         "joint_nbeta": np.array([1.8, 480.0, 1.2, 0.34, 0.3, 0.05])}[name]
    X = np.column_stack([np.geomspace(5e7, 3e9, 7), np.geomspace(5e8, 3e11, 7)])
    J = form.jacobian(v, X)
    h = 1e-6 * np.maximum(1, np.abs(v))
    Jn = np.column_stack([(form.predict(v + hi * e, X) - form.predict(v - hi * e, X)) / (2 * hi) for e, hi in zip(np.eye(len(v)), h)])
    assert np.max(np.abs(J - Jn) / (np.abs(Jn) + 1e-8)) < 1e-5


def _pool(truth_form, truth, rng, noise=0.003):
    N = np.repeat(np.geomspace(3e7, 3e9, 7), 4)
    D = N * np.tile([5, 15, 40, 100], 7)
    X = np.column_stack([N, D])
    return X, get_form(truth_form).predict(truth, X) * np.exp(rng.normal(0, noise, len(N)))


@pytest.mark.slow
def test_auto_under_misspecification_beats_forced_joint():
    """Data from a joint law whose data exponent drifts with N: auto picks that family (or one
    within 10% of its held-out error) in >= 80% of data sets, and its median held-out error is
    below a forced joint fit's."""
    rng = np.random.default_rng(11)
    picked, auto_err, joint_err = 0, [], []
    for _ in range(20):
        X, y = _pool("joint_nbeta", [1.8, 480.0, 1.2, 0.34, 0.28, 0.12], rng)
        sel = select_form([get_form("chinchilla"), get_form("joint_nbeta")], X, y, objectives=("ls-log",))
        true_err = next(c.heldout_error for c in sel.candidates if c.form.name == "joint_nbeta")
        picked += sel.best.heldout_error >= 0 and (sel.best.form.name == "joint_nbeta" or true_err <= 1.1 * sel.best.heldout_error)
        auto_err.append(sel.best.heldout_error)
        joint_err.append(next(c.heldout_error for c in sel.candidates if c.form.name == "chinchilla"))
    assert picked >= 16
    assert np.median(auto_err) < np.median(joint_err)


def test_allocate_from_fit_json_keeps_bootstrap_intervals_and_refuses_other_forms(tmp_path):
    from scaling_design.analysis import compute_optimal_allocation as alloc

    out = tool.run(tool.Input(**{**tool.EXAMPLE, "bootstrap": 100}))
    assert out.bootstrap["n_used"] == len(out.bootstrap["replicates"]) and "n_retried" in out.bootstrap
    path = tmp_path / "fit.json"
    path.write_text(out.model_dump_json())
    res = alloc.run(alloc.Input(compute=[1e22], law=str(path), level=0.9))
    band = res.allocations[0].intervals["N_opt"]
    assert band.low < res.allocations[0].N_opt < band.high and band.level == 0.9
    assert res.allocations[0].extrapolation_decades > 0
    one_axis = tool.run(tool.Input(form="saturating", runs=[{"x": x, "loss": 2 + 5 * x ** -0.3} for x in (1e6, 1e7, 1e8, 1e9, 1e10)]))
    path.write_text(one_axis.model_dump_json())
    with pytest.raises(InputError) as err:
        alloc.run(alloc.Input(compute=[1e22], law=str(path)))
    assert err.value.field == "law" and "saturating" in str(err.value)


def test_validation_rows_are_held_out_and_scored():
    truth = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
    lines = ["N,D,loss,role"]
    for n in (4e7, 1e8, 2.5e8, 6e8, 1.5e9):
        for t in (5, 20, 80):
            lines.append(f"{n},{n * t},{float(get_form('chinchilla').predict(truth, [[n, n * t]])[0])},fit")
    lines.append(f"7e9,1.4e11,{float(get_form('chinchilla').predict(truth, [[7e9, 1.4e11]])[0])},validation")
    out = tool.run(tool.Input(csv_text="\n".join(lines)))
    assert out.n_runs == 15 and len(out.validation) == 1
    assert abs(out.validation[0]["relative_error"]) < 0.01


def test_statistical_method_selection_chooses_from_runs():
    from scaling_design.tactics import statistical_method_selection as sms

    truth = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
    rng = np.random.default_rng(5)
    runs = [{"N": n, "D": n * t, "loss": float(get_form("chinchilla").predict(truth, [[n, n * t]])[0]) * float(np.exp(rng.normal(0, 0.002)))}
            for n in (4e7, 1e8, 2.5e8, 6e8, 1.5e9, 4e9) for t in (5, 10, 20, 80)]
    out = sms.run(sms.Input(task="fit_scaling_law", scaling_axes="params_and_tokens", runs=runs))
    assert out.selection["candidates"][0]["heldout_error"] < 0.02
    assert {c["form"] for c in out.selection["candidates"]} >= {"chinchilla", "joint_nbeta"}


def test_farseer_matches_the_papers_parameterisation():
    """Li et al.'s form, evaluated directly, equals the Box-Cox form at the converted parameters."""
    E, B, a3, g, a2, b, a1, al, b1 = 1.7, 1.2, 0.3, -0.35, 0.4, -0.3, -0.15, -0.3, np.log(0.3)
    X = np.column_stack([np.geomspace(5e7, 3e11, 9), np.geomspace(5e8, 3e13, 9)[::-1]])
    n, d = X[:, 0] / 1e9, X[:, 1] / 1e9
    paper = E * np.exp(a3 * n ** g) + B * np.exp(a2 * n ** b) * d ** (-np.exp(a1 * n ** al + b1))
    ours = get_form("farseer").predict(farseer_from_paper(E, B, a3, g, a2, b, a1, al, b1), X)
    assert np.max(np.abs(ours / paper - 1)) < 1e-12
