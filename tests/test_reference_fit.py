"""The joint law on Hoffmann's data reproduces the replication's optimum (Besiroglu et al. 2024)."""
import pytest

from scaling_design.laws.bootstrap import bootstrap
from scaling_design.laws.fit import fit, objective_value

REFERENCE = {"A": 477.8, "B": 2143.9, "E": 1.8172, "alpha": 0.3473, "beta": 0.3672}
REFERENCE_OBJECTIVE = 0.00101827
REPLICATION_SE = {"alpha": 0.015, "beta": 0.021, "E": 0.026}


@pytest.fixture(scope="module")
def reference_fit(chinchilla_240):
    X, loss = chinchilla_240
    return fit("chinchilla", X, loss, objective="huber-log", delta=1e-3)


def test_the_240_runs_are_the_replications_selection(chinchilla_240):
    X, loss = chinchilla_240
    assert len(loss) == 240


def test_summed_huber_fit_matches_the_replication_within_half_a_percent(reference_fit):
    for name, value in REFERENCE.items():
        assert reference_fit.params[name] == pytest.approx(value, rel=5e-3), name


def test_objective_is_no_worse_than_the_replications(reference_fit, chinchilla_240):
    assert reference_fit.objective <= 0.0010183
    X, loss = chinchilla_240
    published = objective_value("chinchilla", REFERENCE, X, loss)
    assert reference_fit.objective <= published


def test_fit_reports_convergence_and_agreeing_starts(reference_fit):
    assert reference_fit.converged
    assert reference_fit.optimizer.n_agree >= 2
    assert reference_fit.optimizer.grad_norm < 1e-6
    assert "optimizer_nonconvergence" not in {d.code for d in reference_fit.diagnostics}


def test_bootstrap_standard_errors_match_the_replication_within_25_percent(reference_fit, chinchilla_240):
    X, loss = chinchilla_240
    boot = bootstrap(reference_fit, X, loss, n_boot=1000, seed=0)
    assert boot.n_failed <= 10
    se = dict(zip(reference_fit.form.param_names, boot.se))
    for name, ref in REPLICATION_SE.items():
        assert se[name] == pytest.approx(ref, rel=0.25), name
    alpha = boot.interval("alpha")
    assert alpha.low < REFERENCE["alpha"] < alpha.high
