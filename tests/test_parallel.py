"""Monte Carlo and bootstrap: warm-started refits, the same answers serial, on processes and on a
Dask cluster (through joblib.parallel_config), and their time bound."""
import os

import numpy as np
import pytest
from joblib import parallel_config

from scaling_design import knowledge
from scaling_design.laws.bootstrap import bootstrap
from scaling_design.laws.fit import GRID_KEEP, Refitter, fit
from scaling_design.laws.parallel import BATCH_REFIT_S, PARALLEL_MIN_WORK_S, REFIT_S, resolve_jobs
from scaling_design.laws.results import LawInputError
from scaling_design.laws.simulate import NoiseModel, monte_carlo, simulate_losses

PARAMS = knowledge.published_law("epoch")["params"]


def design_30() -> np.ndarray:
    N = np.geomspace(1e7, 1e9, 10)
    return np.array([[n, n * r] for r in (5.0, 20.0, 80.0) for n in N])


@pytest.fixture(scope="module")
def small_fit():
    X = design_30()
    y = simulate_losses("chinchilla", PARAMS, X, NoiseModel(), np.random.default_rng(3))
    return X, y, fit("chinchilla", X, y)


def test_a_warm_refit_reaches_the_global_fits_optimum():
    X, refitter = design_30(), Refitter("chinchilla", design_30())
    truth = refitter.form.as_array(PARAMS)
    for seed in range(5):
        y = simulate_losses("chinchilla", PARAMS, X, NoiseModel(), np.random.default_rng(seed))
        warm, full = refitter.refit(y, [truth]), fit("chinchilla", X, y)
        assert warm.converged and warm.n_starts >= 1
        assert warm.objective <= full.objective * (1 + 1e-9)
        assert np.allclose(warm.values, full.values, rtol=1e-4)


def test_a_grid_start_is_polished_when_the_warm_start_is_far_from_the_optimum():
    X = design_30()
    refitter = Refitter("chinchilla", X)
    y = simulate_losses("chinchilla", PARAMS, X, NoiseModel(), np.random.default_rng(0))
    far = np.array([3.0, 1e-8, 1e-8, 4.9, 4.9])  # both power terms switched off: a flat, poor region
    res = refitter.refit(y, [far])
    full = fit("chinchilla", X, y)
    assert res.n_starts >= 2
    assert res.objective <= full.objective * (1 + 1e-6)


def test_monte_carlo_gives_the_same_refits_serial_and_on_two_processes():
    X = design_30()
    serial = monte_carlo("chinchilla", PARAMS, X, n_sims=16, seed=5, n_jobs=1)
    two = monte_carlo("chinchilla", PARAMS, X, n_sims=16, seed=5, n_jobs=2)
    assert np.array_equal(serial.values, two.values)
    assert np.array_equal(serial.n_starts, two.n_starts) and serial.n_starts.min() >= 1
    assert serial.n_grid == GRID_KEEP


def test_bootstrap_gives_the_same_replicates_serial_and_on_two_processes(small_fit):
    X, y, res = small_fit
    serial = bootstrap(res, X, y, n_boot=24, seed=2, n_jobs=1)
    two = bootstrap(res, X, y, n_boot=24, seed=2, n_jobs=2)
    assert np.array_equal(serial.values, two.values)
    assert serial.n_starts >= serial.n_done and serial.summary()["n_starts_polished"] == serial.n_starts


def test_monte_carlo_runs_on_a_local_dask_cluster_through_parallel_config():
    distributed = pytest.importorskip("distributed")
    X = design_30()
    serial = monte_carlo("chinchilla", PARAMS, X, n_sims=12, seed=7, n_jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with parallel_config(backend="dask"):
            assert resolve_jobs(None, 12) == -1
            on_dask = monte_carlo("chinchilla", PARAMS, X, n_sims=12, seed=7)
    assert np.array_equal(serial.values, on_dask.values)


def test_the_default_goes_parallel_only_for_enough_work_and_defers_to_parallel_config():
    cores = os.cpu_count() or 1
    assert resolve_jobs(None, 10) == 1
    assert resolve_jobs(None, round(PARALLEL_MIN_WORK_S / REFIT_S)) == cores
    assert resolve_jobs(None, round(PARALLEL_MIN_WORK_S / REFIT_S), time_limit_s=1.0) == 1  # no time to start processes
    # a batched refit is cheaper: the same count of Monte Carlo refits stays here
    assert resolve_jobs(None, round(PARALLEL_MIN_WORK_S / REFIT_S), task_s=BATCH_REFIT_S) == 1
    assert resolve_jobs(None, round(PARALLEL_MIN_WORK_S / BATCH_REFIT_S), task_s=BATCH_REFIT_S) == cores
    assert resolve_jobs(3, 10) == 3
    with parallel_config(n_jobs=2):
        assert resolve_jobs(None, 10) is None


def test_monte_carlo_on_processes_stops_at_its_time_bound_and_says_so():
    # 2 s leaves the worker processes time to start (~0.5 s quiet) and refit some batches
    res = monte_carlo("chinchilla", PARAMS, design_30(), n_sims=20000, seed=0, time_limit_s=2.0, n_jobs=2)
    assert res.truncated and 0 < res.n_done < 20000 and res.elapsed_s < 7.0


@pytest.mark.parametrize("bad", [0, -2, 1.5, "two"])
def test_a_bad_n_jobs_is_refused_naming_n_jobs(bad):
    with pytest.raises(LawInputError, match="n_jobs must be"):
        monte_carlo("chinchilla", PARAMS, design_30(), n_sims=4, n_jobs=bad)
