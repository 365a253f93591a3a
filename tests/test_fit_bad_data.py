"""Bad data gets a clear error naming the problem; an unidentifiable design fits with a coded warning."""
import numpy as np
import pytest

from scaling_design.laws.fit import fit
from scaling_design.laws.results import LawInputError

JOINT = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}


def design():
    N = np.geomspace(3e7, 1e9, 5)
    X = np.array([(n, n * t) for n in N for t in (5, 20, 80)])
    y = 1.82 + 482 / X[:, 0] ** 0.348 + 2085 / X[:, 1] ** 0.366
    return X, y


@pytest.mark.parametrize("bad, field", [(np.nan, "loss"), (np.inf, "loss"), (0.0, "loss"), (-1.0, "loss")])
def test_non_finite_or_non_positive_losses_are_refused_naming_the_column(bad, field):
    X, y = design()
    y[4] = bad
    with pytest.raises(LawInputError, match=rf"^{field} .*rows \[4\]") as exc:
        fit("chinchilla", X, y)
    assert exc.value.field == field


def test_a_non_positive_scale_is_refused_naming_the_column():
    X, y = design()
    X[2, 1] = -5
    with pytest.raises(LawInputError, match=r"D must be > 0"):
        fit("chinchilla", X, y)


def test_fewer_runs_than_parameters_is_refused():
    X, y = design()
    with pytest.raises(LawInputError, match=r"5 parameters .* at least that many runs; got 4"):
        fit("chinchilla", X[:4], y[:4])


def test_a_single_distinct_scale_is_refused():
    x = np.full(6, 1e8)
    y = np.linspace(3.0, 3.1, 6)
    with pytest.raises(LawInputError, match=r"x has a single distinct scale"):
        fit("saturating", x, y)


def test_a_missing_column_is_refused():
    X, y = design()
    with pytest.raises(LawInputError, match=r"needs columns \['N', 'D'\]"):
        fit("chinchilla", X[:, :1], y)


def test_unknown_form_and_objective_name_what_is_accepted():
    X, y = design()
    with pytest.raises(ValueError, match=r"form must be one of \[.*'chinchilla'"):
        fit("quadratic", X, y)
    with pytest.raises(ValueError, match=r"objective must be one of \['huber-log', 'ls-log', 'ls'\]"):
        fit("chinchilla", X, y, objective="l1")


def test_fixed_tokens_per_parameter_fits_but_warns_the_design_is_not_identifiable():
    N = np.geomspace(3e7, 3e9, 8)
    X = np.column_stack([N, 20 * N])
    y = 1.82 + 482 / X[:, 0] ** 0.348 + 2085 / X[:, 1] ** 0.366
    res = fit("chinchilla", X, y)
    codes = {d.code for d in res.diagnostics}
    assert "design_not_identifiable" in codes
    msg = next(d.message for d in res.diagnostics if d.code == "design_not_identifiable")
    assert "tokens per parameter" in msg


def test_a_narrow_range_is_flagged():
    x = np.geomspace(1e8, 4e8, 6)
    y = 2.0 + 50 * x ** -0.3
    res = fit("saturating", x, y)
    assert "narrow_range" in {d.code for d in res.diagnostics}
