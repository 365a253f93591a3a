"""Parameter recovery from synthetic data with known truth, for every form."""
import numpy as np
import pytest

from scaling_design.laws.fit import fit
from scaling_design.laws.forms import get_form

JOINT = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}


def joint_design(tpp=(5, 10, 20, 40, 80)):
    N = np.geomspace(3e7, 1e9, 6)
    return np.array([(n, n * t) for n in N for t in tpp])


CASES = {
    "power": ({"A": 12.0, "alpha": 0.12}, np.geomspace(1e6, 1e10, 10)[:, None]),
    "kaplan": ({"X_c": 8.8e13, "alpha": 0.076}, np.geomspace(1e6, 1e10, 10)[:, None]),
    "saturating": ({"E": 1.7, "A": 30.0, "alpha": 0.25}, np.geomspace(1e6, 1e11, 12)[:, None]),
    "chinchilla": (JOINT, joint_design()),
    "broken": ({"E": 1.5, "A": 8.0, "alpha": 0.1, "delta_alpha": 0.3, "x_break": 1e8, "smoothness": 0.5},
               np.geomspace(1e5, 1e11, 40)[:, None]),
    "data_constrained": ({"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353, "R_D": 15.4, "R_N": 5.3},
                         None),
}


def data_constrained_design():
    rows = []
    for n in np.geomspace(1e8, 3e9, 5):
        for epochs in (1, 2, 4, 8, 16, 40):
            for tpp in (10, 40, 160):
                d = n * tpp
                rows.append((n, d, d / epochs))
    return np.array(rows)


@pytest.mark.parametrize("name", list(CASES))
def test_noiseless_data_recover_the_true_parameters(name):
    truth, X = CASES[name]
    if X is None:
        X = data_constrained_design()
    form = get_form(name)
    y = form.predict(truth, X)
    res = fit(form, X, y, objective="ls-log")
    for p, value in truth.items():
        assert res.params[p] == pytest.approx(value, rel=2e-3), (name, p, res.params)
    assert res.objective < 1e-12


@pytest.mark.parametrize("objective", ["huber-log", "ls-log", "ls"])
def test_every_objective_recovers_the_joint_exponents_from_noisy_data(objective):
    X = joint_design()
    rng = np.random.default_rng(3)
    y = get_form("chinchilla").predict(JOINT, X) * np.exp(rng.normal(0, 0.003, len(X)))
    res = fit("chinchilla", X, y, objective=objective)
    assert res.converged
    assert res.params["alpha"] == pytest.approx(JOINT["alpha"], abs=0.03)
    assert res.params["beta"] == pytest.approx(JOINT["beta"], abs=0.03)


def test_weights_change_the_fit_as_dropping_runs_does():
    X = joint_design()
    form = get_form("chinchilla")
    y = form.predict(JOINT, X)
    y_bad = y.copy()
    y_bad[:3] *= 1.2  # three corrupted runs
    w = np.ones(len(y))
    w[:3] = 0.0
    weighted = fit(form, X, y_bad, objective="ls-log", weights=w)
    dropped = fit(form, X[3:], y_bad[3:], objective="ls-log")
    for p in JOINT:
        assert weighted.params[p] == pytest.approx(dropped.params[p], rel=1e-4)
    huber_w = fit(form, X, y_bad, objective="huber-log", weights=w)
    assert huber_w.params["alpha"] == pytest.approx(JOINT["alpha"], rel=1e-3)


def test_analytic_jacobians_match_finite_differences():
    for name, (truth, X) in CASES.items():
        X = data_constrained_design() if X is None else X
        form = get_form(name)
        p = form.as_array(truth)
        J = form.jacobian(p, X)
        for i in range(len(p)):
            h = 1e-6 * max(abs(p[i]), 1e-3)
            up, down = p.copy(), p.copy()
            up[i] += h
            down[i] -= h
            fd = (form.predict(up, X) - form.predict(down, X)) / (2 * h)
            np.testing.assert_allclose(J[:, i], fd, rtol=2e-4, atol=1e-9 * np.max(np.abs(fd)) + 1e-12, err_msg=f"{name}.{form.param_names[i]}")


def test_predict_interval_says_when_it_extrapolates():
    X = joint_design()
    y = get_form("chinchilla").predict(JOINT, X) * np.exp(np.random.default_rng(0).normal(0, 0.005, len(X)))
    res = fit("chinchilla", X, y)
    far = np.array([[7e10, 1.4e12]])
    inside = X[:1]
    assert res.extrapolation(far)[0]["extrapolates"] and res.extrapolation(far)[0]["decades_beyond_data"] > 1
    assert not res.extrapolation(inside)[0]["extrapolates"]
    pred, lo, hi = res.predict_interval(far)
    assert lo[0] < pred[0] < hi[0]
