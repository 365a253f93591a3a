"""Monte Carlo refits polished together (laws.fit.batch) against the scalar path they replace."""
import numpy as np
import pytest
from scipy.optimize import least_squares

from scaling_design import knowledge
from scaling_design.laws.batched_lm import batched_lm
from scaling_design.laws.fit import Refitter
from scaling_design.laws.fit.batch import refit_many
from scaling_design.laws.forms import get_form
from scaling_design.laws.simulate import NoiseModel

PARAMS = knowledge.published_law("epoch")["params"]


def design_30() -> np.ndarray:
    N = np.geomspace(1e7, 1e9, 10)
    return np.array([[n, n * r] for r in (5.0, 20.0, 80.0) for n in N])


def simulated(form, truth, X, n, sigma=0.0075):
    clean = form.predict(truth, X)
    return clean, np.array([NoiseModel(sigma=sigma).sample(clean, np.random.default_rng(i)) for i in range(n)])


@pytest.mark.parametrize("objective", ["huber-log", "ls-log", "ls"])
def test_batch_refits_reach_the_scalar_optimum(objective):
    form, X = get_form("chinchilla"), design_30()
    truth = form.as_array(PARAMS)
    clean, Y = simulated(form, truth, X, 40)
    refitter = Refitter(form, X, objective=objective, reference=clean)
    scalar = [refitter.refit(y, [truth]) for y in Y]
    batch = refit_many(refitter, Y, truth)
    for a, b in zip(scalar, batch):
        assert a.converged and b.converged
        assert b.objective <= a.objective * (1 + 1e-9)
        # the Huber valley is flat: equal objectives allow parameters a little apart
        assert np.allclose(b.values, a.values, rtol=1e-3)


def test_a_form_without_a_batch_basis_refits_through_its_scalar_basis():
    form = get_form("joint_nbeta")
    X = np.array([[n, n * r] for r in (5.0, 20.0, 80.0) for n in np.geomspace(1e8, 3e9, 8)])
    truth = np.array([1.8, 480.0, 2000.0 * 1e9 ** -0.3, 0.34, 0.3, 0.05])
    clean, Y = simulated(form, truth, X, 12)
    refitter = Refitter(form, X, objective="ls-log", reference=clean)
    scalar = [refitter.refit(y, [truth]) for y in Y]
    for a, b in zip(scalar, refit_many(refitter, Y, truth)):
        assert b.objective <= a.objective * (1 + 1e-9)


def test_a_far_warm_start_goes_to_the_scalar_path_and_its_global_search():
    form, X = get_form("chinchilla"), design_30()
    clean, Y = simulated(form, form.as_array(PARAMS), X, 3)
    refitter = Refitter(form, X, reference=clean)
    far = np.array([3.0, 1e-8, 1e-8, 4.9, 4.9])  # both power terms off: a flat, poor region
    for a, b in zip([refitter.refit(y, [far]) for y in Y], refit_many(refitter, Y, far)):
        assert b.n_starts >= 2 and b.objective == pytest.approx(a.objective, rel=1e-12)


def test_an_unusable_data_set_is_nan_and_leaves_the_others_as_they_were():
    form, X = get_form("chinchilla"), design_30()
    truth = form.as_array(PARAMS)
    clean, Y = simulated(form, truth, X, 6)
    refitter = Refitter(form, X, reference=clean)
    bad = Y.copy()
    bad[2, 4] = -1.0
    alone, mixed = refit_many(refitter, Y, truth), refit_many(refitter, bad, truth)
    assert np.all(np.isnan(mixed[2].values)) and not mixed[2].converged
    for i in (0, 1, 3, 4, 5):  # each problem's arithmetic is its own: the batch around it does not matter
        assert np.array_equal(alone[i].values, mixed[i].values)


def test_batched_huber_matches_scipy_on_a_line_with_outliers():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 40)
    ys = np.array([2 + 3 * x + rng.normal(0, 0.05, 40) for _ in range(5)])
    ys[:, ::7] += 2.0  # outliers
    delta = 0.1

    def fun(theta, idx):
        r = theta[:, :1] + theta[:, 1:] * x - ys[idx]
        return r, np.broadcast_to(np.stack([np.ones_like(x), x], axis=1), (len(idx), 40, 2))

    res = batched_lm(fun, np.zeros((5, 2)), np.ones((5, 40)), delta=delta, gtol=1e-9, rtol=1e-15)
    for b in range(5):
        ref = least_squares(lambda t: t[0] + t[1] * x - ys[b], [0.0, 0.0], loss="huber", f_scale=delta,
                            xtol=1e-15, ftol=1e-15, gtol=1e-15)
        assert np.allclose(res.theta[b], ref.x, atol=1e-7)
        assert res.converged[b]


@pytest.mark.parametrize("objective", ["huber-log", "ls"])
def test_the_batch_projection_of_the_grid_matches_the_scalar_one(objective):
    from scaling_design.laws.fit.polish import Polisher

    form, X = get_form("chinchilla"), design_30()
    clean, Y = simulated(form, form.as_array(PARAMS), X, 4)
    refitter = Refitter(form, X, objective=objective, reference=clean)
    many = refitter.grid.project_many(Y, objective, 1e-3)
    for s, y in enumerate(Y):
        values, _, index = refitter.grid.project(y, None, objective, Polisher(form, refitter.X, y, None, objective, 1e-3))
        assert np.allclose(many[s, index], values, rtol=1e-10)


def test_a_problem_with_an_exactly_flat_parameter_does_not_fail_the_batch():
    """One data set leaves the slope's column exactly zero (a singular normal matrix): it gets its least-squares
    step alone, and the other problems of the batch converge as if it were not there."""
    x = np.linspace(0, 1, 20)
    ys = np.array([1 + 2 * x, 3 + 0 * x, -1 + 0.5 * x])
    xs = np.array([x, np.zeros_like(x), x])  # the second problem's x is all zero: slope unidentified

    def fun(theta, idx):
        r = theta[:, :1] + theta[:, 1:] * xs[idx] - ys[idx]
        return r, np.stack([np.ones_like(xs[idx]), xs[idx]], axis=2)

    res = batched_lm(fun, np.zeros((3, 2)), np.ones((3, 20)), gtol=1e-10)
    assert np.allclose(res.theta[0], [1, 2], atol=1e-6) and np.allclose(res.theta[2], [-1, 0.5], atol=1e-6)
    assert np.isclose(res.theta[1, 0], 3, atol=1e-6) and np.isfinite(res.cost).all()


def test_a_singular_damped_system_gets_its_least_squares_step_and_the_batch_goes_on():
    from scaling_design.laws.batched_lm import _solve

    A = np.array([[[2.0, 0.0], [0.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]], [[np.nan, 0.0], [0.0, 1.0]]])
    b = np.array([[2.0, 4.0], [2.0, 2.0], [1.0, 1.0]])
    x = _solve(A, b)
    assert np.allclose(x[0], [1, 1]) and np.allclose(x[1], [1, 1])  # the minimum-norm solution of x1 + x2 = 2
    assert np.isnan(x[2]).all()  # no step: rejected, the damping grows
